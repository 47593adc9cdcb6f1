"""StyleGAN.explore's widgets drive renders: moving the seed, truncation, strength and layer widgets changes the image
exactly as the equivalent edit does; ipywidgets is needed only there."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg

pytest.importorskip("ipywidgets")

SMALL = {"resolution": 16, "channels": 3, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128,
         "channel_max": 16, "trainable": False}


def shown(explorer) -> np.ndarray:
    """The image widget's PNG as uint8 (H, W, 3)."""
    return np.asarray(Image.open(io.BytesIO(explorer.image.value)))


def pixels(images: np.ndarray) -> np.ndarray:
    return np.asarray(sg.images.to_pil(images[0]))


def test_widget_callbacks_render_the_edited_image() -> None:
    gan = sg.StyleGAN(**SMALL, seed=3)
    directions = gan.directions("ganspace", n=3, samples=2000)
    explorer = gan.explore(directions, n=2, seed=5, truncation_psi=0.5, layers=range(1, 4))
    assert len(explorer.strengths) == 2 and explorer.layer_ranges[0].value == (1, 3)
    assert np.array_equal(shown(explorer), pixels(gan.generate(seeds=[5], truncation_psi=0.5)))
    explorer.strengths[1].value = 2.0  # a slider moves: the observer re-renders
    explorer.layer_ranges[1].value = (2, 4)
    expected = gan.synthesis(gan.edit(gan.seed_ws([5], 0.5), directions[1], 2.0, range(2, 5)))
    assert np.array_equal(shown(explorer), pixels(expected))
    explorer.seed.value = 9
    explorer.truncation.value = 1.0
    expected = gan.synthesis(gan.edit(gan.seed_ws([9], 1.0), directions[1], 2.0, range(2, 5)))
    assert np.array_equal(shown(explorer), pixels(expected))
    assert explorer.last_seconds > 0 and "rendered in" in explorer.status.value
    explorer.close()  # ipywidgets keeps open widgets, and with them the explorer and its model
    model = sg._native.live_handles()["models"]
    del explorer, gan
    assert sg._native.live_handles()["models"] == model - 1  # freed by reference counting alone


def test_explore_checks_its_arguments() -> None:
    gan = sg.StyleGAN(**SMALL, seed=3)
    with pytest.raises(ValueError, match="'direction' must hold 16"):
        gan.explore([np.zeros(15)])
    with pytest.raises(ValueError, match="layers must be w indices"):
        gan.explore([np.zeros(16)], layers=[0, 9])
    with pytest.raises(ValueError, match="'noise_mode' must be one of"):
        gan.explore([np.zeros(16)], noise_mode="loud")


def test_import_swiftgan_does_not_need_ipywidgets() -> None:
    code = ("import sys; sys.modules['ipywidgets'] = None; import swiftgan\n"
            "gan = swiftgan.StyleGAN(resolution=8, z_dim=4, w_dim=4, mapping_layers=1, channel_base=16,\n"
            "                        channel_max=4)\n"
            "try:\n    gan.explore()\nexcept ImportError as e:\n    print(e)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "needs ipywidgets: pip install ipywidgets" in result.stdout
