"""``python -m swiftgan``: help, training, resuming and sampling at a tiny size, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg

TINY = ["--data", "digits", "--image-size", "16", "--ngf", "8", "--ndf", "8", "--batch-size", "8", "--quiet"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swiftgan", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", [[], ["train"], ["train", "dcgan"], ["generate"]])
def test_help_everywhere(command) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m swiftgan")
    assert {(): "train", ("train",): "dcgan", ("train", "dcgan"): "--resume", ("generate",): "CKPT"}[
        tuple(command)] in result.stdout


def test_train_resume_and_generate(tmp_path) -> None:
    out = tmp_path / "run"
    result = run("train", "dcgan", *TINY, "--steps", "4", "--out", str(out), "--sample-every", "2",
                 "--checkpoint-every", "3", "--log-every", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "log.jsonl", "run.json", "samples"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000002.png", "step_0000004.png"]
    assert json.loads((out / "run.json").read_text())["config"]["channels"] == 1
    assert sg.load(out / "checkpoint.safetensors").step == 4

    result = run("train", "dcgan", *TINY, "--steps", "6", "--out", str(out), "--log-every", "1", "--resume")
    assert result.returncode == 0, result.stderr
    assert sg.load(out / "checkpoint.safetensors").step == 6
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == list(range(1, 7))

    result = run("train", "dcgan", *TINY, "--steps", "6", "--out", str(out), "--resume")
    assert result.returncode == 0 and "nothing to do" in result.stdout

    result = run("generate", str(out / "checkpoint.safetensors"), "--n", "6", "--seed", "3", "--nrow", "3",
                 "--out", str(tmp_path / "samples" / "grid.png"))
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(tmp_path / "samples" / "grid.png"))
    assert grid.shape == (2 + 2 * 18, 2 + 3 * 18)
    expected = sg.images.make_grid(sg.load(out / "checkpoint.safetensors").generate(6, seed=3), nrow=3)
    np.testing.assert_array_equal(grid, expected)


def test_resume_is_the_same_as_training_straight(tmp_path) -> None:
    assert run("train", "dcgan", *TINY, "--steps", "4", "--out", str(tmp_path / "straight")).returncode == 0
    assert run("train", "dcgan", *TINY, "--steps", "2", "--out", str(tmp_path / "resumed")).returncode == 0
    assert run("train", "dcgan", *TINY, "--steps", "4", "--out", str(tmp_path / "resumed"), "--resume"
               ).returncode == 0
    straight = sg.load(tmp_path / "straight" / "checkpoint.safetensors").nets["G"].state_dict()
    resumed = sg.load(tmp_path / "resumed" / "checkpoint.safetensors").nets["G"].state_dict()
    assert all(np.array_equal(straight[name], resumed[name]) for name in straight)


def test_refusals(tmp_path) -> None:
    out = str(tmp_path / "run")
    result = run("train", "dcgan", *TINY, "--steps", "2", "--out", out, "--resume")
    assert result.returncode == 1 and "there is no" in result.stderr and "to resume" in result.stderr
    assert run("train", "dcgan", *TINY, "--steps", "2", "--out", out).returncode == 0

    result = run("train", "dcgan", *TINY, "--steps", "4", "--out", out)
    assert result.returncode == 1 and "exists: pass --resume" in result.stderr

    result = run("train", "dcgan", *TINY, "--ngf", "16", "--seed", "3", "--steps", "4", "--out", out, "--resume")
    assert result.returncode == 1
    assert "ngf: checkpoint 8, command line 16" in result.stderr
    assert "seed: checkpoint 0, command line 3" in result.stderr
    result = run("train", "dcgan", *TINY, "--data", "digits:1,7", "--steps", "4", "--out", out, "--resume")
    assert result.returncode == 1 and "data: run 'digits', command line 'digits:1,7'" in result.stderr
    result = run("train", "dcgan", *TINY, "--batch-size", "4", "--steps", "4", "--out", out, "--resume")
    assert result.returncode == 1 and "batch_size: run 8, command line 4" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "dcgan", "--data", "cifar10"], "expected fashion-mnist, digits, mnist5k"),
        (["train", "dcgan", "--data", "fashion-mnist:sandals"], "unknown classes ['sandals']"),
        (["train", "dcgan", "--data", "digits", "--image-size", "24"], "image_size: expected 16, 32, 64 or 128"),
        (["generate", "absent.safetensors"], "No such file or directory"),
    ],
)
def test_errors_are_reported_without_a_traceback(tmp_path, args, message) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_data_specs_select_classes(tmp_path) -> None:
    out = tmp_path / "run"
    result = run("train", "dcgan", *TINY, "--data", "digits:0,1", "--channels", "3", "--steps", "1",
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sg.load(out / "checkpoint.safetensors").config["channels"] == 3
