"""The types a checker sees: functional's overloads give numpy arrays for numpy inputs and Tensors as soon as one
input is a Tensor, for the installed package (mypy run on a snippet in a child process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SNIPPET = textwrap.dedent("""
    from typing import assert_type

    import numpy as np

    import swiftgan as sg
    from swiftgan import functional as F

    a = np.zeros((2, 3), np.float32)
    t = sg.tensor(a)
    either: F.Array = a

    assert_type(F.relu(a), np.ndarray)
    assert_type(F.relu(t), sg.Tensor)
    assert_type(F.relu(either), np.ndarray | sg.Tensor)
    assert_type(F.leaky_relu(t, 0.2), sg.Tensor)
    assert_type(F.conv2d(a, a), np.ndarray)
    assert_type(F.conv2d(a, a, a, stride=2), np.ndarray)
    assert_type(F.conv2d(t, a), sg.Tensor)
    assert_type(F.conv2d(a, t), sg.Tensor)
    assert_type(F.conv2d(a, a, t), sg.Tensor)
    assert_type(F.conv2d(a, a, bias=t), sg.Tensor)
    assert_type(F.batch_norm(a, a, a, training=True), np.ndarray)
    assert_type(F.batch_norm(a, t, a), sg.Tensor)
    assert_type(F.batch_norm(a, None, None, t), sg.Tensor)
    assert_type(F.batch_norm(a, weight=t), sg.Tensor)
    assert_type(F.batch_norm(a, bias=t, eps=1e-3), sg.Tensor)
    assert_type(F.instance_norm(a, bias=t), sg.Tensor)
    assert_type(F.linear(a, a, t), sg.Tensor)
    assert_type(F.add(1.0, a), np.ndarray)
    assert_type(F.add(2, 1.5), np.ndarray)
    assert_type(F.mul(a, t), sg.Tensor)
    assert_type(F.div(t, 2.0), sg.Tensor)
    assert_type(F.bce_with_logits(a, 0.0), np.ndarray)
    assert_type(F.binary_cross_entropy_with_logits(a, t), sg.Tensor)
    assert_type(F.mse_loss(a, t), sg.Tensor)
    assert_type(F.sum(a, (0, 1)), np.ndarray)
    assert_type(F.cat([a, a]), np.ndarray)
    assert_type(F.cat([t, t]), sg.Tensor)
    assert_type(F.cat([a, t]), np.ndarray | sg.Tensor)  # which one is known at run time only
    assert_type(F.upfirdn2d(a, t), sg.Tensor)
    assert_type(F.modulated_conv2d(a, a, t), sg.Tensor)
    assert_type(F.setup_filter(), np.ndarray)
    assert_type(F.vjp("relu", {"x": a}, a)[0], np.ndarray)
""")


@pytest.mark.slow
def test_functional_overloads_follow_the_inputs(tmp_path) -> None:
    (tmp_path / "snippet.py").write_text(SNIPPET)
    command = [sys.executable, "-m", "mypy", "--python-version", "3.11", "--strict", "--no-incremental",
               "--cache-dir", "/dev/null", "snippet.py"]
    checked = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found in 1 source file" in checked.stdout
