"""Functional ops against numpy: results, numpy-in/numpy-out versus Tensor graphs, in-place running stats."""

from __future__ import annotations

import numpy as np
import pytest

import swiftgan as sg
from swiftgan import functional as F

from helpers import assert_close, randn


def test_numpy_in_numpy_out_tensor_in_tensor_out(rng) -> None:
    x = randn(rng, 2, 3)
    assert isinstance(F.relu(x), np.ndarray)
    out = F.relu(sg.tensor(x))
    assert isinstance(out, sg.Tensor) and out.shape == (2, 3)
    np.testing.assert_array_equal(out.numpy(), np.maximum(x, 0))
    assert isinstance(F.add(x, sg.tensor(x)), sg.Tensor)  # any Tensor input makes a Tensor


def test_elementwise_and_broadcasting(rng) -> None:
    a, b = randn(rng, 2, 3, 4), randn(rng, 3, 1)
    c = np.abs(a) + 0.5
    np.testing.assert_allclose(F.add(a, b), a + b, rtol=1e-6)
    np.testing.assert_allclose(F.sub(a, b), a - b, rtol=1e-6)
    np.testing.assert_allclose(F.mul(a, b), a * b, rtol=1e-6)
    np.testing.assert_allclose(F.div(a, c), a / c, rtol=1e-6)
    np.testing.assert_allclose(F.mul(a, 2.5), a * 2.5, rtol=1e-6)
    np.testing.assert_allclose(F.sub(1, a), 1 - a, rtol=1e-6)
    np.testing.assert_allclose(F.sqrt(c), np.sqrt(c), rtol=1e-6)
    np.testing.assert_allclose(F.rsqrt(c), 1 / np.sqrt(c), rtol=1e-5)
    np.testing.assert_allclose(F.exp(a), np.exp(a), rtol=1e-5)
    np.testing.assert_allclose(F.log(c), np.log(c), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.square(a), a * a, rtol=1e-6)
    np.testing.assert_allclose(F.abs(a), np.abs(a))
    np.testing.assert_allclose(F.neg(a), -a)


@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 2), True), (-1, False)])
def test_reductions(rng, dim, keepdim) -> None:
    x = randn(rng, 2, 3, 4)
    np.testing.assert_allclose(F.sum(x, dim, keepdim), np.sum(x, axis=dim, keepdims=keepdim), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.mean(x, dim, keepdim), np.mean(x, axis=dim, keepdims=keepdim), rtol=1e-5, atol=1e-6)


def test_shape_ops(rng) -> None:
    x, y = randn(rng, 2, 3, 4), randn(rng, 2, 1, 4)
    np.testing.assert_array_equal(F.reshape(x, (4, -1)), x.reshape(4, -1))
    np.testing.assert_array_equal(F.cat([x, y], dim=1), np.concatenate([x, y], axis=1))
    np.testing.assert_array_equal(F.narrow(x, 2, 1, 2), x[:, :, 1:3])
    out = F.cat([sg.tensor(x), y], dim=1)
    assert isinstance(out, sg.Tensor) and out.shape == (2, 4, 4)


def test_matmul_and_linear(rng) -> None:
    a, b, bias = randn(rng, 5, 7), randn(rng, 4, 7), randn(rng, 4)
    np.testing.assert_allclose(F.matmul(a, b.T.copy()), a @ b.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.linear(a, b, bias), a @ b.T + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.linear(a, b), a @ b.T, rtol=1e-5, atol=1e-5)


def test_pad_and_interpolate(rng) -> None:
    x = randn(rng, 2, 3, 4, 5)
    np.testing.assert_array_equal(F.pad(x, (1, 2, 3, 0)), np.pad(x, ((0, 0), (0, 0), (3, 0), (1, 2))))
    reflected = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    np.testing.assert_array_equal(F.pad(x, 2, mode="reflect"), reflected)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=3), x.repeat(3, axis=2).repeat(3, axis=3))
    assert F.interpolate(x, mode="bilinear").shape == (2, 3, 8, 10)


