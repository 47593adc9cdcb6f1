"""examples/stylegan.ipynb runs headless (nbclient + ipykernel) at a tiny size: a few steps of a narrow network."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import swiftgan as sg

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "stylegan.ipynb"


def test_stylegan_notebook_executes(tmp_path, monkeypatch) -> None:
    if not sg.datasets.EMOJI_FONT.exists():
        pytest.skip(f"the notebook trains on emoji, and {sg.datasets.EMOJI_FONT} is absent: "
                    "apt-get install fonts-noto-color-emoji")
    monkeypatch.setenv("SWIFTGAN_NOTEBOOK_STEPS", "3")
    monkeypatch.setenv("SWIFTGAN_NOTEBOOK_CHANNELS", "8")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 4  # the data, the samples, the truncation rows and the mixing grid, shown inline
    assert [output for output in outputs if "image/gif" in output.get("data", {})]  # the walk
    text = "".join(output.get("text", "") for output in outputs)
    assert re.search(r"\(1\d\d\d, 3, 32, 32\) float32 -1.0 1.0", text) and "ADA probability after 3 steps" in text
    run = tmp_path / "runs" / "stylegan-notebook"
    assert {"checkpoint.safetensors", "stylegan.safetensors", "log.jsonl", "walk.gif"} <= {
        p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
