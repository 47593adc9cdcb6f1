"""Projection of images into a StyleGAN2's latent space: the model's own images come back, NVlabs' projected_w.npz
layout, the projected noise maps, photos as files and PIL images, bad arguments, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg

from helpers import NVLABS_SNAPSHOT

SMALL = {"resolution": 16, "channels": 3, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128,
         "channel_max": 16}


def noisy(gan: sg.StyleGAN) -> sg.StyleGAN:
    """``gan`` with noise that counts (a new model's noise strengths are 0, as NVlabs initializes them)."""
    strengths = {name: np.float32(0.3) for name in gan.nets["G_ema"].state_dict() if name.endswith("noise_strength")}
    gan.nets["G_ema"].load_state_dict(strengths, strict=False)
    return gan


@pytest.fixture(scope="module")
def gan() -> sg.StyleGAN:
    return sg.StyleGAN(**SMALL, trainable=False, seed=3)


@pytest.fixture(scope="module")
def projected(gan) -> tuple[np.ndarray, sg.projection.Projection]:
    """Seed 7's image projected in W+ for 300 steps."""
    target = gan.generate(seeds=[7])
    return target, gan.project(target, steps=300, space="w+", w_avg_samples=2000, progress=False)


def test_projection_in_w_plus_recovers_a_generated_image(projected) -> None:
    target, result = projected
    assert result.steps_taken == 300 and len(result.losses["distance"]) == 300
    assert result.psnr() >= 30, result.psnr()
    assert sg.metrics.psnr(result.image, target) == result.psnr()
    distances = result.losses["distance"]
    assert distances[-1] < 0.1 * distances[0]
    assert np.isfinite(result.losses["loss"]).all() and min(result.losses["noise_regularization"]) >= 0
    assert np.array_equal(result.target, target)


def test_projection_in_w_gets_close(gan) -> None:
    target = gan.generate(seeds=[8])
    result = gan.project(target, steps=150, w_avg_samples=2000, progress=False)
    ws = result.ws
    assert ws.shape == (1, 6, 16) and np.array_equal(ws, np.repeat(ws[:, :1], 6, axis=1))  # one w for every layer
    start = sg.metrics.psnr(gan.synthesis(np.repeat(gan.w_avg[None, None], 6, axis=1)), target)
    assert result.psnr() > start + 5, (start, result.psnr())


def test_save_writes_nvlabs_projected_w_layout(projected, gan, tmp_path) -> None:
    _, result = projected
    result.save(tmp_path / "projected_w.npz")
    stored = np.load(tmp_path / "projected_w.npz")
    assert stored["w"].shape == (1, gan.num_ws, 16) and stored["w"].dtype == np.float32
    assert np.array_equal(stored["w"], result.ws)
    noise = result.noise
    assert sorted(noise) == sorted(name for name in gan.nets["G_ema"].state_dict() if name.endswith("noise_const"))
    assert all(np.array_equal(stored[f"noise/{name}"], value) for name, value in noise.items())
    for value in noise.values():  # renormalized after every step
        assert abs(value.mean()) < 1e-5 and abs((value ** 2).mean() - 1) < 1e-4


def test_apply_noise_makes_the_model_render_the_reconstruction() -> None:
    model = noisy(sg.StyleGAN(**SMALL, trainable=False, seed=3))
    result = model.project(model.generate(seeds=[2]), steps=5, w_avg_samples=100, progress=False)
    model = noisy(sg.StyleGAN(**SMALL, trainable=False, seed=3))
    assert not np.allclose(model.synthesis(result.ws), result.image, atol=1e-4)
    result.apply_noise(model)
    np.testing.assert_allclose(model.synthesis(result.ws), result.image, atol=1e-5)


def test_initial_noise_is_fresh_or_the_models_constant_noise(gan) -> None:
    target = gan.generate(seeds=[3])
    constant = {name: value for name, value in gan.nets["G_ema"].state_dict().items() if name.endswith("noise_const")}
    model = sg.projection.Projection(gan, target, steps=1, w_avg_samples=10)  # the default
    fresh = sg.projection.Projection(gan, target, steps=1, w_avg_samples=10, initial_noise="random")
    assert all(np.array_equal(model.noise[name], value) for name, value in constant.items())
    assert not any(np.allclose(fresh.noise[name], value) for name, value in constant.items())
    with pytest.raises(ValueError, match="'initial_noise' must be one of 'random', 'model'"):
        sg.projection.Projection(gan, target, initial_noise="zeros")


def test_photos_are_cropped_and_resized_as_nvlabs_does(gan, tmp_path) -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 4:36] = 255  # white beyond the center square by more than the filter reaches, black at the sides
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    for image in (tmp_path / "photo.png", str(tmp_path / "photo.png"), Image.fromarray(pixels)):
        result = sg.projection.Projection(gan, image, steps=1, w_avg_samples=10)
        assert result.target.shape == (1, 3, 16, 16) and result.target.dtype == np.float32
        np.testing.assert_allclose(result.target, 1.0, atol=1e-6)


