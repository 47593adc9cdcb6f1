"""The program test_distributed.py starts on every rank with ``mpirun``: ``python distributed_worker.py OUT``.

It joins the job with :func:`swiftgan.distributed.init` and trains small models with ``fit``, recording every
trained value after every step (a callback) into ``OUT/<scenario>_rank<r>.npz``, for the test to compare across ranks
and with one process:

- ``sync``: DCGAN-16, global batch 64, ``sync_batchnorm=True``: 2 steps with a checkpoint in ``OUT/sync``, then 2 more.
- ``local``: the same with per-rank BatchNorm (the default), 3 steps, run folder ``OUT/local``.
- ``stylegan``: a tiny StyleGAN2 with ADA, path-length and R1 steps, global batch 8, 3 steps.
- ``cyclegan``: a tiny CycleGAN, global batch 2, 2 steps.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import swiftgan

DCGAN_CONFIG: dict[str, Any] = {"image_size": 16, "channels": 1, "nz": 16, "ngf": 8, "ndf": 8, "seed": 3}
"""The DCGAN of the ``sync`` and ``local`` scenarios (the test builds the same one in a single process)."""
STYLEGAN_CONFIG: dict[str, Any] = {"resolution": 8, "channels": 1, "z_dim": 16, "w_dim": 16, "mapping_layers": 2,
                                   "channel_base": 64, "channel_max": 8, "r1_interval": 2, "pl_interval": 2,
                                   "ada": True, "augment_p": 0.3, "ada_interval": 1, "seed": 5}
CYCLEGAN_CONFIG: dict[str, Any] = {"image_size": 8, "in_channels": 1, "out_channels": 1, "ngf": 4, "ndf": 4,
                                   "n_blocks": 1, "n_layers_d": 1, "pool_size": 4, "seed": 7}


def dcgan_data() -> np.ndarray:
    """256 random 16x16 images, the same on every rank and in the test."""
    return np.random.default_rng(0).uniform(-1, 1, size=(256, 1, 16, 16)).astype(np.float32)


def trained_values(gan: swiftgan.GAN, buffers: bool) -> np.ndarray:
    """Every value of every network (and, when ``buffers``, BatchNorm running statistics and other state) as one
    vector, in a fixed order."""
    parts = []
    for net in gan.nets.values():
        for name, value in sorted(net.state_dict().items()):
            if buffers or "running_" not in name:
                parts.append(value.ravel())
    if buffers:
        parts += [gan._model.state_tensor(name).numpy().ravel() for name in sorted(gan._state_shapes)
                  if name in ("pl_mean", "augment_p")]
    return np.concatenate(parts)


class Recorder:
    """A fit callback keeping :func:`trained_values` and the losses after every step."""

    def __init__(self, buffers: bool) -> None:
        self.buffers = buffers
        self.values: list[np.ndarray] = []
        self.losses: list[list[float]] = []

    def __call__(self, gan: swiftgan.GAN, step: int, losses: dict[str, float]) -> None:
        self.values.append(trained_values(gan, self.buffers))
        self.losses.append(list(losses.values()))

    def save(self, path: Path) -> None:
        np.savez(path, values=np.stack(self.values), losses=np.array(self.losses))


def main(out: Path) -> None:
    machine_cache = swiftgan.get_cache_limit()
    rank, size = swiftgan.distributed.init()
    assert size == 2, f"expected 2 ranks, got {size}"
    assert swiftgan.get_cache_limit() == machine_cache // 2, "the two local ranks share the buffer cache's limit"
    data = dcgan_data()

    recorder = Recorder(buffers=True)
    gan = swiftgan.DCGAN(**DCGAN_CONFIG)
    for _ in range(2):  # 2 steps, a checkpoint (rank 0 writes), 2 more steps
        gan.fit(data, 2, batch_size=64, out_dir=out / "sync", progress=False, callbacks=[recorder],
                sync_batchnorm=True, checkpoint_every=2)
        if len(recorder.values) == 2 and rank == 0:
            (out / "sync" / "checkpoint.safetensors").rename(out / "sync" / "step2.safetensors")
    recorder.save(out / f"sync_rank{rank}.npz")

    recorder = Recorder(buffers=True)  # running statistics are averaged over the ranks after every step
    gan = swiftgan.DCGAN(**DCGAN_CONFIG)
    gan.fit(data, 3, batch_size=64, out_dir=out / "local", progress=False, callbacks=[recorder], log_every=1)
    recorder.save(out / f"local_rank{rank}.npz")

    recorder = Recorder(buffers=True)
    gan = swiftgan.StyleGAN(**STYLEGAN_CONFIG)
    images = np.random.default_rng(1).uniform(-1, 1, size=(64, 1, 8, 8)).astype(np.float32)
    gan.fit(images, 3, batch_size=8, progress=False, callbacks=[recorder])
    recorder.save(out / f"stylegan_rank{rank}.npz")

    recorder = Recorder(buffers=True)
    gan = swiftgan.CycleGAN(**CYCLEGAN_CONFIG)
    domains = [np.random.default_rng(seed).uniform(-1, 1, size=(16, 1, 8, 8)).astype(np.float32) for seed in (2, 3)]
    gan.fit(domains, 2, batch_size=2, progress=False, callbacks=[recorder])
    recorder.save(out / f"cyclegan_rank{rank}.npz")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
