"""CycleGAN through the model API: reference parity, pretrained .pth generators, training, resume bit-identity,
one-image translation, unpaired data and bad input."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan.datasets import RandomCropFlip, UnpairedData, unpaired_folders, unpaired_from_spec
from swiftgan.models import batch_indices
from swiftgan.models.base import batch_generator
from swiftgan.safetensors import load_file

from helpers import MODEL_FIXTURES, relative_error

TINY = {"image_size": 16, "in_channels": 1, "out_channels": 1, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2}
"""A CycleGAN small enough to train a step in milliseconds."""
LOSSES = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")


def load_fixture(name: str) -> tuple[dict[str, np.ndarray], dict]:
    tensors, metadata = load_file(MODEL_FIXTURES / f"{name}.safetensors")
    return tensors, json.loads(metadata["spec"])


def weights(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value for name, value in tensors.items() if not name.startswith("__")}


@pytest.fixture(scope="module")
def tiny_data() -> UnpairedData:
    """24 sneakers and 20 ankle boots loaded at 20x20, randomly cropped to 16 and flipped in training."""
    data = unpaired_from_spec("fashion-mnist:sneaker,ankle_boot", 16, load_size=20)
    return UnpairedData(data.a[:24], data.b[:20], data.transform)


@pytest.fixture
def gan() -> sg.CycleGAN:
    return sg.CycleGAN(**TINY, seed=1)


# -- reference parity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case, nets", [("cyclegan_resnet6_G", ("G_A", "G_B")),
                                        ("cyclegan_patchgan_D", ("D_A", "D_B"))])
def test_reference_weights_reproduce_the_reference_output(case, nets) -> None:
    tensors, spec = load_fixture(case)
    gan = sg.CycleGAN(image_size=64, ngf=spec["ngf"], ndf=spec["ndf"], n_blocks=6)
    for name in nets:
        net = gan.nets[name]
        net.load_state_dict(weights(tensors))
        assert relative_error(net(tensors["__input__"]), tensors["__output__"]) <= 1e-3
        assert net.num_parameters == sum(value.size for value in weights(tensors).values())


def test_pretrained_generator_from_pth_without_pytorch() -> None:
    tensors, _ = load_fixture("cyclegan_resnet6_G")
    path = MODEL_FIXTURES / "cyclegan_resnet6_G.pth"
    gan = sg.CycleGAN.from_pretrained_generator(path)
    assert {key: gan.config[key] for key in ("in_channels", "out_channels", "ngf", "n_blocks")} == {
        "in_channels": 3, "out_channels": 3, "ngf": 16, "n_blocks": 6}
    assert relative_error(gan.translate(tensors["__input__"]), tensors["__output__"]) <= 1e-3

    backwards = sg.CycleGAN.from_pretrained_generator(path, direction="BtoA", image_size=64, seed=3)
    assert backwards.config["image_size"] == 64 and backwards.config["seed"] == 3
    output = backwards.translate(tensors["__input__"], direction="BtoA")
    assert relative_error(output, tensors["__output__"]) <= 1e-3


def test_pretrained_generator_ignores_instance_norm_statistics_of_old_checkpoints() -> None:
    tensors, _ = load_fixture("cyclegan_resnet6_G")
    state = weights(tensors)
    old = {**state, "model.2.running_mean": np.zeros(16, np.float32), "model.2.running_var": np.ones(16, np.float32),
           "model.10.conv_block.2.running_mean": np.zeros(64, np.float32),
           "model.2.num_batches_tracked": np.array(0, np.int64)}
    gan = sg.CycleGAN.from_pretrained_generator(old)
    assert relative_error(gan.translate(tensors["__input__"]), tensors["__output__"]) <= 1e-3


def test_pretrained_generator_refuses_other_weights(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"cyclegan_patchgan_D\.pth: not a junyanz ResnetGenerator state dict"):
        sg.CycleGAN.from_pretrained_generator(MODEL_FIXTURES / "cyclegan_patchgan_D.pth")
    state = weights(load_fixture("cyclegan_resnet6_G")[0])
    state["model.4.weight"] = np.zeros((32, 16, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"ngf=16 and 6 blocks .*'model\.4\.weight' has shape \(32, 16, 5, 5\)"):
        sg.CycleGAN.from_pretrained_generator(state)
    truncated = tmp_path / "G.pth"
    truncated.write_bytes((MODEL_FIXTURES / "cyclegan_resnet6_G.pth").read_bytes()[:100_000])
    with pytest.raises(ValueError, match="not a zip-format PyTorch checkpoint"):
        sg.CycleGAN.from_pretrained_generator(truncated)
    with pytest.raises(ValueError, match="direction must be 'AtoB' or 'BtoA'"):
        sg.CycleGAN.from_pretrained_generator(state, direction="AB")


# -- training -----------------------------------------------------------------------------------------------


def test_config_names_and_state(gan) -> None:
    assert gan.loss_names == LOSSES
    assert list(gan.nets) == ["G_A", "G_B", "D_A", "D_B"]
    assert sorted(gan.nets["G_A"].state_dict()) == sorted(  # junyanz's names: one residual block, layer 10
        f"model.{layer}.{kind}" for layer in (1, 4, 7, "10.conv_block.1", "10.conv_block.5", 11, 14, 18)
        for kind in ("weight", "bias"))
    assert gan._state_shapes["pool_A"] == (50, 1, 16, 16)
    assert gan.config == {**TINY, "lambda_A": 10.0, "lambda_B": 10.0, "lambda_identity": 0.5, "pool_size": 50,
                          "lr": 2e-4, "betas": [0.5, 0.999], "n_epochs": 100, "n_epochs_decay": 100,
                          "epoch_steps": None, "seed": 1}
    assert repr(gan).startswith("CycleGAN(image_size=16, in_channels=1") and repr(gan).endswith("# step 0")
    defaults = sg.CycleGAN(image_size=32)  # junyanz prints 11.378 M and 2.765 M for resnet_9blocks and PatchGAN
    assert defaults.nets["G_A"].num_parameters == 11_378_179 and defaults.nets["D_A"].num_parameters == 2_764_737


def test_train_step_reports_the_reference_losses(gan, tiny_data) -> None:
    # The step batches the generators' passes; its losses are still the reference's, pass by pass, on batches of two
    # sizes (the image pools hand back a step's first fakes as they are).
    a = np.ascontiguousarray(tiny_data[0][:2, :, :16, :16])
    b = np.ascontiguousarray(tiny_data[1][:1, :, :16, :16])
    G_A, G_B, D_A, D_B = (gan.nets[name] for name in ("G_A", "G_B", "D_A", "D_B"))
    fake_b, fake_a = G_A(a), G_B(b)
    mse = lambda x, target: float(np.mean((x.astype(np.float64) - target) ** 2))  # noqa: E731
    l1 = lambda x, y: float(np.mean(np.abs(x.astype(np.float64) - y)))  # noqa: E731
    c = gan.config
    expected = {
        "D_A": 0.5 * (mse(D_A(b), 1) + mse(D_A(fake_b), 0)), "G_A": mse(D_A(fake_b), 1),
        "cycle_A": c["lambda_A"] * l1(G_B(fake_b), a), "idt_A": c["lambda_B"] * c["lambda_identity"] * l1(G_A(b), b),
        "D_B": 0.5 * (mse(D_B(a), 1) + mse(D_B(fake_a), 0)), "G_B": mse(D_B(fake_a), 1),
        "cycle_B": c["lambda_B"] * l1(G_A(fake_a), b), "idt_B": c["lambda_A"] * c["lambda_identity"] * l1(G_B(a), a),
    }
    losses = gan.train_step(a, b)
    assert list(losses) == list(LOSSES) and gan.step == 1
    assert losses == pytest.approx(expected, rel=1e-4)
    losses = gan.train_step(a, b)
    assert gan.step == 2 and all(np.isfinite(value) and value >= 0 for value in losses.values())


def test_fit_sets_the_epoch_length_from_the_data_unless_fixed(tiny_data) -> None:
    gan = sg.CycleGAN(**TINY)
    gan.fit(tiny_data[:2], steps=1, batch_size=4, transform=tiny_data.transform, progress=False)
    assert gan.epoch_steps == 24 // 4  # the larger domain, as the reference's max(len(A), len(B))
    fixed = sg.CycleGAN(**TINY, epoch_steps=7)
    fixed.fit(tiny_data[:2], steps=1, batch_size=4, transform=tiny_data.transform, progress=False)
    assert fixed.epoch_steps == 7


def test_fit_transforms_every_batch_from_seed_and_step(tiny_data) -> None:
    gan = sg.CycleGAN(**TINY, seed=4)
    seen = []

    def transform(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seen.append((batch.copy(), rng.random()))
        return RandomCropFlip(16)(batch, rng)

    gan.fit(tiny_data[:2], steps=2, batch_size=3, transform=transform, progress=False)
    assert len(seen) == 4  # two inputs, two steps
    for (batch, draw), (step, stream) in zip(seen, [(0, 0), (0, 1), (1, 0), (1, 1)], strict=True):
        indices = batch_indices(4, stream, step, len(tiny_data[stream]), 3)
        np.testing.assert_array_equal(batch, tiny_data[stream][indices])
        assert draw == batch_generator(4, stream, step).random()


def test_fit_writes_translation_grids(tmp_path, tiny_data) -> None:
    gan = sg.CycleGAN(**TINY)
    gan.fit(tiny_data[:2], steps=2, batch_size=2, transform=tiny_data.transform, out_dir=tmp_path, progress=False)
    grid = Image.open(tmp_path / "samples" / "step_0000002.png")
    assert grid.mode == "L" and grid.size == (2 + 8 * 18, 2 + 6 * 18)  # 6 rows of 8 images of 16x16, padding 2
    rows = gan.preview(tiny_data[:2])
    assert rows.shape == (48, 1, 16, 16)
    real_a = np.ascontiguousarray(tiny_data.a[:8, :, 2:18, 2:18])  # center crops of the 20x20 images
    np.testing.assert_array_equal(rows[:8], real_a)
    np.testing.assert_array_equal(rows[8:16], gan.nets["G_A"](real_a))
    np.testing.assert_array_equal(rows[16:24], gan.nets["G_B"](rows[8:16]))
    np.testing.assert_array_equal(rows[24:32], tiny_data.b[:8, :, 2:18, 2:18])
    np.testing.assert_array_equal(sg.images.make_grid(rows, nrow=8), np.asarray(grid))


RESUME_SCRIPT = textwrap.dedent("""
    import sys
    import swiftgan as sg
    from swiftgan.datasets import unpaired_from_spec
    data = unpaired_from_spec("fashion-mnist:sneaker,ankle_boot", 16, load_size=20)
    gan = sg.load(sys.argv[1])
    gan.fit((data.a[:24], data.b[:20]), steps=int(sys.argv[3]), batch_size=4, transform=data.transform,
            progress=False)
    gan.save(sys.argv[2])