def test_losses(rng) -> None:
    x, y = randn(rng, 3, 4), randn(rng, 3, 4)
    np.testing.assert_allclose(F.mse_loss(x, y), np.mean((x - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction="sum"), np.sum(np.abs(x - y)), rtol=1e-5)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction="none"), np.abs(x - y), rtol=1e-6)
    target = (y > 0).astype(np.float32)
    expected = np.mean(np.logaddexp(0, x) - target * x)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, target), expected, rtol=1e-5)
    np.testing.assert_allclose(F.bce_with_logits(x, 0.0, reduction="sum"), np.sum(np.logaddexp(0, x)), rtol=1e-5)


def test_batch_norm_updates_numpy_running_stats_in_place(rng) -> None:
    x = randn(rng, 4, 3, 5, 5) * 2 + 1
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    out = F.batch_norm(x, running_mean, running_var, training=True, momentum=0.1)
    batch_mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    batch_var = x.var(axis=(0, 2, 3), dtype=np.float64)
    expected = (x - batch_mean[None, :, None, None]) / np.sqrt(batch_var[None, :, None, None] + 1e-5)
    assert_close(out, expected, tol=1e-5)
    n = x.size // 3
    np.testing.assert_allclose(running_mean, 0.1 * batch_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * batch_var * n / (n - 1), rtol=1e-5)
    frozen_mean, frozen_var = running_mean.copy(), running_var.copy()
    evaluated = F.batch_norm(x, running_mean, running_var)
    np.testing.assert_array_equal(running_mean, frozen_mean)
    expected = (x - frozen_mean[None, :, None, None]) / np.sqrt(frozen_var[None, :, None, None] + 1e-5)
    assert_close(evaluated, expected, tol=1e-5)


def test_batch_norm_updates_tensor_running_stats(rng) -> None:
    x = randn(rng, 4, 3, 2, 2)
    running_mean = sg.tensor(np.zeros(3, np.float32))
    out = F.batch_norm(x, running_mean, sg.tensor(np.ones(3, np.float32)), training=True)
    assert isinstance(out, sg.Tensor)
    np.testing.assert_allclose(running_mean.numpy(), 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-6)


def test_graph_built_from_python_backpropagates(rng) -> None:
    x, w = randn(rng, 2, 3, 6, 6), randn(rng, 4, 3, 3, 3)
    weight = sg.tensor(w, requires_grad=True)
    loss = F.mean(F.square(F.conv2d(x, weight, padding=1)))
    assert loss.shape == () and loss.requires_grad
    loss.backward()
    (grad,) = sg.autograd.grad(F.mean(F.square(F.conv2d(x, weight, padding=1))), weight)
    assert_close(weight.grad.numpy(), grad.numpy(), tol=1e-6)
    # finite-difference check of one weight entry
    step = 1e-2
    bumped = w.copy()
    bumped[1, 2, 0, 1] += step
    lower = w.copy()
    lower[1, 2, 0, 1] -= step
    numeric = (F.mean(F.square(F.conv2d(x, bumped, padding=1))) - F.mean(F.square(F.conv2d(x, lower, padding=1)))) / (
        2 * step
    )
    np.testing.assert_allclose(grad.numpy()[1, 2, 0, 1], numeric, rtol=1e-2)


def test_interpolate_align_corners() -> None:
    """align_corners=True is checked against PyTorch in test_fixtures (computed cases); False, the default, is
    today's bilinear result, and nearest takes none."""
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4)).astype(np.float32)
    np.testing.assert_array_equal(F.interpolate(x, 2, "bilinear", align_corners=False), F.interpolate(x, 2, "bilinear"))
    assert not np.allclose(F.interpolate(x, 2, "bilinear", align_corners=True), F.interpolate(x, 2, "bilinear"))
    with pytest.raises(ValueError, match="align_corners can only be set with mode='bilinear'"):
        F.interpolate(x, 2, "nearest", align_corners=True)
    with pytest.raises(TypeError, match="align_corners"):
        F.interpolate(x, 2, "bilinear", align_corners="yes")


def test_clamp_and_permute() -> None:
    x = np.random.default_rng(4).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(F.clamp(x, -0.5, 0.25), np.clip(x, -0.5, 0.25))
    np.testing.assert_array_equal(F.clamp(x, min=0.0), np.maximum(x, 0))
    np.testing.assert_array_equal(F.permute(x, (2, 0, 1)), x.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="must not exceed"):
        F.clamp(x, 1.0, -1.0)
    with pytest.raises(ValueError, match="permute: argument 'dims' must order the 3 axes"):
        F.permute(x, (0, 0, 1))
