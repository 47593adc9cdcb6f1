"""Directions (GANSpace, SeFa, InterFaceGAN boundaries and their .npy files), edits restricted to layers, sweeps,
blended models and the ``edit``, ``project`` and ``blend`` commands, on small StyleGAN2s."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan.cli import main

SMALL = {"resolution": 16, "channels": 3, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128,
         "channel_max": 16, "trainable": False}
"""A StyleGAN2 of 16x16 with w of 16 (6 ws): directions in 16 dimensions, images in milliseconds."""
SMALL_LAYERS = ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1", "b16.torgb"]
"""The modulated layer that reads each of SMALL's ws, as SeFa (genforce) counts them."""


@pytest.fixture(scope="module")
def gan() -> sg.StyleGAN:
    return sg.StyleGAN(**SMALL, seed=3)


def sefa_reference(gan: sg.StyleGAN, layers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """SeFa as genforce/sefa computes it: the affine weights' transposes side by side, columns normalized, then
    numpy's eig of their Gram matrix, sorted by eigenvalue."""
    state = gan.nets["G_ema"].state_dict()
    weight = np.concatenate([state[f"synthesis.{SMALL_LAYERS[i]}.affine.weight"].T for i in layers], axis=1)
    weight = weight / np.linalg.norm(weight, axis=0, keepdims=True)
    values, vectors = np.linalg.eig(weight.dot(weight.T))
    order = np.argsort(values.real)[::-1]
    return values.real[order], vectors.real[:, order].T


@pytest.mark.parametrize("layers", [None, [0, 1], [2, 3, 4, 5], [5]])
def test_sefa_equals_numpys_eigenvectors(gan, layers) -> None:
    directions = gan.directions("sefa", layers=layers, n=8)
    values, vectors = sefa_reference(gan, list(range(6)) if layers is None else layers)
    cosines = np.abs(np.sum(directions.vectors * vectors[:8], axis=1))
    assert cosines.min() >= 0.999, cosines
    np.testing.assert_allclose(directions.variance, values[:8], rtol=1e-4, atol=1e-6)
    assert directions.layers == tuple(range(6) if layers is None else layers)
    np.testing.assert_array_equal(directions[2], directions.vectors[2])  # SeFa's unit of strength is 1


def test_ganspace_components_are_orthonormal_principal_components(gan) -> None:
    directions = gan.directions("ganspace", n=10, samples=5000, seed=7)
    vectors = directions.vectors.astype(np.float64)
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(10), atol=1e-5)
    assert np.all(np.diff(directions.variance) <= 0) and directions.variance[-1] > 0
    assert 0 < directions.explained_variance_ratio.sum() <= 1 + 1e-9
    # numpy's PCA of the same latents (one batch: the same draws)
    z = np.random.default_rng(7).standard_normal((5000, 16), dtype=np.float32)
    w = gan.mapping(z)[:, 0].astype(np.float64)
    values, reference = np.linalg.eigh(np.cov(w, rowvar=False))
    reference, values = reference[:, ::-1].T, values[::-1]
    np.testing.assert_allclose(directions.variance, values[:10], rtol=1e-3)
    assert np.abs(np.sum(vectors[:3] * reference[:3], axis=1)).min() >= 0.999
    np.testing.assert_allclose(directions.mean, w.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(directions[0], directions.vectors[0] * np.sqrt(values[0]), rtol=1e-3)


def test_directions_refuse_bad_arguments(gan) -> None:
    with pytest.raises(ValueError, match="'method' must be one of"):
        gan.directions("pca")
    with pytest.raises(ValueError, match="layers must be w indices"):
        gan.directions("sefa", layers=[6])
    with pytest.raises(ValueError, match="'n' must be from 1"):
        gan.directions("ganspace", n=0)
    assert len(gan.directions("sefa", n=17)) == 16  # all there are
    with pytest.raises(ValueError, match="'samples' must be from 2"):
        gan.directions("ganspace", samples=10**12)
    with pytest.raises(ValueError, match="'layers' is for SeFa"):
        gan.directions("ganspace", layers=[1])
    with pytest.raises(TypeError, match="'layers' must be an iterable"):
        gan.directions("sefa", layers="1-2")


@pytest.mark.parametrize("layers", [range(2, 4), [0], [5], range(6)])
def test_edit_moves_only_the_chosen_layers(gan, layers) -> None:
    ws = gan.seed_ws([1, 2, 3], truncation_psi=0.7)
    direction = gan.directions("sefa", n=1)[0]
    edited = gan.edit(ws, direction, -2.5, layers)
    others = [i for i in range(6) if i not in layers]
    assert np.array_equal(edited[:, others], ws[:, others])  # bit-identical
    np.testing.assert_allclose(edited[:, list(layers)], ws[:, list(layers)] - 2.5 * direction, atol=1e-6)
    assert edited.dtype == np.float32 and not np.shares_memory(edited, ws)
    single = gan.edit(ws[0], direction[None], -2.5, layers)  # one image's ws, InterFaceGAN's (1, w_dim) layout
    assert np.array_equal(single, edited[0])


def test_edit_refuses_bad_arguments(gan) -> None:
    ws = gan.seed_ws([1])
    with pytest.raises(ValueError, match="'ws' must be float"):
        gan.edit(ws[:, :5], np.zeros(16), 1.0)
    with pytest.raises(ValueError, match="'direction' must hold 16 finite numbers"):
        gan.edit(ws, np.zeros(15), 1.0)
    with pytest.raises(ValueError, match="'direction' must hold 16 finite numbers"):
        gan.edit(ws, np.full(16, np.nan), 1.0)
    with pytest.raises(ValueError, match=r"layers must be w indices in \[0, 6\)"):
        gan.edit(ws, np.zeros(16), 1.0, range(4, 8))
    with pytest.raises(TypeError, match="'strength' must be a float"):
        gan.edit(ws, np.zeros(16), "1")


def test_edit_sweep_is_a_row_of_edited_images(gan) -> None:
    direction = gan.directions("sefa", layers=[3, 4], n=2)[1]
    images = gan.edit_sweep(5, direction, [-3.0, 0.0, 3.0], layers=[3, 4], truncation_psi=0.7)
    assert images.shape == (3, 3, 16, 16)
    np.testing.assert_allclose(images[1], gan.generate(seeds=[5], truncation_psi=0.7)[0], atol=1e-5)
    ws = gan.seed_ws([5], truncation_psi=0.7)
    expected = gan.synthesis(gan.edit(ws, direction, 3.0, [3, 4]))
    np.testing.assert_allclose(images[2:], expected, atol=1e-5)
    np.testing.assert_allclose(gan.edit_sweep(ws[0], direction, [3.0], layers=[3, 4]), expected, atol=1e-5)
    assert np.abs(images[0] - images[1]).max() > 1e-3
    with pytest.raises(ValueError, match="'strengths' must hold"):
        gan.edit_sweep(5, direction, [])
    with pytest.raises(ValueError, match="the ws of one image"):
        gan.edit_sweep(gan.seed_ws([1, 2]), direction, [1.0])


def test_fit_boundary_finds_the_separating_normal(rng) -> None:
    normal = rng.standard_normal(16)
    normal /= np.linalg.norm(normal)
    ws = rng.standard_normal((600, 16)).astype(np.float32)
    labels = ws @ normal + 0.2 > 0
    boundary = sg.directions.fit_boundary(ws, labels)
    assert boundary.shape == (1, 16) and boundary.dtype == np.float32
    assert abs(np.linalg.norm(boundary) - 1) < 1e-6
    assert float(boundary[0] @ normal) > 0.95  # pointing toward the positive class
    # real-valued scores: the clearest 10% each way, from ws (N, num_ws, w_dim)
    scores = ws @ normal + 0.1 * rng.standard_normal(600)
    stacked = np.repeat(ws[:, None], 6, axis=1)
    assert float(sg.directions.fit_boundary(stacked, scores, chosen_ratio=0.1)[0] @ normal) > 0.9
    with pytest.raises(ValueError, match="one class only"):
        sg.directions.fit_boundary(ws, np.ones(600))
    with pytest.raises(ValueError, match="labels"):
        sg.directions.fit_boundary(ws, labels[:10])


def test_direction_npy_round_trip(tmp_path, rng) -> None:
    direction = rng.standard_normal(16).astype(np.float32)
    path = tmp_path / "boundary.npy"
    sg.directions.save_direction(path, direction)
    stored = np.load(path)
    assert stored.shape == (1, 16) and stored.dtype == np.float32  # InterFaceGAN's layout
    assert np.array_equal(sg.directions.load_direction(path), direction[None])
    np.save(tmp_path / "flat.npy", direction.astype(np.float64))
    assert np.array_equal(sg.directions.load_direction(tmp_path / "flat.npy"), direction[None])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="cannot read"):
        sg.directions.load_direction(tmp_path / "objects.npy")
    np.save(tmp_path / "matrix.npy", np.zeros((3, 16), np.float32))
    with pytest.raises(ValueError, match=r"expected finite numbers \[1, w_dim\]"):
        sg.directions.load_direction(tmp_path / "matrix.npy")
    with pytest.raises(OSError):
        sg.directions.load_direction(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="expected a direction"):
        sg.directions.save_direction(path, np.zeros((2, 16)))


