"""examples/cyclegan.ipynb runs headless (nbclient + ipykernel) at a tiny number of steps."""

from __future__ import annotations

import pytest

from helpers import execute_notebook, inline_images

pytestmark = pytest.mark.slow  # a Jupyter kernel per notebook


def test_cyclegan_notebook_executes(tmp_path, monkeypatch) -> None:
    outputs, text = execute_notebook("cyclegan", tmp_path, monkeypatch, SWIFTGAN_NOTEBOOK_STEPS="3")
    assert len(inline_images(outputs)) == 3  # the data, the test translations and the one-image translation
    assert "after 3 steps: " in text and "of translated sneakers are ankle boots, cycle L1" in text
    assert "Image (45, 45)" in text
    run = tmp_path / "runs" / "cyclegan-notebook"
    assert {"checkpoint.safetensors", "cyclegan.safetensors", "log.jsonl"} <= {p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
