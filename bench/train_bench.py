"""Training-iteration benchmark, swiftgan against PyTorch side by side, for the workloads of
../shared/bench/torch_ref.py: DCGAN-32 (1 channel) and DCGAN-64 (3 channels) at batch 64 (D step on real and fake,
G step), CycleGAN at 128 (resnet_6blocks) and 256 (resnet_9blocks) at batch 1 (both generators with cycle and
identity losses, both discriminators), and a compact StyleGAN2 at 32 (128 channels, w 256, batch 16, R1 every 16;
path-length regularization off, as in the reference workload).

Each measurement runs in a fresh subprocess (so its peak memory is its own); swiftgan and PyTorch alternate for
several rounds and the fastest round of each counts, which keeps a noisy machine from favouring either side.
PyTorch runs torch_ref.py with a Python that can import torch. Prints ms per iteration, GFLOP/s (DCGAN: the
convolution FLOPs of the iteration), peak RSS and the ratios swiftgan / PyTorch (lower is better).

Usage: python bench/train_bench.py [--torch-python PATH] [--rounds 3] [--threads 2] [--workloads dcgan32 dcgan64 ...]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

#: workload -> (Python that builds `gan` and the tuple `batches`, timed steps)
WORKLOADS = {
    "dcgan32": ("gan = swiftgan.DCGAN(image_size=32, channels=1, seed=0); batches = (images(64, 1, 32),)", 5),
    "dcgan64": ("gan = swiftgan.DCGAN(image_size=64, channels=3, seed=0); batches = (images(64, 3, 64),)", 3),
    "cyclegan128": ("gan = swiftgan.CycleGAN(image_size=128, n_blocks=6, seed=0); batches = (images(1, 3, 128), images(1, 3, 128))", 3),
    "cyclegan256": ("gan = swiftgan.CycleGAN(image_size=256, n_blocks=9, seed=0); batches = (images(1, 3, 256), images(1, 3, 256))", 2),
    "stylegan2_32": ("gan = swiftgan.StyleGAN(resolution=32, channels=3, z_dim=256, w_dim=256, mapping_layers=8, channel_base=4096,"
                     " channel_max=128, r1_interval=16, pl_weight=0, seed=0); batches = (images(16, 3, 32),)", 16),
}
TORCH_REF = Path(__file__).resolve().parents[2] / "shared" / "bench" / "torch_ref.py"


def iteration_gflop(workload: str) -> float | None:
    """Convolution FLOPs of one DCGAN iteration (None for the other workloads)."""
    if not workload.startswith("dcgan"):
        return None
    size = int(workload[5:])
    return dcgan_gflop(size, 1 if size == 32 else 3)


def dcgan_gflop(size: int, channels: int, batch: int = 64, nz: int = 100, ngf: int = 64, ndf: int = 64) -> float:
    """Convolution FLOPs of one iteration: D forward x3 (real, fake, fake for G), D weight grads x2, D input grad x1
    (G step), G forward, weight grad and input grad (none at z)."""
    ups = int(math.log2(size)) - 3
    total = 0.0
    h, c_prev = size, channels
    for c in [ndf * 2 ** i for i in range(ups + 1)] + [1]:
        k_out = 1 if c == 1 else h // 2
        macs = batch * k_out * k_out * c * c_prev * 16
        total += macs * (3 + 2 + 1)
        h, c_prev = k_out, c
    h, c_prev = 1, nz
    for i, c in enumerate([ngf * 2 ** i for i in range(ups, -1, -1)] + [channels]):
        macs = batch * h * h * c_prev * c * 16
        total += macs * (3 if i else 2)
        h, c_prev = (4 if i == 0 else h * 2), c
    return 2 * total / 1e9


SWIFTGAN_WORKER = """
import resource, sys, time, numpy as np, swiftgan
setup, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
swiftgan.set_num_threads(threads)
rng = np.random.default_rng(0)
images = lambda n, c, s: rng.random((n, c, s, s), dtype=np.float32) * 2 - 1
exec(setup)
gan.train_step(*batches); gan.train_step(*batches)
t = time.perf_counter()
for _ in range(steps):
    gan.train_step(*batches)
print(f"ms_per_iter={(time.perf_counter() - t) / steps * 1e3:.1f}")
print(f"maxrss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""

TORCH_WORKER = """
import resource, runpy, sys
sys.argv = ["torch_ref.py"] + sys.argv[1:]
runpy.run_path(sys.argv.pop(1), run_name="__main__")
print(f"maxrss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def run(command: list[str]) -> tuple[float, float]:
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    ms = float(re.search(r"ms_per_iter=([\d.]+)", out).group(1))
    rss = float(re.search(r"maxrss_mb=([\d.]+)", out).group(1))
    return ms, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    has_torch = subprocess.run([a.torch_python, "-c", "import torch"], capture_output=True).returncode == 0
    results = {}
    for name in a.workloads:
        setup, steps = WORKLOADS[name]
        sg, tr = [], []
        for _ in range(a.rounds):
            sg.append(run([sys.executable, "-c", SWIFTGAN_WORKER, setup, str(steps), str(a.threads)]))
            if has_torch:
                tr.append(run([a.torch_python, "-c", TORCH_WORKER, str(TORCH_REF), name, "--steps", str(steps),
                               "--threads", str(a.threads)]))
        r = {"gflop": iteration_gflop(name), "swiftgan_ms": min(m for m, _ in sg), "swiftgan_rss_mb": max(s for _, s in sg)}
        if tr:
            r.update(torch_ms=min(m for m, _ in tr), torch_rss_mb=max(s for _, s in tr))
        results[name] = r
    print(f"threads={a.threads} rounds={a.rounds} (fastest round; peak RSS of the process)")
    print(f"{'workload':<13}{'swiftgan ms':>12}{'GFLOP/s':>9}{'RSS MB':>8}"
          + (f"{'torch ms':>10}{'GFLOP/s':>9}{'RSS MB':>8}{'time':>7}{'mem':>6}" if has_torch else ""))
    rate = lambda gflop, ms: f"{gflop / ms * 1e3:>9.1f}" if gflop else f"{'-':>9}"
    for name, r in results.items():
        line = f"{name:<13}{r['swiftgan_ms']:>12.1f}{rate(r['gflop'], r['swiftgan_ms'])}{r['swiftgan_rss_mb']:>8.0f}"
        if "torch_ms" in r:
            line += (f"{r['torch_ms']:>10.1f}{rate(r['gflop'], r['torch_ms'])}{r['torch_rss_mb']:>8.0f}"
                     f"{r['swiftgan_ms'] / r['torch_ms']:>7.2f}{r['swiftgan_rss_mb'] / r['torch_rss_mb']:>6.2f}")
        print(line)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