def test_blend_at_the_lowest_swap_is_other_and_above_the_top_is_base(gan) -> None:
    other = sg.StyleGAN(**SMALL, seed=4)
    ws = gan.seed_ws([1, 2])
    lowest = sg.blend(gan, other, swap_resolution=4)
    assert np.array_equal(lowest.synthesis(ws), other.synthesis(ws))  # the whole synthesis network is other's
    np.testing.assert_array_equal(lowest.w_avg, gan.w_avg)  # the mapping network and w_avg are base's
    above = sg.blend(gan, other, swap_resolution=32)
    assert np.array_equal(above.generate(seeds=[1, 2]), gan.generate(seeds=[1, 2]))
    middle = sg.blend(gan, other, swap_resolution=16).nets["G_ema"].state_dict()
    base_state, other_state = gan.nets["G_ema"].state_dict(), other.nets["G_ema"].state_dict()
    for name, value in middle.items():
        source = other_state if name.startswith("synthesis.b16.") else base_state
        assert np.array_equal(value, source[name]), name
    # width 2: the share of other rises 1/3, 2/3, 1 over the layers from the swap on
    smooth = sg.blend(gan, other, swap_resolution=8, width=2).nets["G_ema"].state_dict()
    for name, share in [("synthesis.b4.conv1.weight", 0), ("synthesis.b8.conv0.weight", 1 / 3),
                        ("synthesis.b8.conv1.affine.weight", 2 / 3), ("synthesis.b16.conv0.bias", 1)]:
        np.testing.assert_allclose(smooth[name], (1 - share) * base_state[name] + share * other_state[name],
                                   rtol=1e-6, atol=1e-7, err_msg=name)
    assert np.array_equal(smooth["synthesis.b8.conv0.noise_const"], base_state["synthesis.b8.conv0.noise_const"])
    assert np.array_equal(smooth["synthesis.b8.conv1.noise_const"], other_state["synthesis.b8.conv1.noise_const"])


