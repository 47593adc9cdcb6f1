"""Published StyleGAN2 files (NVlabs network pickles, rosinality checkpoints) read into numpy by
swiftgan.pretrained, checked against the fixtures' README and reference tensors and against SPEC 2.2, 2.3 and 4.4."""

from __future__ import annotations

import collections
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pickle_forge as forge
import pytest

from swiftgan import _pickle, safetensors
from swiftgan.pretrained import PublishedStyleGAN, read_published
from swiftgan.torch_io import load_torch_state_dict

from helpers import NVLABS_SNAPSHOT, PRETRAINED_FIXTURES

FIXTURES = PRETRAINED_FIXTURES
NVLABS = NVLABS_SNAPSHOT
ROSINALITY_ZIP = FIXTURES / "rosinality_64_train.pt"
ROSINALITY_LEGACY = FIXTURES / "rosinality_64_convert_legacy.pt"

NVLABS_CONFIG = {
    "version": 2, "resolution": 64, "channels": 3, "z_dim": 64, "w_dim": 64, "c_dim": 0, "mapping_layers": 8,
    "channel_base": 1024, "channel_max": 128, "channel_counts": [128, 128, 64, 32, 16], "architecture": "skip",
    "d_architecture": "resnet", "conv_clamp": 256.0, "mbstd_group": 4, "mbstd_channels": 1,
    "mapping_lr_multiplier": 0.01, "w_avg_beta": 0.995, "d_mapping_layers": 8, "truncation": "nvlabs"}
"""The fixtures README: G_kwargs / D_kwargs of nvlabs_snapshot_64.pkl (NVlabs defaults for the rest)."""
ROSINALITY_CONFIG = {
    "version": 2, "resolution": 64, "channels": 3, "z_dim": 64, "w_dim": 64, "c_dim": 0, "mapping_layers": 4,
    "channel_base": 2048, "channel_max": 64, "channel_counts": [64, 64, 64, 64, 32], "architecture": "skip",
    "d_architecture": "resnet", "conv_clamp": None, "mbstd_group": 4, "mbstd_channels": 1,
    "mapping_lr_multiplier": 0.01, "w_avg_beta": 0.995, "d_mapping_layers": 8, "truncation": "rosinality"}
"""size 64, style_dim 64, n_mlp 4, the channel table divided by 8 (64 channels at 4..32 px, 32 at 64 px)."""
CONFIG_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": int, "resolution": int, "channels": int, "z_dim": int, "w_dim": int, "c_dim": int,
    "mapping_layers": int, "channel_base": (int, type(None)), "channel_max": (int, type(None)), "channel_counts": list,
    "architecture": str, "d_architecture": str, "conv_clamp": (float, type(None)), "mbstd_group": (int, type(None)),
    "mbstd_channels": int, "mapping_lr_multiplier": float, "w_avg_beta": (float, type(None)), "d_mapping_layers": int,
    "truncation": str}


@pytest.fixture(scope="module")
def nvlabs() -> PublishedStyleGAN:
    return read_published(NVLABS, for_training=True)


@pytest.fixture(scope="module")
def rosinality() -> PublishedStyleGAN:
    return read_published(ROSINALITY_ZIP, for_training=True)


@pytest.fixture(scope="module")
def converted() -> PublishedStyleGAN:
    return read_published(ROSINALITY_LEGACY)


def spec_generator_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """SPEC 2.2's table: every G tensor swiftgan keeps (filters dropped), for a skip generator."""
    w, counts = config["w_dim"], config["channel_counts"]
    shapes: dict[str, tuple[int, ...]] = {"mapping.w_avg": (w,)}
    for i in range(config["mapping_layers"]):
        shapes |= {f"mapping.fc{i}.weight": (w, config["z_dim"] if i == 0 else w), f"mapping.fc{i}.bias": (w,)}
    for k, count in enumerate(counts):
        res, block = 4 << k, f"synthesis.b{4 << k}."
        layers = {"conv1": count} if k == 0 else {"conv0": counts[k - 1], "conv1": count}
        if k == 0:
            shapes[block + "const"] = (count, 4, 4)
        for layer, fan_in in layers.items():
            shapes |= {block + layer + ".weight": (count, fan_in, 3, 3), block + layer + ".affine.weight": (fan_in, w),
                       block + layer + ".affine.bias": (fan_in,), block + layer + ".bias": (count,),
                       block + layer + ".noise_strength": (), block + layer + ".noise_const": (res, res)}
        shapes |= {block + "torgb.weight": (3, count, 1, 1), block + "torgb.affine.weight": (count, w),
                   block + "torgb.affine.bias": (count,), block + "torgb.bias": (3,)}
    return shapes


