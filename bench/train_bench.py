"""Training-iteration benchmark, swiftgan against PyTorch side by side, for the workloads of
../shared/bench/torch_ref.py: DCGAN-32 (1 channel) and DCGAN-64 (3 channels) at batch 64 (D step on real and fake,
G step), CycleGAN at 128 (resnet_6blocks) and 256 (resnet_9blocks) at batch 1 (both generators with cycle and
identity losses, both discriminators), and a compact StyleGAN2 at 32 (128 channels, w 256, batch 16, R1 every 16;
path-length regularization off, as in the reference workload).

Paired steps: one long-lived process per library builds the workload (PyTorch's with torch_ref.py's own networks and
step functions) and warms up; then the two take single training steps in turn, alternating which goes first, with a
short pause before each step (so neither library's idle threads still spin when the other starts). The machine's
speed drifts by tens of percent from one minute to the next, and both steps of a pair see the same moment of it, so
the median of the per-pair ratios is the comparison that drift does not move; the medians and the fastest step of
each side are printed too. Each process does one workload, so its peak RSS is that workload's.

Prints ms per iteration (median of the steps), GFLOP/s at that time (DCGAN: the convolution FLOPs of the iteration),
peak RSS, and three ratios swiftgan / PyTorch: the median of the pairs (with its quartiles), the total time of all
steps (which counts StyleGAN's occasional R1 steps at their weight) and the fastest steps.

With --torch-settings, the DCGAN workloads also run PyTorch's other CPU settings side by side in the same rounds
(channels_last memory format, torch.compile, both: each in its own process, compiled during the warm-up), and a
second table gives swiftgan's ratio to each and to the fastest of them (PyTorch's best setting).

Usage: python bench/train_bench.py [--torch-python PATH] [--pairs N] [--threads 2] [--workloads dcgan32 dcgan64 ...]
       [--torch-settings]
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: workload -> (Python that builds `gan` and the tuple `batches`, pairs of steps by default)
WORKLOADS = {
    "dcgan32": ("gan = swiftgan.DCGAN(image_size=32, channels=1, seed=0); batches = (images(64, 1, 32),)", 40),
    "dcgan64": ("gan = swiftgan.DCGAN(image_size=64, channels=3, seed=0); batches = (images(64, 3, 64),)", 16),
    "cyclegan128": ("gan = swiftgan.CycleGAN(image_size=128, n_blocks=6, seed=0); batches = (images(1, 3, 128), images(1, 3, 128))", 8),
    "cyclegan256": ("gan = swiftgan.CycleGAN(image_size=256, n_blocks=9, seed=0); batches = (images(1, 3, 256), images(1, 3, 256))", 4),
    "stylegan2_32": ("gan = swiftgan.StyleGAN(resolution=32, channels=3, z_dim=256, w_dim=256, mapping_layers=8, channel_base=4096,"
                     " channel_max=128, r1_interval=16, pl_weight=0, seed=0); batches = (images(16, 3, 32),)", 32),
}
TORCH_REF = Path(__file__).resolve().parents[2] / "shared" / "bench" / "torch_ref.py"

#: The per-step protocol both workers speak: print "ready" after the warm-up steps, then for every line read take one
#: step and print its seconds; at end of input print the peak RSS in MB.
PROTOCOL = """
import resource, sys, time
step(); step()
print("ready", flush=True)
for _ in sys.stdin:
    t = time.perf_counter(); step(); print(time.perf_counter() - t, flush=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, flush=True)
