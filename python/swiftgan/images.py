"""Image grids, PNG and GIF files, and inline display, for the float images swiftgan's models produce.

Images are numpy arrays shaped (N, C, H, W) (one image: (C, H, W)) with C = 1 (grayscale) or 3 (RGB) and
values in [-1, 1], the range of a tanh generator and of :mod:`swiftgan.datasets`; values outside are clipped.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image

__all__ = ["make_grid", "to_pil", "save_grid", "show", "save_gif", "resize"]


def _as_batch(images: np.ndarray, caller: str) -> np.ndarray:
    """``images`` as a float (N, C, H, W) array with C in {1, 3}; a single (C, H, W) image becomes a batch of 1."""
    array = np.asarray(images)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{caller}: images must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[1] not in (1, 3) or array.shape[0] == 0:
        raise ValueError(
            f"{caller}: images must be shaped (N, C, H, W) or (C, H, W) with C = 1 or 3 and N >= 1, got {array.shape}"
        )
    return array


@functools.lru_cache(maxsize=16)
def _resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """The (size_out, size_in) matrix of Pillow's 1-D bilinear resampling (antialiased when shrinking), read off
    by resizing unit impulses in 32-bit float mode."""
    columns = [np.asarray(Image.fromarray(impulse[:, None]).resize((1, size_out), Image.Resampling.BILINEAR))[:, 0]
               for impulse in np.eye(size_in, dtype=np.float32)]
    return np.stack(columns, axis=1)


def resize(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resizes float (N, C, H, W) images to (N, C, size, size), or to (N, C, height, width) for a pair ``size``,
    with Pillow's bilinear filter (antialiased when shrinking), separably in 32-bit float, so no precision is lost
    to 8-bit rounding. Returns float32."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(f"resize: images must be shaped (N, C, H, W), got {array.shape}")
    if isinstance(size, (int, np.integer)):
        out_height = out_width = int(size)
    elif isinstance(size, (tuple, list, np.ndarray)) and np.shape(size) == (2,):
        out_height, out_width = size
    else:
        raise TypeError(f"resize: argument 'size' must be an int or a pair of ints (height, width), got {size!r}")
    if out_height < 1 or out_width < 1:
        raise ValueError(f"resize: size must be >= 1, got {size}")
    if array.shape[2:] == (out_height, out_width):
        return np.ascontiguousarray(array)
    n, channels, height, width = array.shape
    rows = array.reshape(-1, width) @ _resize_matrix(width, out_width).T                       # (N*C*H, W')
    planes = rows.reshape(-1, height, out_width).transpose(0, 2, 1).reshape(-1, height)      # (N*C*W', H)
    columns = planes @ _resize_matrix(height, out_height).T                                  # (N*C*W', H')
    return np.ascontiguousarray(columns.reshape(n, channels, out_width, out_height).transpose(0, 1, 3, 2))


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tiles images into one uint8 picture, ``nrow`` images per row.

    Args:
        images: (N, C, H, W) or (C, H, W), C = 1 or 3, values in [-1, 1].
        nrow: images per row; by default ``ceil(sqrt(N))``, the squarest grid.
        padding: pixels between images and around the border.
        pad_value: the gray level (0 to 255) of the padding.

    Returns:
        uint8 (height, width, 3) for RGB images, (height, width) for grayscale.
    """
    batch = _as_batch(images, "make_grid")
    n, channels, height, width = batch.shape
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if nrow < 1 or padding < 0 or not 0 <= pad_value <= 255:
        raise ValueError(f"make_grid: need nrow >= 1, padding >= 0, 0 <= pad_value <= 255; got {nrow}, {padding}, "
                         f"{pad_value}")
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    pixels = np.round((np.clip(batch.astype(np.float32), -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    grid = np.full((padding + nrows * (height + padding), padding + ncol * (width + padding), channels), pad_value,
                   dtype=np.uint8)
    for index in range(n):
        top = padding + (index // ncol) * (height + padding)
        left = padding + (index % ncol) * (width + padding)
        grid[top:top + height, left:left + width] = pixels[index].transpose(1, 2, 0)
    return grid[..., 0] if channels == 1 else grid


def to_pil(images: np.ndarray, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """One image (C, H, W) as a PIL image, or a batch (N, C, H, W) as a grid (see :func:`make_grid`).

    In Jupyter a PIL image displays itself as a cell result.
    """
    if np.ndim(images) == 3:
        return Image.fromarray(make_grid(images, padding=0))
    return Image.fromarray(make_grid(images, nrow=nrow, padding=padding))


def save_grid(images: np.ndarray, path: str | os.PathLike, nrow: int | None = None, padding: int = 2) -> None:
    """Writes images as one grid picture (see :func:`make_grid`); the format follows the suffix (``.png``...)."""
    to_pil(images, nrow=nrow, padding=padding).save(path)


def _jupyter_shell() -> object | None:
    """The running IPython kernel's shell, or None outside Jupyter (IPython is not imported if it is not loaded)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if shell is not None and hasattr(shell, "kernel") else None


def show(images: np.ndarray, nrow: int | None = None, padding: int = 2) -> None:
    """Shows images as a grid: inline in Jupyter, otherwise in Pillow's image viewer.

    In Jupyter the grid is displayed with ``IPython.display.display`` right away, wherever the call is in the
    cell (use :func:`to_pil` to get the image as a value instead). On Linux without a display (no ``DISPLAY``
    or ``WAYLAND_DISPLAY``) it warns and suggests :func:`save_grid`.
    """
    image = to_pil(images, nrow=nrow, padding=padding)
    if _jupyter_shell() is not None:
        from IPython.display import display
        display(image)
    elif sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        warnings.warn("show: no display available; write the grid to a file with swiftgan.save_grid(images, path)",
                      stacklevel=2)
    else:
        image.show()


def save_gif(frames: Sequence[np.ndarray] | np.ndarray, path: str | os.PathLike, duration: int = 100,
             nrow: int | None = None, loop: int = 0) -> None:
    """Writes an animated GIF: each frame is one image (C, H, W) or a batch (N, C, H, W) shown as a grid.

    Args:
        frames: the frames in order: a sequence of arrays, or one array whose first axis is time, for example an
            interpolation ``(T, C, H, W)``.
        path: the file to write.
        duration: milliseconds per frame.
        nrow: images per row of batch frames (see :func:`make_grid`).
        loop: how many times the animation repeats; 0 loops forever.
    """
    pictures = [to_pil(frame, nrow=nrow) for frame in frames]
    if not pictures:
        raise ValueError("save_gif: no frames")
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration, loop=loop)