def test_bad_arguments_are_refused(gan) -> None:
    image = gan.generate(seeds=[1])
    with pytest.raises(ValueError, match=r"float \(3, 16, 16\)"):
        gan.project(image[:, :, :8], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        gan.project(np.full_like(image, np.nan), progress=False)
    with pytest.raises(TypeError, match="'image' must be an array"):
        gan.project(3, progress=False)
    with pytest.raises(ValueError, match="'space' must be one of 'w', 'w\\+'"):
        gan.project(image, space="z", progress=False)
    with pytest.raises(ValueError, match="num_steps: expected 1"):
        gan.project(image, steps=0, progress=False)
    with pytest.raises(ValueError, match="lr_rampup_length"):
        gan.project(image, lr_rampup_length=0, progress=False)
    with pytest.raises(ValueError, match="'discriminator' needs the model's D"):
        gan.project(image, distance="discriminator", progress=False)
    with pytest.raises(ValueError, match="class_idx is for conditional models"):
        gan.project(image, class_idx=1, progress=False)
    with pytest.raises(OSError):
        gan.project("/no/such/photo.png", progress=False)
    with pytest.raises(ValueError, match="the projection has taken all its 2 steps"):
        result = gan.project(image, steps=2, w_avg_samples=10, progress=False)
        result._engine.step()


def test_projections_free_their_engine_objects(gan) -> None:
    baseline = sg._native.live_handles()
    target = gan.generate(seeds=[1])
    for _ in range(5):
        result = gan.project(target, steps=2, w_avg_samples=10, progress=False)
        assert sg._native.live_handles()["projectors"] == baseline["projectors"] + 1
        _ = result.ws, result.noise, result.image
        del result
    assert sg._native.live_handles() == baseline  # freed by reference counting alone


def test_discriminator_distance_uses_the_models_d() -> None:
    trainable = noisy(sg.StyleGAN(**SMALL, seed=3))
    target = trainable.generate(seeds=[2])
    result = trainable.project(target, steps=30, distance="discriminator", w_avg_samples=500, progress=False)
    pixel = trainable.project(target, steps=30, w_avg_samples=500, progress=False)
    assert result.losses["distance"][0] > pixel.losses["distance"][0]  # the feature terms add to the pixel terms
    assert result.losses["distance"][-1] < result.losses["distance"][0]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_keeps_the_projection_so_far_and_run_resumes_it() -> None:
    gan = sg.load(NVLABS_SNAPSHOT)
    target = gan.generate(seeds=[1])
    options = {"steps": 40, "space": "w+", "w_avg_samples": 500}
    straight = sg.projection.Projection(gan, target, **options).run(progress=False)
    interrupted = sg.projection.Projection(gan, target, **options)
    first_step = time.perf_counter()
    interrupted.run(steps=1, progress=False)
    step_seconds = time.perf_counter() - first_step
    timer = threading.Timer(max(0.05, 5 * step_seconds), os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.warns(UserWarning, match="projection interrupted after"):
        interrupted.run(progress=False)
    timer.join()
    stopped_at = interrupted.steps_taken
    assert 1 < stopped_at < 40 and len(interrupted.losses["loss"]) == stopped_at  # with the first run's step
    interrupted.run(progress=False)
    assert interrupted.steps_taken == 40
    assert np.array_equal(interrupted.ws, straight.ws)  # a stopped step is undone: nothing differs
    assert np.array_equal(interrupted.image, straight.image)
