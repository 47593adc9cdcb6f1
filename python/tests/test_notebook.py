"""examples/dcgan.ipynb runs headless (nbclient + ipykernel) at a tiny number of steps."""

from __future__ import annotations

import pytest

from helpers import execute_notebook, inline_images

pytestmark = pytest.mark.slow  # a Jupyter kernel per notebook


def test_dcgan_notebook_executes(tmp_path, monkeypatch) -> None:
    outputs, _ = execute_notebook("dcgan", tmp_path, monkeypatch, SWIFTGAN_NOTEBOOK_STEPS="3")
    assert len(inline_images(outputs)) == 2  # the data grid and the samples grid, shown inline
    run = tmp_path / "runs" / "dcgan-notebook"
    assert {"checkpoint.safetensors", "dcgan.safetensors", "log.jsonl"} <= {p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
