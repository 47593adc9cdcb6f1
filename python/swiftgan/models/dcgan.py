"""DCGAN: deep convolutional generative adversarial networks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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

    {args}

    ``train_step(batch)`` takes real images (B, channels, image_size, image_size) in [-1, 1] and returns
    ``loss_d``, ``loss_g``, ``d_real`` (D's mean probability on the reals) and ``d_fake`` (on the fakes, before
    the G step).
    """


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
