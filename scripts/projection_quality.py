"""How well projection finds back a StyleGAN2's own images, whose latents are known: PSNR of the reconstructions.

Generates --images images of a model (seeds 1000, 1001, ..., no truncation, constant noise), or with --data takes the
first --images images of a data set (real pictures: `emoji`, `fashion-mnist`, a folder...), projects each with
gan.project in every combination of --spaces, --initial-noise and --distances, and prints the PSNR (mean, min, max)
and the seconds per projection. --figure writes targets and reconstructions as one grid (a row each).

Usage: python scripts/projection_quality.py CKPT [--images 8] [--steps 1000] [--spaces w+ w]
       [--initial-noise model random] [--distances pixel discriminator] [--data emoji]
       [--figure docs/images/projection.png]
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

import swiftgan as sg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a StyleGAN2 checkpoint or published file")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--spaces", nargs="+", default=["w+", "w"], choices=["w", "w+"])
    parser.add_argument("--initial-noise", nargs="+", default=["model", "random"], choices=["random", "model"])
    parser.add_argument("--distances", nargs="+", default=["pixel"], choices=["pixel", "discriminator"])
    parser.add_argument("--data", help="project real images of this data set (swiftgan.datasets.from_spec) instead")
    parser.add_argument("--figure", help="write targets and the first combination's reconstructions here")
    args = parser.parse_args()
    gan = sg.load(args.checkpoint)
    if "discriminator" in args.distances:
        gan = sg.StyleGAN.load(args.checkpoint) if args.checkpoint.endswith(".safetensors") else \
            sg.StyleGAN.from_pretrained(args.checkpoint, for_training=True)
    if args.data:
        targets = sg.datasets.from_spec(args.data, gan.config["resolution"], gan.config["channels"])[:args.images]
    else:
        targets = gan.generate(seeds=range(1000, 1000 + args.images))
    strengths = [float(v) for name, v in gan.nets["G_ema"].state_dict().items() if name.endswith("noise_strength")]
    print(f"{args.checkpoint}: {gan.config['resolution']} px, step {gan.step}; noise strengths "
          f"{min(strengths):.3f} to {max(strengths):.3f}; {len(targets)} {args.data or 'generated'} images, "
          f"{args.steps} steps")
    print(f"{'space':>6}{'noise':>8}{'distance':>15}{'PSNR mean':>11}{'min':>7}{'max':>7}{'s/image':>9}")
    figure = None
    for space, noise, distance in itertools.product(args.spaces, args.initial_noise, args.distances):
        values, seconds, images = [], [], []
        for target in targets:
            started = time.perf_counter()
            result = gan.project(target, steps=args.steps, space=space, initial_noise=noise, distance=distance,
                                 progress=False)
            seconds.append(time.perf_counter() - started)
            values.append(result.psnr())
            images.append(result.image[0])
        print(f"{space:>6}{noise:>8}{distance:>15}{statistics.mean(values):>11.2f}{min(values):>7.2f}"
              f"{max(values):>7.2f}{statistics.mean(seconds):>9.1f}", flush=True)
        if figure is None:
            figure = np.concatenate([targets, np.stack(images)])
    if args.figure and figure is not None:
        sg.save_grid(figure, args.figure, nrow=args.images)
        print(f"wrote {args.figure}: targets, then reconstructions ({args.spaces[0]}, {args.initial_noise[0]} noise)")


if __name__ == "__main__":
    main()
