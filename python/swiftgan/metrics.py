"""Sample quality: the Fréchet distance between feature distributions, and features for Fashion-MNIST-like images.

The Fréchet distance of Heusel et al. (2017), the "FID" when the features are Inception's, compares the means
and covariances of two sets of features. Inception is neither small nor shipped here, so for 1-channel
28x28-like images swiftgan ships :class:`FeatureNet`, a small convolutional Fashion-MNIST classifier trained
with swiftgan itself (``scripts/train_feature_net.py``; its test accuracy is in the weights' metadata). Its
128-dimensional penultimate activations are the features. Distances computed with it are comparable with
each other, not with published FIDs. Like any classifier's features they are made for garments: images far from
the data (noise, blobs) land near the data's mean features, so noise scores about as far from Fashion-MNIST as
a set of real images of only three classes does. Use the distance to follow a model along its training, not to
rank noise.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from swiftgan import _native
from swiftgan import functional as F
from swiftgan.autograd import no_grad
from swiftgan.datasets import fashion_mnist
from swiftgan.images import resize
from swiftgan.safetensors import load_file, save_file

__all__ = ["frechet_distance", "FeatureNet", "fashion_mnist_features", "fashion_mnist_classify",
           "fid_fashion_mnist", "psnr"]

FEATURE_NET_WEIGHTS = Path(__file__).resolve().parent / "data" / "fmnist_features.safetensors"
"""The shipped weights of the Fashion-MNIST feature network."""


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The square root of a symmetric positive semi-definite matrix, through its eigendecomposition (negative
    eigenvalues from rounding are taken as zero)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def psnr(images: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of images against a reference of the same shape, both in [-1, 1] (values
    outside are clipped, as when saving): ``10 log10(2^2 / MSE)``, the PSNR of the 8-bit pictures up to rounding.
    Identical images give ``inf``."""
    a, b = np.asarray(images, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"psnr: expected two non-empty arrays of one shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("psnr: images must be finite")
    mse = float(np.mean((np.clip(a, -1, 1) - np.clip(b, -1, 1)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(4 / mse))


def frechet_distance(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features (rows are samples).

    ``|mu_r - mu_f|^2 + tr(S_r) + tr(S_f) - 2 tr((S_r S_f)^(1/2))``, in float64. The trace of the square root is
    computed as ``tr((S_r^(1/2) S_f S_r^(1/2))^(1/2))``, a symmetric positive semi-definite matrix with the same
    eigenvalues as ``S_r S_f``, so it needs only symmetric eigendecompositions and stays real and stable even
    when the covariances are singular (fewer samples than features).
    """
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"frechet_distance: expected two (N, D) arrays with the same D, got {real.shape} and "
                         f"{fake.shape}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("frechet_distance: each set needs at least 2 samples for a covariance")
    if not (np.isfinite(real).all() and np.isfinite(fake).all()):
        raise ValueError("frechet_distance: features must be finite")
    cov_real, cov_fake = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root = _symmetric_sqrt(cov_real)
    cross = np.linalg.eigvalsh(root @ cov_fake @ root)
    trace_sqrt = float(np.sqrt(np.clip(cross, 0.0, None)).sum())
    mean_term = float(np.sum((real.mean(axis=0) - fake.mean(axis=0)) ** 2))
    distance = mean_term + float(np.trace(cov_real) + np.trace(cov_fake)) - 2.0 * trace_sqrt
    return max(distance, 0.0)


class FeatureNet:
    """A small convolutional classifier of 1-channel 28x28 images, computed by the swiftgan engine.

    conv 1->32 (4x4, stride 2, pad 1) + LeakyReLU(0.2), conv 32->64 (4x4, stride 2, pad 1) + LeakyReLU(0.2),
    linear 3136->128 + LeakyReLU(0.2) (the features), linear 128->10 (the class logits). Inputs are images in
    [-1, 1]; other sizes are resized to 28x28 first (:func:`swiftgan.images.resize`).
    """

    SHAPES: Mapping[str, tuple[int, ...]] = {
        "conv1.weight": (32, 1, 4, 4), "conv1.bias": (32,),
        "conv2.weight": (64, 32, 4, 4), "conv2.bias": (64,),
        "fc1.weight": (128, 64 * 7 * 7), "fc1.bias": (128,),
        "fc2.weight": (10, 128), "fc2.bias": (10,),
    }
    IMAGE_SIZE = 28
    FEATURES = 128

    def __init__(self, params: Mapping[str, np.ndarray]) -> None:
        if set(params) != set(self.SHAPES):
            raise ValueError(f"FeatureNet: expected parameters {sorted(self.SHAPES)}, got {sorted(params)}")
        for name, shape in self.SHAPES.items():
            if params[name].shape != shape:
                raise ValueError(f"FeatureNet: {name} has shape {params[name].shape}, expected {shape}")
        self.params = {name: _native.tensor(np.ascontiguousarray(params[name], dtype=np.float32), requires_grad=True)
                       for name in self.SHAPES}

    @classmethod
    def initialize(cls, seed: int = 0) -> FeatureNet:
        """Fresh weights: He-normal for the weights, zeros for the biases."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in cls.SHAPES.items():
            if name.endswith("bias"):
                params[name] = np.zeros(shape, np.float32)
            else:
                fan_in = int(np.prod(shape[1:]))
                params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        return cls(params)

    @classmethod
    def load(cls, path: str | os.PathLike = FEATURE_NET_WEIGHTS) -> FeatureNet:
        """The network saved at ``path`` (by default the shipped weights)."""
        tensors, _ = load_file(path)
        return cls(tensors)

    def save(self, path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
        """Writes the weights as safetensors with optional str -> str metadata."""
        save_file({name: tensor.numpy() for name, tensor in self.params.items()}, path, metadata)

    def features(self, x: _native.Tensor) -> _native.Tensor:
        """The 128 features of a batch x ``[N, 1, 28, 28]``."""
        p = self.params
        h = F.leaky_relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], stride=2, padding=1), 0.2)
        h = F.leaky_relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"], stride=2, padding=1), 0.2)
        return F.leaky_relu(F.linear(F.reshape(h, (h.shape[0], -1)), p["fc1.weight"], p["fc1.bias"]), 0.2)

    def logits(self, x: _native.Tensor) -> _native.Tensor:
        """The 10 class logits of a batch x ``[N, 1, 28, 28]``."""
        return F.linear(self.features(x), self.params["fc2.weight"], self.params["fc2.bias"])

    def _batches(self, images: np.ndarray, batch_size: int):
        """Checked, resized images in engine batches."""
        array = np.asarray(images)
        if array.ndim != 4 or array.shape[1] != 1 or array.shape[2] != array.shape[3] or len(array) == 0:
            raise ValueError(f"FeatureNet: expected 1-channel square images (N, 1, H, H), got {array.shape}")
        if array.dtype != np.float32:
            raise TypeError(f"FeatureNet: expected float32 images in [-1, 1], got {array.dtype}")
        for start in range(0, len(array), batch_size):
            yield _native.tensor(resize(array[start:start + batch_size], self.IMAGE_SIZE))

    def embed(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Features of numpy images (N, 1, H, H) in [-1, 1]: (N, 128) float64."""
        with no_grad():
            return np.concatenate([self.features(x).numpy() for x in self._batches(images, batch_size)]
                                  ).astype(np.float64)

    def predict(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Predicted class labels of numpy images (N, 1, H, H) in [-1, 1]: (N,) int64."""
        with no_grad():
            return np.concatenate([np.argmax(self.logits(x).numpy(), axis=1) for x in self._batches(images, batch_size)]
                                  ).astype(np.int64)


@functools.lru_cache(maxsize=1)
def _shipped_net() -> FeatureNet:
    """The shipped Fashion-MNIST feature network, loaded once."""
    return FeatureNet.load()


def fashion_mnist_features(images: np.ndarray) -> np.ndarray:
    """The shipped :class:`FeatureNet`'s features of 1-channel images (N, 1, H, H) in [-1, 1]: (N, 128) float64."""
    return _shipped_net().embed(images)


def fashion_mnist_classify(images: np.ndarray) -> np.ndarray:
    """The shipped :class:`FeatureNet`'s Fashion-MNIST labels for images (N, 1, H, H) in [-1, 1]: (N,) int64
    (names in :data:`swiftgan.datasets.FASHION_MNIST_CLASSES`)."""
    return _shipped_net().predict(images)


def fid_fashion_mnist(fake_images: np.ndarray, real_images: np.ndarray | None = None, n: int = 10000) -> float:
    """The Fréchet distance between :func:`fashion_mnist_features` of generated and real images.

    Args:
        fake_images: generated images (N, 1, H, H) in [-1, 1].
        real_images: the reference images; by default the Fashion-MNIST test split resized to H x H, as the
            training data was.
        n: at most this many images of each set are used (the first ones). The distance is biased upwards for
            small sets, so compare values computed with the same n.
    """
    fake = np.asarray(fake_images)
    if fake.ndim != 4:
        raise ValueError(f"fid_fashion_mnist: expected images (N, 1, H, H), got {fake.shape}")
    if real_images is None:
        real_images = fashion_mnist("test", size=fake.shape[-1])
    return frechet_distance(fashion_mnist_features(real_images[:n]), fashion_mnist_features(fake[:n]))
