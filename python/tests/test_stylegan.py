"""StyleGAN (versions 2 and 1) through the model API: sampling by seed, truncation, style mixing, interpolation,
checkpoints (ADA on and off), resume bit-identity across processes, the emoji dataset, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan.safetensors import load_file, save_file

from helpers import TINY_STYLEGAN, require_emoji_font

BATCH_ROUNDING = 2e-5
"""How far one seed's image may move with the composition of its batch: the engine's matrix products tile a batch
by its size, so sums are rounded in another order (the differences seen are about 2e-6)."""


@pytest.fixture(scope="module")
def digits8() -> np.ndarray:
    return sg.datasets.digits()


@pytest.fixture(scope="module")
def trained(digits8) -> sg.StyleGAN:
    """A tiny StyleGAN after a few steps: w_avg and the noise strengths have moved from their initial zeros."""
    gan = sg.StyleGAN(**TINY_STYLEGAN, seed=3)
    gan.fit(digits8, steps=6, batch_size=8, progress=False)
    return gan


def test_nets_parameters_and_losses(trained) -> None:
    assert set(trained.nets) == {"G", "D", "G_ema"}
    assert trained.nets["G_ema"].num_parameters == trained.nets["G"].num_parameters > 0
    assert trained.nets["D"].num_parameters > 0
    assert trained.loss_names == ("loss_g", "loss_d", "loss_pl", "loss_r1", "d_real", "d_fake", "pl_mean",
                                  "augment_p")
    assert trained.num_ws == 4 and sg.StyleGAN().num_ws == 8
    assert trained.w_avg.shape == (8,) and np.abs(trained.w_avg).max() > 0
    assert trained.augment_p == 0.0


def test_generate_is_one_reproducible_image_per_seed(trained) -> None:
    images = trained.generate(seeds=[3, 5, 7])
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images, trained.generate(seeds=[3, 5, 7]))
    np.testing.assert_array_equal(trained.generate(3), trained.generate(seeds=[0, 1, 2]))
    assert not np.array_equal(images[0], images[1])
    z = np.concatenate([sg.random_normal(seed, 0, [1, 8]).numpy() for seed in (3, 5, 7)])
    np.testing.assert_array_equal(images, trained.synthesis(trained.mapping(z)))


def test_an_image_does_not_depend_on_the_other_seeds_of_its_batch(trained) -> None:
    together = trained.generate(seeds=[3, 5, 7, 9, 11])
    alone = np.concatenate([trained.generate(seeds=[seed]) for seed in (3, 5, 7, 9, 11)])
    shuffled = trained.generate(seeds=[11, 9, 7, 5, 3])[::-1]
    in_pairs = trained.generate(seeds=[3, 5, 7, 9, 11], batch_size=2)
    for other in (alone, shuffled, in_pairs):
        np.testing.assert_allclose(other, together, rtol=0, atol=BATCH_ROUNDING)


def test_noise_modes(trained) -> None:
    const = trained.generate(seeds=[3, 5])
    random = trained.generate(seeds=[3, 5], noise_mode="random")
    none = trained.generate(seeds=[3, 5], noise_mode="none")
    assert not np.allclose(random, const) and not np.allclose(none, const) and not np.allclose(random, none)
    # Random noise is drawn from each image's seed alone.
    np.testing.assert_array_equal(random[1:], trained.generate(seeds=[5], noise_mode="random"))
    np.testing.assert_array_equal(random, trained.generate(seeds=[3, 5], noise_mode="random"))


def test_truncation_toward_w_avg(trained) -> None:
    z = np.concatenate([sg.random_normal(seed, 0, [1, 8]).numpy() for seed in range(6)])
    ws = trained.mapping(z)
    assert ws.shape == (6, 4, 8) and all(np.array_equal(ws[:, i], ws[:, 0]) for i in range(4))
    np.testing.assert_array_equal(trained.mapping(z, truncation_psi=0.0), np.broadcast_to(trained.w_avg, ws.shape))
    half = trained.mapping(z, truncation_psi=0.5)
    np.testing.assert_allclose(half, trained.w_avg + 0.5 * (ws - trained.w_avg), rtol=1e-6, atol=1e-7)
    cut = trained.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    np.testing.assert_array_equal(cut[:, :2], np.broadcast_to(trained.w_avg, (6, 2, 8)))
    np.testing.assert_array_equal(cut[:, 2:], ws[:, 2:])
    images = trained.generate(seeds=[1, 20, 300], truncation_psi=0.0)
    np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape), rtol=0, atol=BATCH_ROUNDING)
    assert not np.allclose(trained.generate(seeds=[1, 20], truncation_psi=0.7)[0],
                           trained.generate(seeds=[1, 20], truncation_psi=0.7)[1])


def cells(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A style-mixing grid (C, (rows + 1) * R, (cols + 1) * R) cut into its cells (rows + 1, cols + 1, C, R, R)."""
    c, r = grid.shape[0], grid.shape[1] // (rows + 1)
    return grid.reshape(c, rows + 1, r, cols + 1, r).transpose(1, 3, 0, 2, 4)