def spec_discriminator_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """SPEC 2.3's table for a resnet D with mbstd of one channel (filters dropped)."""
    counts = dict(zip([4 << k for k in range(len(config["channel_counts"]))], config["channel_counts"], strict=True))
    resolution, c4 = config["resolution"], counts[4]
    shapes: dict[str, tuple[int, ...]] = {f"b{resolution}.fromrgb.weight": (counts[resolution], 3, 1, 1),
                                          f"b{resolution}.fromrgb.bias": (counts[resolution],)}
    for res in [r for r in counts if r > 4]:
        tmp, out = counts[res], counts[res // 2]
        shapes |= {f"b{res}.conv0.weight": (tmp, tmp, 3, 3), f"b{res}.conv0.bias": (tmp,),
                   f"b{res}.conv1.weight": (out, tmp, 3, 3), f"b{res}.conv1.bias": (out,),
                   f"b{res}.skip.weight": (out, tmp, 1, 1)}
    return shapes | {"b4.conv.weight": (c4, c4 + 1, 3, 3), "b4.conv.bias": (c4,), "b4.fc.weight": (c4, c4 * 16),
                     "b4.fc.bias": (c4,), "b4.out.weight": (1, c4), "b4.out.bias": (1,)}


def shapes(arrays: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    return {name: array.shape for name, array in arrays.items()}


def mapping(arrays: dict[str, np.ndarray], z: np.ndarray, layers: int) -> np.ndarray:
    """SPEC 3.5's mapping network in float64: normalize z, then fully connected layers with lr multiplier 0.01."""
    x = z.astype(np.float64)
    x = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)
    for i in range(layers):
        weight, bias = arrays[f"mapping.fc{i}.weight"].astype(np.float64), arrays[f"mapping.fc{i}.bias"]
        x = x @ (weight * 0.01 / np.sqrt(weight.shape[1])).T + bias * 0.01
        x = np.where(x >= 0, x, 0.2 * x) * np.sqrt(2)
    return x


def relative(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("path, source, expected", [(NVLABS, "nvlabs", NVLABS_CONFIG),
                                                    (ROSINALITY_ZIP, "rosinality", ROSINALITY_CONFIG),
                                                    (ROSINALITY_LEGACY, "rosinality", ROSINALITY_CONFIG)])
def test_every_config_value(path: Path, source: str, expected: dict) -> None:
    published = read_published(path)
    assert (published.source, published.path) == (source, str(path))
    assert published.config == expected
    assert list(published.config) == list(expected)
    for key, value in published.config.items():
        assert isinstance(value, CONFIG_TYPES[key]) and not isinstance(value, bool), key
    assert published.g is None and published.d is None and published.augment_p is None


def test_nvlabs_tensors_follow_spec(nvlabs: PublishedStyleGAN) -> None:
    assert shapes(nvlabs.g_ema) == spec_generator_shapes(NVLABS_CONFIG)
    assert nvlabs.g is not None and shapes(nvlabs.g) == spec_generator_shapes(NVLABS_CONFIG)
    assert nvlabs.d is not None and shapes(nvlabs.d) == spec_discriminator_shapes(NVLABS_CONFIG)
    # SPEC 2.2's worked example
    assert nvlabs.g_ema["synthesis.b16.conv0.weight"].shape == (64, 128, 3, 3)
    assert nvlabs.g_ema["synthesis.b16.conv0.affine.weight"].shape == (128, 64)
    assert nvlabs.g_ema["synthesis.b64.torgb.weight"].shape == (3, 16, 1, 1)
    for arrays in (nvlabs.g_ema, nvlabs.g, nvlabs.d):
        assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays.values())


def test_rosinality_tensors_follow_spec(rosinality: PublishedStyleGAN, converted: PublishedStyleGAN) -> None:
    expected = spec_generator_shapes(ROSINALITY_CONFIG)
    assert shapes(converted.g_ema) == expected
    del expected["mapping.w_avg"]  # train.py checkpoints have no running mean of w
    assert shapes(rosinality.g_ema) == expected
    assert rosinality.g is not None and shapes(rosinality.g) == expected
    assert rosinality.d is not None and shapes(rosinality.d) == spec_discriminator_shapes(ROSINALITY_CONFIG)
    assert rosinality.info["w_avg"] == "missing" and converted.info["w_avg"] == "latent_avg"
    for arrays in (rosinality.g_ema, rosinality.g, rosinality.d, converted.g_ema):
        assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays.values())


