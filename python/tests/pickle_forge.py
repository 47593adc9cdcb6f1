"""Forged PyTorch and NVlabs files for the tests of swiftgan's allow-list readers, written without PyTorch.

pickle's pure-Python pickler writes them, with :class:`Global` standing for globals that need not exist here (their
GLOBAL or STACK_GLOBAL opcodes are written by name) and :class:`Call` for what a pickle builds by calling one. So a
test can write a well-formed file of any protocol with chosen, possibly hostile, contents: an NVlabs network pickle
(:func:`nvlabs_generator`, :func:`nvlabs_discriminator`), a torch.save file in the zip or the legacy format
(:func:`torch_zip`, :func:`legacy_stream`), or a raw payload assembled from opcodes (:func:`fragment`, :func:`glob`).
"""

from __future__ import annotations

import collections
import io
import pickle
import pickletools
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
FILTER = (np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64).astype(np.float32)


class Global:
    """A global named by a pickle (``module.name``), written by name."""

    def __init__(self, qualname: str) -> None:
        self.module, self.name = qualname.rsplit(".", 1)

    def __call__(self, *args: Any) -> Any:
        raise NotImplementedError("a forged global is only pickled")

    def __reduce_ex__(self, protocol: object) -> str:
        return self.name


REBUILD_TENSOR = Global("torch._utils._rebuild_tensor_v2")
REBUILD_PARAMETER = Global("torch._utils._rebuild_parameter")
LOAD_FROM_BYTES = Global("torch.storage._load_from_bytes")
PERSISTENT = Global("torch_utils.persistence._reconstruct_persistent_obj")
EASY_DICT = Global("dnnlib.util.EasyDict")
FLOAT_STORAGE = Global("torch.FloatStorage")


class Call:
    """What a pickle builds by calling ``function(*args)`` (REDUCE)."""

    def __init__(self, function: Global, *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple:
        return self.function, self.args


class EasyDict(dict):
    """A ``dnnlib.util.EasyDict``: pickled as a call of the global, then its items."""

    def __reduce__(self) -> tuple:
        return EASY_DICT, (), None, None, iter(self.items())


class StorageRef:
    """A float32 torch storage holding ``array`` (flattened), pickled as a persistent id; ``numel`` overrides the
    element count it declares."""

    def __init__(self, key: str, array: np.ndarray, numel: int | None = None) -> None:
        self.key, self.array = key, np.array(array).ravel()
        self.numel = self.array.size if numel is None else numel


class Pickler(pickle._Pickler):
    """pickle's pure-Python pickler that writes :class:`Global` by name (``renames`` renames modules, e.g.
    ``numpy._core.multiarray`` to ``numpy.core.multiarray``) and :class:`StorageRef` as a persistent id."""

    proto: int
    save: Callable[[Any], None]
    write: Callable[[bytes], Any]
    memoize: Callable[[Any], None]

    def __init__(self, file: io.BytesIO, protocol: int, renames: dict[str, str] | None = None,
                 legacy: bool = False) -> None:
        super().__init__(file, protocol)
        self.renames, self.legacy = renames or {}, legacy
        self.storages: dict[str, StorageRef] = {}

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, StorageRef):
            return None
        self.storages.setdefault(obj.key, obj)
        pid = ("storage", FLOAT_STORAGE, obj.key, "cpu", obj.numel)
        return (*pid, None) if self.legacy else pid

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if isinstance(obj, Global):
            module, name = obj.module, obj.name
        else:
            name, module = name or obj.__qualname__, obj.__module__
        module = self.renames.get(module, module)
        if self.proto >= 4:
            self.save(module)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)


def dumps(obj: Any, protocol: int = 2, renames: dict[str, str] | None = None,
          legacy: bool = False) -> tuple[bytes, dict[str, StorageRef]]:
    """The pickle of ``obj`` and the storages it refers to, by key."""
    out = io.BytesIO()
    pickler = Pickler(out, protocol, renames, legacy)
    pickler.dump(obj)
    return out.getvalue(), pickler.storages


def legacy_header(little_endian: bool = True, version: int = 1001) -> bytes:
    """The first three pickles of a legacy torch.save stream: magic number, protocol version, system info."""
    return b"".join(dumps(value)[0] for value in (LEGACY_MAGIC, version, {
        "protocol_version": version, "little_endian": little_endian, "type_sizes": {"short": 2, "int": 4, "long": 4}}))


