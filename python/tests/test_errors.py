"""Bad input never crashes: each raises the right exception type with a message naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import swiftgan as sg
from swiftgan import _native
from swiftgan import functional as F

from helpers import randn


@pytest.fixture
def conv_args(rng) -> tuple[np.ndarray, np.ndarray]:
    return randn(rng, 2, 3, 8, 8), randn(rng, 4, 3, 3, 3)


@pytest.mark.parametrize(
    "weight, got",
    [
        (np.zeros((4, 3, 3, 3)), "float64"),
        (np.zeros((4, 3, 3, 3), np.int64), "int64"),
        (np.zeros((4, 3, 3, 3), ">f4"), ">f4"),
        ([[1.0]], "list"),
        (1.5, "float"),
        (np.float32(1.0), "float32"),
        ("weights", "str"),
    ],
)
def test_wrong_kind_is_type_error(conv_args, weight, got) -> None:
    x, _ = conv_args
    with pytest.raises(TypeError, match=rf"conv2d: argument 'weight' must be a float32 numpy array, got .*{got}"):
        F.conv2d(x, weight)


def test_non_contiguous_is_value_error(conv_args) -> None:
    x, weight = conv_args
    with pytest.raises(ValueError, match=r"conv2d: argument 'x' must be C-contiguous.*np\.ascontiguousarray"):
        F.conv2d(x.transpose(0, 1, 3, 2), weight)
    with pytest.raises(ValueError, match=r"argument 'weight' must be C-contiguous"):
        F.conv2d(x, weight[:, :, ::2, ::2])


def test_tensor_rejects_bad_arrays() -> None:
    with pytest.raises(TypeError, match=r"tensor: argument 'array' must be a float32 numpy array, got list"):
        sg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"got float64"):
        sg.tensor(np.zeros(3))
    with pytest.raises(ValueError, match=r"tensor: argument 'array' has 9 dimensions; at most 8"):
        sg.tensor(np.zeros((1,) * 9, np.float32))
    with pytest.raises(TypeError, match="cannot create"):
        sg.Tensor()


@pytest.mark.parametrize(
    "x_shape, weight_shape, kwargs, message",
    [
        ((3, 8, 8), (4, 3, 3, 3), {}, r"conv2d: argument 'x' must be 4-D"),
        ((2, 3, 8, 8), (4, 3, 3), {}, r"conv2d: argument 'weight' must be 4-D"),
        ((2, 3, 0, 8), (4, 3, 3, 3), {}, r"conv2d: argument 'x' has a zero-size dimension"),
        ((2, 3, 8, 8), (0, 3, 3, 3), {}, r"conv2d: argument 'weight' has a zero-size dimension"),
        ((2, 3, 8, 8), (4, 5, 3, 3), {}, r"conv2d: argument 'weight' expects 5 input channels, but 'x' has 3"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 0}, r"conv2d: argument 'stride' must be a positive"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": -2}, r"conv2d: argument 'stride' must be a positive"),
        ((2, 3, 8, 8), (4, 3, 3, 3), {"padding": -1}, r"conv2d: argument 'padding' must be a non-negative"),
        ((2, 3, 2, 2), (4, 3, 3, 3), {}, r"conv2d: kernel 3x3 is larger than the padded input"),
    ],
)
def test_bad_shapes_and_values_are_value_errors(rng, x_shape, weight_shape, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        F.conv2d(randn(rng, *x_shape), randn(rng, *weight_shape), **kwargs)


def test_bad_bias_and_engine_shape_checks(rng, conv_args) -> None:
    x, weight = conv_args
    with pytest.raises(ValueError, match=r"conv2d: argument 'bias' must have shape \[4\]"):
        F.conv2d(x, weight, randn(rng, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: argument 'output_padding'"):
        F.conv_transpose2d(x, randn(rng, 3, 4, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"linear: argument 'x'"):
        F.linear(randn(rng, 2, 3, 4), randn(rng, 5, 4))
    with pytest.raises(ValueError, match=r"mse.*argument 'y' must have the shape of 'x'"):
        F.mse_loss(randn(rng, 2, 3), randn(rng, 3, 2))
    with pytest.raises(ValueError, match=r"minibatch_stddev: batch size 3 must be divisible"):
        F.minibatch_stddev(randn(rng, 3, 2, 4, 4), group=2)
    with pytest.raises(ValueError, match=r"cannot broadcast|broadcast"):
        F.add(randn(rng, 2, 3), randn(rng, 4))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape"):
        F.reshape(randn(rng, 2, 3), (4, 2))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x, w: F.conv2d(x, w, stride=1.5), TypeError, r"conv2d: argument 'stride' must be an int, got float"),
        (lambda x, w: F.conv2d(x, w, padding=True), TypeError, r"conv2d: argument 'padding' must be an int, got bool"),
        (lambda x, w: F.leaky_relu(x, "0.2"), TypeError, r"leaky_relu: argument 'negative_slope' must be a float"),
        (lambda x, w: F.batch_norm(x, training=1), TypeError, r"batch_norm: argument 'training' must be a bool"),
        (lambda x, w: F.interpolate(x, mode="bicubic"), ValueError, r"interpolate: argument 'mode' must be one of"),
        (lambda x, w: F.interpolate(x, scale_factor=2.0), TypeError, r"interpolate: argument 'scale_factor'"),
        (lambda x, w: F.pad(x, (1, 2)), ValueError, r"pad: argument 'pad' must be an int or 4 ints"),
        (lambda x, w: F.pad(x, 1, mode="circular"), ValueError, r"pad: argument 'mode'"),
        (lambda x, w: F.mse_loss(x, x, reduction="avg"), ValueError, r"mse_loss: argument 'reduction'"),
        (lambda x, w: F.mse_loss(x, x, reduction=None), TypeError, r"mse_loss: argument 'reduction' must be a str"),
        (lambda x, w: F.sum(x, dim=(1, 2.0)), TypeError, r"sum: argument 'dim' must be an int"),
        (lambda x, w: F.cat(x), TypeError, r"cat: argument 'tensors' must be a sequence"),
        (lambda x, w: F.cat([x, x.astype(np.float64)]), TypeError, r"cat: argument 'tensors\[1\]'"),
        (lambda x, w: F.upfirdn2d(x, w, padding=(1, 1, 1)), ValueError, r"upfirdn2d: argument 'padding'"),
    ],
)
def test_python_level_argument_kinds(conv_args, call, error, message) -> None:
    with pytest.raises(error, match=message):
        call(*conv_args)


def test_batch_norm_rejects_read_only_running_stats(rng) -> None:
    stats = np.zeros(3, np.float32)
    stats.flags.writeable = False
    with pytest.raises(ValueError, match=r"batch_norm: argument 'running_mean' is read-only"):
        F.batch_norm(randn(rng, 4, 3, 2, 2), stats, np.ones(3, np.float32), training=True)


def test_unknown_ops_and_arguments() -> None:
    x = sg.tensor(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"unknown op 'no_such_op'"):
        _native.op("no_such_op", {"x": x}, {})
    with pytest.raises(ValueError, match=r"relu: unknown input 'y'"):
        _native.op("relu", {"y": x}, {})
    with pytest.raises(ValueError, match=r"relu: missing required input 'x'"):
        _native.op("relu", {}, {})
    with pytest.raises(ValueError, match=r"relu: unknown argument 'slope'"):
        _native.op("relu", {"x": x}, {"slope": 0.1})
    with pytest.raises(TypeError, match=r"relu: argument 'x' must be a swiftgan.Tensor or None, got numpy.ndarray"):
        _native.op("relu", {"x": np.zeros(3, np.float32)}, {})
    with pytest.raises(TypeError, match=r"relu: attribute 'slope' must be a bool, int or float, got str"):
        _native.op("relu", {"x": x}, {"slope": "a"})
    with pytest.raises(ValueError, match=r"vjp: unknown op 'no_such_op'"):
        F.vjp("no_such_op", {}, np.zeros(1, np.float32))


X = np.ones((2, 3), np.float32)
X64 = X.astype(np.float64)


@pytest.mark.parametrize(
    "args, message",
    [
        (("relu", [X], X), r"vjp: argument 'inputs' must be a mapping of argument names to arrays .*got list"),
        (("relu", (X,), X), r"vjp: argument 'inputs' must be a mapping .*got tuple"),
        (("relu", X, X), r"vjp: argument 'inputs' must be a mapping .*got ndarray"),
        (("relu", {0: X}, X), r"vjp: argument 'inputs' must map argument names \(str\) to arrays, got the key 0"),
        (("relu", {"x": X}, [1.0, 2.0]), r"vjp: argument 'grad_out' must be a float32 numpy array or a swiftgan"),
        (("relu", {"x": X}, 1.0), r"vjp: argument 'grad_out' must be a float32 numpy array or a swiftgan"),
        (("relu", {"x": X}, X64), r"vjp: argument 'grad_out' must be a float32 numpy array, got float64"),
        ((["relu"], {"x": X}, X), r"vjp: argument 'op_name' must be a str, got list"),
    ],
)
def test_vjp_rejects_wrong_containers(args, message) -> None:
    with pytest.raises(TypeError, match=message):
        F.vjp(*args)
    out, grads = F.vjp("relu", {"x": X}, X)  # the right containers
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(grads["x"], X)


@pytest.mark.parametrize("taps, got", [("1331", "str"), (b"13", "bytes"), (None, "NoneType"), (3, "int"),
                                       ({1: 2}, "dict"), (iter([1, 3]), "list_iterator")])
def test_setup_filter_rejects_what_is_not_a_sequence_of_numbers(taps, got) -> None:
    with pytest.raises(TypeError, match=rf"setup_filter: argument 'taps' must be a sequence of numbers, got {got}"):
        F.setup_filter(taps)
    np.testing.assert_array_equal(F.setup_filter(np.array([1.0, 1.0])), np.full((2, 2), 0.25, np.float32))


def test_autograd_errors(rng) -> None:
    x = sg.tensor(randn(rng, 3), requires_grad=True)
    y = F.sum(F.square(x))
    with pytest.raises(TypeError, match=r"grad: argument 'inputs' item 0 must be a swiftgan.Tensor, got int"):
        sg.autograd.grad(y, [1])
    with pytest.raises(ValueError, match=r"grad: 'grad_outputs' has 2 items but 'outputs' has 1"):
        sg.autograd.grad(y, x, [None, None])
    with pytest.raises(TypeError, match=r"grad: argument 'grad_outputs\[0\]' must be a float32 numpy array"):
        sg.autograd.grad(y, x, [np.ones((), np.float64)])
    with pytest.raises(ValueError, match="does not require grad"):
        F.sum(F.square(sg.tensor(randn(rng, 3)))).backward()
    with pytest.raises(ValueError):
        F.relu(x).requires_grad = False  # only leaves may change requires_grad


def test_runtime_argument_errors(rng) -> None:
    with pytest.raises(ValueError, match=r"set_num_threads: argument 'n' must be >= 1"):
        sg.set_num_threads(0)
    with pytest.raises(TypeError, match=r"set_num_threads: argument 'n' must be an int"):
        sg.set_num_threads(2.0)
    with pytest.raises(TypeError, match=r"set_grad_enabled: argument 'enabled' must be a bool"):
        sg.set_grad_enabled(1)
    with pytest.raises(ValueError, match=r"random_normal: argument 'shape' must hold non-negative ints"):
        sg.random_normal(0, 0, (2, -1))
    with pytest.raises(ValueError, match=r"random_normal: argument 'shape' must hold non-negative ints"):
        sg.random_normal(0, 0, (2**40, 2**40))
    with pytest.raises(ValueError, match=r"random_uniform: argument 'shape' has 9 dimensions"):
        sg.random_uniform(0, 0, (1,) * 9)
    with pytest.raises(ValueError, match=r"random_normal: argument 'seed' must be an int in \[0, 2\*\*64\)"):
        sg.random_normal(-1, 0, (2,))
    with pytest.raises(TypeError, match=r"random_normal: argument 'shape' must be a sequence of ints"):
        sg.random_normal(0, 0, 3)


def test_optimizer_errors(rng) -> None:
    param = sg.tensor(randn(rng, 3), requires_grad=True)
    with pytest.raises(TypeError, match=r"Optimizer: argument 'params' item 0 must be a swiftgan.Tensor, got numpy"):
        sg.optim.Adam([randn(rng, 3)])
    with pytest.raises(ValueError, match="params\\[0\\]"):
        sg.optim.Adam([sg.tensor(randn(rng, 3))])
    with pytest.raises(ValueError, match="beta1"):
        sg.optim.Adam([param], betas=(1.5, 0.9))
    with pytest.raises(ValueError, match="betas"):
        sg.optim.Adam([param], betas=0.9)
    with pytest.raises(ValueError, match="kind"):
        _native.Optimizer("rmsprop", [param], {})
    with pytest.raises(ValueError, match="decay"):
        _native.ema_update([param], [param], 1.5)
    with pytest.raises(ValueError, match=r"ema_update: 'ema' has 1 tensors but 'params' has 0"):
        _native.ema_update([param], [], 0.5)
    with pytest.raises(ValueError, match=r"Tensor.copy_: argument 'array' must have shape \(3,\)"):
        param.copy_(np.zeros(4, np.float32))
