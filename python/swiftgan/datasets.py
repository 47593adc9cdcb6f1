"""Datasets that ship with Debian or PyPI packages: nothing is downloaded at run time.

Every loader returns float32 images shaped (N, C, H, W) with values in [-1, 1], the range GAN generators emit.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST class names, by label.
FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                         "ankle_boot")


def _read_idx(path: Path) -> np.ndarray:
    """Reads a gzipped IDX file (the MNIST format) into a uint8 array, checking its header."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(data) != offset + int(np.prod(dims)):
        raise ValueError(f"{path}: truncated IDX file (header says {dims})")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _to_images(pixels: np.ndarray, size: int | None) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 (N, C, size, size) in [-1, 1], resized with Pillow if needed."""
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    if size is not None and pixels.shape[1:3] != (size, size):
        from PIL import Image
        resized = [np.asarray(Image.fromarray(p.squeeze(-1) if p.shape[-1] == 1 else p).resize(
            (size, size), Image.BILINEAR)) for p in pixels]
        pixels = np.stack(resized)
        if pixels.ndim == 3:
            pixels = pixels[..., None]
    images = pixels.transpose(0, 3, 1, 2).astype(np.float32)
    return np.ascontiguousarray(images / 127.5 - 1.0)


def fashion_mnist(split: str = "train", size: int | None = 28, classes: list[int | str] | None = None,
                  return_labels: bool = False):
    """Fashion-MNIST (Xiao et al. 2017, MIT license) from the Debian package `dataset-fashion-mnist`.

    Args:
        split: "train" (60,000 images) or "test" (10,000).
        size: side length to resize to (28 keeps the originals; None as well).
        classes: keep only these labels, given as ints or names from FASHION_MNIST_CLASSES.
        return_labels: also return the int64 labels.

    Returns:
        float32 images (N, 1, size, size) in [-1, 1], and the labels if asked for.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    images_path = FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not images_path.exists():
        raise FileNotFoundError(f"{images_path} not found: install the Debian package dataset-fashion-mnist "
                                "(apt-get install dataset-fashion-mnist)")
    pixels, labels = _read_idx(images_path), _read_idx(labels_path).astype(np.int64)
    if classes is not None:
        wanted = []
        for c in classes:
            if isinstance(c, str):
                if c not in FASHION_MNIST_CLASSES:
                    raise ValueError(f"classes: unknown class {c!r}; expected one of {FASHION_MNIST_CLASSES}")
                c = FASHION_MNIST_CLASSES.index(c)
            if not 0 <= int(c) < 10:
                raise ValueError(f"classes: labels are 0..9, got {c}")
            wanted.append(int(c))
        keep = np.isin(labels, wanted)
        pixels, labels = pixels[keep], labels[keep]
    images = _to_images(pixels, size)
    return (images, labels) if return_labels else images
