"""DCGAN: deep convolutional generative adversarial networks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from swiftgan._checks import _check_float, _check_int
from swiftgan.models.base import GAN

__all__ = ["DCGAN"]


class DCGAN(GAN, kind="dcgan"):
    """DCGAN (Radford, Metz and Chintala 2015, "Unsupervised Representation Learning with Deep Convolutional
    Generative Adversarial Networks", arXiv:1511.06434), as in pytorch/examples' ``dcgan``, for any square image
    size 2^k from 16 to 128 and any channel count.

    Generator ``G``: a 4x4 transposed convolution from the noise z, then BatchNorm + ReLU and a stride-2
    transposed convolution per doubling of the resolution, Tanh output. Discriminator ``D``: 4x4 stride-2
    convolutions with LeakyReLU(0.2), BatchNorm on all but the first, a final 4x4 convolution to one logit and a
    Sigmoid; training uses binary cross-entropy on the logits. Weights N(0, 0.02), BatchNorm weights N(1, 0.02).
    One :meth:`train_step` is the reference's iteration: a D step on a real and a fake batch, then a G step
    against D (non-saturating loss), each with its own Adam. Parameter names are pytorch/examples' (``main.N.*``),
    so its state dicts load with ``gan.nets["G"].load_state_dict(...)``.

    Args:
        image_size: side length of the square images: 16, 32, 64 or 128.
        channels: image channels (1 grayscale, 3 RGB, ...).
        nz: length of the noise vector z.
        ngf: generator width (channels of its last hidden layer).
        ndf: discriminator width (channels of its first layer).
        lr: Adam learning rate of both networks.
        betas: Adam's (beta1, beta2).
        seed: seeds the initial weights, the training noise and the order of the batches in :meth:`fit`.

    ``train_step(batch)`` takes real images (B, channels, image_size, image_size) in [-1, 1] and returns
    ``loss_d``, ``loss_g``, ``d_real`` (D's mean probability on the reals) and ``d_fake`` (on the fakes, before
    the G step).
    """

    def __init__(self, *, image_size: int = 64, channels: int = 3, nz: int = 100, ngf: int = 64, ndf: int = 64,
                 lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), seed: int = 0) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"DCGAN: argument 'betas' must be a pair of floats, got {betas!r}")
        config: dict[str, Any] = {
            "image_size": _check_int("DCGAN", "image_size", image_size),
            "channels": _check_int("DCGAN", "channels", channels),
            "nz": _check_int("DCGAN", "nz", nz),
            "ngf": _check_int("DCGAN", "ngf", ngf),
            "ndf": _check_int("DCGAN", "ndf", ndf),
            "lr": _check_float("DCGAN", "lr", lr),
            "betas": [_check_float("DCGAN", "betas", beta) for beta in betas],
            "seed": _check_int("DCGAN", "seed", seed),
        }
        attrs = {key: config[key] for key in ("image_size", "channels", "nz", "ngf", "ndf")}
        attrs.update(lr_g=config["lr"], lr_d=config["lr"], beta1=config["betas"][0], beta2=config["betas"][1])
        super().__init__(config, attrs)

    def _world_size_change_problem(self, saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
        """BatchNorm's training statistics are over each rank's slice unless ``sync_batchnorm`` (or one rank): a
        change of the images they cover changes the computation."""
        def covered(training: Mapping[str, Any]) -> int:
            world = training["world_size"]
            synced = world == 1 or training.get("sync_batchnorm", False)
            return training["batch_size"] if synced else training["batch_size"] // world
        if covered(saved) != covered(current):
            return (f"BatchNorm's batch statistics would cover {covered(current)} images instead of "
                    f"{covered(saved)}; resume on {saved['world_size']} rank(s) (runs trained with "
                    f"sync_batchnorm=True, statistics over the whole global batch, may change the number of ranks)")
        return None

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` samples (n, channels, image_size, image_size) in [-1, 1] from noise drawn from ``seed`` alone
        (the training RNG is untouched), with G in evaluation mode (BatchNorm's running statistics)."""
        return self._model.generate(n, seed).numpy()

    def preview(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """64 samples from seed 0, the same noise at every call (the training data plays no part)."""
        return self.generate(64, seed=0)
