"""Projection benchmark: seconds per 1000 steps of swiftgan's projector against NVlabs' projector.py in PyTorch, on the
same CPU, for NVlabs' 256 and 1024 px configurations (random weights, as bench/infer_bench.py builds them).

NVlabs' project() runs unmodified from a checkout of NVlabs/stylegan2-ada-pytorch (`--nvlabs`, never part of this
project), on a Generator built with num_fp16_res=0 (its CPU path computes in float32; projector.py passes no
force_fp32). It downloads its LPIPS VGG16 at run time, which this machine cannot: the benchmark hands it a stand-in of
the same architecture and cost (VGG16's 13 convolutions on the 256x256 image, LPIPS' unit-normalized features of its
five stages, random weights), so its timing is that of the real projector while its result means nothing. swiftgan
runs gan.project(..., distance="pixel") on a model built with trainable=False.

Each library runs in its own process, which projects the same random target for `--short` and for `--long` steps
(setup included: w statistics from 10,000 samples, target features); the time per step is the difference over the
difference in steps, so the setup cancels. Rounds alternate the libraries; the medians are printed, with each
process's peak RSS (PyTorch's includes `import torch`).

With --explore it times StyleGAN.explore's re-render instead (seed's ws, four GANSpace edits, synthesis, PNG): the
median of 10 renders after moving a slider, per size.

Usage: python bench/project_bench.py --torch-python /path/to/venv/bin/python --nvlabs /path/to/stylegan2-ada-pytorch
       [--sizes 256 1024] [--short 1] [--long 4] [--rounds 2] [--threads 2]
       python bench/project_bench.py --explore [--sizes 256] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bench import Worker as StepWorker  # noqa: E402 (its process handling: start, ready, peak RSS)

PROTOCOL = """
import resource, sys, time
run(1)
print("ready", flush=True)
for line in sys.stdin:
    t = time.perf_counter(); run(int(line)); print(time.perf_counter() - t, flush=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, flush=True)
"""

SWIFTGAN_WORKER = """
import sys, numpy as np, swiftgan
size, threads, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
swiftgan.set_num_threads(threads)
gan = swiftgan.StyleGAN(resolution=size, channels=3, z_dim=512, w_dim=512, mapping_layers=8, channel_base=base,
                        channel_max=512, conv_clamp=256.0, trainable=False, seed=0)
target = np.random.RandomState(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
run = lambda steps: gan.project(target, steps=steps, progress=False)
""" + PROTOCOL

TORCH_WORKER = """
import contextlib, io, sys, types, torch
for name in ("requests", "imageio"):  # dnnlib and projector.py import them; nothing here downloads or writes video
    sys.modules.setdefault(name, types.ModuleType(name))
sys.path.insert(0, sys.argv[4])
import dnnlib, projector
from training.networks import Generator
size, threads, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)

class VGG16StandIn(torch.nn.Module):
    # LPIPS VGG16's computation with random weights: 13 3x3 convs with ReLU, max pooling between the five stages,
    # each stage's output unit-normalized over channels and scaled, all flattened into one feature vector
    def __init__(self):
        super().__init__()
        widths, self.stages, c = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3], torch.nn.ModuleList(), 3
        for stage in widths:
            layers = []
            for w in stage:
                layers += [torch.nn.Conv2d(c, w, 3, padding=1), torch.nn.ReLU()]
                c = w
            self.stages.append(torch.nn.Sequential(*layers))
        self.scales = [torch.rand(1, w[-1], 1, 1) for w in widths]
    def forward(self, x, resize_images=False, return_lpips=True):
        x, out = x / 127.5 - 1, []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else torch.nn.functional.max_pool2d(x, 2))
            f = x / (x.square().sum(dim=1, keepdim=True) + 1e-10).sqrt()
            out.append((f * self.scales[i].sqrt()).flatten(1) / (f.shape[2] * f.shape[3]) ** 0.5)
        return torch.cat(out, dim=1)

dnnlib.util.open_url = lambda url, *args, **kwargs: contextlib.nullcontext(io.BytesIO())
projector.torch.jit.load = lambda f: VGG16StandIn().requires_grad_(False)  # as the TorchScript file loads
G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3, mapping_kwargs={"num_layers": 8},
              synthesis_kwargs={"channel_base": base, "channel_max": 512, "num_fp16_res": 0, "conv_clamp": 256})
G = G.eval().requires_grad_(False)
target = torch.randint(0, 256, (3, size, size), generator=torch.Generator().manual_seed(0)).float()
run = lambda steps: projector.project(G, target, num_steps=steps, device=torch.device("cpu"))
""" + PROTOCOL


class Worker(StepWorker):
    """One library's process, timing projections of a given number of steps on request."""

    def run(self, steps: int) -> float:
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())


EXPLORE = """
import statistics, sys, swiftgan
size, threads, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
swiftgan.set_num_threads(threads)
gan = swiftgan.StyleGAN(resolution=size, channels=3, z_dim=512, w_dim=512, mapping_layers=8, channel_base=base,
                        channel_max=512, conv_clamp=256.0, trainable=False, seed=0)
explorer = gan.explore(n=4, samples=10_000)
times = []
for i in range(11):
    explorer.strengths[i % 4].value = 0.25 * (i + 1) * (-1) ** i  # a slider moves (to a new value): a re-render
    times.append(explorer.last_seconds)
print(f"{size:>5} px explore: re-render {statistics.median(times[1:]) * 1000:.0f} ms (median of 10; fastest "
      f"{min(times[1:]) * 1000:.0f} ms)", flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-python", help="a Python with torch installed (omit to time swiftgan alone)")
    parser.add_argument("--nvlabs", help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--short", type=int, default=1, help="steps of the short projection")
    parser.add_argument("--long", type=int, default=4, help="steps of the long projection")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--explore", action="store_true", help="time StyleGAN.explore's re-render instead")
    args = parser.parse_args()
    if args.explore:
        for size in args.sizes:
            subprocess.run([sys.executable, "-c", EXPLORE, str(size), str(args.threads),
                            str(16384 if size <= 256 else 32768)], check=True)
        return
    print(f"threads={args.threads}; seconds per step from projections of {args.short} and {args.long} steps, "
          f"x1000 for 1000 steps; medians of {args.rounds} rounds")
    for size in args.sizes:
        command = [str(size), str(args.threads), str(16384 if size <= 256 else 32768)]
        workers = {"swiftgan": Worker([sys.executable, "-c", SWIFTGAN_WORKER, *command])}
        if args.torch_python:
            workers["NVlabs"] = Worker([args.torch_python, "-c", TORCH_WORKER, *command, args.nvlabs])
        per_step: dict[str, list[float]] = {name: [] for name in workers}
        for round_index in range(args.rounds):
            for name in list(workers) if round_index % 2 == 0 else list(workers)[::-1]:
                short, long = workers[name].run(args.short), workers[name].run(args.long)
                per_step[name].append((long - short) / (args.long - args.short))
                time.sleep(0.1)
        for name, worker in workers.items():
            seconds = statistics.median(per_step[name])
            print(f"{size:>5} px {name:>9}: {seconds:6.2f} s/step = {seconds * 1000 / 60:6.1f} min per 1000 steps "
                  f"(rounds {', '.join(f'{s:.2f}' for s in per_step[name])}), peak RSS {worker.finish():.0f} MB",
                  flush=True)


if __name__ == "__main__":
    main()
