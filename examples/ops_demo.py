"""A smoke demo of the engine from Python: a small convolutional classifier trained on Fashion-MNIST with
swiftgan's functional ops, autodiff and Adam, all computed in Swift. Prints the loss as it falls and the test
accuracy at the end.

Usage: python examples/ops_demo.py [--steps 300] [--batch 64] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm import tqdm

import swiftgan
import swiftgan.functional as F
from swiftgan.datasets import fashion_mnist


def init(rng, shape, fan_in):
    """He-initialized parameter tensor."""
    return swiftgan.tensor((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), requires_grad=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    swiftgan.set_num_threads(a.threads)

    images, labels = fashion_mnist("train", return_labels=True)
    test_images, test_labels = fashion_mnist("test", return_labels=True)
    rng = np.random.default_rng(0)
    params = {
        "c1": init(rng, (32, 1, 4, 4), 16), "b1": swiftgan.tensor(np.zeros(32, np.float32), requires_grad=True),
        "c2": init(rng, (64, 32, 4, 4), 512), "b2": swiftgan.tensor(np.zeros(64, np.float32), requires_grad=True),
        "fc": init(rng, (10, 64 * 7 * 7), 64 * 49), "bf": swiftgan.tensor(np.zeros(10, np.float32), requires_grad=True),
    }
    opt = swiftgan.optim.Adam(list(params.values()), lr=1e-3, betas=(0.9, 0.999))

    def logits(x):
        h = F.leaky_relu(F.conv2d(x, params["c1"], params["b1"], stride=2, padding=1), 0.2)   # 14x14
        h = F.leaky_relu(F.conv2d(h, params["c2"], params["b2"], stride=2, padding=1), 0.2)   # 7x7
        return F.linear(F.reshape(h, (h.shape[0], -1)), params["fc"], params["bf"])

    start = time.perf_counter()
    bar = tqdm(range(a.steps), desc="training")
    for step in bar:
        idx = rng.integers(0, len(images), a.batch)
        x = swiftgan.tensor(images[idx])
        onehot = np.eye(10, dtype=np.float32)[labels[idx]]
        z = logits(x)
        # Softmax cross-entropy from the engine's ops: logsumexp(z) - <z, onehot>; logits stay small here.
        lse = F.log(F.sum(F.exp(z), dim=1))
        loss = F.mean(F.sub(lse, F.sum(F.mul(z, swiftgan.tensor(onehot)), dim=1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0:
            bar.set_postfix(loss=f"{float(loss.numpy()):.3f}")
    elapsed = time.perf_counter() - start

    with swiftgan.no_grad():
        predictions = np.concatenate([np.argmax(logits(swiftgan.tensor(test_images[i:i + 500])).numpy(), axis=1)
                                      for i in range(0, len(test_images), 500)])
    accuracy = float(np.mean(predictions == test_labels))
    print(f"{a.steps} steps in {elapsed:.1f} s ({elapsed / a.steps * 1e3:.1f} ms/step); test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
