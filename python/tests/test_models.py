"""DCGAN through the model API: reference parity, state dicts, training steps, sampling, checkpoints, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import swiftgan as sg
from swiftgan.models import GAN
from swiftgan.safetensors import load_file, save_file

from helpers import MODEL_FIXTURES, TINY_DCGAN, relative_error


def load_fixture(name: str) -> tuple[dict[str, np.ndarray], dict]:
    tensors, metadata = load_file(MODEL_FIXTURES / f"{name}.safetensors")
    return tensors, json.loads(metadata["spec"])


def fixture_gan(spec: dict) -> sg.DCGAN:
    return sg.DCGAN(**{key: spec[key] for key in ("image_size", "channels", "nz", "ngf", "ndf")})


def weights(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value for name, value in tensors.items() if not name.startswith("__")}


@pytest.fixture
def gan() -> sg.DCGAN:
    return sg.DCGAN(**TINY_DCGAN, seed=1)


@pytest.mark.parametrize("case", ["dcgan32_G", "dcgan32_D", "dcgan64_G", "dcgan64_D"])
def test_reference_weights_reproduce_the_reference_output(case) -> None:
    tensors, spec = load_fixture(case)
    gan = fixture_gan(spec)
    net = gan.nets[spec["net"]]
    net.load_state_dict(weights(tensors))
    out = net(tensors["__input__"], training=True)
    assert out.shape == tensors["__output__"].shape
    assert relative_error(out, tensors["__output__"]) <= 1e-3
    expected_parameters = sum(value.size for name, value in weights(tensors).items() if "running" not in name)
    assert net.num_parameters == expected_parameters


def test_state_dict_names_shapes_and_copies() -> None:
    tensors, spec = load_fixture("dcgan32_G")
    gan = fixture_gan(spec)
    state = gan.nets["G"].state_dict()
    assert {name: value.shape for name, value in state.items()} == {
        name: value.shape for name, value in weights(tensors).items()}
    assert all(value.dtype == np.float32 for value in state.values())
    state["main.0.weight"][...] = 0  # a copy: the model is unchanged
    assert np.abs(gan.nets["G"].state_dict()["main.0.weight"]).max() > 0


def test_load_state_dict_accepts_num_batches_tracked_and_non_strict_subsets() -> None:
    tensors, spec = load_fixture("dcgan32_D")
    gan = fixture_gan(spec)
    state = weights(tensors)
    with_counters = {**state, "main.3.num_batches_tracked": np.array(7, np.int64)}
    gan.nets["D"].load_state_dict(with_counters)
    np.testing.assert_array_equal(gan.nets["D"].state_dict()["main.3.weight"], state["main.3.weight"])

    before = gan.nets["D"].state_dict()
    partial = {"main.0.weight": np.zeros_like(state["main.0.weight"]), "extra.weight": np.zeros(3, np.float32)}
    gan.nets["D"].load_state_dict(partial, strict=False)
    after = gan.nets["D"].state_dict()
    assert not after["main.0.weight"].any()
    np.testing.assert_array_equal(after["main.2.weight"], before["main.2.weight"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("main.3.running_var"), r"missing \['main\.3\.running_var'\]"),
        (lambda s: s.update({"main.9.weight": np.zeros(3, np.float32)}), r"unexpected \['main\.9\.weight'\]"),
        (lambda s: s.update({"main.2.weight": np.zeros((32, 16, 3, 3), np.float32)}),
         r"'main\.2\.weight' has shape \(32, 16, 3, 3\), expected \(32, 16, 4, 4\)"),
    ],
)
def test_load_state_dict_names_every_problem_and_changes_nothing(change, message) -> None:
    tensors, spec = load_fixture("dcgan32_D")
    gan = fixture_gan(spec)
    before = gan.nets["D"].state_dict()
    state = weights(tensors)
    change(state)
    with pytest.raises(ValueError, match=rf"D\.load_state_dict: .*{message}"):
        gan.nets["D"].load_state_dict(state)
    after = gan.nets["D"].state_dict()
    assert all(np.array_equal(after[name], before[name]) for name in before)


def test_load_state_dict_shapes_are_checked_even_when_not_strict(gan) -> None:
    with pytest.raises(ValueError, match=r"'main\.0\.weight' has shape \(1,\)"):
        gan.nets["G"].load_state_dict({"main.0.weight": np.zeros(1, np.float32)}, strict=False)
    with pytest.raises(TypeError, match=r"'main\.0\.weight' must be a float array, got dtype int64"):
        gan.nets["G"].load_state_dict({"main.0.weight": np.zeros((100, 32, 4, 4), np.int64)}, strict=False)


def test_train_step_reports_the_losses_and_counts_steps(gan, digits16) -> None:
    assert gan.step == 0 and gan.loss_names == ("loss_d", "loss_g", "d_real", "d_fake")
    for step in range(1, 4):
        losses = gan.train_step(digits16[:8])
        assert list(losses) == list(gan.loss_names) and gan.step == step
        assert all(math.isfinite(value) for value in losses.values())
        assert 0 < losses["d_real"] < 1 and 0 < losses["d_fake"] < 1


@pytest.mark.parametrize("size, channels", [(16, 3), (32, 4), (64, 1), (128, 3)])
def test_every_size_and_channel_count_trains_and_samples(size, channels, rng) -> None:
    """Any 2^k size from 16 to 128 and any channel count (the reference is fixed at 64x64): one layer per doubling."""
    gan = sg.DCGAN(image_size=size, channels=channels, nz=8, ngf=4, ndf=4, seed=0)
    depth = int(math.log2(size)) - 1  # conv-transposes in G, convs in D
    state = gan.nets["G"].state_dict()
    assert sum(name.endswith(".weight") and value.ndim == 4 for name, value in state.items()) == depth
    batch = rng.uniform(-1, 1, (4, channels, size, size)).astype(np.float32)
    losses = gan.train_step(batch)
    assert all(math.isfinite(value) for value in losses.values())
    samples = gan.generate(3, seed=1)
    assert samples.shape == (3, channels, size, size) and np.abs(samples).max() <= 1
    assert gan.nets["D"](samples).shape == (3, 1, 1, 1)


def test_generate_depends_on_its_seed_alone(digits16) -> None:
    a, b = sg.DCGAN(**TINY_DCGAN, seed=1), sg.DCGAN(**TINY_DCGAN, seed=1)
    a.train_step(digits16[:8])
    samples = a.generate(6, seed=3)
    assert samples.shape == (6, 1, 16, 16) and samples.dtype == np.float32
    assert np.abs(samples).max() <= 1
    np.testing.assert_array_equal(a.generate(6, seed=3), samples)
    assert not np.array_equal(a.generate(6, seed=4), samples)
    b.train_step(digits16[:8])  # b never sampled: the training RNG did not see a's sampling
    a.train_step(digits16[8:16])
    b.train_step(digits16[8:16])
    for name in a.nets["G"].state_dict():
        np.testing.assert_array_equal(a.nets["G"].state_dict()[name], b.nets["G"].state_dict()[name])


def test_net_call_modes(gan, digits16) -> None:
    def running_mean() -> np.ndarray:
        return gan.nets["D"].state_dict()["main.3.running_mean"]

    before = running_mean()
    scores = gan.nets["D"](digits16[:4])
    assert scores.shape == (4, 1, 1, 1) and ((scores > 0) & (scores < 1)).all()
    np.testing.assert_array_equal(running_mean(), before)
    gan.nets["D"](digits16[:4], training=True)
    assert not np.array_equal(running_mean(), before)
    z = np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32)
    np.testing.assert_array_equal(gan.nets["G"](z), gan.nets["G"](z.reshape(3, 100, 1, 1)))


def test_repr_and_config(gan) -> None:
    assert gan.config == {"image_size": 16, "channels": 1, "nz": 100, "ngf": 8, "ndf": 8, "lr": 2e-4,
                          "betas": [0.5, 0.999], "seed": 1}
    assert repr(gan).startswith("DCGAN(image_size=16, channels=1") and repr(gan).endswith("# step 0")
    assert repr(gan.nets["G"]) == f"<DCGAN net 'G': {gan.nets['G'].num_parameters:,} parameters>"


@pytest.mark.parametrize(
    "batch, error, message",
    [
        (np.zeros((8, 1, 16, 16)), TypeError, r"DCGAN\.train_step: argument 'batches\[0\]' must be a float32"),
        (np.zeros((8, 3, 16, 16), np.float32), ValueError, r"expected images \[N, 1, 16, 16\], got \[8, 3, 16, 16\]"),
        (np.zeros((8, 1, 32, 32), np.float32), ValueError, r"expected images \[N, 1, 16, 16\], got \[8, 1, 32, 32\]"),
        (np.zeros((8, 16, 16), np.float32), ValueError, r"expected images \[N, 1, 16, 16\]"),
        (np.zeros((8, 1, 16, 16), np.float32).transpose(0, 1, 3, 2), ValueError, r"must be C-contiguous"),
        ([[0.0]], TypeError, r"must be a float32 numpy array, got list"),
    ],
)
def test_bad_batches(gan, batch, error, message) -> None:
    with pytest.raises(error, match=message):
        gan.train_step(batch)
    assert gan.step == 0


def test_bad_calls(gan) -> None:
    with pytest.raises(ValueError, match=r"one batch of real images, got 2"):
        gan.train_step(np.zeros((8, 1, 16, 16), np.float32), np.zeros((8, 1, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"generate: argument 'n' must be an int in \[1, 2\*\*31\)"):
        gan.generate(0)
    with pytest.raises(TypeError, match=r"generate: argument 'n' must be an int"):
        gan.generate(2.0)
    with pytest.raises(ValueError, match=r"generate: argument 'seed'"):
        gan.generate(2, seed=-1)
    with pytest.raises(ValueError, match=r"G expects z of shape \[N, 100\] or \[N, 100, 1, 1\], got \[2, 99\]"):
        gan.nets["G"](np.zeros((2, 99), np.float32))
    with pytest.raises(TypeError, match=r"nets\['D'\]: argument 'x' must be a float32 numpy array, got float64"):
        gan.nets["D"](np.zeros((2, 1, 16, 16)))
    with pytest.raises(KeyError):
        gan.nets["E"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"image_size": 20}, ValueError, r"image_size: expected 16, 32, 64 or 128, got 20"),
        ({"image_size": 32.0}, TypeError, r"DCGAN: argument 'image_size' must be an int, got float"),
        ({"channels": 0}, ValueError, r"channels"),
        ({"lr": "fast"}, TypeError, r"DCGAN: argument 'lr' must be a float"),
        ({"betas": 0.5}, ValueError, r"DCGAN: argument 'betas' must be a pair"),
        ({"betas": (0.5, 1.5)}, ValueError, r"betas"),
        ({"seed": -1}, ValueError, r"seed"),
    ],
)
def test_bad_configs(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        sg.DCGAN(**{**TINY_DCGAN, **kwargs})


def test_checkpoint_round_trip(tmp_path, gan, digits16) -> None:
    gan.train_step(digits16[:8])
    path = tmp_path / "dcgan.safetensors"
    gan.save(path)
    tensors, metadata = load_file(path)
    assert metadata["format"] == "swiftgan" and metadata["kind"] == "dcgan"
    assert json.loads(metadata["config"]) == gan.config
    assert json.loads(metadata["counters"])["step"] == 1
    assert any(name.startswith("opt_D.exp_avg_sq.") for name in tensors)

    for loader in (sg.load, sg.DCGAN.load, GAN.load):
        restored = loader(path)
        assert type(restored) is sg.DCGAN and restored.config == gan.config and restored.step == 1
        restored.save(tmp_path / "again.safetensors")
        again, again_metadata = load_file(tmp_path / "again.safetensors")
        assert again_metadata == metadata
        assert all(np.array_equal(again[name], tensors[name]) for name in tensors)


def forge(tmp_path, gan, tensors=None, **metadata) -> str:
    """A checkpoint of ``gan`` with replaced tensors and metadata entries."""
    gan.save(tmp_path / "original.safetensors")
    original, original_metadata = load_file(tmp_path / "original.safetensors")
    path = tmp_path / "forged.safetensors"
    save_file(original if tensors is None else tensors(original), path, {**original_metadata, **metadata})
    return str(path)


def test_checkpoint_errors(tmp_path, gan) -> None:
    with pytest.raises(ValueError, match=r"a checkpoint of model kind 'unet'; known kinds: .*dcgan"):
        sg.load(forge(tmp_path, gan, kind="unet"))
    with pytest.raises(ValueError, match=r"format version '3'; this swiftgan reads versions 1 to 2"):
        sg.load(forge(tmp_path, gan, format_version="3"))
    with pytest.raises(ValueError, match=r"not a swiftgan checkpoint"):
        sg.load(MODEL_FIXTURES / "dcgan32_G.safetensors")
    with pytest.raises(ValueError, match=r"missing \['G\.main\.0\.weight'\]"):
        sg.load(forge(tmp_path, gan, tensors=lambda t: {k: v for k, v in t.items() if k != "G.main.0.weight"}))
    with pytest.raises(ValueError, match=r"'D\.main\.0\.weight' has shape \(2,\), expected \(8, 1, 4, 4\)"):
        sg.load(forge(tmp_path, gan, tensors=lambda t: {**t, "D.main.0.weight": np.zeros(2, np.float32)}))
    with pytest.raises(ValueError, match=r"counters"):
        sg.load(forge(tmp_path, gan, counters=json.dumps({"step": 1})))
    with pytest.raises(ValueError, match=r"invalid config"):
        sg.load(forge(tmp_path, gan, config=json.dumps({"image_size": 16, "width": 3})))
    with pytest.raises(ValueError, match=r"image_size: expected 16, 32, 64 or 128"):
        sg.load(forge(tmp_path, gan, config=json.dumps({**gan.config, "image_size": 20})))
    with pytest.raises(FileNotFoundError):
        sg.load(tmp_path / "absent.safetensors")


def test_truncated_checkpoint(tmp_path, gan) -> None:
    path = tmp_path / "dcgan.safetensors"
    gan.save(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"not a valid safetensors file"):
        sg.load(path)


def test_a_checkpoint_of_another_kind_is_refused_by_a_model_class(tmp_path, gan) -> None:
    class Other(GAN):  # a second model family, as CycleGAN will be (not registered with the engine)
        pass

    path = tmp_path / "dcgan.safetensors"
    gan.save(path)
    with pytest.raises(ValueError, match=r"a checkpoint of a DCGAN \('dcgan'\), not a Other"):
        Other.load(path)
