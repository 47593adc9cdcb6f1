"""Trains the Fashion-MNIST feature network of swiftgan.metrics with swiftgan itself and writes its weights.

A few epochs of Adam on the 60,000 training images with softmax cross-entropy; prints the test accuracy after
every epoch and stores the final one in the weights' metadata. The shipped file
python/swiftgan/data/fmnist_features.safetensors was written by this script with its defaults.

Usage: python scripts/train_feature_net.py [--epochs 5] [--batch-size 128] [--lr 1e-3] [--seed 0] [--threads N]
                                           [--out python/swiftgan/data/fmnist_features.safetensors]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import swiftgan
import swiftgan.functional as F
from swiftgan.datasets import fashion_mnist
from swiftgan.metrics import FeatureNet

SHIPPED = Path(__file__).resolve().parents[1] / "python" / "swiftgan" / "data" / "fmnist_features.safetensors"
"""Where the package ships the weights (in the source tree, not the installed copy)."""


def cross_entropy(logits: swiftgan.Tensor, labels: np.ndarray) -> swiftgan.Tensor:
    """Mean softmax cross-entropy. The row maxima are subtracted as constants first: log-sum-exp is invariant to
    them, so the gradient is exact and exp cannot overflow."""
    values = logits.numpy()
    shifted = F.sub(logits, swiftgan.tensor(values.max(axis=1, keepdims=True)))
    onehot = np.eye(values.shape[1], dtype=np.float32)[labels]
    log_sum_exp = F.log(F.sum(F.exp(shifted), dim=1))
    return F.mean(F.sub(log_sum_exp, F.sum(F.mul(shifted, swiftgan.tensor(onehot)), dim=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: the engine's)")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args()
    if args.threads is not None:
        swiftgan.set_num_threads(args.threads)

    images, labels = fashion_mnist("train", return_labels=True)
    test_images, test_labels = fashion_mnist("test", return_labels=True)
    net = FeatureNet.initialize(seed=args.seed)
    opt = swiftgan.optim.Adam(list(net.params.values()), lr=args.lr, betas=(0.9, 0.999))
    rng = np.random.default_rng(args.seed)
    steps_per_epoch = len(images) // args.batch_size
    start = time.perf_counter()
    accuracy = 0.0
    for epoch in range(args.epochs):
        order = rng.permutation(len(images))
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}")
        for step in bar:
            index = order[step * args.batch_size:(step + 1) * args.batch_size]
            loss = cross_entropy(net.logits(swiftgan.tensor(images[index])), labels[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{float(loss.numpy()):.3f}")
        accuracy = float(np.mean(net.predict(test_images) == test_labels))
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f}")
    elapsed = time.perf_counter() - start
    net.save(args.out, {
        "model": "swiftgan.metrics.FeatureNet",
        "dataset": "Fashion-MNIST",
        "test_accuracy": f"{accuracy:.4f}",
        "trained_by": f"scripts/train_feature_net.py --epochs {args.epochs} --batch-size {args.batch_size} "
                      f"--lr {args.lr} --seed {args.seed}",
    })
    print(f"{args.epochs} epochs in {elapsed:.0f} s; test accuracy {accuracy:.4f}; wrote {args.out}")


if __name__ == "__main__":
    main()