"""

SWIFTGAN_WORKER = """
import sys, numpy as np, swiftgan
setup, threads = sys.argv[1], int(sys.argv[2])
swiftgan.set_num_threads(threads)
rng = np.random.default_rng(0)
images = lambda n, c, s: rng.random((n, c, s, s), dtype=np.float32) * 2 - 1
exec(setup)
step = lambda: gan.train_step(*batches)
""" + PROTOCOL

#: The workloads as torch_ref.py's main() sets them up, with its networks, optimizers and step functions.
TORCH_WORKER = """
import importlib.util, itertools, sys, torch
spec = importlib.util.spec_from_file_location("torch_ref", sys.argv[1])
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
workload, threads, setting = sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads); torch.manual_seed(0)
adam = lambda params, lr=2e-4, betas=(.5, .999): torch.optim.Adam(params, lr, betas=betas)
if workload.startswith("dcgan"):
    nc, size = {"dcgan64": (3, 64), "dcgan32": (1, 32)}[workload]
    G, D = ref.dcgan(nc, size)
    real = torch.rand(64, nc, size, size) * 2 - 1
    if "channels_last" in setting:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)
    oG, oD = adam(G.parameters()), adam(D.parameters())
    if "compile" in setting:
        G, D = torch.compile(G), torch.compile(D)
    step = lambda: ref.dcgan_step(G, D, oG, oD, real, 100)
elif workload.startswith("cyclegan"):
    size, nb = {"cyclegan128": (128, 6), "cyclegan256": (256, 9)}[workload]
    GA, GB, DA, DB = ref.cyc_G(nb), ref.cyc_G(nb), ref.cyc_D(), ref.cyc_D()
    oG, oD = adam(list(GA.parameters()) + list(GB.parameters())), adam(list(DA.parameters()) + list(DB.parameters()))
    A, B = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 3, size, size) * 2 - 1
    step = lambda: ref.cycle_step(GA, GB, DA, DB, oG, oD, A, B)
else:
    G, D = ref.SG2G(32, 128), ref.SG2D(32, 128)
    oG, oD = adam(G.parameters(), 2e-3, (0.0, 0.99)), adam(D.parameters(), 2e-3, (0.0, 0.99))
    real = torch.rand(16, 3, 32, 32) * 2 - 1
    counter = itertools.count()
    step = lambda: ref.sg2_step(G, D, oG, oD, real, next(counter))
