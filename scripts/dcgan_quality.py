"""DCGAN sample quality on Fashion-MNIST 32x32 with the default recipe (batch 64, Adam 2e-4, betas 0.5/0.999):
trains 2000 iterations and reports the Frechet distance of 10,000 samples to the 10,000 test images, in the
feature space of swiftgan's Fashion-MNIST classifier, at several iteration counts, plus the classifier's class
histogram of the samples (variety). Writes sample grids and a checkpoint to --out.

Usage: python scripts/dcgan_quality.py [--out runs/dcgan_quality] [--steps 2000] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import swiftgan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/dcgan_quality")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    data = swiftgan.datasets.fashion_mnist("train", size=32)
    real = swiftgan.datasets.fashion_mnist("test", size=32)
    gan = swiftgan.DCGAN(image_size=32, channels=1, seed=a.seed)
    checkpoints = {s for s in (250, 500, 1000, 1500, 2000, a.steps) if s <= a.steps}
    results, start = {}, time.perf_counter()

    def measure(g, step, losses):
        if step in checkpoints:
            fake = g.generate(10000, seed=123)
            results[step] = swiftgan.metrics.fid_fashion_mnist(fake, real)
            histogram = np.bincount(swiftgan.metrics.fashion_mnist_classify(fake), minlength=10).tolist()
            print(f"step {step}: FD {results[step]:.2f} ({time.perf_counter() - start:.0f} s), classes {histogram}", flush=True)

    gan.fit(data, steps=a.steps, batch_size=64, out_dir=a.out, sample_every=250, checkpoint_every=1000, callbacks=[measure])
    print(json.dumps({"fd": results, "seconds": round(time.perf_counter() - start)}))


if __name__ == "__main__":
    main()
