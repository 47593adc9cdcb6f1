"""Grids, PNG and GIF files, display, and resizing."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan import images


def ramp(n: int, channels: int, size: int = 4) -> np.ndarray:
    """n images whose pixels all equal the image's value, from -1 to 1."""
    values = np.linspace(-1, 1, n, dtype=np.float32)
    return np.broadcast_to(values[:, None, None, None], (n, channels, size, size)).copy()


def test_make_grid_layout_and_values() -> None:
    grid = images.make_grid(ramp(5, 3), nrow=3, padding=1, pad_value=7)
    assert grid.shape == (1 + 2 * 5, 1 + 3 * 5, 3) and grid.dtype == np.uint8
    assert (grid[0] == 7).all() and (grid[:, 0] == 7).all()
    assert (grid[1:5, 1:5] == 0).all()  # -1 -> 0
    assert (grid[6:10, 6:10] == 255).all()  # the fifth image, +1 -> 255, second row
    assert (grid[6:10, 11:15] == 7).all()  # no sixth image: padding
    assert (grid[1:5, 11:15] == 128).all()  # the third, 0 -> 127.5 rounds to 128
    square = images.make_grid(ramp(9, 1))
    assert square.shape == (2 + 3 * 6, 2 + 3 * 6)  # grayscale: 2-D, 3 per row by default
    np.testing.assert_array_equal(images.make_grid(np.full((1, 1, 2, 2), 5.0), padding=0), np.full((2, 2), 255))


@pytest.mark.parametrize(
    "value, error, message",
    [
        (np.zeros((2, 2, 4, 4)), ValueError, r"C = 1 or 3"),
        (np.zeros((4, 4)), ValueError, r"shaped \(N, C, H, W\) or \(C, H, W\)"),
        (np.zeros((0, 1, 4, 4)), ValueError, r"N >= 1"),
        (np.array([["a"]]), TypeError, r"numeric array"),
    ],
)
def test_make_grid_rejects_what_is_not_images(value, error, message) -> None:
    with pytest.raises(error, match=message):
        images.make_grid(value)


def test_to_pil_save_grid_and_save_gif(tmp_path) -> None:
    single = images.to_pil(ramp(1, 3, size=6)[0])
    assert single.size == (6, 6) and single.mode == "RGB"
    batch = ramp(4, 1)
    sg.save_grid(batch, tmp_path / "grid.png", nrow=2)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "grid.png")), images.make_grid(batch, nrow=2))

    frames = ramp(5, 3, size=8)
    images.save_gif(frames, tmp_path / "walk.gif", duration=50)
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 5 and gif.size == (8, 8) and gif.info["duration"] == 50
    images.save_gif([ramp(4, 1), ramp(4, 1)[::-1].copy()], tmp_path / "grids.gif", nrow=2)
    assert Image.open(tmp_path / "grids.gif").size == (2 + 2 * 6, 2 + 2 * 6)
    with pytest.raises(ValueError, match=r"no frames"):
        images.save_gif([], tmp_path / "none.gif")


def test_show_displays_inline_in_jupyter(monkeypatch) -> None:
    shown = []
    shell = types.SimpleNamespace(kernel=object())
    display_module = types.ModuleType("IPython.display")
    display_module.display = shown.append
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    assert sg.show(ramp(4, 1), nrow=4) is None
    assert len(shown) == 1 and isinstance(shown[0], Image.Image) and shown[0].size == (2 + 4 * 6, 8)


def test_show_warns_without_a_display(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.warns(UserWarning, match=r"no display available.*save_grid"):
        sg.show(ramp(2, 3))


def test_resize_is_pillows_bilinear_filter(rng) -> None:
    batch = rng.uniform(-1, 1, (3, 2, 28, 20)).astype(np.float32)
    for size in (8, 28, 32):
        resized = images.resize(batch, size)
        expected = np.stack([np.asarray(Image.fromarray(plane).resize((size, size), Image.Resampling.BILINEAR))
                             for plane in batch.reshape(-1, 28, 20)]).reshape(3, 2, size, size)
        assert resized.shape == (3, 2, size, size) and resized.dtype == np.float32
        np.testing.assert_allclose(resized, expected, atol=1e-6)
    np.testing.assert_array_equal(images.resize(batch[..., :20, :], 20), batch[..., :20, :])
    rectangle = images.resize(batch, (12, 30))  # (height, width)
    expected = np.stack([np.asarray(Image.fromarray(plane).resize((30, 12), Image.Resampling.BILINEAR))
                         for plane in batch.reshape(-1, 28, 20)]).reshape(3, 2, 12, 30)
    np.testing.assert_allclose(rectangle, expected, atol=1e-6)
    np.testing.assert_array_equal(images.resize(batch, np.array([12, 30])), rectangle)


@pytest.mark.parametrize("size", [2.5, (12, 30, 4), "12", None])
def test_resize_names_a_size_of_the_wrong_kind(rng, size) -> None:
    with pytest.raises(TypeError, match=r"resize: argument 'size' must be an int or a pair of ints \(height, width\)"):
        images.resize(rng.uniform(-1, 1, (1, 1, 4, 4)).astype(np.float32), size)
