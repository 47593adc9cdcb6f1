"""swiftgan.debug.conv_algorithm names the kernel of each convolution pass, as the engine's table chooses it."""

from __future__ import annotations

import pytest

import swiftgan as sg
from swiftgan.debug import CONV_ALGORITHMS, conv_algorithm


@pytest.mark.parametrize(("x", "w", "stride", "padding", "expected"), [
    ((16, 256, 32, 32), (256, 256, 3, 3), 1, 1, ("winograd_f4",) * 3),  # StyleGAN, CycleGAN
    ((4, 256, 16, 16), (256, 256, 3, 3), 1, 1, ("winograd",) * 3),
    ((16, 256, 16, 16), (256, 256, 3, 3), 1, 1, ("winograd_f4",) * 3),  # samples in F(4x4, 3x3)'s lanes
    ((64, 64, 16, 16), (128, 64, 4, 4), 2, 1, ("phases", "split_phases", "phases")),  # DCGAN-32's D, 8x8 output
    ((64, 64, 32, 32), (128, 64, 4, 4), 2, 1, ("phases", "split_phases", "phases")),  # DCGAN-64's D, 16x16 output
    ((2, 64, 32, 32), (128, 64, 4, 4), 2, 1, ("phases",) * 3),  # ... at batch 2
    ((64, 128, 8, 8), (256, 128, 4, 4), 2, 1, ("phases", "split_phases", "phases")),  # DCGAN-32's D, 4x4 output
    ((64, 64, 8, 8), (128, 64, 4, 4), 2, 1, ("phases", "stride2_im2col", "phases")),  # ... with 128 channels
    ((16, 128, 8, 8), (256, 128, 4, 4), 2, 1, ("stride2_im2col",) * 3),  # the same at batch 16
    ((1, 64, 256, 256), (3, 64, 7, 7), 1, 3, ("direct",) * 3),  # CycleGAN's last conv to RGB
    ((4, 8, 10, 10), (16, 8, 1, 1), 1, 0, ("pointwise",) * 3),
    ((64, 256, 4, 4), (1, 256, 4, 4), 1, 0, ("fully_connected",) * 3),  # DCGAN's last D layer
    ((2, 3, 11, 13), (4, 3, 3, 3), 2, 1, ("im2col",) * 3),
])
def test_conv2d_algorithms(x, w, stride, padding, expected) -> None:
    names = conv_algorithm(x, w, stride, padding)
    assert tuple(names.values()) == expected
    assert list(names) == ["forward", "input_gradient", "weight_gradient"]
    assert set(names.values()) <= set(CONV_ALGORITHMS)


def test_conv_transpose_is_named_in_its_own_terms() -> None:
    # DCGAN-32's G from 8x8 to 16x16: its forward pass is the image gradient of the 16 -> 8 conv2d.
    conv = conv_algorithm((64, 128, 16, 16), (64, 128, 4, 4), 2, 1)
    transposed = conv_algorithm((64, 64, 8, 8), (64, 128, 4, 4), 2, 1, transposed=True)
    assert transposed == {"forward": conv["input_gradient"], "input_gradient": conv["forward"],
                          "weight_gradient": conv["weight_gradient"]}
    assert transposed["forward"] == "split_phases"


def test_bad_shapes_raise_what_the_op_raises() -> None:
    with pytest.raises(ValueError, match="expects 3 input channels"):
        conv_algorithm((1, 4, 8, 8), (2, 3, 3, 3))
    with pytest.raises(ValueError, match="4-D"):
        conv_algorithm((4, 8, 8), (2, 4, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        conv_algorithm((1, 4, 8, 8), (2, 4, 3, 3), stride=0)
    with pytest.raises(TypeError):
        conv_algorithm("1, 4, 8, 8", (2, 4, 3, 3))
    assert sg.debug is not None
