"""Every convolution algorithm of the engine's table, forward and both gradients, against a float64 numpy reference.

The wheel check runs this file once per engine build the CPU supports (``SWIFTGAN_CPU``), so each build's kernels
(Winograd transforms, phase splits, im2col, direct loops) are checked on every path, not only the native one."""

from __future__ import annotations

import numpy as np
import pytest

import swiftgan.functional as F
from swiftgan import cpu_features
from swiftgan.debug import conv_algorithm

FEATURES = cpu_features()
PANELS = FEATURES["engine"] == "v4" or FEATURES["engine"] == "source build" and "avx512f" in FEATURES["flags"]
"""Whether the engine has its own GEMM for AVX-512, which runs "panels" forward passes: the v4 build, and a source
build on an AVX-512 CPU (setup.py compiles for the machine's CPU)."""


def panels(otherwise: str) -> str:
    """The forward pass's algorithm of a case that runs on panels where the engine has its AVX-512 GEMM."""
    return "panels" if PANELS else otherwise


def windows(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: int) -> np.ndarray:
    """The [N, C, OH, OW, kh, kw] windows that a convolution of x (zero-padded) reads."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    (kh, kw), (h, w) = kernel, x.shape[2:]
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return view[:, :, ::stride, ::stride][:, :, :oh, :ow]


def reference(x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: int, padding: int):
    """conv2d(x, w) and the gradients of sum(conv2d(x, w) * g) with respect to x and w."""
    win = windows(x, w.shape[2:], stride, padding)
    y = np.einsum("ncyxij,ocij->noyx", win, w.astype(np.float64))
    gw = np.einsum("ncyxij,noyx->ocij", win, g.astype(np.float64))
    n, c, h, wd = x.shape
    gx = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))
    oh, ow = g.shape[2:]
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            gx[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += np.einsum(
                "noyx,oc->ncyx", g.astype(np.float64), w[:, :, i, j].astype(np.float64))
    return y, gx[:, :, padding:padding + h, padding:padding + wd], gw


CASES = [  # x, w, stride, padding, the algorithms of forward, input gradient, weight gradient
    ((1, 16, 12, 33), (16, 16, 3, 3), 1, 1, ("winograd_f4",) * 3),
    ((1, 16, 16, 16), (16, 16, 3, 3), 1, 1, ("winograd",) * 3),
    ((4, 16, 6, 7), (17, 16, 3, 3), 1, 1, ("winograd",) * 3),  # eight samples in the vector lanes
    ((9, 16, 10, 11), (17, 16, 3, 3), 1, 1, ("winograd_f4",) * 3),  # ... of F(4x4, 3x3), two blocks
    ((2, 16, 6, 6), (16, 16, 3, 3), 1, 1, ("im2col",) * 3),  # ... which two samples would leave empty
    ((4, 16, 7, 9), (16, 16, 2, 2), 1, 1, ("winograd_f4",) * 3),  # F(4x4, 2x2), samples in the lanes
    ((1, 16, 5, 33), (17, 16, 2, 2), 1, 0, ("winograd_f4",) * 3),  # ... and in rows
    ((2, 16, 5, 17), (16, 16, 2, 2), 1, 1, ("winograd",) * 3),  # F(2x2, 2x2) where F(4x4, 2x2) would leave lanes empty
    # F(3x3, 4x4), its image gradient by F(2x2, 4x4): PatchGAN's stride-1 conv
    ((1, 16, 16, 16), (17, 16, 4, 4), 1, 1, ("winograd_f4", "winograd", "winograd_f4")),
    ((4, 16, 7, 8), (16, 16, 4, 4), 1, 1, ("winograd",) * 3),  # ... samples in the lanes
    ((9, 4, 16, 16), (16, 4, 4, 4), 2, 1, ("phases", "split_phases", "phases")),  # over F(4x4, 2x2)
    ((3, 4, 18, 32), (18, 4, 4, 4), 2, 1, ("phases",) * 3),  # over F(2x2, 2x2)
    ((4, 4, 30, 32), (16, 4, 4, 4), 2, 1, ("phases", "split_phases", "phases")),  # 15x16 outputs, four samples
    ((2, 3, 12, 14), (4, 3, 3, 3), 2, 1, ("stride2_im2col",) * 3),
    ((2, 16, 12, 14), (17, 16, 3, 3), 2, 1, ("stride2_im2col", "up_phases", "stride2_im2col")),
    ((2, 3, 11, 13), (4, 3, 3, 3), 2, 1, ("im2col",) * 3),
    ((2, 3, 38, 38), (16, 3, 7, 7), 1, 0, (panels("im2col"), "im2col", "im2col")),  # CycleGAN's first conv
    ((2, 4, 16, 68), (13, 4, 3, 3), 2, 1, (panels("stride2_im2col"), "stride2_im2col", "stride2_im2col")),
    ((2, 40, 16, 16), (30, 40, 3, 3), 2, 1, (panels("stride2_im2col"), "up_phases", "stride2_im2col")),
    ((1, 5, 12, 12), (3, 5, 7, 7), 1, 3, ("direct",) * 3),
    ((3, 3, 6, 6), (4, 3, 1, 1), 1, 0, ("pointwise",) * 3),
    ((3, 4, 4, 4), (5, 4, 4, 4), 1, 0, ("fully_connected",) * 3),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding", "algorithms"), CASES)
def test_convolution_path_matches_the_reference(x_shape, w_shape, stride, padding, algorithms) -> None:
    assert tuple(conv_algorithm(x_shape, w_shape, stride, padding).values()) == algorithms
    rng = np.random.default_rng(sum(x_shape) + 7 * sum(w_shape))
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    out_shape = F.conv2d(x, w, stride=stride, padding=padding).shape
    g = rng.standard_normal(out_shape, dtype=np.float32)
    y_ref, gx_ref, gw_ref = reference(x, w, g, stride, padding)
    y, grads = F.vjp("conv2d", {"x": x, "weight": w}, g, stride=stride, padding=padding)
    for name, got, want in (("y", y, y_ref), ("dx", grads["x"], gx_ref), ("dw", grads["weight"], gw_ref)):
        assert got is not None and got.shape == want.shape, name
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), name
