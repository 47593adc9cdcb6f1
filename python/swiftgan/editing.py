"""Edits of StyleGAN2 latents along directions (:mod:`swiftgan.directions`): a direction added to chosen layers' ws
only (W+), sweeps of strengths rendered as images (the rows of GANSpace's and SeFa's figures), and the command line's
direction and strength specs (``ganspace:3``, ``sefa:0``, ``boundary.npy``; ``-3:3:7``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from swiftgan._checks import _check_float, _choice
from swiftgan.directions import _check_layers, ganspace, load_direction, sefa

if TYPE_CHECKING:
    from swiftgan.models.stylegan import StyleGAN

__all__ = ["edit", "edit_sweep", "parse_direction", "parse_strengths", "MAX_STRENGTHS"]

MAX_STRENGTHS = 1024
"""The most strengths one sweep renders."""


def check_direction(caller: str, direction: np.ndarray, w_dim: int) -> np.ndarray:
    """``direction`` as float32 (w_dim,): it may be (w_dim,) or InterFaceGAN's (1, w_dim), finite."""
    vector = np.asarray(direction)
    if vector.dtype.kind not in "fiu":
        raise TypeError(f"{caller}: argument 'direction' must be a numeric array, got dtype {vector.dtype}")
    if vector.shape not in ((w_dim,), (1, w_dim)) or not np.isfinite(vector).all():
        raise ValueError(f"{caller}: argument 'direction' must hold {w_dim} finite numbers, shaped ({w_dim},) or "
                         f"(1, {w_dim}), got {vector.shape}")
    return vector.reshape(w_dim).astype(np.float32)


def edit(gan: StyleGAN, ws: np.ndarray, direction: np.ndarray, strength: float,
         layers: Iterable[int] | None = None) -> np.ndarray:
    """ws with ``strength * direction`` added to the ws of ``layers`` only (w indices; None: every layer), as a new
    float32 array of the same shape ((N, num_ws, w_dim) or (num_ws, w_dim)); every other w is copied bit for bit."""
    caller = "StyleGAN.edit"
    array = np.asarray(ws)
    num_ws, w_dim = gan.num_ws, gan.config["w_dim"]
    if array.dtype.kind != "f" or array.shape[-2:] != (num_ws, w_dim) or array.ndim not in (2, 3):
        raise ValueError(f"{caller}: argument 'ws' must be float (N, {num_ws}, {w_dim}) or ({num_ws}, {w_dim}), got "
                         f"{array.shape} {array.dtype}")
    step = check_direction(caller, direction, w_dim) * np.float32(_check_float(caller, "strength", strength))
    if not np.isfinite(step).all():
        raise ValueError(f"{caller}: strength {strength} times the direction is not finite")
    out = np.array(array, dtype=np.float32, order="C")
    out[..., _check_layers(caller, layers, num_ws), :] += step
    return out


def check_strengths(caller: str, strengths: Iterable[float]) -> list[float]:
    """``strengths`` as a non-empty list of at most :data:`MAX_STRENGTHS` finite floats."""
    if isinstance(strengths, (str, bytes)) or not isinstance(strengths, Iterable):
        raise TypeError(f"{caller}: argument 'strengths' must be an iterable of floats, got "
                        f"{type(strengths).__name__}")
    values = []
    for value in strengths:
        values.append(_check_float(caller, "strengths", value))
        if len(values) > MAX_STRENGTHS:
            raise ValueError(f"{caller}: argument 'strengths' holds more than {MAX_STRENGTHS} values")
    if not values or not np.isfinite(values).all():
        raise ValueError(f"{caller}: argument 'strengths' must hold 1 to {MAX_STRENGTHS} finite values, got {values}")
    return values


def edit_sweep(gan: StyleGAN, seed_or_ws: int | np.ndarray, direction: np.ndarray, strengths: Iterable[float],
               layers: Iterable[int] | None = None, truncation_psi: float = 1.0, noise_mode: str = "const",
               class_idx: int | None = None) -> np.ndarray:
    """Images (len(strengths), C, R, R) of one latent edited by each strength in turn (one row of GANSpace's figures):
    ``seed_or_ws`` is a seed (its ws at ``truncation_psi``, for a conditional model of class ``class_idx``) or ws
    (num_ws, w_dim) / (1, num_ws, w_dim), a projection's say. Random noise is drawn from the seed (0 for ws), the
    same for every image."""
    caller = "StyleGAN.edit_sweep"
    values = check_strengths(caller, strengths)
    from swiftgan.models.stylegan import NOISE_MODES, SAMPLE_BATCH

    _choice(caller, "noise_mode", noise_mode, NOISE_MODES)
    if isinstance(seed_or_ws, (int, np.integer)) and not isinstance(seed_or_ws, bool):
        seed = int(seed_or_ws)
        ws = gan.seed_ws([seed], truncation_psi, None, class_idx)
    else:
        seed = 0
        ws = np.asarray(seed_or_ws)
        if ws.ndim == 2:
            ws = ws[None]
        if ws.ndim != 3 or len(ws) != 1:
            raise ValueError(f"{caller}: argument 'seed_or_ws' must be a seed or the ws of one image, "
                             f"({gan.num_ws}, {gan.config['w_dim']}) or (1, {gan.num_ws}, {gan.config['w_dim']}); got "
                             f"{ws.shape}")
    edited = np.concatenate([edit(gan, ws, direction, strength, layers) for strength in values])
    return gan._render(edited, [seed] * len(values), noise_mode, SAMPLE_BATCH)


def parse_strengths(text: str) -> list[float]:
    """Strengths from ``"start:stop:count"`` (``count`` evenly spaced values, both ends included: ``-3:3:7``) or a
    comma-separated list (``-2,0,2``)."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            return np.linspace(float(start), float(stop), int(count)).tolist()
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"strengths: expected start:stop:count (such as -3:3:7) or numbers separated by commas, "
                         f"got {text!r}") from None


def parse_direction(gan: StyleGAN, spec: str, layers: Iterable[int] | None = None,
                    samples: int = 100_000, class_idx: int | None = None) -> np.ndarray:
    """The direction (w_dim,) a spec names: ``ganspace:K`` (GANSpace's component K over ``samples`` latents, scaled
    to one standard deviation), ``sefa:K`` (SeFa's direction K for ``layers``), or the path of a ``.npy`` file
    (InterFaceGAN's layout)."""
    method, colon, index = spec.partition(":")
    if colon and method in ("ganspace", "sefa"):
        try:
            k = int(index)
        except ValueError:
            raise ValueError(f"direction: expected {method}:K with an int K, got {spec!r}") from None
        if not 0 <= k < gan.config["w_dim"]:
            raise ValueError(f"direction: {spec!r}: K must be in [0, {gan.config['w_dim']})")
        found = (ganspace(gan, n=k + 1, samples=samples, class_idx=class_idx) if method == "ganspace"
                 else sefa(gan, layers=layers, n=k + 1))
        return found[k]
    if not os.path.exists(spec):
        raise ValueError(f"direction: expected ganspace:K, sefa:K or a .npy file, got {spec!r} (no such file)")
    return check_direction("direction", load_direction(spec), gan.config["w_dim"])

