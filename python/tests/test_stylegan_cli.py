"""``python -m swiftgan`` with StyleGAN at a tiny size: training with and without ADA, resuming, sampling by seed
with truncation, style-mixing grids and interpolation GIFs, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan.cli import parse_ranges

from helpers import TINY_DCGAN

TINY = ["--data", "digits", "--resolution", "8", "--z-dim", "8", "--w-dim", "8", "--mapping-layers", "2",
        "--channel-base", "32", "--channel-max", "8", "--batch-size", "8", "--quiet"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swiftgan", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny StyleGAN trained 5 steps with ADA by the command line (3, then resumed to 5)."""
    out = tmp_path_factory.mktemp("stylegan") / "run"
    result = run("train", "stylegan", *TINY, "--ada", "--steps", "3", "--out", str(out), "--sample-every", "2",
                 "--log-every", "1")
    assert result.returncode == 0, result.stderr
    result = run("train", "stylegan", *TINY, "--ada", "--steps", "5", "--out", str(out), "--log-every", "1",
                 "--resume")
    assert result.returncode == 0, result.stderr
    return out / "checkpoint.safetensors"


@pytest.mark.parametrize("command, expected", [
    (["train", "stylegan"], "--ada"), (["generate"], "--trunc"), (["style-mix"], "--layers"),
    (["interpolate"], "--steps"), ([], "style-mix"),
])
def test_help_everywhere(command, expected) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m swiftgan")
    assert expected in result.stdout


def test_seed_ranges() -> None:
    assert parse_ranges("1-4") == [1, 2, 3, 4]
    assert parse_ranges("7, 1,3-4") == [7, 1, 3, 4]
    assert parse_ranges("0") == [0]


def test_train_and_resume(checkpoint) -> None:
    out = checkpoint.parent
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000002.png", "step_0000003.png",
                                                                   "step_0000005.png"]
    with Image.open(out / "samples" / "step_0000005.png") as grid:
        assert grid.size == (2 + 8 * 10, 2 + 8 * 10)  # 64 seeds of 8x8, 8 per row, padding 2
    run_file = json.loads((out / "run.json").read_text())
    assert run_file["kind"] == "stylegan" and run_file["batch_size"] == 8
    gan = sg.load(checkpoint)
    assert isinstance(gan, sg.StyleGAN) and gan.step == 5
    assert gan.config["ada"] and gan.config["channels"] == 1 and gan.config["z_dim"] == 8
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]


def test_train_version_1(tmp_path) -> None:
    out = tmp_path / "v1"
    result = run("train", "stylegan", *TINY, "--version", "1", "--phase-images", "16", "--initial-resolution", "4",
                 "--steps", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    gan = sg.load(out / "checkpoint.safetensors")
    assert gan.config["version"] == 1 and gan.config["r1_interval"] is None and gan.step == 3


def test_generate_by_seeds_with_truncation(checkpoint, tmp_path) -> None:
    result = run("generate", str(checkpoint), "--seeds", "1-4,9", "--trunc", "0.7", "--nrow", "5",
                 "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    assert "5 samples" in result.stdout and "seeds [1, 2, 3, 4, 9]" in result.stdout
    expected = sg.images.make_grid(sg.load(checkpoint).generate(seeds=[1, 2, 3, 4, 9], truncation_psi=0.7), nrow=5)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "grid.png")), expected)

    result = run("generate", str(checkpoint), "--n", "3", "--seed", "10", "--noise-mode", "random",
                 "--out", str(tmp_path / "random.png"))
    assert result.returncode == 0 and "seeds 10..12" in result.stdout
    expected = sg.images.make_grid(sg.load(checkpoint).generate(seeds=[10, 11, 12], noise_mode="random"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "random.png")), expected)


def test_style_mix_and_interpolate(checkpoint, tmp_path) -> None:
    result = run("style-mix", str(checkpoint), "--rows", "1-2", "--cols", "3-5", "--layers", "0-1",
                 "--out", str(tmp_path / "mix.png"))
    assert result.returncode == 0, result.stderr
    grid = sg.load(checkpoint).style_mix([1, 2], [3, 4, 5], layers=[0, 1])
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "mix.png")), sg.images.make_grid(grid, padding=0))

    result = run("interpolate", str(checkpoint), "--seeds", "1,2", "--steps", "6", "--trunc", "0.5",
                 "--out", str(tmp_path / "walk.gif"))
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (8, 8)


def test_refusals(checkpoint, tmp_path) -> None:
    dcgan = tmp_path / "dcgan.safetensors"
    sg.DCGAN(**TINY_DCGAN).save(dcgan)
    result = run("generate", str(dcgan), "--seeds", "1-4", "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 1 and "--seeds, --trunc and --noise-mode take a StyleGAN checkpoint" in result.stderr
    assert run("generate", str(dcgan), "--n", "4", "--out", str(tmp_path / "grid.png")).returncode == 0
    for command in ("style-mix", "interpolate"):
        result = run(command, str(dcgan), "--out", str(tmp_path / "out.png"))
        assert result.returncode == 1 and "this command takes a StyleGAN checkpoint" in result.stderr
    result = run("interpolate", str(checkpoint), "--seeds", "1-3", "--out", str(tmp_path / "walk.gif"))
    assert result.returncode == 1 and "--seeds: give two seeds, A,B; got [1, 2, 3]" in result.stderr
    result = run("style-mix", str(checkpoint), "--layers", "2-9", "--out", str(tmp_path / "mix.png"))
    assert result.returncode == 1 and "layers must be in [0, 4)" in result.stderr
    result = run("generate", str(checkpoint), "--seeds", "4-1")
    assert result.returncode == 2 and "expected non-negative ints and increasing ranges" in result.stderr
    result = run("train", "stylegan", *TINY, "--resolution", "12", "--steps", "1", "--out", str(tmp_path / "r"))
    assert result.returncode == 1 and "resolution: expected a power of two" in result.stderr
    result = run("train", "stylegan", *TINY, "--version", "3", "--steps", "1", "--out", str(tmp_path / "v"))
    assert result.returncode == 1 and "version: expected 1 (StyleGAN) or 2 (StyleGAN2), got 3" in result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "v").exists()