def legacy_stream(obj: Any, counts: dict[str, int] | None = None) -> bytes:
    """``obj`` in the legacy torch.save format; ``counts`` overrides the element count written before a storage."""
    payload, storages = dumps(obj, 2, legacy=True)
    data = b"".join(struct.pack("<q", (counts or {}).get(key, ref.array.size)) + ref.array.astype("<f4").tobytes()
                    for key, ref in storages.items())
    return legacy_header() + payload + dumps(list(storages))[0] + data


def torch_zip(path: Path, obj: Any, members: dict[str, bytes] | None = None) -> Path:
    """``obj`` in torch.save's zip format (``members`` adds or replaces archive members)."""
    payload, storages = dumps(obj, 2)
    files = {"archive/data.pkl": payload, "archive/version": b"3\n", "archive/byteorder": b"little",
             **{f"archive/data/{key}": ref.array.astype("<f4").tobytes() for key, ref in storages.items()},
             **(members or {})}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


_keys = iter(range(10**9))


def tensor(array: np.ndarray, *, inline: bool = False, parameter: bool = True, key: str | None = None) -> Call:
    """A tensor of ``array``: its storage inline as NVlabs pickles have it (``inline``), or a persistent id (a fresh
    key unless given)."""
    array = np.array(array, np.float32, order="C")
    storage: Any = StorageRef(str(next(_keys)) if key is None else key, array)
    if inline:
        storage = Call(LOAD_FROM_BYTES, legacy_stream(storage))
    strides = tuple(s // 4 for s in array.strides)
    rebuilt = Call(REBUILD_TENSOR, storage, 0, tuple(array.shape), strides, False, collections.OrderedDict())
    return Call(REBUILD_PARAMETER, rebuilt, False, collections.OrderedDict()) if parameter else rebuilt


def persistent(class_name: str, state: dict[str, Any], module_src: str = "# training/networks.py\n") -> Call:
    """An NVlabs persistent object."""
    return Call(PERSISTENT, {"type": "class", "version": 6, "module_src": module_src, "class_name": class_name,
                             "state": state})


def fragment(value: Any) -> bytes:
    """The opcodes that push ``value`` (plain data), without PROTO and STOP."""
    return pickletools.optimize(pickle.dumps(value, 2))[2:-1]


def glob(qualname: str) -> bytes:
    """A GLOBAL opcode."""
    module, name = qualname.rsplit(".", 1)
    return f"c{module}\n{name}\n".encode()


# NVlabs networks, built like training/networks.py builds them (SPEC 2.2, 2.3), with random weights.

_BUFFERS = ("noise_const", "resample_filter", "w_avg")


def _tree(tensors: dict[str, np.ndarray], kinds: dict[str, str], attributes: dict[str, dict[str, Any]],
          torch1: bool) -> Call:
    """The persistent objects of a network, from its tensors by PyTorch name, its modules' class names and
    attributes (``torch1``: OrderedDict module dicts and no newer hook dicts, like a PyTorch 1.x writer)."""
    container = collections.OrderedDict if torch1 else dict
    states: dict[str, dict[str, Any]] = {}
    for path in kinds:
        states[path] = {"training": False, "_parameters": container(), "_buffers": container(),
                        "_non_persistent_buffers_set": set(), "_backward_hooks": container(),
                        "_forward_hooks": container(), "_modules": container(), **attributes.get(path, {})}
    for name, array in tensors.items():
        path, _, leaf = name.rpartition(".")
        kind = "_buffers" if leaf in _BUFFERS else "_parameters"
        states[path][kind][leaf] = tensor(array, inline=True, parameter=kind == "_parameters")
    objects: dict[str, Call] = {}
    for path in sorted(kinds, key=lambda p: -p.count(".") - (p != "")):  # children before their parents
        parent, _, leaf = path.rpartition(".")
        objects[path] = persistent(kinds[path], states[path])
        if path:
            states[parent]["_modules"][leaf] = objects[path]
    return objects[""]


def _fc(tensors: dict, kinds: dict, attributes: dict, path: str, out: int, fan_in: int, rng: np.random.Generator,
        activation: str = "linear", lr: float = 1.0, bias: float = 0.0) -> None:
    tensors[f"{path}.weight"] = rng.standard_normal((out, fan_in)) / lr
    tensors[f"{path}.bias"] = (bias + 0.1 * rng.standard_normal(out)) / lr
    kinds[path] = "FullyConnectedLayer"
    attributes[path] = {"activation": activation, "weight_gain": np.float64(lr / np.sqrt(fan_in)), "bias_gain": lr}


def _mapping(tensors: dict, kinds: dict, attributes: dict, prefix: str, z_dim: int, c_dim: int, w_dim: int,
             layers: int, rng: np.random.Generator, w_avg: bool) -> None:
    kinds[prefix.rstrip(".")] = "MappingNetwork"
    attributes[prefix.rstrip(".")] = {"z_dim": z_dim, "c_dim": c_dim, "w_dim": w_dim, "num_layers": layers,
                                      "w_avg_beta": 0.995 if w_avg else None}
    if c_dim:
        _fc(tensors, kinds, attributes, f"{prefix}embed", w_dim, c_dim, rng)
    for i in range(layers):
        fan_in = w_dim if i else z_dim + (w_dim if c_dim else 0)
        _fc(tensors, kinds, attributes, f"{prefix}fc{i}", w_dim, fan_in, rng, "lrelu", 0.01)
    if w_avg:
        tensors[f"{prefix}w_avg"] = rng.standard_normal(w_dim)


def nvlabs_generator(config: dict[str, Any], seed: int = 0, torch1: bool = False,
                     overrides: dict[str, np.ndarray] | None = None) -> Call:
    """An NVlabs Generator for a swiftgan StyleGAN2 config (the keys read_published returns); ``overrides``
    replaces tensors by name."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, Any] = {}
    kinds: dict[str, str] = {"": "Generator", "synthesis": "SynthesisNetwork"}
    attributes: dict[str, dict[str, Any]] = {}
    w_dim, channels, resolution = config["w_dim"], config["channels"], config["resolution"]
    _mapping(tensors, kinds, attributes, "mapping.", config["z_dim"], config["c_dim"], w_dim,
             config["mapping_layers"], rng, True)
    resolutions = [2**k for k in range(2, resolution.bit_length())]
    counts = dict(zip(resolutions, config["channel_counts"], strict=True))
    for res, count in counts.items():
        block = f"synthesis.b{res}"
        kinds[block] = "SynthesisBlock"
        attributes[block] = {"resolution": res, "architecture": config["architecture"], "use_fp16": res >= 16,
                             "is_last": res == resolution}
        tensors[f"{block}.resample_filter"] = FILTER
        if res == 4:
            tensors[f"{block}.const"] = rng.standard_normal((count, 4, 4))
        layers = [("conv1", count)] if res == 4 else [("conv0", counts[res // 2]), ("conv1", count)]
        for layer, fan_in in layers:
            path = f"{block}.{layer}"
            kinds[path] = "SynthesisLayer"
            attributes[path] = {"activation": "lrelu", "conv_clamp": config["conv_clamp"], "use_noise": True,
                                "act_gain": np.float64(np.sqrt(2))}
            tensors[f"{path}.weight"] = rng.standard_normal((count, fan_in, 3, 3))
            _fc(tensors, kinds, attributes, f"{path}.affine", fan_in, w_dim, rng, bias=1.0)
            tensors[f"{path}.bias"] = 0.1 * rng.standard_normal(count)
            tensors[f"{path}.noise_strength"] = np.float32(0.2 * rng.standard_normal())
            tensors[f"{path}.noise_const"] = rng.standard_normal((res, res))
            tensors[f"{path}.resample_filter"] = FILTER
        if config["architecture"] == "skip" or res == resolution:
            kinds[f"{block}.torgb"] = "ToRGBLayer"
            attributes[f"{block}.torgb"] = {"conv_clamp": config["conv_clamp"]}
            tensors[f"{block}.torgb.weight"] = rng.standard_normal((channels, count, 1, 1))
            _fc(tensors, kinds, attributes, f"{block}.torgb.affine", count, w_dim, rng, bias=1.0)
            tensors[f"{block}.torgb.bias"] = 0.1 * rng.standard_normal(channels)
        if config["architecture"] == "resnet" and res > 4:
            kinds[f"{block}.skip"] = "Conv2dLayer"
            attributes[f"{block}.skip"] = {"activation": "linear", "conv_clamp": None}
            tensors[f"{block}.skip.weight"] = rng.standard_normal((count, counts[res // 2], 1, 1))
            tensors[f"{block}.skip.resample_filter"] = FILTER
    channel_rule = {key: config[key] for key in ("channel_base", "channel_max") if config[key] is not None}
    attributes[""] = {"z_dim": config["z_dim"], "c_dim": config["c_dim"], "w_dim": w_dim,
                      "img_resolution": resolution, "img_channels": channels,
                      "_init_kwargs": EasyDict(z_dim=config["z_dim"], w_dim=w_dim, c_dim=config["c_dim"],
                                               synthesis_kwargs=EasyDict(num_fp16_res=3, **channel_rule))}
    tensors |= overrides or {}
    return _tree({name: np.asarray(array, np.float32) for name, array in tensors.items()}, kinds, attributes, torch1)


def nvlabs_discriminator(config: dict[str, Any], seed: int = 1, torch1: bool = False) -> Call:
    """An NVlabs Discriminator for a swiftgan StyleGAN2 config."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, Any] = {}
    kinds: dict[str, str] = {"": "Discriminator", "b4": "DiscriminatorEpilogue"}
    attributes: dict[str, dict[str, Any]] = {}
    resolution, channels, architecture = config["resolution"], config["channels"], config["d_architecture"]
    counts = dict(zip([2**k for k in range(2, resolution.bit_length())], config["channel_counts"], strict=True))

    def conv(path: str, count: int, fan_in: int, kernel: int, activation: str = "lrelu", bias: bool = True) -> None:
        kinds[path] = "Conv2dLayer"
        attributes[path] = {"activation": activation, "conv_clamp": config["conv_clamp"] if bias else None}
        tensors[f"{path}.weight"] = rng.standard_normal((count, fan_in, kernel, kernel))
        if bias:
            tensors[f"{path}.bias"] = 0.1 * rng.standard_normal(count)
        tensors[f"{path}.resample_filter"] = FILTER

    for res in sorted(counts, reverse=True)[:-1]:
        kinds[f"b{res}"] = "DiscriminatorBlock"
        attributes[f"b{res}"] = {"architecture": architecture, "use_fp16": res >= 16}
        tensors[f"b{res}.resample_filter"] = FILTER
        if res == resolution or architecture == "skip":
            conv(f"b{res}.fromrgb", counts[res], channels, 1)
        conv(f"b{res}.conv0", counts[res], counts[res], 3)
        conv(f"b{res}.conv1", counts[res // 2], counts[res], 3)
        if architecture == "resnet":
            conv(f"b{res}.skip", counts[res // 2], counts[res], 1, "linear", bias=False)
    c4, cmap = counts[4], counts[4] if config["c_dim"] else 0
    if architecture == "skip":
        conv("b4.fromrgb", c4, channels, 1)
    if config["mbstd_channels"]:
        kinds["b4.mbstd"] = "MinibatchStdLayer"
        attributes["b4.mbstd"] = {"group_size": config["mbstd_group"], "num_channels": config["mbstd_channels"]}
    conv("b4.conv", c4, c4 + config["mbstd_channels"], 3)
    _fc(tensors, kinds, attributes, "b4.fc", c4, c4 * 16, rng, "lrelu")
    _fc(tensors, kinds, attributes, "b4.out", cmap or 1, c4, rng)
    if config["c_dim"]:
        _mapping(tensors, kinds, attributes, "mapping.", 0, config["c_dim"], cmap, config["d_mapping_layers"], rng,
                 False)
    attributes[""] = {"c_dim": config["c_dim"], "img_resolution": resolution, "img_channels": channels,
                      "_init_kwargs": EasyDict(channel_base=config["channel_base"], channel_max=config["channel_max"],
                                               epilogue_kwargs=EasyDict(mbstd_group_size=config["mbstd_group"]))}
    return _tree({name: np.asarray(array, np.float32) for name, array in tensors.items()}, kinds, attributes, torch1)