def test_rosinality_names_map_to_nvlabs_per_spec_4_4(rosinality: PublishedStyleGAN) -> None:
    """Every renamed tensor is the rosinality tensor with its singleton dimensions dropped."""
    raw = load_torch_state_dict(ROSINALITY_ZIP)
    g, d = raw["g_ema"], raw["d"]
    pairs = {"synthesis.b4.const": g["input.input"][0], "synthesis.b4.conv1.weight": g["conv1.conv.weight"][0],
             "synthesis.b4.conv1.affine.weight": g["conv1.conv.modulation.weight"],
             "synthesis.b4.conv1.noise_strength": g["conv1.noise.weight"][0],
             "synthesis.b4.conv1.bias": g["conv1.activate.bias"],
             "synthesis.b4.conv1.noise_const": g["noises.noise_0"][0, 0],
             "synthesis.b4.torgb.weight": g["to_rgb1.conv.weight"][0],
             "synthesis.b4.torgb.bias": g["to_rgb1.bias"].reshape(3)}
    for i in range(4):
        pairs |= {f"mapping.fc{i}.weight": g[f"style.{i + 1}.weight"], f"mapping.fc{i}.bias": g[f"style.{i + 1}.bias"]}
    for j, res in enumerate([8, 16, 32, 64]):
        pairs |= {f"synthesis.b{res}.conv0.weight": g[f"convs.{2 * j}.conv.weight"][0],
                  f"synthesis.b{res}.conv1.affine.bias": g[f"convs.{2 * j + 1}.conv.modulation.bias"],
                  f"synthesis.b{res}.conv0.noise_const": g[f"noises.noise_{2 * j + 1}"][0, 0],
                  f"synthesis.b{res}.conv1.noise_const": g[f"noises.noise_{2 * j + 2}"][0, 0],
                  f"synthesis.b{res}.torgb.affine.weight": g[f"to_rgbs.{j}.conv.modulation.weight"],
                  f"synthesis.b{res}.torgb.bias": g[f"to_rgbs.{j}.bias"].reshape(3)}
    for name, array in pairs.items():
        np.testing.assert_array_equal(rosinality.g_ema[name], array, err_msg=name)
    assert rosinality.d is not None
    d_pairs = {"b64.fromrgb.weight": d["convs.0.0.weight"], "b64.fromrgb.bias": d["convs.0.1.bias"],
               "b64.conv0.weight": d["convs.1.conv1.0.weight"], "b64.conv1.bias": d["convs.1.conv2.2.bias"],
               "b8.conv1.weight": d["convs.4.conv2.1.weight"], "b8.skip.weight": d["convs.4.skip.1.weight"],
               "b4.conv.weight": d["final_conv.0.weight"], "b4.fc.weight": d["final_linear.0.weight"],
               "b4.out.bias": d["final_linear.1.bias"]}
    for name, array in d_pairs.items():
        np.testing.assert_array_equal(rosinality.d[name], array, err_msg=name)


def test_zip_and_legacy_rosinality_files_give_identical_g_ema(rosinality: PublishedStyleGAN,
                                                              converted: PublishedStyleGAN) -> None:
    assert set(converted.g_ema) == set(rosinality.g_ema) | {"mapping.w_avg"}
    for name, array in rosinality.g_ema.items():
        np.testing.assert_array_equal(converted.g_ema[name], array, err_msg=name)
    assert converted.info["container"] == "legacy" and rosinality.info["container"] == "zip"


def test_w_avg_and_latent_avg_match_the_references(nvlabs: PublishedStyleGAN, converted: PublishedStyleGAN) -> None:
    reference, _ = safetensors.load_file(FIXTURES / "nvlabs_snapshot_64_ref.safetensors")
    np.testing.assert_array_equal(nvlabs.g_ema["mapping.w_avg"], reference["w_avg"])
    assert nvlabs.info["w_avg"] == "stored"
    reference, _ = safetensors.load_file(FIXTURES / "rosinality_64_ref.safetensors")
    np.testing.assert_array_equal(converted.g_ema["mapping.w_avg"], reference["truncation_latent"][0])


