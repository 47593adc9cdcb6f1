"""Blending two StyleGAN2 models layer by layer: the low resolutions (pose, shape) of one, the high resolutions
(texture, color, style) of the other. This is the layer swapping of Pinkney and Adler 2020 ("Resolution Dependent GAN
Interpolation for Controllable Image Synthesis Between Domains", arXiv:2010.05334), behind "toonify": a model
fine-tuned from another (FFHQ to cartoons, say) shares its latent space, so one latent gives a face with the first
model's structure and the second's style."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from swiftgan._checks import _check_float, _check_int

if TYPE_CHECKING:
    from swiftgan.models.stylegan import StyleGAN

__all__ = ["blend", "ARCHITECTURE_FIELDS"]

ARCHITECTURE_FIELDS = ("version", "resolution", "channels", "z_dim", "w_dim", "c_dim", "mapping_layers",
                       "architecture", "conv_clamp", "legacy_upsampling")
"""The config fields two models must share to be blended (beside the shape of every G_ema tensor)."""


def _position(name: str) -> int | None:
    """The depth of a synthesis tensor in layers (two per resolution: the block's input side, its constant or first
    convolution and skip, then its second convolution and toRGB), counted from 4x4; None outside the synthesis."""
    parts = name.split(".")
    if parts[0] != "synthesis" or not parts[1].startswith("b"):
        return None
    level = 1 if parts[2] in ("conv1", "torgb") else 0
    return 2 * (int(parts[1][1:]).bit_length() - 3) + level


def _check_compatible(base: StyleGAN, other: StyleGAN) -> None:
    """Refuses, naming every difference, two models whose G_ema tensors do not correspond one to one."""
    from swiftgan.models.stylegan import StyleGAN

    for name, model in (("base", base), ("other", other)):
        if not isinstance(model, StyleGAN):
            raise TypeError(f"blend: argument '{name}' must be a StyleGAN, got {type(model).__name__}")
        if model.config["version"] != 2:
            raise ValueError(f"blend: argument '{name}' is a StyleGAN version {model.config['version']}; blending "
                             "swaps StyleGAN2 layers")
    differences = [f"{key}: base {base.config[key]!r}, other {other.config[key]!r}" for key in ARCHITECTURE_FIELDS
                   if base.config[key] != other.config[key]]
    shapes = {name: shape for name, shape in base._state_shapes.items() if name.startswith("G_ema.")}
    others = {name: shape for name, shape in other._state_shapes.items() if name.startswith("G_ema.")}
    mismatched = [f"{name}: base {shapes.get(name)}, other {others.get(name)}"
                  for name in sorted(shapes.keys() | others.keys()) if shapes.get(name) != others.get(name)]
    if mismatched and not differences:
        maps = [[shape[0] for name, shape in sorted(state.items(), key=lambda item: _position(item[0][6:]) or 0)
                 if name.endswith(".conv1.bias")] for state in (shapes, others)]
        differences.append(f"feature maps per resolution: base {maps[0]}, other {maps[1]}")
    differences += mismatched[:4] + ([f"... and {len(mismatched) - 4} more tensors"] if len(mismatched) > 4 else [])
    if differences:
        raise ValueError("blend: the models differ in architecture, so their layers do not correspond:\n  "
                         + "\n  ".join(differences))


def blend(base: StyleGAN, other: StyleGAN, swap_resolution: int = 32, width: float = 0.0) -> StyleGAN:
    """A StyleGAN2 (G_ema alone, for generation) whose synthesis layers below ``swap_resolution`` are ``base``'s and
    from it on are ``other``'s; the mapping network and ``w_avg`` are ``base``'s (as in Pinkney's blend_models, which
    starts from a copy of the low-resolution model), and so is the config (seeds, truncation rule).

    Args:
        base: the model of the low resolutions (structure: pose, face shape).
        other: the model of the high resolutions (texture, colors, style), of the same architecture.
        swap_resolution: a power of two from 4 on: the first resolution taken from ``other``. 4 takes the whole
            synthesis network from ``other`` (its images, for the same ws); anything above the models' resolution
            gives ``base`` back.
        width: 0 swaps at once; ``k > 0`` blends over k layers (two per resolution: a block's first and second
            half), the share of ``other`` rising linearly, ``1/(k+1)``, ``2/(k+1)``, ..., from the swap on. Weights
            are interpolated; each noise buffer is taken from the model whose share is at least one half.

    Raises TypeError for anything but StyleGANs and ValueError, listing the differences, for models of different
    architecture (resolution, channel counts, w size, mapping depth, skip/resnet, ...).
    """
    _check_compatible(base, other)
    swap = _check_int("blend", "swap_resolution", swap_resolution)
    if swap < 4 or swap & (swap - 1):
        raise ValueError(f"blend: argument 'swap_resolution' must be a power of two from 4 on, got {swap}")
    ramp = _check_float("blend", "width", width)
    if not (math.isfinite(ramp) and ramp >= 0):
        raise ValueError(f"blend: argument 'width' must be a finite number of layers >= 0, got {ramp}")
    from swiftgan.models.stylegan import StyleGAN

    first = 2 * (swap.bit_length() - 3)  # the position of the swap resolution's first layer
    low, high = base.nets["G_ema"].state_dict(), other.nets["G_ema"].state_dict()
    state: dict[str, np.ndarray] = {}
    for name, tensor in low.items():
        position = _position(name)
        share = 0.0 if position is None else min(1.0, max(0.0, (position - first + 1) / (ramp + 1)))
        if name.endswith("noise_const") or share in (0.0, 1.0):
            state[name] = high[name] if share >= 0.5 else tensor
        else:
            state[name] = ((1 - share) * tensor.astype(np.float64) + share * high[name]).astype(np.float32)
    blended = StyleGAN(**{**base.config, "trainable": False})
    blended.nets["G_ema"].load_state_dict(state)
    blended.source = {"blend": {"base": base.source or repr(base), "other": other.source or repr(other),
                                "swap_resolution": swap, "width": ramp}}
    return blended
