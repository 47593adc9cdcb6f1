"""Published StyleGAN2 files (an NVlabs network pickle, rosinality train.py and convert_weight.py checkpoints, written
by the upstream code) as swiftgan models: every reference output of the fixtures within the issue's tolerances."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import swiftgan as sg
from swiftgan.safetensors import load_file

from helpers import NVLABS_SNAPSHOT, PRETRAINED_FIXTURES

PRETRAINED = PRETRAINED_FIXTURES
NVLABS = NVLABS_SNAPSHOT
ROSINALITY = {"train": PRETRAINED / "rosinality_64_train.pt", "convert": PRETRAINED / "rosinality_64_convert_legacy.pt"}


def relative(got: np.ndarray, reference: np.ndarray) -> float:
    """max |got - reference| / max |reference| (the fixtures' images reach |x| of about 24)."""
    assert got.shape == reference.shape
    return float(np.abs(got - reference).max() / np.abs(reference).max())


@pytest.fixture(scope="module")
def nvlabs() -> sg.StyleGAN:
    return sg.StyleGAN.from_pretrained(NVLABS, for_training=True)


@pytest.fixture(scope="module")
def nvlabs_ref() -> dict[str, np.ndarray]:
    return load_file(PRETRAINED / "nvlabs_snapshot_64_ref.safetensors")[0]


def test_nvlabs_config_comes_from_the_file(nvlabs) -> None:
    c = nvlabs.config
    assert (c["resolution"], c["z_dim"], c["w_dim"], c["mapping_layers"], c["c_dim"]) == (64, 64, 64, 8, 0)
    assert (c["architecture"], c["d_architecture"], c["conv_clamp"], c["mbstd_group"]) == ("skip", "resnet", 256, 4)
    assert c["channel_counts"] == [128, 128, 64, 32, 16] and c["seed_rng"] == "numpy" and c["truncation"] == "nvlabs"
    assert nvlabs.source["format"] == "nvlabs" and nvlabs.num_ws == 10


def test_nvlabs_parity(nvlabs, nvlabs_ref) -> None:
    z = nvlabs_ref["z"]
    np.testing.assert_array_equal(nvlabs.seed_z(range(4)), z)  # "seed 0..3" as generate.py draws them
    for key, kwargs in [("w_psi1", {}), ("w_psi0.7", {"truncation_psi": 0.7}),
                        ("w_psi0.7_cutoff4", {"truncation_psi": 0.7, "truncation_cutoff": 4})]:
        assert relative(nvlabs.mapping(z, **kwargs), nvlabs_ref[key]) < 1e-5, key
    np.testing.assert_allclose(nvlabs.w_avg, nvlabs_ref["w_avg"], rtol=1e-6)
    for key, psi, noise in [("img_psi1_const", 1.0, "const"), ("img_psi0.5_const", 0.5, "const"),
                            ("img_psi1_none", 1.0, "none")]:
        assert relative(nvlabs.synthesis(nvlabs.mapping(z, truncation_psi=psi), noise), nvlabs_ref[key]) < 1e-4, key
    assert relative(nvlabs.generate(seeds=range(4)), nvlabs_ref["img_psi1_const"]) < 1e-4
    assert relative(nvlabs.synthesis(nvlabs_ref["ws_mix"]), nvlabs_ref["img_mix"]) < 1e-4
    assert relative(nvlabs.synthesis(nvlabs_ref["ws_rand"]), nvlabs_ref["img_ws_rand"]) < 1e-4
    assert relative(nvlabs.discriminate(nvlabs_ref["d_img"]), nvlabs_ref["d_logits"]) < 1e-4


@pytest.mark.parametrize("layout", sorted(ROSINALITY))
def test_rosinality_parity(layout) -> None:
    ref, _ = load_file(PRETRAINED / "rosinality_64_ref.safetensors")
    gan = sg.StyleGAN.from_pretrained(ROSINALITY[layout], for_training=layout == "train")
    assert gan.config["truncation"] == "rosinality" and gan.config["channel_counts"] == [64, 64, 64, 64, 32]
    z = ref["z"]
    assert relative(gan.mapping(z)[:, 0], ref["w_psi1"]) < 1e-5
    assert relative(gan.synthesis(gan.mapping(z)), ref["img_psi1_const"]) < 1e-4
    assert relative(gan.synthesis(gan.mapping(z), "none"), ref["img_psi1_none"]) < 1e-4
    assert relative(gan.synthesis(ref["ws_rand"]), ref["img_ws_rand"]) < 1e-4
    ws_a, ws_b = gan.mapping(ref["mix_z_a"]), gan.mapping(ref["mix_z_b"])
    assert relative(gan.synthesis(np.concatenate([ws_a[:, :5], ws_b[:, 5:]], axis=1)), ref["img_mix"]) < 1e-4
    if layout == "convert":  # convert_weight.py keeps latent_avg: rosinality's truncation centre
        np.testing.assert_allclose(gan.w_avg, ref["truncation_latent"][0], rtol=1e-6)
        assert relative(gan.mapping(z, truncation_psi=0.7)[:, 0], ref["w_psi0.7"]) < 1e-5
        assert relative(gan.synthesis(gan.mapping(z, truncation_psi=0.5)), ref["img_psi0.5_const"]) < 1e-4
        np.testing.assert_array_equal(gan.mapping(z, truncation_psi=1.5), gan.mapping(z))  # psi >= 1: no truncation
        with pytest.raises(ValueError, match="truncates every w"):
            gan.mapping(z, truncation_psi=0.5, truncation_cutoff=4)
    else:
        assert relative(gan.discriminate(ref["d_img"]), ref["d_logits"]) < 1e-4


def test_loading_for_generation_keeps_only_g_ema(nvlabs_ref) -> None:
    gan = sg.load(NVLABS)
    assert isinstance(gan, sg.StyleGAN) and list(gan.nets) == ["G_ema"]
    assert all(name.startswith("G_ema.") for name in gan._state_shapes)
    assert relative(gan.generate(seeds=range(4)), nvlabs_ref["img_psi1_const"]) < 1e-4
    with pytest.raises(ValueError, match="keeps only G_ema"):
        gan.discriminate(nvlabs_ref["d_img"])


def test_convert_writes_a_checkpoint_that_needs_no_pickle(tmp_path, nvlabs_ref) -> None:
    out = tmp_path / "snapshot.safetensors"
    result = subprocess.run([sys.executable, "-m", "swiftgan", "convert", str(NVLABS), str(out)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    gan = sg.load(out)
    assert gan.config["trainable"] is False and gan.config["conv_clamp"] == 256
    assert relative(gan.generate(seeds=range(4)), nvlabs_ref["img_psi1_const"]) < 1e-4
    grid = tmp_path / "grid.png"
    result = subprocess.run([sys.executable, "-m", "swiftgan", "generate", str(NVLABS), "--seeds", "0-3", "--out",
                             str(grid)], capture_output=True, text=True)
    assert result.returncode == 0 and grid.exists(), result.stderr


def test_fine_tuning_resumes_bit_identically(tmp_path) -> None:
    rng = np.random.default_rng(0)
    data = rng.uniform(-1, 1, (8, 3, 64, 64)).astype(np.float32)
    gan = sg.StyleGAN.from_pretrained(NVLABS, for_training=True, freeze_d=2, r1_interval=2, pl_interval=2)
    assert gan.config["ada"] and gan.config["freeze_d"] == 2
    frozen = gan.nets["D"].state_dict()["b64.conv0.weight"].copy()
    gan.fit(data, steps=2, batch_size=4, out_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(gan.nets["D"].state_dict()["b64.conv0.weight"], frozen)  # FreezeD
    assert not np.array_equal(gan.nets["D"].state_dict()["b16.conv0.weight"],
                              sg.StyleGAN.from_pretrained(NVLABS, for_training=True).nets["D"].state_dict()[
                                  "b16.conv0.weight"])
    resumed = sg.load(tmp_path / "checkpoint.safetensors")
    resumed.fit(data, steps=1, batch_size=4, progress=False)
    gan.fit(data, steps=1, batch_size=4, progress=False)
    for name, array in gan.nets["G_ema"].state_dict().items():
        np.testing.assert_array_equal(resumed.nets["G_ema"].state_dict()[name], array, err_msg=name)
    with pytest.raises(ValueError, match="64"):
        gan.fit(data[:, :, :32, :32].copy(), steps=1, batch_size=4, progress=False)


@pytest.mark.parametrize("name", ["nvlabs_resnet_cond_32", "nvlabs_orig_16"])
def test_other_architectures_match_nvlabs(name) -> None:
    """A resnet G with a skip D and labels, and an orig G with an orig D (see the fixtures' README)."""
    gan = sg.StyleGAN.from_pretrained(PRETRAINED / f"{name}.pkl", for_training=True)
    ref, _ = load_file(PRETRAINED / f"{name}_ref.safetensors")
    c = ref.get("c")
    assert (gan.config["c_dim"] > 0) == (c is not None)
    assert relative(gan.mapping(ref["z"], c), ref["w_psi1"]) < 1e-5
    assert relative(gan.mapping(ref["z"], c, truncation_psi=0.7, truncation_cutoff=2), ref["w_psi0.7_cutoff2"]) < 1e-5
    assert relative(gan.synthesis(gan.mapping(ref["z"], c)), ref["img_psi1_const"]) < 1e-4
    assert relative(gan.synthesis(gan.mapping(ref["z"], c, 0.5), "none"), ref["img_psi0.5_none"]) < 1e-4
    assert relative(gan.synthesis(ref["ws_rand"]), ref["img_ws_rand"]) < 1e-4
    assert relative(gan.discriminate(ref["d_img"], ref.get("d_c")), ref["d_logits"]) < 1e-4
    if c is not None:  # class_idx is the one-hot label
        assert relative(gan.generate(seeds=[0, 3], class_idx=0), ref["img_psi1_const"][[0, 3]]) < 1e-4
        with pytest.raises(ValueError, match="conditional"):
            gan.generate(seeds=[0])


def test_a_conditional_model_fine_tunes_on_labelled_images(tmp_path) -> None:
    gan = sg.StyleGAN.from_pretrained(PRETRAINED / "nvlabs_resnet_cond_32.pkl", for_training=True)
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (6, 3, 32, 32)).astype(np.float32)
    classes = np.array([0, 1, 2, 0, 1, 2])
    history = gan.fit((images, classes), steps=2, batch_size=2, progress=False, out_dir=tmp_path)
    assert len(history["loss_d"]) == 2 and np.isfinite(history["loss_d"]).all()
    assert (tmp_path / "samples" / "step_0000002.png").exists()  # one class per row
    with pytest.raises(ValueError, match="conditional"):
        gan.fit(images, steps=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\)"):
        gan.fit((images, classes + 1), steps=1, batch_size=2, progress=False)