def test_mapping_networks_reproduce_the_reference_ws(nvlabs: PublishedStyleGAN, converted: PublishedStyleGAN) -> None:
    """The mapping weights (with their lr multiplier) and the truncation centres are the reference's."""
    reference, _ = safetensors.load_file(FIXTURES / "nvlabs_snapshot_64_ref.safetensors")
    w = mapping(nvlabs.g_ema, reference["z"], 8)
    assert relative(w, reference["w_psi1"][:, 0]) < 1e-5
    w_avg = nvlabs.g_ema["mapping.w_avg"]
    assert relative(w_avg + 0.7 * (w - w_avg), reference["w_psi0.7"][:, 0]) < 1e-5
    reference, _ = safetensors.load_file(FIXTURES / "rosinality_64_ref.safetensors")
    w = mapping(converted.g_ema, reference["z"], 4)
    assert relative(w, reference["w_psi1"]) < 1e-5
    w_avg = converted.g_ema["mapping.w_avg"]
    assert relative(w_avg + 0.7 * (w - w_avg), reference["w_psi0.7"]) < 1e-5


def test_g_ema_is_not_g(nvlabs: PublishedStyleGAN, rosinality: PublishedStyleGAN) -> None:
    for published in (nvlabs, rosinality):
        assert published.g is not None
        name = "synthesis.b8.conv0.weight"
        assert not np.array_equal(published.g_ema[name], published.g[name])
    # the fixture's marker of G_ema: conv_clamp triggers in its last block
    np.testing.assert_array_equal(nvlabs.g_ema["synthesis.b64.conv1.bias"][:3], 200)
    assert nvlabs.g is not None and np.all(nvlabs.g["synthesis.b64.conv1.bias"][:3] != 200)


def test_training_state(nvlabs: PublishedStyleGAN, rosinality: PublishedStyleGAN) -> None:
    assert nvlabs.augment_p == 0.125
    assert rosinality.augment_p == 0.0


def test_info(nvlabs: PublishedStyleGAN, rosinality: PublishedStyleGAN, converted: PublishedStyleGAN) -> None:
    info = nvlabs.info
    assert info["container"] == "pickle" and info["pickle_protocol"] == 4
    assert info["keys"] == ["training_set_kwargs", "G", "D", "G_ema", "augment_pipe"]
    assert info["training_set_kwargs"]["class_name"] == "training.dataset.ImageFolderDataset"
    assert info["init_kwargs"]["G"]["synthesis_kwargs"] == {"channel_base": 1024, "channel_max": 128,
                                                            "num_fp16_res": 4, "conv_clamp": 256}
    assert info["num_fp16_res"] == 4 and info["g_fp16_resolutions"] == info["d_fp16_resolutions"] == [8, 16, 32, 64]
    _, metadata = safetensors.load_file(FIXTURES / "nvlabs_snapshot_64_ref.safetensors")
    scanned = {".".join(name.split()) for name in json.loads(metadata["pickle_globals"])}
    assert set(info["pickle_globals"]) == scanned | {"torch.FloatStorage"}  # (the storage blobs' own global)
    assert set(info["module_src_sha256"]) == {"G", "D", "G_ema", "augment_pipe"}
    assert rosinality.info["args"]["arch"] == "stylegan2" and rosinality.info["args"]["size"] == 64
    assert rosinality.info["pickle_globals"] == ["argparse.Namespace", "collections.OrderedDict",
                                                 "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"]
    assert converted.info["args"] is None and converted.info["keys"] == ["g_ema", "latent_avg"]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("variant", [
    {"architecture": "resnet", "d_architecture": "resnet", "c_dim": 4, "mbstd_group": None},
    {"architecture": "orig", "d_architecture": "skip", "conv_clamp": None, "mbstd_channels": 2, "mbstd_group": 2},
    {"architecture": "skip", "d_architecture": "orig", "c_dim": 3, "d_mapping_layers": 2, "mbstd_channels": 0,
     "mbstd_group": None},
])
def test_every_nvlabs_architecture_and_protocol(tmp_path: Path, protocol: int, variant: dict) -> None:
    """Forged NVlabs pickles (torch 1.x OrderedDicts in G_ema, numpy.core scalars, no augment_pipe nor
    training_set_kwargs, like legacy.py's conversions) give back the config they were built from."""
    config = {**NVLABS_CONFIG, "resolution": 32, "z_dim": 80, "w_dim": 96, "mapping_layers": 2, "channel_base": 512,
              "channel_max": 32, "channel_counts": [32, 32, 16, 16], **variant}
    root = {"G": forge.nvlabs_generator(config, 0), "D": forge.nvlabs_discriminator(config),
            "G_ema": forge.nvlabs_generator(config, 5, torch1=True), "training_set_kwargs": None, "augment_pipe": None}
    path = tmp_path / "snapshot.pkl"
    path.write_bytes(forge.dumps(root, protocol, renames={"numpy._core.multiarray": "numpy.core.multiarray"})[0])
    published = read_published(path, for_training=True)
    assert published.config == config
    assert published.info["pickle_protocol"] == protocol and published.augment_p is None
    assert "numpy.core.multiarray.scalar" in published.info["pickle_globals"]
    assert published.g is not None and published.d is not None
    assert not np.array_equal(published.g["mapping.fc0.weight"], published.g_ema["mapping.fc0.weight"])
    if config["c_dim"]:
        assert published.g_ema["mapping.embed.weight"].shape == (96, config["c_dim"])
        assert published.g_ema["mapping.fc0.weight"].shape == (96, 80 + 96)
        assert published.d["mapping.embed.weight"].shape == (32, config["c_dim"])
        assert published.d["b4.out.weight"].shape == (32, 32)
    if config["architecture"] == "resnet":
        assert published.g_ema["synthesis.b32.skip.weight"].shape == (16, 16, 1, 1)
    assert ("synthesis.b16.torgb.weight" in published.g_ema) == (config["architecture"] == "skip")
    assert ("b16.fromrgb.weight" in published.d) == (config["d_architecture"] == "skip")


