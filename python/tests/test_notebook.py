"""examples/dcgan.ipynb runs headless (nbclient + ipykernel) at a tiny number of steps."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "dcgan.ipynb"


def test_dcgan_notebook_executes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SWIFTGAN_NOTEBOOK_STEPS", "3")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2  # the data grid and the samples grid, shown inline
    run = tmp_path / "runs" / "dcgan-notebook"
    assert {"checkpoint.safetensors", "dcgan.safetensors", "log.jsonl"} <= {p.name for p in run.iterdir()}
    assert [p.name for p in (run / "samples").iterdir()] == ["step_0000003.png"]
