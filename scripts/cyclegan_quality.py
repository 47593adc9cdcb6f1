"""How well a small CycleGAN learns Fashion-MNIST sneakers -> ankle boots at 32x32 (resnet_6blocks) on the CPU.

Trains on the 6,000 training sneakers (A) and 6,000 training ankle boots (B), unpaired, with the reference's
recipe and augmentation (batch 1, random flips; the learning-rate schedule, constant then linear decay to zero,
compressed into the run: 10 epochs of steps / 10, the last 5 decaying). Every --eval-every steps, and at the end,
it translates the 1,000 test sneakers and the 1,000 test ankle boots and reports:

- boots: the share of G_A(test sneakers) that swiftgan's Fashion-MNIST classifier calls ankle boots (96% of real
  test ankle boots, 2% of real test sneakers);
- sneakers: the share of G_B(test boots) it calls sneakers;
- cycle_A, cycle_B: the mean absolute cycle error |G_B(G_A(a)) - a| and |G_A(G_B(b)) - b|, in [-1, 1] units.

The run folder gets sample grids, the loss log, the checkpoint and quality.json (one line per evaluation).

Usage: python scripts/cyclegan_quality.py [--steps 5000] [--max-minutes 15] [--ngf 32] [--ndf 32] [--seed 0]
                                          [--eval-every 1000] [--threads N] [--out runs/cyclegan-quality]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import swiftgan
from swiftgan.datasets import FASHION_MNIST_CLASSES, unpaired_from_spec
from swiftgan.metrics import fashion_mnist_classify

SPEC = "fashion-mnist:sneaker,ankle_boot"
SIZE = 32


def evaluate(gan: swiftgan.CycleGAN, test: swiftgan.datasets.UnpairedData) -> dict[str, float]:
    """Classifier shares and cycle errors on the test images (see the module docstring)."""
    boots = gan.translate(test.a, batch_size=100)
    sneakers = gan.translate(test.b, direction="BtoA", batch_size=100)
    return {
        "boots": float(np.mean(fashion_mnist_classify(boots) == FASHION_MNIST_CLASSES.index("ankle_boot"))),
        "sneakers": float(np.mean(fashion_mnist_classify(sneakers) == FASHION_MNIST_CLASSES.index("sneaker"))),
        "cycle_A": float(np.abs(gan.translate(boots, direction="BtoA", batch_size=100) - test.a).mean()),
        "cycle_B": float(np.abs(gan.translate(sneakers, batch_size=100) - test.b).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--max-minutes", type=float, default=15.0, help="stop training after this long")
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: the engine's)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "cyclegan-quality")
    args = parser.parse_args()
    if args.threads is not None:
        swiftgan.set_num_threads(args.threads)

    data = unpaired_from_spec(SPEC, SIZE)
    test = unpaired_from_spec(SPEC, SIZE, flip=False, split="test")
    gan = swiftgan.CycleGAN(image_size=SIZE, in_channels=1, out_channels=1, ngf=args.ngf, ndf=args.ndf, n_blocks=6,
                            n_epochs=5, n_epochs_decay=5, epoch_steps=max(1, args.steps // 10), seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    start = time.perf_counter()

    def record() -> None:
        results.append({"step": gan.step, "train_minutes": round((time.perf_counter() - start) / 60, 2),
                        **{name: round(value, 4) for name, value in evaluate(gan, test).items()}})
        print(json.dumps(results[-1]), flush=True)

    def on_step(model: swiftgan.GAN, step: int, losses: dict[str, float]) -> str | None:
        if step % args.eval_every == 0:
            paused = time.perf_counter()
            record()
            nonlocal start
            start += time.perf_counter() - paused  # evaluation time is not training time
        return "stop" if time.perf_counter() - start > 60 * args.max_minutes else None

    gan.fit((data.a, data.b), args.steps, transform=data.transform, out_dir=args.out, sample_every=500,
            callbacks=[on_step])
    if not results or results[-1]["step"] != gan.step:
        record()
    (args.out / "quality.json").write_text("".join(json.dumps(line) + "\n" for line in results))
    last = results[-1]
    print(f"{gan.step} steps in {last['train_minutes']} min of training: {last['boots']:.1%} of translated test "
          f"sneakers are ankle boots, cycle L1 {last['cycle_A']:.3f}")


if __name__ == "__main__":
    main()