def test_channel_counts_come_from_the_shapes(tmp_path: Path) -> None:
    """Counts no (channel_base, channel_max) rule gives are read from the tensors; the rule's keys are None."""
    config = {**NVLABS_CONFIG, "channel_counts": [48, 40, 64, 24, 16], "channel_base": None, "channel_max": None}
    path = tmp_path / "snapshot.pkl"
    path.write_bytes(forge.dumps({"G_ema": forge.nvlabs_generator(config)}, 4)[0])
    published = read_published(path)
    assert published.config == config
    assert published.info["d_config"] == "NVlabs defaults: the file has no D"
    config |= {"channel_counts": [64, 64, 32, 16, 8], "channel_base": None, "channel_max": None}
    path.write_bytes(forge.dumps({"G_ema": forge.nvlabs_generator(config)}, 4)[0])
    assert read_published(path).config == config | {"channel_base": 512, "channel_max": 64}


def test_load_torch_state_dict_reads_legacy_files() -> None:
    legacy, current = load_torch_state_dict(ROSINALITY_LEGACY), load_torch_state_dict(ROSINALITY_ZIP)
    assert list(legacy) == ["g_ema", "latent_avg"] and legacy["latent_avg"].shape == (64,)
    assert list(legacy["g_ema"]) == list(current["g_ema"])
    for name, array in current["g_ema"].items():
        np.testing.assert_array_equal(legacy["g_ema"][name], array)
    assert current["args"]["n_mlp"] == 4 and current["g_optim"]["param_groups"][0]["eps"] == 1e-8


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
    return target