def test_style_mixing_grid_layout(trained) -> None:
    rows, cols = [1, 2, 3], [4, 5]
    grid = trained.style_mix(rows, cols, layers=[0, 1])
    assert grid.shape == (1, 4 * 8, 3 * 8) and grid.dtype == np.float32
    tiles = cells(grid, 3, 2)
    assert np.all(tiles[0, 0] == -1.0)  # the blank corner
    np.testing.assert_allclose(tiles[0, 1:], trained.generate(seeds=cols), rtol=0, atol=BATCH_ROUNDING)
    np.testing.assert_allclose(tiles[1:, 0], trained.generate(seeds=rows), rtol=0, atol=BATCH_ROUNDING)
    ws_rows, ws_cols = trained.seed_ws(rows), trained.seed_ws(cols)
    mixed = ws_rows[2].copy()
    mixed[:2] = ws_cols[1, :2]  # row seed 3 with the coarse styles of column seed 5
    np.testing.assert_allclose(tiles[3, 2], trained.synthesis(mixed[None])[0], rtol=0, atol=BATCH_ROUNDING)
    assert not np.allclose(tiles[3, 2], tiles[3, 0]) and not np.allclose(tiles[3, 2], tiles[0, 2])


def test_style_mixing_with_no_layers_or_all_layers(trained) -> None:
    rows, cols = [1, 2], [4, 5, 6]
    unmixed = cells(trained.style_mix(rows, cols, layers=[]), 2, 3)
    for j in range(1, 4):
        np.testing.assert_allclose(unmixed[1:, j], unmixed[1:, 0], rtol=0, atol=BATCH_ROUNDING)
    swapped = cells(trained.style_mix(rows, cols, layers=range(trained.num_ws)), 2, 3)
    for i in range(1, 3):
        np.testing.assert_allclose(swapped[i, 1:], swapped[0, 1:], rtol=0, atol=BATCH_ROUNDING)


def test_interpolation_frames_and_gif(trained, tmp_path) -> None:
    frames = trained.interpolate(2, 9, steps=5)
    assert frames.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(frames[[0, -1]], trained.generate(seeds=[2, 9]), rtol=0, atol=BATCH_ROUNDING)
    ws = trained.seed_ws([2, 9])
    np.testing.assert_allclose(frames[2], trained.synthesis(0.5 * ws[:1] + 0.5 * ws[1:])[0], rtol=0,
                               atol=BATCH_ROUNDING)
    sg.images.save_gif(frames, tmp_path / "walk.gif")
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 5 and gif.size == (8, 8)


def test_version_1_samples_at_full_resolution_while_growing(digits8) -> None:
    gan = sg.StyleGAN(**TINY_STYLEGAN, version=1, phase_images=16, initial_resolution=4)
    assert gan.config["r1_interval"] is None and gan.config["pl_weight"] is None  # version 1's: 1 and 0
    assert gan.nets["G_ema"].num_parameters == gan.nets["G"].num_parameters > 0
    history = gan.fit(digits8, steps=3, batch_size=8, progress=False)  # 24 images: fading 8x8 in
    assert history["loss_pl"] == [0.0, 0.0, 0.0] and all(value > 0 for value in history["loss_r1"])
    assert gan.mapping(np.zeros((2, 8), np.float32)).shape == (2, gan.num_ws, 8)
    images = gan.generate(seeds=[1, 2])
    assert images.shape == (2, 1, 8, 8) and np.isfinite(images).all()
    assert gan.style_mix([1], [2, 3], layers=[0]).shape == (1, 16, 24)


