"""examples/cyclegan.ipynb runs headless (nbclient + ipykernel) at a tiny number of steps."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "cyclegan.ipynb"


def test_cyclegan_notebook_executes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SWIFTGAN_NOTEBOOK_STEPS", "3")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 3  # the data, the test translations and the one-image translation, shown inline
    text = "".join(output.get("text", "") for output in outputs)
    assert "after 3 steps: " in text and "of translated sneakers are ankle boots, cycle L1" in text
    assert "Image (45, 45)" in text
    run = tmp_path / "runs" / "cyclegan-notebook"
    assert {"checkpoint.safetensors", "cyclegan.safetensors", "log.jsonl"} <= {p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
