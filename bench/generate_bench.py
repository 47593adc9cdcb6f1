"""StyleGAN2 generation benchmark: swiftgan against PyTorch running NVlabs' own Generator, side by side.

The networks are NVlabs' configurations of the published models (random weights): z = w = 512, 8 mapping layers,
channel_max 512, conv_clamp 256, channel_base 16384 at 256 px and 32768 at 512 and 1024 px. One call maps a batch of
z (psi 1) and synthesizes it with constant noise: PyTorch runs `G(z, None, noise_mode='const', force_fp32=True)`
under `torch.no_grad()` from a checkout of NVlabs/stylegan2-ada-pytorch (`--nvlabs`, never part of this project);
swiftgan runs `gan.synthesis(gan.mapping(z), 'const')` on a model built with `trainable=False` (G_ema alone).

Steps are paired as in train_bench.py (two long-lived processes alternate single calls), each configuration in its
own pair of processes, so the peak RSS printed is that configuration's (PyTorch's includes `import torch`). GFLOP/s
counts the multiply-adds of SPEC.md section 8 (15.1 GMAC per image at 256 px, 60.3 at 512, 75.5 at 1024) as two
FLOPs each; the OpenBLAS sgemm rate of a large square product on the same threads is printed for scale.

Usage: python bench/generate_bench.py --torch-python /path/to/venv/bin/python --nvlabs /path/to/stylegan2-ada-pytorch
       [--sizes 256 512 1024] [--batches 1 8] [--pairs 6] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bench import PROTOCOL, Worker  # noqa: E402 (the paired-step protocol both benchmarks speak)

GMAC_PER_IMAGE = {256: 15.1, 512: 60.3, 1024: 75.5}
"""Multiply-adds of one image of NVlabs' generator (SPEC.md section 8)."""


def channel_base(size: int) -> int:
    return 16384 if size <= 256 else 32768


SWIFTGAN_WORKER = """
import sys, numpy as np, swiftgan
size, batch, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
swiftgan.set_num_threads(threads)
gan = swiftgan.StyleGAN(resolution=size, channels=3, z_dim=512, w_dim=512, mapping_layers=8,
                        channel_base=int(sys.argv[4]), channel_max=512, conv_clamp=256.0, trainable=False, seed=0)
z = np.random.RandomState(0).randn(batch, 512).astype(np.float32)
step = lambda: gan.synthesis(gan.mapping(z), "const")
""" + PROTOCOL

TORCH_WORKER = """
import sys, types, torch
sys.modules.setdefault("requests", types.ModuleType("requests"))  # dnnlib imports it; nothing here downloads
sys.path.insert(0, sys.argv[5])
from training.networks import Generator
size, batch, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)
G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3, mapping_kwargs={"num_layers": 8},
              synthesis_kwargs={"channel_base": int(sys.argv[4]), "channel_max": 512, "num_fp16_res": 4,
                                "conv_clamp": 256}).eval().requires_grad_(False)
z = torch.randn(batch, 512)
def step():
    with torch.no_grad():
        G(z, None, noise_mode="const", force_fp32=True)
""" + PROTOCOL

SGEMM = """
import sys, time, numpy as np, swiftgan
swiftgan.set_num_threads(int(sys.argv[1]))
a = swiftgan.tensor(np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32))
best = min((lambda t: (swiftgan.functional.matmul(a, a), time.perf_counter() - t)[1])(time.perf_counter())
           for _ in range(5))
print(2 * 2048 ** 3 / best / 1e9)
"""


def measure(size: int, batch: int, pairs: int, threads: int, torch_python: str, nvlabs: str, pause: float) -> dict:
    args = [str(size), str(batch), str(threads), str(channel_base(size))]
    workers = {"swiftgan": Worker([sys.executable, "-c", SWIFTGAN_WORKER, *args]),
               "torch": Worker([torch_python, "-c", TORCH_WORKER, *args, nvlabs])}
    times: dict[str, list[float]] = {name: [] for name in workers}
    for i in range(pairs):
        for name in list(workers) if i % 2 == 0 else list(workers)[::-1]:
            time.sleep(pause)
            times[name].append(workers[name].step())
    gflop = 2 * GMAC_PER_IMAGE[size] * batch
    result = {"size": size, "batch": batch, "pairs": pairs, "gflop": gflop}
    for name, worker in workers.items():
        result[f"{name}_ms"] = statistics.median(times[name]) * 1e3
        result[f"{name}_fastest_ms"] = min(times[name]) * 1e3
        result[f"{name}_rss_mb"] = worker.finish()
    result["ratio"] = statistics.median(a / b for a, b in zip(times["swiftgan"], times["torch"], strict=True))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-python", required=True, help="a Python with torch installed")
    parser.add_argument("--nvlabs", required=True, help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], choices=sorted(GMAC_PER_IMAGE))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds of idle before each call")
    args = parser.parse_args()
    sgemm = float(subprocess.run([sys.executable, "-c", SGEMM, str(args.threads)], capture_output=True, text=True,
                                 check=True).stdout)
    print(f"threads={args.threads}; OpenBLAS sgemm 2048^3 through swiftgan: {sgemm:.0f} GFLOP/s")
    print(f"{'size':>5}{'batch':>6}{'swiftgan ms':>20}{'GFLOP/s':>9}{'RSS MB':>8}{'torch ms':>20}{'GFLOP/s':>9}"
          f"{'RSS MB':>8}{'ratio':>7}")
    for size in args.sizes:
        for batch in args.batches:
            r = measure(size, batch, args.pairs, args.threads, args.torch_python, args.nvlabs, args.pause)
            cells = "".join(f"{r[f'{n}_ms']:>11.0f} ({r[f'{n}_fastest_ms']:>6.0f}){r['gflop'] / r[f'{n}_ms'] * 1e3:>9.1f}"
                            f"{r[f'{n}_rss_mb']:>8.0f}" for n in ("swiftgan", "torch"))
            print(f"{size:>5}{batch:>6}{cells}{r['ratio']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