def test_preview_is_the_first_64_seeds(trained) -> None:
    np.testing.assert_array_equal(trained.preview([]), trained.generate(64))


RESUME_SCRIPT = textwrap.dedent("""
    import sys
    import swiftgan as sg
    gan = sg.load(sys.argv[1])
    gan.fit(sg.datasets.digits(), steps=int(sys.argv[3]), batch_size=8, progress=False)
    gan.save(sys.argv[2])
""")


RESUMED_CONFIGS = {
    # Lazy R1 every 3 steps and path length every 2, on both sides of the break at step 4.
    "v2": {"r1_interval": 3, "pl_interval": 2},
    # With ADA, p moves every 2 steps.
    "v2-ada": {"r1_interval": 3, "pl_interval": 2, "ada": True, "augment_p": 0.3, "ada_target": 0.0,
               "ada_interval": 2, "ada_kimg": 0.2},
    # Version 1 grows from 4x4: the break (32 images) falls in the middle of the fade-in of 8x8 (images 24 to 48).
    "v1": {"version": 1, "phase_images": 24, "initial_resolution": 4},
}


@pytest.mark.parametrize("case", RESUMED_CONFIGS)
def test_resume_in_a_new_process_is_bit_identical(tmp_path, digits8, case) -> None:
    config = {**TINY_STYLEGAN, "ema_images": 40, "seed": 4, **RESUMED_CONFIGS[case]}
    straight = sg.StyleGAN(**config)
    straight.fit(digits8, steps=9, batch_size=8, progress=False)
    straight.save(tmp_path / "straight.safetensors")

    first = sg.StyleGAN(**config)
    first.fit(digits8, steps=4, batch_size=8, progress=False)
    first.save(tmp_path / "half.safetensors")
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path / "half.safetensors"),
                    str(tmp_path / "resumed.safetensors"), "5"], check=True)

    expected, expected_metadata = load_file(tmp_path / "straight.safetensors")
    resumed, resumed_metadata = load_file(tmp_path / "resumed.safetensors")
    assert resumed_metadata == expected_metadata  # config and counters: step, RNG position, optimizer steps, ADA
    assert set(resumed) == set(expected)
    different = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
    assert not different, f"state tensors differ after resuming: {different}"
    assert np.abs(expected["G_ema.mapping.w_avg"]).max() > 0
    assert not np.array_equal(expected["G_ema.mapping.fc0.weight"], expected["G.mapping.fc0.weight"])
    assert json.loads(expected_metadata["counters"])["images"] == 72
    assert (expected["pl_mean"] != 0) == (case != "v1")  # no path-length penalty in version 1
    if case == "v2-ada":
        assert straight.augment_p != 0.3 and float(expected["augment_p"]) == straight.augment_p
    np.testing.assert_array_equal(sg.load(tmp_path / "resumed.safetensors").generate(8), straight.generate(8))


