"""``python -m swiftgan train cyclegan`` and ``translate`` at a tiny size, in subprocesses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg

from helpers import MODEL_FIXTURES
from test_cli import run

TINY = ["--image-size", "16", "--ngf", "4", "--ndf", "4", "--n-blocks", "1", "--n-layers-d", "2", "--pool-size", "4",
        "--batch-size", "2", "--quiet"]


@pytest.mark.parametrize("command, expected", [(["train", "cyclegan"], "--n-blocks"), (["translate"], "--direction"),
                                               ([], "translate")])
def test_help(command, expected) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m swiftgan")
    assert expected in result.stdout


@pytest.mark.slow
def test_train_resume_and_translate(tmp_path) -> None:
    out = tmp_path / "run"
    result = run("train", "cyclegan", *TINY, "--data", "fashion-mnist:sneaker,ankle_boot", "--load-size", "18",
                 "--steps", "3", "--out", str(out), "--sample-every", "2")
    assert result.returncode == 0, result.stderr
    started = json.loads((out / "run.json").read_text())
    assert started["transform"] == "RandomCropFlip(size=16, flip=True)" and started["batch_size"] == 2
    assert started["config"]["in_channels"] == 1 and started["config"]["n_blocks"] == 1
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000002.png", "step_0000003.png"]
    assert Image.open(out / "samples" / "step_0000003.png").size == (2 + 8 * 18, 2 + 6 * 18)
    gan = sg.load(out / "checkpoint.safetensors")
    assert isinstance(gan, sg.CycleGAN) and gan.step == 3 and gan.epoch_steps == 6000 // 2

    result = run("train", "cyclegan", *TINY, "--data", "fashion-mnist:sneaker,ankle_boot", "--steps", "5",
                 "--out", str(out), "--resume")
    assert result.returncode == 1  # loaded at 16 (the default for built-in sets), not 18
    assert "data_shapes: run [[6000, 1, 18, 18], [6000, 1, 18, 18]], command line [[6000, 1, 16, 16]" in result.stderr
    result = run("train", "cyclegan", *TINY, "--data", "fashion-mnist:sneaker,ankle_boot", "--load-size", "18",
                 "--no-flip", "--steps", "5", "--out", str(out), "--resume")
    assert result.returncode == 1
    assert "transform: run 'RandomCropFlip(size=16, flip=True)', command line 'RandomCropFlip(size=16, flip=False)'" \
        in result.stderr
    result = run("train", "cyclegan", *TINY, "--data", "fashion-mnist:sneaker,ankle_boot", "--load-size", "18",
                 "--steps", "5", "--out", str(out), "--resume")
    assert result.returncode == 0, result.stderr
    assert sg.load(out / "checkpoint.safetensors").step == 5

    picture = tmp_path / "shoe.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (21, 30, 3), dtype=np.uint8)).save(picture)
    result = run("translate", str(out / "checkpoint.safetensors"), str(picture), "--direction", "BtoA",
                 "--out", str(tmp_path / "out" / "boot.png"))
    assert result.returncode == 0, result.stderr
    translated = Image.open(tmp_path / "out" / "boot.png")
    assert translated.mode == "L" and translated.size == (30, 21)
    expected = sg.load(out / "checkpoint.safetensors").translate(Image.open(picture), direction="BtoA")
    np.testing.assert_array_equal(np.asarray(translated), np.asarray(expected))


def test_resume_is_the_same_as_training_straight(tmp_path) -> None:
    args = [*TINY, "--data", "textures:grass,gravel", "--load-size", "20"]
    assert run("train", "cyclegan", *args, "--steps", "4", "--out", str(tmp_path / "straight")).returncode == 0
    assert run("train", "cyclegan", *args, "--steps", "2", "--out", str(tmp_path / "resumed")).returncode == 0
    assert run("train", "cyclegan", *args, "--steps", "4", "--out", str(tmp_path / "resumed"), "--resume"
               ).returncode == 0
    straight = sg.safetensors.load_file(tmp_path / "straight" / "checkpoint.safetensors")[0]
    resumed = sg.safetensors.load_file(tmp_path / "resumed" / "checkpoint.safetensors")[0]
    assert [name for name in straight if not np.array_equal(straight[name], resumed[name])] == []


def test_translate_a_pth_generator(tmp_path) -> None:
    picture = tmp_path / "horse.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (33, 47, 3), dtype=np.uint8)).save(picture)
    result = run("translate", str(MODEL_FIXTURES / "cyclegan_resnet6_G.pth"), str(picture), "--resize-to", "32",
                 "--out", str(tmp_path / "zebra.png"))
    assert result.returncode == 0, result.stderr
    expected = sg.CycleGAN.from_pretrained_generator(MODEL_FIXTURES / "cyclegan_resnet6_G.pth").translate(
        Image.open(picture), resize_to=32)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "zebra.png")), np.asarray(expected))
    result = run("translate", str(MODEL_FIXTURES / "cyclegan_resnet6_G.pth"), str(picture), "--tile", "16",
                 "--out", str(tmp_path / "tiled.png"))
    assert result.returncode == 0, result.stderr
    whole = sg.CycleGAN.from_pretrained_generator(MODEL_FIXTURES / "cyclegan_resnet6_G.pth").translate(
        np.asarray(Image.open(picture)))
    assert np.abs(np.asarray(Image.open(tmp_path / "tiled.png")).astype(int) - whole).max() <= 1  # rounding to uint8


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "cyclegan", "--data", "fashion-mnist:sneaker"], "name two classes, A then B"),
        (["train", "cyclegan", "--data", "fashion-mnist:sneaker,boot"], "unknown classes ['boot']"),
        (["train", "cyclegan", "--image-size", "30"], "image_size: expected a multiple of 4"),
        (["translate", str(MODEL_FIXTURES / "cyclegan_patchgan_D.pth"), "in.png"], "not a junyanz ResnetGenerator"),
        (["translate", str(MODEL_FIXTURES / "cyclegan_resnet6_G.pth"), "absent.png"], "cannot read 'absent.png'"),
        (["translate", str(MODEL_FIXTURES / "cyclegan_resnet6_G.pth"), "absent.png", "--resize-to", "30"],
         "cannot read 'absent.png'"),
        (["translate", "absent.safetensors", "in.png"], "No such file or directory"),
    ],
)
def test_errors_are_reported_without_a_traceback(tmp_path, args, message) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_translate_refuses_a_model_that_does_not_translate(tmp_path) -> None:
    sg.DCGAN(image_size=16, channels=1, ngf=4, ndf=4).save(tmp_path / "dcgan.safetensors")
    Image.new("L", (8, 8)).save(tmp_path / "in.png")
    result = run("translate", str(tmp_path / "dcgan.safetensors"), str(tmp_path / "in.png"))
    assert result.returncode == 1 and "a dcgan model does not translate images" in result.stderr