""")


def test_resume_in_a_new_process_is_bit_identical(tmp_path, tiny_data) -> None:
    # A pool of 3 overflows in the first step (batch 4); the learning rate starts decaying at step 6 (one epoch
    # of 24 // 4 steps), inside the resumed half.
    config = {**TINY, "pool_size": 3, "n_epochs": 1, "n_epochs_decay": 2, "seed": 5}
    n = 5
    straight = sg.CycleGAN(**config)
    straight.fit(tiny_data[:2], steps=2 * n, batch_size=4, transform=tiny_data.transform, progress=False)
    straight.save(tmp_path / "straight.safetensors")

    first = sg.CycleGAN(**config)
    first.fit(tiny_data[:2], steps=n, batch_size=4, transform=tiny_data.transform, progress=False)
    first.save(tmp_path / "half.safetensors")
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path / "half.safetensors"),
                    str(tmp_path / "resumed.safetensors"), str(n)], check=True)

    expected, expected_metadata = load_file(tmp_path / "straight.safetensors")
    resumed, resumed_metadata = load_file(tmp_path / "resumed.safetensors")
    counters = json.loads(expected_metadata["counters"])
    assert counters["step"] == 10 and counters["pool_A.count"] == 3 and counters["epoch_steps"] == 6
    assert resumed_metadata == expected_metadata  # config and counters: step, RNG, optimizer steps, pool fill
    assert set(resumed) == set(expected)
    assert {"pool_A", "pool_B", "opt_G.exp_avg.G_A.model.1.weight", "opt_D.exp_avg_sq.D_B.model.0.weight",
            "D_B.model.0.weight"} <= set(expected)
    different = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
    assert not different, f"state tensors differ after resuming: {different}"
    shorter = sg.CycleGAN(**{**config, "n_epochs": 2})  # no decay by step 10: another end point
    shorter.fit(tiny_data[:2], steps=2 * n, batch_size=4, transform=tiny_data.transform, progress=False)
    assert not np.array_equal(shorter.nets["G_A"].state_dict()["model.1.weight"],
                              expected["G_A.model.1.weight"])


# -- translation --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rgb_gan() -> sg.CycleGAN:
    return sg.CycleGAN(**{**TINY, "in_channels": 3, "out_channels": 3}, seed=2)


def padded_reference(gan: sg.CycleGAN, image: np.ndarray, net: str = "G_A") -> np.ndarray:
    """What translate computes for a float (C, H, W) image: reflection padding to multiples of 4 (at least 8),
    centered, the generator, and the crop back."""
    _, height, width = image.shape
    full = (max(8, -(-height // 4) * 4), max(8, -(-width // 4) * 4))
    top, left = (full[0] - height) // 2, (full[1] - width) // 2
    padded = np.pad(image, ((0, 0), (top, full[0] - height - top), (left, full[1] - width - left)), mode="reflect")
    return gan.nets[net](padded[None])[0, :, top:top + height, left:left + width]


@pytest.mark.parametrize("size", [(37, 51), (3, 5), (16, 16), (64, 44)])
def test_translate_float_images_of_any_size(rgb_gan, rng, size) -> None:
    image = rng.uniform(-1, 1, (3, *size)).astype(np.float32)
    out = rgb_gan.translate(image)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, padded_reference(rgb_gan, image), atol=1e-6)
    batch = rgb_gan.translate(np.stack([image, -image]), batch_size=1)
    np.testing.assert_array_equal(batch[0], out)
    np.testing.assert_allclose(batch[1], rgb_gan.translate(-image), atol=1e-6)
    if size == (16, 16):  # a size the generator takes is not padded
        np.testing.assert_array_equal(out, rgb_gan.nets["G_A"](image[None])[0])


@pytest.mark.parametrize(("shape", "tile"), [((3, 100, 132), 32), ((2, 3, 64, 48), 16), ((3, 37, 70), 24)])
def test_tiled_translation_equals_the_whole_image(rgb_gan, rng, shape, tile) -> None:
    """Tiles narrower than the image on one or both axes, ragged last tiles, a batch, padding to multiples of 4:
    whole-image InstanceNorm statistics and margins make the tiled result the untiled one."""
    image = rng.uniform(-1, 1, shape).astype(np.float32)
    whole, tiled = rgb_gan.translate(image), rgb_gan.translate(image, tile=tile)
    assert tiled.shape == whole.shape
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    small = image[..., :16, :16]
    np.testing.assert_array_equal(rgb_gan.translate(small, tile=tile), rgb_gan.translate(small))  # fits in a tile


def test_translate_uint8_pil_and_paths_round_trip(rgb_gan, rng, tmp_path) -> None:
    pixels = rng.integers(0, 256, (37, 51, 3), dtype=np.uint8)
    out = rgb_gan.translate(pixels, direction="BtoA")
    assert out.shape == pixels.shape and out.dtype == np.uint8
    expected = padded_reference(rgb_gan, pixels.transpose(2, 0, 1) / np.float32(127.5) - 1, net="G_B")
    np.testing.assert_array_equal(out, np.round((expected.transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8))
    batch = rgb_gan.translate(np.stack([pixels, pixels]), direction="BtoA")
    assert batch.shape == (2, 37, 51, 3) and np.array_equal(batch[1], out)

    picture = Image.fromarray(pixels)
    translated = rgb_gan.translate(picture, direction="BtoA")
    assert isinstance(translated, Image.Image) and translated.mode == "RGB" and translated.size == (51, 37)
    np.testing.assert_array_equal(np.asarray(translated), out)
    picture.convert("RGBA").save(tmp_path / "in.png")
    from_path = rgb_gan.translate(tmp_path / "in.png", direction="BtoA")
    np.testing.assert_array_equal(np.asarray(from_path), out)
    np.testing.assert_array_equal(np.asarray(rgb_gan.translate(str(tmp_path / "in.png"), direction="BtoA")), out)


def test_translate_grayscale_and_converts_pil_modes(gan, rng) -> None:
    pixels = rng.integers(0, 256, (13, 9), dtype=np.uint8)
    out = gan.translate(pixels)
    assert out.shape == (13, 9) and out.dtype == np.uint8
    np.testing.assert_array_equal(gan.translate(pixels[:, :, None])[:, :, 0], out)
    translated = gan.translate(Image.fromarray(pixels).convert("RGB"))  # converted to the model's grayscale
    assert translated.mode == "L" and np.array_equal(np.asarray(translated), out)


def test_translate_resize_to(rgb_gan, rng) -> None:
    image = rng.uniform(-1, 1, (3, 30, 45)).astype(np.float32)
    out = rgb_gan.translate(image, resize_to=(16, 24))
    assert out.shape == image.shape
    inside = rgb_gan.nets["G_A"](sg.images.resize(image[None], (16, 24)))
    np.testing.assert_allclose(out, sg.images.resize(inside, (30, 45))[0], atol=1e-6)
    square = rgb_gan.translate(image, resize_to=16)
    np.testing.assert_allclose(square, sg.images.resize(rgb_gan.nets["G_A"](sg.images.resize(image[None], 16)),
                                                        (30, 45))[0], atol=1e-6)


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda g: g.translate(np.zeros((8, 8, 3), np.uint8)), ValueError,
         r"direction 'AtoB' \(G_A\) takes 1-channel images, got 3 channels"),
        (lambda g: g.translate(np.zeros((2, 3, 8, 8), np.float32), direction="BtoA"), ValueError,
         r"direction 'BtoA' \(G_B\) takes 1-channel images, got 3 channels"),
        (lambda g: g.translate(np.zeros((8, 8), np.float32)), ValueError, r"float images must be \(C, H, W\)"),
        (lambda g: g.translate(np.zeros((8, 8), np.int32)), TypeError, "must be uint8 in .* or float"),
        (lambda g: g.translate(np.zeros((1, 0, 8), np.float32)), ValueError, "empty image"),
        (lambda g: g.translate(np.zeros((1, 8, 8), np.float32), direction="A2B"), ValueError,
         "direction must be 'AtoB' or 'BtoA'"),
        (lambda g: g.translate(np.zeros((1, 8, 8), np.float32), resize_to=30), ValueError,
         "resize_to must be a multiple of 4 from 8 to 16384"),
        (lambda g: g.translate(np.zeros((1, 8, 8), np.float32), resize_to=(8, 8, 8)), ValueError,
         r"resize_to must be a side length or \(height, width\)"),
        (lambda g: g.translate([[0.0]]), TypeError, "expected a numpy array, a PIL image or a path, got list"),
        (lambda g: g.translate(np.zeros((1, 8, 8), np.float32), tile=30), ValueError,
         "tile must be a multiple of 4 and at least 16, got 30"),
        (lambda g: g.translate(np.zeros((1, 8, 8), np.float32), tile=8.0), TypeError, "tile"),
        (lambda g: g.translate("absent.png"), OSError, "cannot read 'absent.png' as an image"),
        (lambda g: g.nets["G_A"](np.zeros((1, 1, 30, 30), np.float32)), ValueError,
         "G_A needs a height and width that are multiples of 4 and at least 8, got 30x30"),
        (lambda g: g.nets["D_B"](np.zeros((1, 1, 8, 8), np.float32)), ValueError,
         "D_B needs images of at least 12 pixels a side"),
        (lambda g: g.nets["G_B"](np.zeros((1, 3, 16, 16), np.float32)), ValueError,
         r"G_B expects images \[N, 1, H, W\]"),
        (lambda g: g.train_step(np.zeros((1, 1, 20, 20), np.float32), np.zeros((1, 1, 16, 16), np.float32)),
         ValueError, r"batch A: expected images \[N, 1, 16, 16\], got \[1, 1, 20, 20\]"),
        (lambda g: g.fit(np.zeros((4, 1, 16, 16), np.float32), steps=1, progress=False), ValueError,
         "data must be two arrays, domain A and domain B, got 1"),
        (lambda g: sg.CycleGAN(image_size=30), ValueError, "image_size: expected a multiple of 4"),
        (lambda g: sg.CycleGAN(image_size=16), ValueError, "too small for a 3-layer PatchGAN"),
        (lambda g: sg.CycleGAN(in_channels=1, image_size=32), ValueError, "identity loss needs in_channels == out"),
        (lambda g: sg.CycleGAN(n_blocks=2.5), TypeError, "n_blocks"),
    ],
)
def test_bad_input_raises_clear_errors(gan, call, error, message) -> None:
    with pytest.raises(error, match=message):
        call(gan)
    assert gan.step == 0


def test_a_truncated_checkpoint_is_refused(tmp_path, gan) -> None:
    gan.save(tmp_path / "gan.safetensors")
    data = (tmp_path / "gan.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="cut.safetensors"):
        sg.load(tmp_path / "cut.safetensors")
    restored = sg.load(tmp_path / "gan.safetensors")
    assert isinstance(restored, sg.CycleGAN) and restored.config == gan.config


# -- unpaired data ------------------------------------------------------------------------------------------


def test_random_crop_flip_is_a_crop_and_flip_drawn_from_the_generator(rng) -> None:
    batch = rng.standard_normal((6, 2, 9, 11)).astype(np.float32)
    out = RandomCropFlip(5)(batch, np.random.default_rng(7))
    assert out.shape == (6, 2, 5, 5) and out.dtype == np.float32
    np.testing.assert_array_equal(out, RandomCropFlip(5)(batch, np.random.default_rng(7)))
    draws = np.random.default_rng(7)
    tops, lefts, flips = draws.integers(0, 5, 6), draws.integers(0, 7, 6), draws.random(6) < 0.5
    for image, crop, top, left, flip in zip(batch, out, tops, lefts, flips, strict=True):
        window = image[:, top:top + 5, left:left + 5]
        np.testing.assert_array_equal(crop, window[..., ::-1] if flip else window)
    unflipped = RandomCropFlip(5, flip=False)(batch, np.random.default_rng(7))
    np.testing.assert_array_equal(unflipped[~flips], out[~flips])
    with pytest.raises(ValueError, match="images of 9x11 are smaller than the crop size 10"):
        RandomCropFlip(10)(batch, rng)


def write_pictures(folder, sizes, mode="RGB") -> None:
    folder.mkdir(parents=True)
    for index, size in enumerate(sizes):
        Image.new(mode, size, (40 * index, 90, 200, 255)[:len(mode)]).save(folder / f"{index}.png")


def test_unpaired_folders_read_the_reference_layout(tmp_path) -> None:
    write_pictures(tmp_path / "trainA", [(30, 20), (12, 40), (8, 8)])
    write_pictures(tmp_path / "trainB" / "nested", [(16, 16), (50, 10)], mode="RGBA")
    write_pictures(tmp_path / "testA", [(10, 10)])
    data = unpaired_folders(tmp_path, load_size=18, crop_size=16)
    assert data.a.shape == (3, 3, 18, 18) and data.b.shape == (2, 3, 18, 18) and data.a.dtype == np.float32
    assert data.transform == RandomCropFlip(16, flip=True)
    np.testing.assert_allclose(data.a[1, :, 9, 9], np.array([40, 90, 200]) / 127.5 - 1, atol=1e-6)  # stretched
    gray = unpaired_folders(tmp_path, load_size=16, crop_size=16, flip=False, channels=1)
    assert gray.a.shape == (3, 1, 16, 16) and gray.transform is None
    with pytest.raises(FileNotFoundError, match="no folder .*testB"):
        unpaired_folders(tmp_path, split="test")
    with pytest.raises(ValueError, match=r"crop_size must be between 1 and load_size \(18\), got 20"):
        unpaired_folders(tmp_path, load_size=18, crop_size=20)
    from_spec = unpaired_from_spec(str(tmp_path), 32)
    assert from_spec.a.shape == (3, 3, 36, 36) and from_spec.transform == RandomCropFlip(32)  # 32 * 286 / 256


def test_built_in_pairs() -> None:
    shoes = unpaired_from_spec("fashion-mnist:sneaker,ankle_boot", 16, flip=False, split="test")
    assert shoes.a.shape == (1000, 1, 16, 16) and shoes.b.shape == (1000, 1, 16, 16) and shoes.transform is None
    np.testing.assert_array_equal(shoes.a, sg.datasets.fashion_mnist("test", size=16, classes=["sneaker"]))
    textures = unpaired_from_spec("textures:grass,gravel", 24, load_size=32)
    assert textures.a.shape == (1000, 1, 32, 32) and textures.transform == RandomCropFlip(24)
    assert not np.array_equal(textures.a, textures.b)
    test_grass = sg.datasets.from_spec("textures:grass", 32, split="test")
    assert not np.array_equal(test_grass, textures.a)
    np.testing.assert_array_equal(sg.datasets.texture_crops("grass", 32, n=1000, seed=0), textures.a)
    for spec in ("fashion-mnist:sneaker", "textures", "digits:1,2,3"):
        with pytest.raises(ValueError, match="name two classes, A then B"):
            unpaired_from_spec(spec, 16)
    with pytest.raises(ValueError, match="unknown classes \\['grass2'\\]"):
        unpaired_from_spec("textures:grass2,gravel", 16)


def test_textures_name_the_package_they_need(monkeypatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "skimage" else
                        find_spec(name, *args))
    with pytest.raises(ModuleNotFoundError, match="ships with the skimage package: pip install scikit-image"):
        sg.datasets.texture_crops("grass", 16)


def test_translation_follows_training_and_loaded_weights() -> None:
    """The generators keep their derived weights (Winograd transforms) from one translation to the next, and drop
    them when a training step or a loaded state changes the weights."""
    config = {**TINY, "image_size": 64}
    gan, other = sg.CycleGAN(**config, seed=1), sg.CycleGAN(**config, seed=2)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32)
    before = gan.nets["G_A"](x)
    np.testing.assert_array_equal(gan.nets["G_A"](x), before)
    gan.train_step(*(rng.uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32) for _ in range(2)))
    after = gan.nets["G_A"](x)
    assert np.abs(after - before).max() > 0
    other.nets["G_A"](x)
    other.nets["G_A"].load_state_dict(gan.nets["G_A"].state_dict())
    np.testing.assert_array_equal(other.nets["G_A"](x), after)