def test_blend_refuses_other_architectures(gan) -> None:
    with pytest.raises(ValueError, match=r"feature maps per resolution: base \[16, 16, 8\], other \[8, 8, 8\]"):
        sg.blend(gan, sg.StyleGAN(**{**SMALL, "channel_max": 8}))
    with pytest.raises(ValueError, match="resolution: base 16, other 8"):
        sg.blend(gan, sg.StyleGAN(**{**SMALL, "resolution": 8}))
    with pytest.raises(ValueError, match="architecture: base 'skip', other 'resnet'"):
        sg.blend(gan, sg.StyleGAN(**{**SMALL, "architecture": "resnet"}))
    with pytest.raises(TypeError, match="must be a StyleGAN"):
        sg.blend(gan, sg.DCGAN(image_size=16))
    with pytest.raises(ValueError, match="power of two"):
        sg.blend(gan, gan, swap_resolution=12)
    with pytest.raises(ValueError, match="'width' must be"):
        sg.blend(gan, gan, width=-1)


def test_edit_and_blend_commands(gan, tmp_path) -> None:
    model = tmp_path / "small.safetensors"
    gan.save(model)
    sg.directions.save_direction(tmp_path / "boundary.npy", gan.directions("sefa", n=1).vectors[0])
    for direction, out in [("sefa:0", "sweep.png"), ("ganspace:1", "sweep.gif"),
                           (str(tmp_path / "boundary.npy"), "boundary.png")]:
        argv = ["edit", str(model), "--seed", "1,2", "--direction", direction, "--layers", "1-3", "--strengths",
                "-3:3:4", "--samples", "2000", "--out", str(tmp_path / out)]
        assert main(argv) == 0
    with Image.open(tmp_path / "sweep.png") as grid:
        assert grid.size == (2 + 4 * 18, 2 + 2 * 18)  # a column per strength, a row per seed
    with Image.open(tmp_path / "sweep.gif") as gif:
        assert gif.n_frames == 4
    assert main(["edit", str(model), "--direction", "nope:1", "--out", str(tmp_path / "x.png")]) == 1
    other = tmp_path / "other.safetensors"
    sg.StyleGAN(**SMALL, seed=9).save(other)
    assert main(["blend", str(model), str(other), "--swap-resolution", "8", "--seeds", "0-3",
                 "--out", str(tmp_path / "blend.safetensors")]) == 0
    blended = sg.load(tmp_path / "blend.safetensors")
    assert isinstance(blended, sg.StyleGAN) and (tmp_path / "blend.png").exists()


def test_project_command_writes_nvlabs_layout_and_images(gan, tmp_path) -> None:
    model = tmp_path / "small.safetensors"
    gan.save(model)
    photo = tmp_path / "photo.png"
    sg.images.to_pil(gan.generate(seeds=[5])[0]).resize((40, 32)).save(photo)  # cropped and resized back to 16
    out = tmp_path / "out" / "projected_w.npz"
    assert main(["project", str(model), str(photo), "--steps", "30", "--space", "w+", "--out", str(out)]) == 0
    with np.load(out) as saved:  # NVlabs' w, and the noise maps beside it
        assert saved["w"].shape == (1, 6, 16) and saved["w"].dtype == np.float32
    for name in ("proj.png", "target.png"):
        with Image.open(out.with_name(name)) as image:
            assert image.size == (16, 16)
    assert main(["project", str(model), str(tmp_path / "missing.png"), "--out", str(out)]) == 1
