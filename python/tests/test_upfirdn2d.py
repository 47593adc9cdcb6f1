"""upfirdn2d against a direct numpy reference, and its gradients through the adjoint identity."""

from __future__ import annotations

import numpy as np
import pytest

from swiftgan import functional as F

from helpers import assert_close, randn

# (x shape, filter shape, up, down, padding (left, right, top, bottom), gain)
CASES = [
    ((2, 3, 5, 6), (4, 4), 2, 1, (2, 1, 2, 1), 4.0),  # StyleGAN2 upsample2d
    ((2, 3, 8, 6), (4, 4), 1, 2, (1, 1, 1, 1), 1.0),  # StyleGAN2 downsample2d
    ((1, 2, 7, 5), (3, 2), 1, 1, (0, 1, 2, 0), 1.0),  # asymmetric filter and padding
    ((1, 1, 4, 4), (3, 3), 2, 2, (-1, 0, 0, -1), 2.0),  # negative padding crops
    ((2, 2, 6, 6), (1, 1), 1, 3, (0, 0, 0, 0), 0.5),  # pure subsampling
    # Rows of several vectors (the window kernels), with a partial last vector:
    ((1, 2, 5, 37), (4, 4), 1, 1, (2, 2, 1, 1), 1.0),  # StyleGAN2's blur before a stride-2 conv
    ((1, 2, 6, 40), (4, 4), 1, 2, (1, 1, 1, 1), 1.0),  # downsample by 2
    ((1, 2, 5, 41), (4, 4), 1, 2, (-3, 2, 0, 0), 1.0),  # ... cropping on the left, odd width
    ((1, 1, 5, 30), (4, 4), 1, 1, (-2, -1, 0, 0), 1.0),  # cropping on both sides
]


def upfirdn2d_reference(
    x: np.ndarray, f: np.ndarray, up: int, down: int, padding: tuple[int, int, int, int], gain: float
) -> np.ndarray:
    """Zero-insert upsample, pad (negative crops), true 2-D convolution with f, scale by gain, subsample."""
    n, c, h, w = x.shape
    upsampled = np.zeros((n, c, h * up, w * up), np.float64)
    upsampled[:, :, ::up, ::up] = x
    left, right, top, bottom = padding
    padded = np.pad(upsampled, ((0, 0), (0, 0), (max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))))
    rows = slice(max(-top, 0), padded.shape[2] - max(-bottom, 0))
    padded = padded[:, :, rows, max(-left, 0) : padded.shape[3] - max(-right, 0)]
    fh, fw = f.shape
    flipped = f[::-1, ::-1].astype(np.float64)
    out = np.zeros((n, c, padded.shape[2] - fh + 1, padded.shape[3] - fw + 1))
    for i in range(fh):
        for j in range(fw):
            out += flipped[i, j] * padded[:, :, i : i + out.shape[2], j : j + out.shape[3]]
    return gain * out[:, :, ::down, ::down]


@pytest.mark.parametrize("x_shape, f_shape, up, down, padding, gain", CASES)
def test_upfirdn2d_matches_reference(rng, x_shape, f_shape, up, down, padding, gain) -> None:
    x, f = randn(rng, *x_shape), randn(rng, *f_shape)
    out = F.upfirdn2d(x, f, up=up, down=down, padding=padding, gain=gain)
    assert isinstance(out, np.ndarray)
    assert_close(out, upfirdn2d_reference(x, f, up, down, padding, gain), tol=1e-5)


@pytest.mark.parametrize("x_shape, f_shape, up, down, padding, gain", CASES)
def test_upfirdn2d_gradients_are_adjoint(rng, x_shape, f_shape, up, down, padding, gain) -> None:
    """upfirdn2d is linear in x, so its vector-Jacobian product is its adjoint: <op(x), g> = <x, vjp(g)>."""
    x, f = randn(rng, *x_shape), randn(rng, *f_shape)
    grad_out = randn(rng, *upfirdn2d_reference(x, f, up, down, padding, gain).shape)
    out, grads = F.vjp("upfirdn2d", {"x": x}, grad_out, filter=f, up=up, down=down, padding=padding, gain=gain)
    assert_close(np.vdot(x.astype(np.float64), grads["x"]), np.vdot(out.astype(np.float64), grad_out))


def test_setup_filter() -> None:
    f = F.setup_filter([1, 3, 3, 1])
    assert f.dtype == np.float32 and f.shape == (4, 4)
    np.testing.assert_allclose(f, np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64, rtol=1e-7)
    with pytest.raises(ValueError, match="taps"):
        F.setup_filter([1, -1])
    with pytest.raises(ValueError, match="taps"):
        F.setup_filter([[1, 2], [3, 4]])