def test_files_that_do_not_fit_raise_clear_errors(tmp_path: Path) -> None:
    data = NVLABS.read_bytes()
    renamed = tmp_path / "renamed.pkl"
    renamed.write_bytes(data.replace(b"\x8c\x0enoise_strength", b"\x8c\x0enoise_strengtX", 1))  # memoized once
    with pytest.raises(ValueError, match=rf"{renamed}: G_ema: missing tensor "
                                         r"'synthesis.b4.conv1.noise_strength' of shape \[\]"):
        read_published(renamed)
    pickle_name = "rosinality_64_train/data.pkl"
    payload = zipfile.ZipFile(ROSINALITY_ZIP).read(pickle_name)
    swagan = rewrite_zip(ROSINALITY_ZIP, tmp_path / "swagan.pt", {
        pickle_name: payload.replace(b"X\t\x00\x00\x00stylegan2", b"X\x06\x00\x00\x00swagan")})
    with pytest.raises(ValueError, match=rf"{swagan}: g_ema: a SWAGAN .*arch='swagan'"):
        read_published(swagan)
    with _pickle.open_checkpoint(ROSINALITY_ZIP, ("zip",)) as checkpoint:
        key = checkpoint.root["g_ema"]["convs.2.conv.blur.kernel"].storage.key
    blurred = rewrite_zip(ROSINALITY_ZIP, tmp_path / "blur.pt", {
        f"rosinality_64_train/data/{key}": (np.ones((4, 4), "<f4") / 4).tobytes()})
    with pytest.raises(ValueError, match=rf"{blurred}: g_ema: 'convs.2.conv.blur.kernel' is not the standard "
                                         r"resampling filter outer\(\[1,3,3,1\], \[1,3,3,1\]\) / 64 x 4"):
        read_published(blurred)
    with pytest.raises(ValueError, match=r"dcgan32_G.pth: neither an NVlabs network pickle .* nor a rosinality"):
        read_published(FIXTURES.parent / "models" / "dcgan32_G.pth")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.pkl: not a zip-format PyTorch checkpoint or a legacy"):
        read_published(tmp_path / "empty.pkl")
    with pytest.raises(OSError):
        read_published(tmp_path / "missing.pkl")


def test_nvlabs_tensors_that_do_not_fit_name_the_tensor(tmp_path: Path) -> None:
    config = NVLABS_CONFIG | {"resolution": 8, "channel_counts": [8, 8]}
    path = tmp_path / "snapshot.pkl"
    cases: list[tuple[dict[str, np.ndarray], str]] = [
        ({"synthesis.b8.conv0.affine.bias": np.ones(7)},
         r"G_ema: tensor 'synthesis.b8.conv0.affine.bias' has shape \[7\], expected \[8\]"),
        ({"synthesis.b8.conv0.resample_filter": np.full((4, 4), 1 / 16)},
         r"G_ema: 'synthesis.b8.conv0.resample_filter' is not the standard resampling filter"),
        ({"synthesis.b8.conv0.extra": np.ones(2)}, r"G_ema: unexpected tensors \['synthesis.b8.conv0.extra'\]"),
    ]
    for overrides, match in cases:
        path.write_bytes(forge.dumps({"G_ema": forge.nvlabs_generator(config, overrides=overrides)}, 4)[0])
        with pytest.raises(ValueError, match=rf"{path}: {match}"):
            read_published(path)


def test_newer_torch_tensor_and_parameter_encodings(tmp_path: Path) -> None:
    """PyTorch >= 2 pickles a Parameter with Python attributes through _rebuild_parameter_with_state, and may give
    _rebuild_tensor_v2 a seventh argument (tensor metadata)."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    rebuilt = forge.Call(forge.REBUILD_TENSOR, forge.StorageRef("0", array), 0, (2, 3), (3, 1), False,
                         collections.OrderedDict(), {})
    parameter = forge.Call(forge.Global("torch._utils._rebuild_parameter_with_state"), rebuilt, True,
                           collections.OrderedDict(), {"_is_tied": True})
    state = load_torch_state_dict(forge.torch_zip(tmp_path / "new.pt", {"w": parameter}))
    np.testing.assert_array_equal(state["w"], array)


def test_stylegan3_generators_are_refused(tmp_path: Path) -> None:
    generator = forge.nvlabs_generator(NVLABS_CONFIG | {"resolution": 8, "channel_counts": [8, 8]})
    state = generator.args[0]["state"]
    state["_modules"]["synthesis"].args[0]["state"]["_modules"]["input"] = forge.persistent("SynthesisInput", {})
    path = tmp_path / "stylegan3.pkl"
    path.write_bytes(forge.dumps({"G_ema": generator}, 4)[0])
    with pytest.raises(ValueError, match=r"StyleGAN3 \(alias-free\)"):
        read_published(path)


def test_a_forged_storage_error_names_the_file(tmp_path: Path) -> None:
    path = forge.torch_zip(tmp_path / "short.pt", {"g_ema": {"style.1.weight": forge.tensor(np.ones((2, 2)), key="w")}},
                           members={"archive/data/w": b"\0" * 4})
    with pytest.raises(pickle.UnpicklingError, match=rf"{path}: storage 'w' holds 4 bytes, expected 16"):
        read_published(path)
