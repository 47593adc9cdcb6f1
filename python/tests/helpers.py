"""Numerical helpers of the swiftgan test suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "ops"
MODEL_FIXTURES = FIXTURES.parent / "models"
PRETRAINED_FIXTURES = FIXTURES.parent / "pretrained"
NVLABS_SNAPSHOT = PRETRAINED_FIXTURES / "nvlabs_snapshot_64.pkl"
"""NVlabs' own pickle of an early 64 px snapshot (the shared fixtures' README says how it was written)."""
TINY_DCGAN = {"image_size": 16, "channels": 1, "ngf": 8, "ndf": 8}
"""A DCGAN small enough to train a few steps in milliseconds."""
TINY_STYLEGAN = {"resolution": 8, "channels": 1, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 32,
                 "channel_max": 8}
"""A StyleGAN2 small enough to train a few steps in milliseconds (4 ws; 1 channel, for the 8x8 digits)."""


def require_emoji_font(use: str) -> None:
    """Skips the calling test when the emoji font that ``use`` needs is not installed."""
    import pytest

    import swiftgan as sg

    if not sg.datasets.EMOJI_FONT.exists():
        pytest.skip(f"{use}, and {sg.datasets.EMOJI_FONT} is absent: apt-get install fonts-noto-color-emoji")


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Max absolute error over the max absolute expected value (the fixtures' tolerance metric)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    return float(np.abs(actual - expected).max(initial=0.0)) / scale


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float = 1e-4, what: str = "") -> None:
    """Asserts ``relative_error(actual, expected) <= tol``."""
    error = relative_error(actual, expected)
    assert error <= tol, f"{what}: relative error {error:.3g} > {tol:g}"


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Standard normal float32 samples."""
    return rng.standard_normal(shape).astype(np.float32)


def execute_notebook(name: str, tmp_path: Path, monkeypatch, **env: str) -> tuple[list, str]:
    """Runs examples/<name>.ipynb headless (nbclient + ipykernel) in tmp_path with the given environment; checks
    that no cell raised and returns (every output, their concatenated text)."""
    import nbformat
    from nbclient import NotebookClient

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(Path(__file__).resolve().parents[2] / "examples" / f"{name}.ipynb", as_version=4)
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources=resources).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    return outputs, "".join(output.get("text", "") for output in outputs)


def inline_images(outputs: list, mime: str = "image/png") -> list:
    """The outputs that display an image of the given type inline."""
    return [output for output in outputs if mime in output.get("data", {})]


def run_fuzzer(script: str, tmp_path: Path, *args: object, timeout: float = 300) -> dict:
    """Runs python/tests/<script> in a child process (so a crash fails the test instead of killing pytest) and
    returns its JSON report; on a crash or a hang, fails with the call in progress and the child's stderr."""
    import json
    import os
    import subprocess
    import sys

    report = tmp_path / "report.json"
    command = [sys.executable, str(Path(__file__).with_name(script)), str(report), *map(str, args)]
    # few malloc arenas: the child runs under an address-space cap, which 64 MB arenas per thread would eat on a
    # machine with many cores
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        child = None
    last = Path(f"{report}.last")
    in_progress = last.read_text(errors="replace").strip() if last.exists() else "?"
    if child is None or child.returncode != 0:
        status = "timed out" if child is None else f"exited with {child.returncode}"
        stderr = "" if child is None else child.stderr[-3000:]
        raise AssertionError(f"{script} {status} during {in_progress}\n{stderr}")
    return json.loads(report.read_text())
