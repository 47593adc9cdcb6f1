"""Published StyleGAN2 networks read into numpy, without PyTorch and without running code from the file.

Two formats are read (``docs``: the project's ``SPEC.md`` of published StyleGAN2 files, sections 1, 2 and 4):

* NVlabs network pickles: ``network-snapshot-*.pkl`` of stylegan2-ada-pytorch, the pickles its ``legacy.py``
  converts from TensorFlow, and NVlabs/stylegan3's StyleGAN2 pickles. Plain pickles (protocols 2 to 5) of a dict
  with ``G``, ``D``, ``G_ema``, ``augment_pipe`` and ``training_set_kwargs``, whose networks are
  ``torch_utils.persistence`` objects carrying their source code; the code is kept as text and never run.
* rosinality/stylegan2-pytorch ``.pt`` checkpoints, in torch.save's zip or legacy format: train.py's
  ``{g, d, g_ema, g_optim, d_optim, args, ada_aug_p}``, convert_weight.py's ``{g_ema, latent_avg}``, or any dict
  holding ``g_ema``. Their tensors are renamed to NVlabs' names and reshaped (SPEC 4.4), so both formats come out
  alike.

Everything is read with the allow-list unpickler of :mod:`swiftgan._pickle`. The architecture is inferred from the
networks' attributes and tensor shapes, and every tensor it needs is checked to be present with its shape.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from swiftgan import _pickle
from swiftgan._pickle import LazyTensor, Namespace, PersistentObject

__all__ = ["PublishedStyleGAN", "read_published"]

_FILTER = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64
"""The resampling filter of both reference implementations; swiftgan implements only this one."""
_MAX_LOG2_RESOLUTION = 15
_MAX_MODULES = 100_000
"""Modules and tensors one network may have (a 1024x1024 StyleGAN2 G has about 250 tensors)."""
_NVLABS_D_DEFAULTS = {"d_architecture": "resnet", "mbstd_group": 4, "mbstd_channels": 1, "d_mapping_layers": 8}
_LINEAR_LAYERS = ("affine", "embed", "skip", "out")
"""The NVlabs layers without an activation; every other layer that has one uses leaky ReLU."""


@dataclass
class PublishedStyleGAN:
    """A published StyleGAN2 as numpy arrays under NVlabs' names.

    Attributes:
        source: ``"nvlabs"`` or ``"rosinality"``.
        path: the file read.
        config: swiftgan StyleGAN keyword arguments: ``version`` (2), ``resolution``, ``channels`` (image channels),
            ``z_dim``, ``w_dim``, ``c_dim`` (0: unconditional), ``mapping_layers``, ``channel_base`` and
            ``channel_max`` (ints, or None when no pair reproduces ``channel_counts``), ``channel_counts`` (feature
            maps at 4, 8, ..., resolution, from the tensor shapes), ``architecture`` (G: ``"skip"``, ``"resnet"`` or
            ``"orig"``), ``d_architecture`` (likewise for D), ``conv_clamp`` (float or None), ``mbstd_group`` (int,
            or None: the whole minibatch, as NVlabs does for ``group_size=None``), ``mbstd_channels`` (0: no
            minibatch standard deviation), ``mapping_lr_multiplier``, ``w_avg_beta`` (float or None),
            ``d_mapping_layers`` (the depth of a conditional D's label mapping), ``truncation`` (``"nvlabs"``:
            ``psi != 1`` with an optional cutoff; ``"rosinality"``: only ``psi < 1``, on every layer).
        g_ema: the generator to use, float32 C-contiguous arrays: ``mapping.fc0.weight``, ``mapping.w_avg``,
            ``synthesis.b4.const``, ``synthesis.b8.conv0.weight``, ... (resampling filters are checked, not kept).
        g: the raw (not averaged) generator under the same names, when the file has one and ``for_training``.
        d: the discriminator under NVlabs' names (``b64.fromrgb.weight``, ``b4.conv.weight``, ``b4.fc.weight``,
            ``b4.out.weight``, ``mapping.fc0.weight`` for a conditional D, ...), when present and ``for_training``.
        augment_p: the adaptive augmentation probability (NVlabs ``augment_pipe.p``, rosinality ``ada_aug_p``),
            when present and ``for_training``.
        info: plain values about the file: ``container``, ``pickle_protocol``, ``keys``, ``pickle_globals``,
            ``w_avg`` (``"stored"``, ``"latent_avg"`` or ``"missing"``); NVlabs: ``training_set_kwargs``,
            ``init_kwargs`` (of G and D), ``num_fp16_res``, ``g_fp16_resolutions``, ``d_fp16_resolutions``,
            ``module_src_sha256``; rosinality: ``args``.
    """

    source: str
    path: str
    config: dict[str, Any]
    g_ema: dict[str, np.ndarray]
    g: dict[str, np.ndarray] | None
    d: dict[str, np.ndarray] | None
    augment_p: float | None
    info: dict[str, Any]


def read_published(path: str | os.PathLike[str], *, for_training: bool = False) -> PublishedStyleGAN:
    """Reads a published StyleGAN2: an NVlabs network pickle or a rosinality ``.pt`` checkpoint.

    Only the EMA generator is read unless ``for_training``, which also reads the raw generator, the discriminator
    and the augmentation probability. rosinality's files have no running mean of w: convert_weight.py files carry
    TensorFlow's ``latent_avg``, which becomes ``mapping.w_avg``; train.py files have none, so ``g_ema`` has no
    ``mapping.w_avg`` and ``info["w_avg"]`` is ``"missing"`` (the engine then uses the mean of mapped z drawn from
    a fixed seed, as rosinality's generate.py does with a random one).

    Args:
        path: the ``.pkl`` or ``.pt`` file.
        for_training: also read what resuming training needs (``g``, ``d``, ``augment_p``).

    Raises:
        OSError: the file cannot be read.
        pickle.UnpicklingError: the pickle names a global outside the allow-list (it tried to run code) or calls an
            allowed one with arguments that do not fit.
        ValueError: the file is not one of these formats, is damaged, or lacks a tensor or attribute the
            architecture needs; the message names the file and what was expected.
    """
    with _pickle.open_checkpoint(path, ("zip", "legacy", "pickle")) as checkpoint:
        root = checkpoint.root
        if not isinstance(root, dict):
            raise ValueError(f"expected a dict (an NVlabs network pickle or a rosinality checkpoint), got a "
                             f"{type(root).__name__}")
        info: dict[str, Any] = {"container": checkpoint.container, "pickle_protocol": checkpoint.protocol,
                                "keys": [str(key) for key in root]}
        if "G_ema" in root:
            source, parts = "nvlabs", _read_nvlabs(root, for_training, info)
        elif "g_ema" in root:
            source, parts = "rosinality", _read_rosinality(root, for_training, info)
        else:
            raise ValueError(f"neither an NVlabs network pickle (no 'G_ema') nor a rosinality checkpoint (no "
                             f"'g_ema'): the top-level keys are {info['keys'][:10]}")
        info["pickle_globals"] = sorted(checkpoint.globals_seen)
        return PublishedStyleGAN(source, os.fspath(path), *parts, info)


_Parts = tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray] | None, dict[str, np.ndarray] | None,
               float | None]
"""config, g_ema, g, d, augment_p."""


# Expected tensors.

@dataclass(frozen=True)
class _Entry:
    """A tensor a network needs: its name and shape in the file, and its NVlabs name and shape in the result
    (``target`` None: a resampling filter, checked to be ``gain`` times the standard one and dropped)."""

    name: str
    shape: tuple[int, ...]
    target: str | None
    target_shape: tuple[int, ...]
    gain: float = 1.0


def _same(name: str, *shape: int) -> _Entry:
    return _Entry(name, shape, name, shape)


def _filter(name: str, gain: float = 1.0) -> _Entry:
    return _Entry(name, (4, 4), None, (4, 4), gain)


def _resolutions(config: dict[str, Any]) -> list[int]:
    return [2**k for k in range(2, config["resolution"].bit_length())]


def _generator_entries(config: dict[str, Any]) -> list[_Entry]:
    """An NVlabs Generator's tensors (SPEC 2.2), ``mapping.w_avg`` excepted."""
    w_dim, c_dim, channels = config["w_dim"], config["c_dim"], config["channels"]
    entries = []
    if c_dim:
        entries += [_same("mapping.embed.weight", w_dim, c_dim), _same("mapping.embed.bias", w_dim)]
    for i in range(config["mapping_layers"]):
        fan_in = w_dim if i else config["z_dim"] + (w_dim if c_dim else 0)
        entries += [_same(f"mapping.fc{i}.weight", w_dim, fan_in), _same(f"mapping.fc{i}.bias", w_dim)]
    counts = dict(zip(_resolutions(config), config["channel_counts"], strict=True))
    for res, count in counts.items():
        block = f"synthesis.b{res}."
        entries.append(_filter(block + "resample_filter"))
        if res == 4:
            entries.append(_same(block + "const", count, 4, 4))
        else:
            entries += _synthesis_layer(block + "conv0", count, counts[res // 2], w_dim, res)
        entries += _synthesis_layer(block + "conv1", count, count, w_dim, res)
        if config["architecture"] == "skip" or res == config["resolution"]:
            entries += [_same(block + "torgb.weight", channels, count, 1, 1),
                        _same(block + "torgb.affine.weight", count, w_dim), _same(block + "torgb.affine.bias", count),
                        _same(block + "torgb.bias", channels)]
        if config["architecture"] == "resnet" and res > 4:
            entries += [_same(block + "skip.weight", count, counts[res // 2], 1, 1),
                        _filter(block + "skip.resample_filter")]
    return entries


def _synthesis_layer(name: str, count: int, fan_in: int, w_dim: int, res: int) -> list[_Entry]:
    """The tensors of an NVlabs SynthesisLayer (a modulated 3x3 convolution with noise)."""
    return [_same(name + ".weight", count, fan_in, 3, 3), _same(name + ".affine.weight", fan_in, w_dim),
            _same(name + ".affine.bias", fan_in), _same(name + ".bias", count), _same(name + ".noise_strength"),
            _same(name + ".noise_const", res, res), _filter(name + ".resample_filter")]


def _discriminator_entries(config: dict[str, Any]) -> list[_Entry]:
    """An NVlabs Discriminator's tensors (SPEC 2.3), with G's channel counts."""
    counts = dict(zip(_resolutions(config), config["channel_counts"], strict=True))
    resolution, channels, architecture = config["resolution"], config["channels"], config["d_architecture"]

    def conv(name: str, count: int, fan_in: int, kernel: int) -> list[_Entry]:
        return [_same(name + ".weight", count, fan_in, kernel, kernel), _same(name + ".bias", count),
                _filter(name + ".resample_filter")]

    entries = []
    for res in reversed(_resolutions(config)[1:]):
        block, tmp, out = f"b{res}.", counts[res], counts[res // 2]
        entries.append(_filter(block + "resample_filter"))
        if res == resolution or architecture == "skip":
            entries += conv(block + "fromrgb", tmp, channels, 1)
        entries += conv(block + "conv0", tmp, tmp, 3) + conv(block + "conv1", out, tmp, 3)
        if architecture == "resnet":
            entries += [_same(block + "skip.weight", out, tmp, 1, 1), _filter(block + "skip.resample_filter")]
    c4 = counts[4]
    if architecture == "skip":
        entries += conv("b4.fromrgb", c4, channels, 1)
    entries += conv("b4.conv", c4, c4 + config["mbstd_channels"], 3)
    outputs = c4 if config["c_dim"] else 1
    entries += [_same("b4.fc.weight", c4, c4 * 16), _same("b4.fc.bias", c4), _same("b4.out.weight", outputs, c4),
                _same("b4.out.bias", outputs)]
    if config["c_dim"]:
        entries += [_same("mapping.embed.weight", c4, config["c_dim"]), _same("mapping.embed.bias", c4)]
        for i in range(config["d_mapping_layers"]):
            entries += [_same(f"mapping.fc{i}.weight", c4, c4), _same(f"mapping.fc{i}.bias", c4)]
    return entries


def _collect(tensors: dict[str, LazyTensor], entries: list[_Entry], what: str) -> dict[str, np.ndarray]:
    """The network's arrays under their NVlabs names, after checking that the tensors are exactly ``entries`` (the
    shapes all before any data is read) and that the resampling filters are the standard ones."""
    missing = [entry for entry in entries if entry.name not in tensors]
    if missing:
        more = f" (and {len(missing) - 1} more tensors)" if len(missing) > 1 else ""
        raise ValueError(f"{what}: missing tensor {missing[0].name!r} of shape {list(missing[0].shape)}{more}")
    unexpected = sorted(set(tensors) - {entry.name for entry in entries})
    if unexpected:
        raise ValueError(f"{what}: unexpected tensors {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}; "
                         "the architecture inferred from the other tensors has no place for them")
    for entry in entries:
        if tensors[entry.name].shape != entry.shape:
            raise ValueError(f"{what}: tensor {entry.name!r} has shape {list(tensors[entry.name].shape)}, expected "
                             f"{list(entry.shape)}")
    arrays = {}
    for entry in entries:
        array = _float32(tensors[entry.name], f"{what}: tensor {entry.name!r}")
        if entry.target is None:
            if not np.allclose(array, _FILTER * entry.gain, rtol=1e-6, atol=1e-8):
                raise ValueError(f"{what}: {entry.name!r} is not the standard resampling filter "
                                 f"outer([1,3,3,1], [1,3,3,1]) / 64{f' x {entry.gain:g}' if entry.gain != 1 else ''}, "
                                 "the only one swiftgan implements")
        else:
            arrays[entry.target] = np.asarray(array.reshape(entry.target_shape), order="C")  # (keeps 0-d arrays)
    return arrays


def _float32(tensor: LazyTensor, what: str) -> np.ndarray:
    if tensor.dtype.kind != "f":
        raise ValueError(f"{what} has dtype {tensor.dtype}, expected floating point")
    return tensor.numpy().astype(np.float32, copy=False)


def _channel_rule(counts: list[int], resolutions: list[int]) -> tuple[int | None, int | None]:
    """The (channel_base, channel_max) with ``min(channel_base // r, channel_max)`` equal to ``counts`` at every
    resolution (the smallest base when several do), or (None, None)."""
    most = max(counts)
    below = [(res, count) for res, count in zip(resolutions, counts, strict=True) if count < most]
    base = below[0][0] * below[0][1] if below else most * resolutions[-1]
    if all(min(base // res, most) == count for res, count in zip(resolutions, counts, strict=True)):
        return base, most
    return None, None


def _config(**values: Any) -> dict[str, Any]:
    """The config keys in their documented order."""
    keys = ("version", "resolution", "channels", "z_dim", "w_dim", "c_dim", "mapping_layers", "channel_base",
            "channel_max", "channel_counts", "architecture", "d_architecture", "conv_clamp", "mbstd_group",
            "mbstd_channels", "mapping_lr_multiplier", "w_avg_beta", "d_mapping_layers", "truncation")
    return {key: values[key] for key in keys}


def _count(tensors: dict[str, Any], pattern: str, start: int = 0) -> int:
    """How many of ``pattern.format(start), pattern.format(start + 1), ...`` are in ``tensors`` in a row."""
    count = 0
    while pattern.format(start + count) in tensors:
        count += 1
    return count


def _shape(tensors: dict[str, LazyTensor], name: str, ndim: int, what: str) -> tuple[int, ...]:
    tensor = tensors.get(name)
    if tensor is None:
        raise ValueError(f"{what}: missing tensor {name!r}")
    if len(tensor.shape) != ndim:
        raise ValueError(f"{what}: tensor {name!r} has shape {list(tensor.shape)}, expected {ndim} dimensions")
    return tensor.shape


def _number(value: Any, what: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if type(value) not in (int, float):
        raise ValueError(f"{what} is {_pickle.describe(value)}, expected a number")
    return float(value)


def _plain(value: Any) -> Any:
    """``value`` as plain Python values for :attr:`PublishedStyleGAN.info`."""
    def leaf(item: Any) -> Any:
        if isinstance(item, LazyTensor):
            return item.numpy()
        if isinstance(item, memoryview):
            return item.tobytes()
        if isinstance(item, PersistentObject):
            return f"<{item.class_name}>"
        if item is None or isinstance(item, (str, bytes, int, float, complex, set, frozenset)):
            return item
        return f"<{type(item).__name__}>"

    return _pickle.convert(value, leaf)


# NVlabs network pickles.

class _Network:
    """An NVlabs network: its tensors and modules by their PyTorch names (``synthesis.b8.conv0.weight``)."""

    def __init__(self, value: Any, what: str, class_name: str) -> None:
        if not isinstance(value, PersistentObject) or value.class_name != class_name:
            got = value.class_name if isinstance(value, PersistentObject) else type(value).__name__
            raise ValueError(f"{what}: expected an NVlabs {class_name} network, got {got}")
        self.what = what
        self.tensors: dict[str, LazyTensor] = {}
        self.modules: dict[str, PersistentObject] = {"": value}
        pending = [("", value)]
        while pending:
            path, module = pending.pop()
            if path.count(".") >= 8:
                raise ValueError(f"{what}: modules nested deeper than 8 levels at {path!r}")
            prefix = f"{path}." if path else ""
            for kind in ("_parameters", "_buffers"):
                for name, tensor in self._entries(module, kind).items():
                    if tensor is not None:
                        if not isinstance(tensor, LazyTensor):
                            raise ValueError(f"{what}: {prefix}{name} is {_pickle.describe(tensor)}, not a tensor")
                        self.tensors[prefix + name] = tensor
            for name, child in self._children(module).items():
                self.modules[prefix + name] = child
                pending.append((prefix + name, child))
            if len(self.tensors) + len(self.modules) > _MAX_MODULES:
                raise ValueError(f"{what}: more than {_MAX_MODULES} modules and tensors")
        if class_name == "Generator" and "synthesis.input" in self.modules:
            raise ValueError(f"{what}: a StyleGAN3 (alias-free) generator; only StyleGAN2 networks are read")

    def _entries(self, module: PersistentObject, kind: str) -> dict[str, Any]:
        entries = module.state.get(kind, {})
        if not isinstance(entries, dict) or any(type(name) is not str or not name.isidentifier() for name in entries):
            raise ValueError(f"{self.what}: a {module.class_name}'s {kind} is not a dict of names")
        return entries

    def _children(self, module: PersistentObject) -> dict[str, PersistentObject]:
        children = {name: child for name, child in self._entries(module, "_modules").items() if child is not None}
        for name, child in children.items():
            if not isinstance(child, PersistentObject):
                raise ValueError(f"{self.what}: submodule {name!r} of a {module.class_name} is "
                                 f"{_pickle.describe(child)}, not an NVlabs network module")
        return children

    def attr(self, path: str, key: str, default: Any = ...) -> Any:
        """Attribute ``key`` of the module at ``path``; ``default`` if it has none (required if no default)."""
        module = self.modules.get(path)
        if module is None:
            raise ValueError(f"{self.what}: missing module {path!r}")
        if key not in module.state:
            if default is ...:
                raise ValueError(f"{self.what}: {path or 'the network'} has no attribute {key!r}")
            return default
        return module.state[key]

    def agree(self, path: str, key: str, value: Any) -> None:
        """Checks that attribute ``key``, if present, equals what the tensor shapes say."""
        attribute = self.attr(path, key, None)
        if attribute is not None and attribute != value:
            raise ValueError(f"{self.what}: {path or 'the network'}'s {key} is {_pickle.describe(attribute)}, but "
                             f"its tensors say {value!r}")

    def shared(self, pattern: str, key: str, optional: bool = False) -> float | None:
        """The number attribute ``key`` of the modules whose path matches ``pattern``, which must all agree."""
        values = {_number(self.attr(path, key, None), f"{self.what}: {path}.{key}", optional)
                  for path in self.modules if re.fullmatch(pattern, path)}
        if len(values) > 1:
            raise ValueError(f"{self.what}: the layers disagree on {key} ({sorted(map(str, values))})")
        if not values:
            raise ValueError(f"{self.what}: no layer records {key}")
        return values.pop()

    def check_activations(self) -> None:
        """Checks that every layer has the activation swiftgan implements there (NVlabs' defaults)."""
        for path, module in self.modules.items():
            if "activation" in module.state:
                expected = "linear" if path.rsplit(".", 1)[-1] in _LINEAR_LAYERS else "lrelu"
                activation = module.state["activation"]
                if activation != expected:
                    raise ValueError(f"{self.what}: {path} uses activation {_pickle.describe(activation)}; "
                                     f"swiftgan's StyleGAN2 has {expected!r} there")

    def init_kwargs(self, path: str = "") -> dict[str, Any]:
        """The constructor's keyword arguments recorded by NVlabs' persistence ({} if none)."""
        kwargs = self.attr(path, "_init_kwargs", {})
        return kwargs if isinstance(kwargs, dict) else {}

    def init_value(self, key: str) -> Any:
        """A synthesis or network constructor argument: from ``synthesis_kwargs`` (stylegan2-ada's layout) or the
        top level (stylegan3's), None if recorded in neither."""
        kwargs = self.init_kwargs()
        nested = kwargs.get("synthesis_kwargs")
        return nested[key] if isinstance(nested, dict) and key in nested else kwargs.get(key)


def _block_resolutions(tensors: dict[str, LazyTensor], what: str) -> list[int]:
    """The resolutions of the synthesis blocks ``synthesis.b{res}``: they must be 4, 8, ..., R."""
    found = {match.group(1) for name in tensors if (match := re.match(r"synthesis\.b(\d{1,6})\.", name))}
    resolutions = sorted(int(res) for res in found)
    if resolutions != [2**k for k in range(2, 2 + len(resolutions))] or not 0 < len(resolutions) < _MAX_LOG2_RESOLUTION:
        raise ValueError(f"{what}: synthesis blocks at resolutions {resolutions}, expected 4, 8, ..., R "
                         f"(R at most 2**{_MAX_LOG2_RESOLUTION})")
    return resolutions


def _nvlabs_generator_config(net: _Network) -> dict[str, Any]:
    """An NVlabs Generator's config, from its tensor shapes (SPEC 2.2) and attributes."""
    t, what = net.tensors, net.what
    resolutions = _block_resolutions(t, what)
    resolution = resolutions[-1]
    w_dim = _shape(t, "synthesis.b4.conv1.affine.weight", 2, what)[1]
    c_dim = _shape(t, "mapping.embed.weight", 2, what)[1] if "mapping.embed.weight" in t else 0
    z_dim = _shape(t, "mapping.fc0.weight", 2, what)[1] - (w_dim if c_dim else 0)
    if z_dim < 1:
        raise ValueError(f"{what}: mapping.fc0.weight has {z_dim + (w_dim if c_dim else 0)} inputs, fewer than the "
                         "label embedding needs")
    counts = [_shape(t, f"synthesis.b{res}.conv1.weight", 4, what)[0] for res in resolutions]
    channels = _shape(t, f"synthesis.b{resolution}.torgb.weight", 4, what)[0]
    if "synthesis.b8.skip.weight" in t:
        architecture = "resnet"
    elif resolution > 4:
        architecture = "skip" if all(f"synthesis.b{res}.torgb.weight" in t for res in resolutions) else "orig"
    else:
        architecture = net.attr("synthesis.b4", "architecture", "skip")
        if architecture not in ("skip", "resnet", "orig"):
            raise ValueError(f"{what}: unknown architecture {_pickle.describe(architecture)}")
    for key, value in (("z_dim", z_dim), ("w_dim", w_dim), ("c_dim", c_dim), ("img_resolution", resolution),
                       ("img_channels", channels)):
        net.agree("", key, value)
    net.agree(f"synthesis.b{resolution}", "architecture", architecture)
    net.check_activations()
    base, most = _init_channel_rule(net)
    if base is None:
        base, most = _channel_rule(counts, resolutions)
    w_avg_beta = _number(net.attr("mapping", "w_avg_beta", None), f"{what}: mapping.w_avg_beta", optional=True)
    return _config(
        version=2, resolution=resolution, channels=channels, z_dim=z_dim, w_dim=w_dim, c_dim=c_dim,
        mapping_layers=_count(t, "mapping.fc{}.weight"), channel_base=base, channel_max=most, channel_counts=counts,
        architecture=architecture, conv_clamp=net.shared(r"synthesis\.b\d+\.(conv0|conv1|torgb)", "conv_clamp", True),
        mapping_lr_multiplier=net.shared(r"mapping\.fc\d+", "bias_gain"), w_avg_beta=w_avg_beta,
        truncation="nvlabs", **_NVLABS_D_DEFAULTS)


def _init_channel_rule(net: _Network) -> tuple[int | None, int | None]:
    """channel_base and channel_max from the generator's recorded constructor arguments, with NVlabs' defaults for
    one missing; (None, None) if neither was recorded."""
    base, most = net.init_value("channel_base"), net.init_value("channel_max")
    if base is None and most is None:
        return None, None
    base, most = 32768 if base is None else base, 512 if most is None else most
    if type(base) is not int or type(most) is not int or base < 1 or most < 1:
        raise ValueError(f"{net.what}: channel_base {_pickle.describe(base)} and channel_max "
                         f"{_pickle.describe(most)} are not positive integers")
    return base, most


def _nvlabs_discriminator_config(net: _Network, config: dict[str, Any]) -> dict[str, Any]:
    """The D keys of the config, from an NVlabs Discriminator's shapes (SPEC 2.3) and attributes."""
    t, what, resolution = net.tensors, net.what, config["resolution"]
    if "b4.fromrgb.weight" in t:
        architecture = "skip"
    elif f"b{resolution}.skip.weight" in t:
        architecture = "resnet"
    else:
        architecture = "orig"
    for key, value in (("c_dim", config["c_dim"]), ("img_resolution", resolution),
                       ("img_channels", config["channels"])):
        net.agree("", key, value)
    net.agree(f"b{resolution}", "architecture", architecture)
    net.check_activations()
    conv = _shape(t, "b4.conv.weight", 4, what)
    mbstd_channels = conv[1] - conv[0]
    if "b4.mbstd" in net.modules:
        group = net.attr("b4.mbstd", "group_size")
        if not (group is None or (type(group) is int and group >= 1)):
            raise ValueError(f"{what}: b4.mbstd.group_size is {_pickle.describe(group)}, expected a positive int "
                             "or None")
        net.agree("b4.mbstd", "num_channels", mbstd_channels)
    elif mbstd_channels:
        raise ValueError(f"{what}: b4.conv.weight has {mbstd_channels} extra input channels but D has no b4.mbstd")
    else:
        group = None
    clamp = net.shared(r"b\d+\.(conv0|conv1)|b4\.conv", "conv_clamp", True)
    if clamp != config["conv_clamp"]:
        raise ValueError(f"{what}: conv_clamp {clamp} differs from G's {config['conv_clamp']}; swiftgan's StyleGAN2 "
                         "has one conv_clamp")
    mapping_layers = _count(t, "mapping.fc{}.weight") if config["c_dim"] else _NVLABS_D_DEFAULTS["d_mapping_layers"]
    if config["c_dim"] and net.shared(r"mapping\.fc\d+", "bias_gain") != config["mapping_lr_multiplier"]:
        raise ValueError(f"{what}: the label mapping's learning-rate multiplier differs from G's")
    return {"d_architecture": architecture, "mbstd_group": group, "mbstd_channels": mbstd_channels,
            "d_mapping_layers": mapping_layers}


def _read_nvlabs(root: dict[Any, Any], for_training: bool, info: dict[str, Any]) -> _Parts:
    """The parts of a :class:`PublishedStyleGAN` from an NVlabs snapshot dict."""
    g_ema = _Network(root["G_ema"], "G_ema", "Generator")
    config = _nvlabs_generator_config(g_ema)
    d = _Network(root["D"], "D", "Discriminator") if root.get("D") is not None else None
    if d is not None:
        config.update(_nvlabs_discriminator_config(d, config))
    generator = _generator_entries(config)
    w_avg = [_same("mapping.w_avg", config["w_dim"])] if "mapping.w_avg" in g_ema.tensors else []
    info["w_avg"] = "stored" if w_avg else "missing"
    arrays = _collect(g_ema.tensors, generator + w_avg, "G_ema")
    g = d_arrays = augment_p = None
    if for_training:
        if root.get("G") is not None:
            raw = _Network(root["G"], "G", "Generator")
            raw_config = _nvlabs_generator_config(raw) | {key: config[key] for key in _NVLABS_D_DEFAULTS}
            if raw_config != config:
                raise ValueError(f"G: its {[key for key in config if raw_config[key] != config[key]]} differ from "
                                 "G_ema's")
            g = _collect(raw.tensors, generator + (w_avg if "mapping.w_avg" in raw.tensors else []), "G")
        if d is not None:
            d_arrays = _collect(d.tensors, _discriminator_entries(config), "D")
        augment_p = _augment_p(root.get("augment_pipe"))
    networks = {name: root[name] for name in ("G_ema", "G", "D", "augment_pipe")
                if isinstance(root.get(name), PersistentObject)}
    fp16_res = g_ema.init_value("num_fp16_res")
    info.update({
        "training_set_kwargs": _plain(root.get("training_set_kwargs")),
        "init_kwargs": {name: _plain(net.init_kwargs()) for name, net in (("G", g_ema), ("D", d)) if net is not None},
        "num_fp16_res": fp16_res if type(fp16_res) is int else None,
        "g_fp16_resolutions": [res for res in _resolutions(config)
                               if g_ema.attr(f"synthesis.b{res}", "use_fp16", False) is True],
        "d_fp16_resolutions": [] if d is None else [res for res in _resolutions(config)[1:]
                                                    if d.attr(f"b{res}", "use_fp16", False) is True],
        "module_src_sha256": {name: hashlib.sha256(net.module_src.encode("utf-8", "surrogatepass")).hexdigest()
                              for name, net in networks.items()},
    })
    if d is None:
        info["d_config"] = "NVlabs defaults: the file has no D"
    return config, arrays, g, d_arrays, augment_p


def _augment_p(pipe: Any) -> float | None:
    """The probability buffer ``p`` of an NVlabs AugmentPipe (None without one)."""
    if pipe is None:
        return None
    if not isinstance(pipe, PersistentObject) or pipe.class_name != "AugmentPipe":
        raise ValueError(f"augment_pipe: expected an NVlabs AugmentPipe, got {_pickle.describe(pipe)}")
    buffers = pipe.state.get("_buffers")
    p = buffers.get("p") if isinstance(buffers, dict) else None
    if not isinstance(p, LazyTensor) or p.shape not in ((), (1,)):
        raise ValueError("augment_pipe: expected a scalar buffer 'p'")
    return float(_float32(p, "augment_pipe.p").reshape(()))


# rosinality checkpoints.

def _rosinality_generator_name(name: str, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """The rosinality name and shape of an NVlabs generator tensor (SPEC 4.4)."""
    if match := re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", name):
        return f"style.{int(match.group(1)) + 1}.{match.group(2)}", shape
    if name == "synthesis.b4.const":
        return "input.input", (1, *shape)
    match = re.fullmatch(r"synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)", name)
    assert match, name
    res, layer, rest = int(match.group(1)), match.group(2), match.group(3)
    j = res.bit_length() - 4  # the block's index among the upsampling blocks
    if layer == "torgb":
        prefix = "to_rgb1." if res == 4 else f"to_rgbs.{j}."
        return {"weight": (prefix + "conv.weight", (1, *shape)), "bias": (prefix + "bias", (1, *shape, 1, 1)),
                "affine.weight": (prefix + "conv.modulation.weight", shape),
                "affine.bias": (prefix + "conv.modulation.bias", shape)}[rest]
    noise = 0 if res == 4 else 2 * j + (1 if layer == "conv0" else 2)
    if rest == "noise_const":
        return f"noises.noise_{noise}", (1, 1, *shape)
    prefix = "conv1." if res == 4 else f"convs.{noise - 1}."
    return {"weight": (prefix + "conv.weight", (1, *shape)), "bias": (prefix + "activate.bias", shape),
            "affine.weight": (prefix + "conv.modulation.weight", shape),
            "affine.bias": (prefix + "conv.modulation.bias", shape),
            "noise_strength": (prefix + "noise.weight", (1,))}[rest]


def _rosinality_discriminator_name(name: str, resolution: int) -> str:
    """The rosinality name of an NVlabs discriminator tensor (same shape)."""
    match = re.fullmatch(r"b(\d+)\.(\w+)\.(weight|bias)", name)
    assert match, name
    res, layer, kind = int(match.group(1)), match.group(2), match.group(3)
    if layer == "fromrgb":
        return f"convs.0.{0 if kind == 'weight' else 1}.{kind}"
    if res == 4:
        return {("conv", "weight"): "final_conv.0.weight", ("conv", "bias"): "final_conv.1.bias",
                ("fc", kind): f"final_linear.0.{kind}", ("out", kind): f"final_linear.1.{kind}"}[layer, kind]
    k = resolution.bit_length() - res.bit_length() + 1
    return f"convs.{k}." + {("conv0", "weight"): "conv1.0.weight", ("conv0", "bias"): "conv1.1.bias",
                            ("conv1", "weight"): "conv2.1.weight", ("conv1", "bias"): "conv2.2.bias",
                            ("skip", "weight"): "skip.1.weight"}[layer, kind]


def _rosinality_entries(config: dict[str, Any]) -> tuple[list[_Entry], list[_Entry]]:
    """A rosinality Generator's and Discriminator's tensors, mapped to NVlabs' names (SPEC 4.3, 4.4)."""
    generator = []
    for entry in _generator_entries(config):
        if entry.target is not None:
            name, shape = _rosinality_generator_name(entry.name, entry.shape)
            generator.append(_Entry(name, shape, entry.target, entry.target_shape))
    for j in range(len(config["channel_counts"]) - 1):
        generator += [_filter(f"convs.{2 * j}.conv.blur.kernel", 4), _filter(f"to_rgbs.{j}.upsample.kernel", 4)]
    discriminator = [_Entry(_rosinality_discriminator_name(entry.name, config["resolution"]), entry.shape,
                            entry.target, entry.target_shape)
                     for entry in _discriminator_entries(config) if entry.target is not None]
    for k in range(1, len(config["channel_counts"])):
        discriminator += [_filter(f"convs.{k}.conv2.0.kernel"), _filter(f"convs.{k}.skip.0.kernel")]
    return generator, discriminator


def _state_dict(value: Any, what: str) -> dict[str, LazyTensor]:
    if not isinstance(value, dict) or not all(type(name) is str and isinstance(tensor, LazyTensor)
                                              for name, tensor in value.items()):
        raise ValueError(f"{what}: expected a state dict (name -> tensor), got {_pickle.describe(value)}")
    return value


def _rosinality_config(tensors: dict[str, LazyTensor], args: dict[str, Any]) -> dict[str, Any]:
    """A rosinality Generator's config, from its tensor shapes (SPEC 4.3) and the training arguments."""
    if args.get("arch") == "swagan" or any(".iwt." in name or ".dwt." in name for name in tensors):
        raise ValueError("g_ema: a SWAGAN (wavelet) generator (arch='swagan'); only arch='stylegan2' is read")
    style_dim = _shape(tensors, "style.1.weight", 2, "g_ema")[1]
    upsampling_blocks = _count(tensors, "to_rgbs.{}.conv.weight")
    if upsampling_blocks > _MAX_LOG2_RESOLUTION - 2:
        raise ValueError(f"g_ema: {upsampling_blocks} upsampling blocks, more than a "
                         f"{2**_MAX_LOG2_RESOLUTION}-pixel generator has")
    counts = [_shape(tensors, "conv1.conv.weight", 5, "g_ema")[1]]
    counts += [_shape(tensors, f"convs.{2 * j}.conv.weight", 5, "g_ema")[1] for j in range(upsampling_blocks)]
    resolutions = [2**k for k in range(2, len(counts) + 2)]
    base, most = _channel_rule(counts, resolutions)
    config = _config(
        version=2, resolution=resolutions[-1], channels=_shape(tensors, "to_rgb1.conv.weight", 5, "g_ema")[1],
        z_dim=style_dim, w_dim=style_dim, c_dim=0, mapping_layers=_count(tensors, "style.{}.weight", 1),
        channel_base=base, channel_max=most, channel_counts=counts, architecture="skip", d_architecture="resnet",
        conv_clamp=None, mbstd_group=4, mbstd_channels=1, mapping_lr_multiplier=0.01, w_avg_beta=0.995,
        d_mapping_layers=8, truncation="rosinality")
    for key, name in (("size", "resolution"), ("latent", "w_dim"), ("n_mlp", "mapping_layers")):
        if key in args and args[key] != config[name]:
            raise ValueError(f"args.{key} is {_pickle.describe(args[key])}, but the tensors of g_ema say "
                             f"{config[name]}")
    return config


def _read_rosinality(root: dict[Any, Any], for_training: bool, info: dict[str, Any]) -> _Parts:
    """The parts of a :class:`PublishedStyleGAN` from a rosinality checkpoint dict."""
    args = root.get("args")
    if args is not None and not isinstance(args, Namespace):
        raise ValueError(f"args: expected an argparse.Namespace, got {_pickle.describe(args)}")
    info["args"] = _plain(args)
    g_ema = _state_dict(root["g_ema"], "g_ema")
    config = _rosinality_config(g_ema, args.fields if args is not None else {})
    generator, discriminator = _rosinality_entries(config)
    arrays = _collect(g_ema, generator, "g_ema")
    latent_avg = root.get("latent_avg")
    if latent_avg is not None:
        if not isinstance(latent_avg, LazyTensor) or latent_avg.shape not in ((config["w_dim"],), (1, config["w_dim"])):
            raise ValueError(f"latent_avg: expected a tensor of shape [{config['w_dim']}], got "
                             f"{_pickle.describe(getattr(latent_avg, 'shape', latent_avg))}")
        arrays["mapping.w_avg"] = _float32(latent_avg, "latent_avg").reshape(config["w_dim"])
    info["w_avg"] = "missing" if latent_avg is None else "latent_avg"
    g = d = augment_p = None
    if for_training:
        g = _collect(_state_dict(root["g"], "g"), generator, "g") if root.get("g") is not None else None
        d = _collect(_state_dict(root["d"], "d"), discriminator, "d") if root.get("d") is not None else None
        p = root.get("ada_aug_p")
        if isinstance(p, LazyTensor) and p.shape == ():
            p = float(_float32(p, "ada_aug_p"))
        augment_p = _number(p, "ada_aug_p", optional=True)
    return config, arrays, g, d, augment_p
