"""Diagnostics of the engine: which kernel computes a convolution."""

from __future__ import annotations

from collections.abc import Sequence

from swiftgan import _native

__all__ = ["conv_algorithm", "CONV_ALGORITHMS"]

CONV_ALGORITHMS = ("fully_connected", "pointwise", "direct", "winograd", "winograd_f4", "phases", "split_phases",
                   "up_phases", "panels", "stride2_im2col", "im2col")
"""The engine's convolution algorithms (see Sources/SwiftGANCore/Kernels/ConvAlgorithm.swift): one GEMM when the
kernel covers the whole image; a GEMM on the image for 1x1 kernels; register-blocked loops for stride 1 and at most
4 output channels; Winograd F(2x2, 3x3), F(2x2, 2x2) and F(2x2, 4x4) (PatchGAN's stride-1 conv); Winograd F(4x4, 3x3)
on planes 32 and more wide; 4x4 stride-2 convolutions as F(2x2, 2x2) over the image's phases (and their image gradient
split by phase); the image gradient of 3x3 stride-2 convolutions (conv-transpose's forward pass) by the phases of its
output; on AVX-512 builds, other forward passes with 12 or more output channels on the engine's own GEMM, im2col written
one panel at a time; im2col over phases for stride 2; im2col + GEMM."""


def conv_algorithm(x_shape: Sequence[int], weight_shape: Sequence[int], stride: int = 1, padding: int = 0, *,
                   transposed: bool = False, output_padding: int = 0) -> dict[str, str]:
    """The algorithm that computes each pass of ``conv2d(x, weight, stride=stride, padding=padding)`` (or, with
    ``transposed``, of ``conv_transpose2d``) for inputs of these shapes: a dict with the keys ``"forward"``,
    ``"input_gradient"`` and ``"weight_gradient"``, each one of :data:`CONV_ALGORITHMS`.

    Raises ValueError for shapes the op itself would refuse.

    >>> conv_algorithm((16, 256, 32, 32), (256, 256, 3, 3), padding=1)["forward"]
    'winograd_f4'
    """
    names = _native.conv_algorithms(x_shape, weight_shape, stride, padding, output_padding, transposed)
    return dict(zip(("forward", "input_gradient", "weight_gradient"), names, strict=True))
