"""examples/editing.ipynb runs headless on the NVlabs test snapshot: directions, sweeps, an InterFaceGAN boundary, a
projection, a blend with a briefly fine-tuned copy, and the explorer's widgets."""

from __future__ import annotations

import pytest

from helpers import NVLABS_SNAPSHOT, execute_notebook, inline_images, require_emoji_font


@pytest.mark.slow
def test_editing_notebook_executes(tmp_path, monkeypatch) -> None:
    pytest.importorskip("ipywidgets")
    require_emoji_font("the notebook fine-tunes on emoji")
    outputs, text = execute_notebook("editing", tmp_path, monkeypatch, SWIFTGAN_PRETRAINED=str(NVLABS_SNAPSHOT),
                                     SWIFTGAN_NOTEBOOK_STEPS="20")
    # GANSpace rows, layer-restricted edits, SeFa, the boundary, target and reconstruction, the projection's edit,
    # the blend
    assert len(inline_images(outputs)) == 7
    assert inline_images(outputs, "image/gif")
    assert inline_images(outputs, "application/vnd.jupyter.widget-view+json")
    assert "<Directions ganspace" in text and "<Directions sefa" in text and "PSNR" in text
    assert "one re-render:" in text
    assert (tmp_path / "runs" / "projected_w.npz").exists()
    assert (tmp_path / "runs" / "brightness_boundary.npy").exists()
