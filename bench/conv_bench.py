"""Convolution benchmark: conv2d and conv_transpose2d forward + backward at the DCGAN-64 layer shapes (batch 64)
and the CycleGAN resnet-block shape (or, with --shapes, DCGAN-32's, or every convolution of the CycleGAN-128
training workload), in swiftgan and, side by side in the same
run, in PyTorch when a Python with torch is available. One long-lived process per library; for every shape the two
take turns (alternating which goes first), in several rounds, so both see the same moment of a machine whose speed
drifts. Prints ms per forward+backward (fastest), GFLOP/s, the ratio to PyTorch (median over the rounds), and the
sgemm GFLOP/s of the OpenBLAS that swiftgan uses.

Usage: python bench/conv_bench.py [--threads 2] [--reps 5] [--rounds 3] [--shapes dcgan64 cyclegan dcgan32]
                                  [--torch-python /path/to/venv/bin/python]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

def dcgan_shapes(size, channels, batch=64, nz=100, width=64):
    """The convolutions of pytorch/examples' DCGAN at `size` (D, then G), as SHAPE_SETS rows."""
    ups = size.bit_length() - 4  # 3 at 64, 2 at 32
    d = [("conv2d", batch, channels, width, 4, 2, 1, size)]
    d += [("conv2d", batch, width << i, width << (i + 1), 4, 2, 1, size >> (i + 1)) for i in range(ups)]
    d += [("conv2d", batch, width << ups, 1, 4, 1, 0, 4)]
    g = [("conv_transpose2d", batch, nz, width << ups, 4, 1, 0, 1)]
    g += [("conv_transpose2d", batch, width << i, width << (i - 1), 4, 2, 1, 4 << (ups - i)) for i in range(ups, 0, -1)]
    g += [("conv_transpose2d", batch, width, channels, 4, 2, 1, size // 2)]
    return d + g


# (kind, batch, in_ch, out_ch, kernel, stride, padding, input size); conv_transpose2d weights are [in, out, k, k].
SHAPE_SETS = {
    "dcgan64": dcgan_shapes(64, 3),
    "cyclegan": [
        ("conv2d", 1, 256, 256, 3, 1, 1, 64),        # CycleGAN resnet block at 256x256 input
        ("conv2d", 1, 256, 256, 3, 1, 1, 32),        # ... at 128x128 input
    ],
    "dcgan32": dcgan_shapes(32, 1),
    # Every convolution of the CycleGAN-128 training workload (resnet_6blocks at batch 1, reflection padding as a
    # padded input, the up-convolutions without output padding), then its PatchGAN discriminator's.
    "cyclegan128": [
        ("conv2d", 1, 3, 64, 7, 1, 0, 134),
        ("conv2d", 1, 64, 128, 3, 2, 1, 128),
        ("conv2d", 1, 128, 256, 3, 2, 1, 64),
        ("conv2d", 1, 256, 256, 3, 1, 0, 34),
        ("conv_transpose2d", 1, 256, 128, 3, 2, 1, 32),
        ("conv_transpose2d", 1, 128, 64, 3, 2, 1, 64),
        ("conv2d", 1, 64, 3, 7, 1, 0, 134),
        ("conv2d", 1, 3, 64, 4, 2, 1, 128),
        ("conv2d", 1, 64, 128, 4, 2, 1, 64),
        ("conv2d", 1, 128, 256, 4, 2, 1, 32),
        ("conv2d", 1, 256, 512, 4, 1, 1, 16),
        ("conv2d", 1, 512, 1, 4, 1, 1, 15),
    ],
}


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


def swiftgan_steps(shapes, threads):
    """One forward + backward per shape (and sgemm 2048^3 as the last entry), for swiftgan."""
    import swiftgan
    import swiftgan.functional as F
    swiftgan.set_num_threads(threads)
    steps = []
    for shape in shapes:
        kind, n, ci, co, k, s, p, h = shape
        x, w = arrays(*shape)
        xt, wt = swiftgan.tensor(x, requires_grad=True), swiftgan.tensor(w, requires_grad=True)
        op = getattr(F, kind)
        g = swiftgan.tensor(np.ones(op(xt, wt, stride=s, padding=p).shape, dtype=np.float32))
        steps.append(lambda op=op, xt=xt, wt=wt, s=s, p=p, g=g: swiftgan.autograd.grad([op(xt, wt, stride=s, padding=p)], [xt, wt], grad_outputs=[g]))
    a = swiftgan.tensor(np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32))
    steps.append(lambda: F.matmul(a, a))
    return steps


def torch_steps(shapes, threads):
    """One forward + backward per shape, for PyTorch."""
    import torch
    import torch.nn.functional as TF
    torch.set_num_threads(threads)
    steps = []
    for shape in shapes:
        kind, n, ci, co, k, s, p, h = shape
        x, w = (torch.from_numpy(a).requires_grad_(True) for a in arrays(*shape))
        op = getattr(TF, kind)
        g = torch.ones_like(op(x, w, stride=s, padding=p))
        steps.append(lambda op=op, x=x, w=w, s=s, p=p, g=g: torch.autograd.grad([op(x, w, stride=s, padding=p)], [x, w], grad_outputs=[g]))
    return steps


def serve(library, shapes, threads, reps):
    """Worker: builds the steps, prints "ready", then for each line (a step index) prints the fastest of `reps` runs."""
    steps = (swiftgan_steps if library == "swiftgan" else torch_steps)(shapes, threads)
    print("ready", flush=True)
    for line in sys.stdin:
        print(time_it(steps[int(line)], reps), flush=True)


class Worker:
    def __init__(self, python, library, a):
        self.process = subprocess.Popen([python, __file__, "--worker", library, "--threads", str(a.threads), "--reps", str(a.reps),
                                         "--shapes", *a.shapes], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {library} worker failed to start")

    def time(self, index):
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shapes", nargs="+", choices=list(SHAPE_SETS), default=["dcgan64", "cyclegan"])
    ap.add_argument("--torch-python", default=None, help="a Python that can import torch (default: this one, if it can)")
    ap.add_argument("--worker", choices=["swiftgan", "torch"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    shapes = [shape for name in a.shapes for shape in SHAPE_SETS[name]]
    if a.worker:
        return serve(a.worker, shapes, a.threads, a.reps)
    py = a.torch_python or sys.executable
    workers = {"swiftgan": Worker(sys.executable, "swiftgan", a)}
    if subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
        workers["torch"] = Worker(py, "torch", a)
    else:
        print(f"(PyTorch not available from {py}: timing swiftgan only)")
    times = {k: [[] for _ in shapes] for k in workers}
    for r in range(a.rounds):
        for i in range(len(shapes)):
            for k in (list(workers) if (r + i) % 2 == 0 else list(workers)[::-1]):
                times[k][i].append(workers[k].time(i))
    sgemm = min(workers["swiftgan"].time(len(shapes)) for _ in range(a.reps))
    best = {k: [min(t) for t in v] for k, v in times.items()}
    has_torch = "torch" in best
    print(f"threads={a.threads}  OpenBLAS sgemm 2048^3: {2 * 2048 ** 3 / sgemm / 1e9:.1f} GFLOP/s  "
          f"(fastest of {a.reps} runs x {a.rounds} paired rounds; ratio: median over the rounds)")
    print(f"{'op':<17}{'N':>3}{'Cin':>5}{'Cout':>5}{'k/s/p':>7}{'in':>5} {'swiftgan ms':>12}{'GFLOP/s':>9}"
          + (f"{'torch ms':>10}{'GFLOP/s':>9}{'ratio':>7}" if has_torch else ""))
    for i, shape in enumerate(shapes):
        kind, n, ci, co, k, s, p, h = shape
        f, t_sg = flops(*shape), best["swiftgan"][i]
        line = f"{kind:<17}{n:>3}{ci:>5}{co:>5}{f'{k}/{s}/{p}':>7}{h:>5} {t_sg*1e3:>12.2f}{f/t_sg/1e9:>9.1f}"
        if has_torch:
            t_pt = best["torch"][i]
            ratio = statistics.median(a_ / b_ for a_, b_ in zip(times["swiftgan"][i], times["torch"][i]))
            line += f"{t_pt*1e3:>10.2f}{f/t_pt/1e9:>9.1f}{ratio:>7.2f}"
        print(line)
    if has_torch:
        tot_sg, tot_t = sum(best["swiftgan"]), sum(best["torch"])
        print(f"total: swiftgan {tot_sg*1e3:.1f} ms, torch {tot_t*1e3:.1f} ms, ratio {tot_sg/tot_t:.2f} (lower is better)")


if __name__ == "__main__":
    main()
