"""Convolution benchmark: conv2d and conv_transpose2d forward + backward at the DCGAN-64 layer shapes (batch 64)
and the CycleGAN resnet-block shape (or, with --shapes, DCGAN-32's), in swiftgan and, side by side in the same
run, in PyTorch when a Python with torch is available. Prints ms per forward+backward, GFLOP/s, the ratio to
PyTorch, and the sgemm GFLOP/s of the OpenBLAS that swiftgan uses.

Usage: python bench/conv_bench.py [--threads 2] [--reps 5] [--shapes dcgan64 cyclegan dcgan32]
                                  [--torch-python /path/to/venv/bin/python]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

# (kind, batch, in_ch, out_ch, kernel, stride, padding, input size); conv_transpose2d weights are [in, out, k, k].
SHAPE_SETS = {"dcgan64": [
    ("conv2d", 64, 3, 64, 4, 2, 1, 64),          # DCGAN-64 D
    ("conv2d", 64, 64, 128, 4, 2, 1, 32),
    ("conv2d", 64, 128, 256, 4, 2, 1, 16),
    ("conv2d", 64, 256, 512, 4, 2, 1, 8),
    ("conv2d", 64, 512, 1, 4, 1, 0, 4),
    ("conv_transpose2d", 64, 100, 512, 4, 1, 0, 1),   # DCGAN-64 G
    ("conv_transpose2d", 64, 512, 256, 4, 2, 1, 4),
    ("conv_transpose2d", 64, 256, 128, 4, 2, 1, 8),
    ("conv_transpose2d", 64, 128, 64, 4, 2, 1, 16),
    ("conv_transpose2d", 64, 64, 3, 4, 2, 1, 32),
], "cyclegan": [
    ("conv2d", 1, 256, 256, 3, 1, 1, 64),        # CycleGAN resnet block at 256x256 input
    ("conv2d", 1, 256, 256, 3, 1, 1, 32),        # ... at 128x128 input
], "dcgan32": [
    ("conv2d", 64, 1, 64, 4, 2, 1, 32),          # DCGAN-32 D (1 channel)
    ("conv2d", 64, 64, 128, 4, 2, 1, 16),
    ("conv2d", 64, 128, 256, 4, 2, 1, 8),
    ("conv2d", 64, 256, 1, 4, 1, 0, 4),
    ("conv_transpose2d", 64, 100, 256, 4, 1, 0, 1),   # DCGAN-32 G
    ("conv_transpose2d", 64, 256, 128, 4, 2, 1, 4),
    ("conv_transpose2d", 64, 128, 64, 4, 2, 1, 8),
    ("conv_transpose2d", 64, 64, 1, 4, 2, 1, 16),
]}


def flops(kind, n, ci, co, k, s, p, h):
    """FLOPs of forward + input grad + weight grad (3 GEMMs of 2*M*K*N)."""
    if kind == "conv2d":
        ho = (h + 2 * p - k) // s + 1
        return 3 * 2 * n * ho * ho * co * ci * k * k
    return 3 * 2 * n * h * h * ci * co * k * k


def arrays(kind, n, ci, co, k, s, p, h, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, ci, h, h), dtype=np.float32)
    w = rng.standard_normal((co, ci, k, k) if kind == "conv2d" else (ci, co, k, k), dtype=np.float32) * 0.02
    return x, w


def time_it(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_swiftgan(shapes, threads, reps):
    import swiftgan
    import swiftgan.functional as F
    swiftgan.set_num_threads(threads)
    out = []
    for shape in shapes:
        kind, n, ci, co, k, s, p, h = shape
        x, w = arrays(*shape)
        xt, wt = swiftgan.tensor(x, requires_grad=True), swiftgan.tensor(w, requires_grad=True)
        op = getattr(F, kind)
        y0 = op(xt, wt, stride=s, padding=p)
        g = swiftgan.tensor(np.ones(y0.shape, dtype=np.float32))

        def step():
            y = op(xt, wt, stride=s, padding=p)
            swiftgan.autograd.grad([y], [xt, wt], grad_outputs=[g])
        out.append(time_it(step, reps))
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    at = swiftgan.tensor(a)
    t = time_it(lambda: F.matmul(at, at), reps)
    return out, 2 * 2048 ** 3 / t / 1e9


def run_torch(shapes, threads, reps):
    import torch
    import torch.nn.functional as TF
    torch.set_num_threads(threads)
    out = []
    for shape in shapes:
        kind, n, ci, co, k, s, p, h = shape
        x, w = (torch.from_numpy(a).requires_grad_(True) for a in arrays(*shape))
        op = getattr(TF, kind)
        g = torch.ones_like(op(x, w, stride=s, padding=p))

        def step():
            y = op(x, w, stride=s, padding=p)
            torch.autograd.grad([y], [x, w], grad_outputs=[g])
        out.append(time_it(step, reps))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shapes", nargs="+", choices=list(SHAPE_SETS), default=["dcgan64", "cyclegan"])
    ap.add_argument("--torch-python", default=None, help="a Python that can import torch (default: this one, if it can)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    shapes = [shape for name in a.shapes for shape in SHAPE_SETS[name]]
    if a.torch_worker:
        print(json.dumps(run_torch(shapes, a.threads, a.reps)))
        return
    torch_times = None
    py = a.torch_python or sys.executable
    r = subprocess.run([py, __file__, "--torch-worker", "--threads", str(a.threads), "--reps", str(a.reps), "--shapes", *a.shapes],
                       capture_output=True, text=True)
    if r.returncode == 0:
        torch_times = json.loads(r.stdout.strip().splitlines()[-1])
    else:
        print(f"(PyTorch not available from {py}: timing swiftgan only)")
    sg_times, sgemm = run_swiftgan(shapes, a.threads, a.reps)
    print(f"threads={a.threads}  OpenBLAS sgemm 2048^3: {sgemm:.1f} GFLOP/s")
    print(f"{'op':<17}{'N':>3}{'Cin':>5}{'Cout':>5}{'k/s/p':>7}{'in':>5} {'swiftgan ms':>12}{'GFLOP/s':>9}"
          + (f"{'torch ms':>10}{'GFLOP/s':>9}{'ratio':>7}" if torch_times else ""))
    tot_sg = tot_t = 0.0
    for i, shape in enumerate(shapes):
        kind, n, ci, co, k, s, p, h = shape
        f = flops(*shape)
        line = f"{kind:<17}{n:>3}{ci:>5}{co:>5}{f'{k}/{s}/{p}':>7}{h:>5} {sg_times[i]*1e3:>12.2f}{f/sg_times[i]/1e9:>9.1f}"
        tot_sg += sg_times[i]
        if torch_times:
            tot_t += torch_times[i]
            line += f"{torch_times[i]*1e3:>10.2f}{f/torch_times[i]/1e9:>9.1f}{sg_times[i]/torch_times[i]:>7.2f}"
        print(line)
    if torch_times:
        print(f"total: swiftgan {tot_sg*1e3:.1f} ms, torch {tot_t*1e3:.1f} ms, ratio {tot_sg/tot_t:.2f} (lower is better)")


if __name__ == "__main__":
    main()
