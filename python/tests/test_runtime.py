"""Tensors, threads, grad mode and random numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import swiftgan as sg
from swiftgan import functional as F

from helpers import randn


def test_tensor_round_trip_and_attributes(rng) -> None:
    x = randn(rng, 2, 3, 4)
    t = sg.tensor(x, requires_grad=True)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.requires_grad
    assert t.grad is None
    assert repr(t) == "Tensor(shape=(2, 3, 4), requires_grad=True)"
    out = t.numpy()
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable
    np.testing.assert_array_equal(out, x)
    out[0] = 0  # a copy: the tensor is unchanged
    np.testing.assert_array_equal(t.numpy(), x)
    t.requires_grad = False
    assert not t.requires_grad


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,) * 8])
def test_tensor_edge_shapes(shape) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    t = sg.tensor(x)
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), x)


def test_read_only_arrays_are_accepted() -> None:
    x = np.ones(3, np.float32)
    x.flags.writeable = False
    np.testing.assert_array_equal(sg.tensor(x).numpy(), x)


def test_detach_shares_values_and_copy_overwrites(rng) -> None:
    t = sg.tensor(randn(rng, 3), requires_grad=True)
    detached = t.detach()
    assert not detached.requires_grad
    new = randn(rng, 3)
    t.copy_(new)
    np.testing.assert_array_equal(detached.numpy(), new)


def test_backward_accumulates_and_zero_grad_clears(rng) -> None:
    x = randn(rng, 5)
    t = sg.tensor(x, requires_grad=True)
    for _ in range(2):
        F.sum(F.square(t)).backward()
    np.testing.assert_allclose(t.grad.numpy(), 4 * x, rtol=1e-6)
    t.zero_grad()
    assert t.grad is None or not t.grad.numpy().any()
    F.sum(F.mul(t, 3.0)).backward(create_graph=False)
    np.testing.assert_allclose(t.grad.numpy(), np.full(5, 3.0), rtol=1e-6)


def test_backward_with_explicit_gradient(rng) -> None:
    x, g = randn(rng, 4), randn(rng, 4)
    t = sg.tensor(x, requires_grad=True)
    F.square(t).backward(sg.tensor(g))
    np.testing.assert_allclose(t.grad.numpy(), 2 * x * g, rtol=1e-6)


def test_num_threads() -> None:
    original = sg.get_num_threads()
    try:
        for n in (1, 2, 3):
            sg.set_num_threads(n)
            assert sg.get_num_threads() == n
    finally:
        sg.set_num_threads(original)


def test_buffer_cache_reuses_freed_buffers_and_keeps_to_its_limit(rng) -> None:
    previous = sg.get_cache_limit()
    assert previous > 0
    try:
        sg.empty_cache()
        assert sg.cached_bytes() == 0
        x = randn(rng, 64, 64, 64)  # 1 MB: above the cache's minimum size
        expected = np.where(x > 0, x, 0.5 * x)
        first = F.leaky_relu(sg.tensor(x), 0.5)
        del first
        assert sg.cached_bytes() >= x.nbytes  # the freed result is kept...
        reused = F.leaky_relu(sg.tensor(x), 0.5)  # ...and reused: every value is overwritten
        np.testing.assert_array_equal(reused.numpy(), expected)
        del reused
        sg.set_cache_limit(x.nbytes)  # lowering the limit frees what lies beyond it
        assert sg.get_cache_limit() == x.nbytes and sg.cached_bytes() <= x.nbytes
        sg.set_cache_limit(0)
        assert sg.cached_bytes() == 0
        F.leaky_relu(sg.tensor(x), 0.5)
        assert sg.cached_bytes() == 0  # off: nothing is kept
        for bad in (-1, 2**64):
            with pytest.raises(ValueError, match="nbytes"):
                sg.set_cache_limit(bad)
        with pytest.raises(TypeError, match="nbytes"):
            sg.set_cache_limit(1.5)  # type: ignore[arg-type]
    finally:
        sg.set_cache_limit(previous)
        sg.empty_cache()


def test_no_grad(rng) -> None:
    t = sg.tensor(randn(rng, 3), requires_grad=True)
    with sg.no_grad():
        assert not F.relu(t).requires_grad
        with sg.no_grad():
            pass
        assert not F.relu(t).requires_grad  # the inner block restored "disabled"
    assert F.relu(t).requires_grad

    @sg.no_grad()
    def forward(x: sg.Tensor) -> sg.Tensor:
        return F.relu(x)

    assert not forward(t).requires_grad
    assert sg.set_grad_enabled(False) is True
    assert sg.set_grad_enabled(True) is False


def test_grad_returns_none_for_unused_inputs(rng) -> None:
    a, b = (sg.tensor(randn(rng, 3), requires_grad=True) for _ in range(2))
    grads = sg.autograd.grad(F.sum(F.square(a)), [a, b])
    assert grads[1] is None
    assert sg.autograd.grad(F.sum(F.square(sg.tensor(randn(rng, 3)))), a) == [None]
    np.testing.assert_allclose(grads[0].numpy(), 2 * a.numpy(), rtol=1e-6)


def test_random_is_deterministic() -> None:
    a = sg.random_normal(7, 0, (1000,)).numpy()
    np.testing.assert_array_equal(a, sg.random_normal(7, 0, (1000,)).numpy())
    assert not np.array_equal(a, sg.random_normal(7, 1000, (1000,)).numpy())
    assert not np.array_equal(a, sg.random_normal(8, 0, (1000,)).numpy())
    assert abs(a.mean()) < 0.15 and abs(a.std() - 1) < 0.1
    u = sg.random_uniform(seed=7, offset=0, shape=[10, 100]).numpy()
    assert u.shape == (10, 100) and u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.05


def test_op_names_cover_the_registry() -> None:
    registry = {
        "linear", "matmul", "conv2d", "conv_transpose2d", "batch_norm", "instance_norm", "relu", "tanh", "sigmoid",
        "softplus", "sqrt", "rsqrt", "exp", "log", "square", "abs", "neg", "leaky_relu", "add", "sub", "mul", "div",
        "sum", "mean", "reshape", "cat", "narrow", "zero_pad2d", "reflection_pad2d", "upsample_nearest2d",
        "upsample_bilinear2d", "avg_pool2d", "upfirdn2d", "adain", "modulated_conv2d", "minibatch_stddev",
        "bce_with_logits", "mse", "l1",
    }
    assert registry <= set(sg.op_names())


def test_version_and_error_type() -> None:
    assert sg.__version__
    assert issubclass(sg.SwiftGANError, RuntimeError)


def test_ops_run_concurrently_from_python_threads(rng) -> None:
    """The GIL is released during ops: threads computing at once get the serial results."""
    xs = [randn(rng, 2, 3, 16, 16) for _ in range(8)]
    weight = randn(rng, 4, 3, 3, 3)
    serial = [F.conv2d(x, weight, padding=1) for x in xs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda x: F.conv2d(x, weight, padding=1), xs))
    for expected, actual in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(actual, expected)