""" + PROTOCOL


def swiftgan_build() -> str:
    """Which swiftgan the workers import (they run this Python in this environment): its directory and engine build,
    since an installed package and the source tree (PYTHONPATH=python) can be different builds."""
    code = "import os, swiftgan; print(os.path.dirname(swiftgan.__file__)); print(swiftgan.cpu_features()['engine'])"
    where, engine = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
    return f"swiftgan from {where} (engine: {engine})"


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


class Worker:
    """One library's long-lived process, taking one step per request."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker {command[:3]} failed to start")

    def step(self) -> float:
        self.process.stdin.write("step\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def finish(self) -> float:
        """Ends the process; returns its peak RSS in MB."""
        self.process.stdin.close()
        rss = float(self.process.stdout.readline())
        self.process.wait()
        return rss


#: PyTorch's CPU settings that --torch-settings adds for the DCGAN workloads ("default" is torch_ref.py as it is).
TORCH_SETTINGS = ("channels_last", "compile", "channels_last+compile")


def median_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """The median of the per-round ratios a/b, with its quartiles."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return statistics.median(ratios), quartiles[0], quartiles[2]


def measure(name: str, pairs: int, threads: int, torch_python: str | None, pause: float, settings: bool) -> dict:
    setup, _ = WORKLOADS[name]
    workers = {"swiftgan": Worker([sys.executable, "-c", SWIFTGAN_WORKER, setup, str(threads)])}
    torch_settings = ("default",) + (TORCH_SETTINGS if settings and name.startswith("dcgan") else ())
    for setting in torch_settings if torch_python else ():
        key = "torch" if setting == "default" else f"torch[{setting}]"
        workers[key] = Worker([torch_python, "-c", TORCH_WORKER, str(TORCH_REF), name, str(threads), setting])
    times: dict[str, list[float]] = {k: [] for k in workers}
    names = list(workers)
    for i in range(pairs):  # each round in another order: every worker goes first in turn
        shift = i % len(names)
        for k in (names[shift:] + names[:shift]) if i % 2 == 0 else (names[shift:] + names[:shift])[::-1]:
            time.sleep(pause)
            times[k].append(workers[k].step())
    r = {"gflop": iteration_gflop(name), "pairs": pairs}
    for k, w in workers.items():
        r[f"{k}_ms"] = statistics.median(times[k]) * 1e3
        r[f"{k}_fastest_ms"] = min(times[k]) * 1e3
        r[f"{k}_rss_mb"] = w.finish()
    if torch_python:
        ratio, q1, q3 = median_ratio(times["swiftgan"], times["torch"])
        r.update(ratio=ratio, ratio_q1=q1, ratio_q3=q3, total_ratio=sum(times["swiftgan"]) / sum(times["torch"]),
                 fastest_ratio=r["swiftgan_fastest_ms"] / r["torch_fastest_ms"])
        if len(torch_settings) > 1:
            keys = [k for k in workers if k.startswith("torch")]
            r["settings"] = {k: dict(zip(("ratio", "q1", "q3"), median_ratio(times["swiftgan"], times[k]), strict=True))
                             for k in keys}
            r["best_setting"] = min(keys, key=lambda k: r[f"{k}_ms"])
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-python", default=sys.executable)
    ap.add_argument("--pairs", type=int, default=None, help="steps of each library (default: per workload, 4 to 40)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.05, help="seconds of idle before each step")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--torch-settings", action="store_true",
                    help="DCGAN workloads: also PyTorch with channels_last, torch.compile and both (see above)")
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    has_torch = subprocess.run([a.torch_python, "-c", "import torch"], capture_output=True).returncode == 0
    torch_python = a.torch_python if has_torch else None
    results = {name: measure(name, a.pairs or WORKLOADS[name][1], a.threads, torch_python, a.pause, a.torch_settings)
               for name in a.workloads}
    print(f"{swiftgan_build()}; threads={a.threads} (paired steps; ms = median step, fastest in brackets; peak RSS of"
          " the process)")
    print(f"{'workload':<13}{'pairs':>6}{'swiftgan ms':>18}{'GFLOP/s':>9}{'RSS MB':>8}"
          + (f"{'torch ms':>18}{'GFLOP/s':>9}{'RSS MB':>8}{'ratio (q1-q3)':>20}{'total':>7}{'fastest':>9}{'mem':>6}" if has_torch else ""))
    rate = lambda gflop, ms: f"{gflop / ms * 1e3:>9.1f}" if gflop else f"{'-':>9}"
    timing = lambda ms, fastest: f"{ms:>9.1f} ({fastest:>6.1f})"
    for name, r in results.items():
        line = (f"{name:<13}{r['pairs']:>6}{timing(r['swiftgan_ms'], r['swiftgan_fastest_ms'])}{rate(r['gflop'], r['swiftgan_ms'])}"
                f"{r['swiftgan_rss_mb']:>8.0f}")
        if "torch_ms" in r:
            line += (f"{timing(r['torch_ms'], r['torch_fastest_ms'])}{rate(r['gflop'], r['torch_ms'])}{r['torch_rss_mb']:>8.0f}"
                     f"{r['ratio']:>8.2f} ({r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}){r['total_ratio']:>7.2f}{r['fastest_ratio']:>9.2f}"
                     f"{r['swiftgan_rss_mb'] / r['torch_rss_mb']:>6.2f}")
        print(line)
    with_settings = {name: r for name, r in results.items() if "settings" in r}
    if with_settings:
        print("\nPyTorch's CPU settings in the same rounds: torch ms (median step): swiftgan / torch (median, q1-q3)")
        for name, r in with_settings.items():
            label = {k: "default" if k == "torch" else k[6:-1] for k in r["settings"]}
            cells = [f"{label[k]} {r[f'{k}_ms']:.1f} ms: {v['ratio']:.2f} ({v['q1']:.2f}-{v['q3']:.2f})"
                     for k, v in r["settings"].items()]
            best = r["best_setting"]
            print(f"{name:<13}" + "; ".join(cells) + f"; best is {label[best]}: {r['settings'][best]['ratio']:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
