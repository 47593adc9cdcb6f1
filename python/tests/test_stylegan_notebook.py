"""examples/stylegan.ipynb runs headless (nbclient + ipykernel) at a tiny size: a few steps of a narrow network."""

from __future__ import annotations

import re

import pytest

from helpers import execute_notebook, inline_images, require_emoji_font

pytestmark = pytest.mark.slow  # a Jupyter kernel per notebook


def test_stylegan_notebook_executes(tmp_path, monkeypatch) -> None:
    require_emoji_font("the notebook trains on emoji")
    outputs, text = execute_notebook("stylegan", tmp_path, monkeypatch, SWIFTGAN_NOTEBOOK_STEPS="3",
                                     SWIFTGAN_NOTEBOOK_CHANNELS="8")
    assert len(inline_images(outputs)) == 4  # the data, the samples, the truncation rows and the mixing grid
    assert inline_images(outputs, "image/gif")  # the walk
    assert re.search(r"\(1\d\d\d, 3, 32, 32\) float32 -1.0 1.0", text) and "ADA probability after 3 steps" in text
    run = tmp_path / "runs" / "stylegan-notebook"
    assert {"checkpoint.safetensors", "stylegan.safetensors", "log.jsonl", "walk.gif"} <= {
        p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
