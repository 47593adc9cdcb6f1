"""examples/pretrained.ipynb runs headless on the NVlabs test snapshot: loading, sampling, the NVlabs-shaped API,
mixing, a walk, conversion and two fine-tuning steps."""

from __future__ import annotations

from helpers import NVLABS_SNAPSHOT, execute_notebook, inline_images, require_emoji_font


def test_pretrained_notebook_executes(tmp_path, monkeypatch) -> None:
    require_emoji_font("the notebook fine-tunes on emoji")
    outputs, text = execute_notebook("pretrained", tmp_path, monkeypatch, SWIFTGAN_PRETRAINED=str(NVLABS_SNAPSHOT),
                                     SWIFTGAN_NOTEBOOK_STEPS="2")
    assert len(inline_images(outputs)) == 4  # seeds, the API's mix, the mixing grid, before and after fine-tuning
    assert inline_images(outputs, "image/gif")
    assert "nvlabs {'resolution': 64, 'z_dim': 64, 'w_dim': 64, 'c_dim': 0, 'architecture': 'skip'" in text
    assert (tmp_path / "runs" / "pretrained-finetune" / "checkpoint.safetensors").exists()