def test_checkpoints_with_and_without_ada(tmp_path, digits8) -> None:
    plain = sg.StyleGAN(**TINY_STYLEGAN)
    adaptive = sg.StyleGAN(**TINY_STYLEGAN, ada=True, augment_p=0.25)
    adaptive.fit(digits8, steps=2, batch_size=8, progress=False)
    plain.save(tmp_path / "plain.safetensors")
    adaptive.save(tmp_path / "ada.safetensors")
    plain_tensors, plain_metadata = load_file(tmp_path / "plain.safetensors")
    ada_tensors, ada_metadata = load_file(tmp_path / "ada.safetensors")
    assert set(ada_tensors) - set(plain_tensors) == {"augment_p", "ada_signs"}
    assert "ada_count" in json.loads(ada_metadata["counters"])
    assert "ada_count" not in json.loads(plain_metadata["counters"])
    restored = sg.load(tmp_path / "ada.safetensors")
    assert isinstance(restored, sg.StyleGAN) and restored.config["ada"]
    assert restored.augment_p == adaptive.augment_p and restored.step == 2
    # ADA's state in a checkpoint whose config has ADA off is refused, naming the entries.
    save_file(ada_tensors, tmp_path / "mixed.safetensors",
              {**ada_metadata, "config": json.dumps({**adaptive.config, "ada": False, "augment_p": 0.0})})
    with pytest.raises(ValueError, match=r"unexpected \['ada_signs', 'augment_p'\]"):
        sg.load(tmp_path / "mixed.safetensors")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"version": 3}, ValueError, r"version: expected 1 \(StyleGAN\) or 2 \(StyleGAN2\), got 3"),
        ({"version": 1, "pl_weight": 2.0}, ValueError, r"path-length regularization is StyleGAN2's"),
        ({"resolution": 12}, ValueError, r"resolution: expected a power of two from 4 to 1024, got 12"),
        ({"augment_p": 0.5}, ValueError, r"augment_p is ADA's initial probability; it needs ada=True"),
        ({"betas": 0.9}, ValueError, r"'betas' must be a pair of floats"),
        ({"z_dim": 8.0}, TypeError, r"argument 'z_dim' must be an int"),
        ({"ada": 1}, TypeError, r"argument 'ada' must be a bool"),
        ({"style_mixing": 2.0}, ValueError, r"style_mixing: expected a probability"),
    ],
)
def test_bad_configurations(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        sg.StyleGAN(**{**TINY_STYLEGAN, **kwargs})


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda g: g.generate(), ValueError, r"pass either n \(the seeds 0..n-1\) or seeds"),
        (lambda g: g.generate(2, seeds=[1]), ValueError, r"pass either n"),
        (lambda g: g.generate(seeds=[]), ValueError, r"argument 'seeds' is empty"),
        (lambda g: g.generate(seeds=[-1]), ValueError, r"seeds must be ints in \[0, 2\*\*64\)"),
        (lambda g: g.generate(seeds="12"), TypeError, r"'seeds' must be an iterable of ints, got str"),
        (lambda g: g.generate(seeds=[1.5]), TypeError, r"'seeds' must be an int"),
        (lambda g: g.generate(2, noise_mode="fixed"), ValueError, r"'noise_mode' must be one of 'random', 'const'"),
        (lambda g: g.generate(2, truncation_psi="0.7"), TypeError, r"'truncation_psi' must be a float"),
        (lambda g: g.generate(2, batch_size=0), ValueError, r"batch_size must be >= 1"),
        (lambda g: g.mapping(np.zeros((2, 7), np.float32)), ValueError, r"z: expected \[N, 8\], got \[2, 7\]"),
        (lambda g: g.mapping(np.zeros((2, 8))), TypeError, r"argument 'z' must be a float32 numpy array"),
        (lambda g: g.mapping(np.zeros((2, 8), np.float32), truncation_cutoff=-1), ValueError,
         r"truncation_cutoff: expected a non-negative layer count"),
        (lambda g: g.synthesis(np.zeros((2, 3, 8), np.float32)), ValueError, r"ws: expected \[N, 4, 8\]"),
        (lambda g: g.style_mix([1], [2], layers=[4]), ValueError, r"layers must be in \[0, 4\), got \[4\]"),
        (lambda g: g.interpolate(1, 2, steps=1), ValueError, r"steps must be from 2 to 65536"),
        (lambda g: g.train_step(np.zeros((4, 3, 8, 8), np.float32)), ValueError, r"expected images \[N, 1, 8, 8\]"),
        (lambda g: g._model.call("render", {}, {}), ValueError, r"this model has no method 'render'"),
        (lambda g: g._model.call("mapping", [], {}), TypeError, r"argument 'inputs' must be a dict"),
        (lambda g: g._model.call("mapping", {"z": np.zeros((1, 8), np.float32)}, {}), TypeError,
         r"argument 'z' must be a swiftgan.Tensor or None"),
        (lambda g: g._model.call("mapping", {"z": sg.tensor(np.zeros((1, 8), np.float32))}, {"psi": 1}), ValueError,
         r"mapping: unknown argument 'psi'"),
    ],
)
def test_bad_input_is_refused(trained, call, error, message) -> None:
    step = trained.step
    with pytest.raises(error, match=message):
        call(trained)
    assert trained.step == step


