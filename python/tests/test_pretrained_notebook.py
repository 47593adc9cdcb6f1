"""examples/pretrained.ipynb runs headless on the NVlabs test snapshot: loading, sampling, the NVlabs-shaped API,
mixing, a walk, conversion and two fine-tuning steps."""

from __future__ import annotations

import pytest

import swiftgan as sg

from helpers import FIXTURES, execute_notebook, inline_images


def test_pretrained_notebook_executes(tmp_path, monkeypatch) -> None:
    if not sg.datasets.EMOJI_FONT.exists():
        pytest.skip(f"the notebook fine-tunes on emoji, and {sg.datasets.EMOJI_FONT} is absent: "
                    "apt-get install fonts-noto-color-emoji")
    model = FIXTURES.parent / "pretrained" / "nvlabs_snapshot_64.pkl"
    outputs, text = execute_notebook("pretrained", tmp_path, monkeypatch, SWIFTGAN_PRETRAINED=str(model),
                                     SWIFTGAN_NOTEBOOK_STEPS="2")
    assert len(inline_images(outputs)) == 4  # seeds, the API's mix, the mixing grid, before and after fine-tuning
    assert inline_images(outputs, "image/gif")
    assert "nvlabs {'resolution': 64, 'z_dim': 64, 'w_dim': 64, 'c_dim': 0, 'architecture': 'skip'" in text
    assert (tmp_path / "runs" / "pretrained-finetune" / "checkpoint.safetensors").exists()
