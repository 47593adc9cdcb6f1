"""Ctrl-C latency during long training steps: how soon `fit` stops after SIGINT arrives in the middle of a step, and
how long the checkpoint it then writes takes. The step is stopped part-way and rolled back, so the model and the
checkpoint are those of the last finished step (checked here against the checkpoint's step counter).

Default workload: CycleGAN at 256x256 with resnet_9blocks, batch 1 (steps of about 11 s on 2 cores).

Usage: python bench/interrupt_bench.py [--image-size 256] [--blocks 9] [--fraction 0.5] [--out /tmp/interrupt_bench]
"""
from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time

import numpy as np

import swiftgan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=9)
    ap.add_argument("--fraction", type=float, default=0.5, help="how far into the second step SIGINT is sent")
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="interrupt_bench_")
    rng = np.random.default_rng(0)
    data = [rng.uniform(-1, 1, (4, 3, a.image_size, a.image_size)).astype(np.float32) for _ in range(2)]
    gan = swiftgan.CycleGAN(image_size=a.image_size, n_blocks=a.blocks, seed=0)
    times: dict[str, float] = {}
    original_save = gan.save

    def timed_save(path) -> None:
        times.setdefault("save_start", time.perf_counter())
        original_save(path)
        times["save_end"] = time.perf_counter()

    gan.save = timed_save

    def interrupt_in_step_two(model: swiftgan.GAN, step: int, losses: dict) -> None:
        if step == 1:
            times["step"] = time.perf_counter() - times["start"]
            delay = times["step"] * a.fraction

            def fire() -> None:
                time.sleep(delay)
                times["signal"] = time.perf_counter()
                os.kill(os.getpid(), signal.SIGINT)

            threading.Thread(target=fire, daemon=True).start()

    times["start"] = time.perf_counter()
    try:
        gan.fit(data, steps=5, batch_size=1, out_dir=out, progress=False, callbacks=[interrupt_in_step_two])
        print("fit finished without being interrupted")
        return
    except KeyboardInterrupt:
        stopped = time.perf_counter()
    saved = swiftgan.load(os.path.join(out, "checkpoint.safetensors"))
    print(f"CycleGAN-{a.image_size}, resnet_{a.blocks}blocks: first step {times['step']:.2f} s; SIGINT "
          f"{times['step'] * a.fraction:.2f} s into step 2")
    print(f"  stopped (step rolled back) {(times['save_start'] - times['signal']) * 1000:.0f} ms after the signal")
    print(f"  checkpoint written {(times['save_end'] - times['save_start']) * 1000:.0f} ms later; KeyboardInterrupt "
          f"{(stopped - times['signal']) * 1000:.0f} ms after the signal")
    print(f"  model step {gan.step}, checkpoint step {saved.step} (the last finished step)")


if __name__ == "__main__":
    main()