def test_emoji_dataset(tmp_path, monkeypatch) -> None:
    require_emoji_font("the emoji are rendered from a font")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images = sg.datasets.emoji(size=16)
    assert 1100 <= len(images) <= 1300 and images.shape[1:] == (3, 16, 16) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.mean(np.all(images[:, :, 0, 0] == 1.0, axis=1)) > 0.9  # white backgrounds
    assert np.abs(images[:, 0] - images[:, 2]).mean() > 0.05  # in color
    cached = list((tmp_path / "swiftgan").iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("emoji-16-3-")
    np.testing.assert_array_equal(sg.datasets.emoji(size=16), images)  # read back from the cache
    gray = sg.datasets.from_spec("emoji", 8, channels=1)
    assert gray.shape == (len(images), 1, 8, 8)


def test_emoji_without_the_font_names_the_package(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"install the Debian package fonts-noto-color-emoji"):
        sg.datasets.emoji(font=tmp_path / "NotoColorEmoji.ttf")


def test_a_format_1_checkpoint_keeps_its_up_convolution() -> None:
    """swiftgan 0.1 wrote StyleGAN2 checkpoints (format 1) whose up-convolutions upsample before the 3x3 conv; they
    load with legacy_upsampling and give the images and logits that version gave (saved beside the checkpoint)."""
    from swiftgan.safetensors import load_file

    from helpers import FIXTURES

    folder = FIXTURES.parent / "checkpoints"
    gan = sg.load(folder / "stylegan2_v0.1_format1.safetensors")
    assert gan.config["legacy_upsampling"] is True and gan.step == 2
    reference, _ = load_file(folder / "stylegan2_v0.1_format1_outputs.safetensors")
    np.testing.assert_allclose(gan.generate(seeds=[0, 1, 2]), reference["images"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(gan.nets["D"](reference["x"]), reference["d_logits"], rtol=0, atol=1e-5)
    modern = sg.StyleGAN(**{**gan.config, "legacy_upsampling": False})
    for name, array in gan.nets["G_ema"].state_dict().items():  # the same names and shapes
        modern._model.state_tensor(f"G_ema.{name}").copy_(array)
    assert np.abs(modern.generate(seeds=[0, 1, 2]) - reference["images"]).max() > 1e-3  # a different computation
    gan.train_step(reference["x"])  # and it trains on


@pytest.mark.parametrize("architecture", ["skip", "resnet", "orig"])
def test_the_smallest_resolution_trains(architecture) -> None:
    """At 4x4 G is its constant block alone and D its epilogue alone (no D blocks, fromRGB feeding mbstd)."""
    gan = sg.StyleGAN(resolution=4, architecture=architecture, d_architecture=architecture, z_dim=8, w_dim=8,
                      mapping_layers=2, channel_base=64, channel_max=16, seed=1)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 3, 4, 4)).astype(np.float32)
    before = gan.generate(seeds=[1, 2])
    losses = [gan.train_step(images[:4]), gan.train_step(images[4:])]
    assert gan.generate(seeds=[1, 2]).shape == (2, 3, 4, 4) and gan.discriminate(images).shape == (8, 1)
    assert all(np.isfinite(list(loss.values())).all() for loss in losses)
    assert not np.array_equal(gan.generate(seeds=[1, 2]), before)


def test_generation_follows_training_and_loaded_weights() -> None:
    """G_ema's convolutions keep their derived weights (Winograd transforms, stacked up-convolution weights) from one
    generation call to the next, and drop them when a training step or a loaded state changes the weights."""
    config = {"resolution": 32, "channels": 3, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 512,
              "channel_max": 32}
    model, other = sg.StyleGAN(**config, seed=1), sg.StyleGAN(**config, trainable=False, seed=2)
    ws = model.mapping(np.random.default_rng(0).standard_normal((2, 16), dtype=np.float32))
    before = model.synthesis(ws)
    np.testing.assert_array_equal(model.synthesis(ws), before)
    model.train_step(np.random.default_rng(1).uniform(-1, 1, (4, 3, 32, 32)).astype(np.float32))
    after = model.synthesis(ws)
    assert np.abs(after - before).max() > 0
    other.synthesis(ws)
    other.nets["G_ema"].load_state_dict(model.nets["G_ema"].state_dict())
    np.testing.assert_array_equal(other.synthesis(ws), after)
