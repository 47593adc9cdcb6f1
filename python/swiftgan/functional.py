"""Functional ops, named and ordered like ``torch.nn.functional``, computed by the Swift engine.

Every function takes numpy float32 arrays or :class:`swiftgan.Tensor` handles (mixing is allowed). When
every array argument is a numpy array the result is a numpy array; when any is a Tensor the result is a
Tensor, recorded on the autodiff tape, so graphs built here can be differentiated with
:func:`swiftgan.autograd.grad`. Each function's ``typing.overload`` signatures say the same to type checkers: one
for numpy arrays alone, returning ``np.ndarray``, then one per array parameter that is a Tensor, returning
``Tensor`` (two for an optional parameter after other optional ones: passed positionally, or by keyword).

Layouts are PyTorch's: NCHW activations, conv weight ``[out, in, kh, kw]``, conv-transpose weight
``[in, out, kh, kw]``, linear weight ``[out, in]``.

Python-level argument kinds (ints, flags, mode strings) are checked here; shapes are checked by the engine,
which raises ``ValueError`` with a message naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import overload

import numpy as np

from swiftgan import _native, autograd
from swiftgan._checks import _check_flag, _check_float, _check_int, _choice, _kind_error
from swiftgan._native import Tensor

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "avg_pool2d",
    "relu",
    "leaky_relu",
    "clamp",
    "softplus",
    "tanh",
    "sigmoid",
    "batch_norm",
    "instance_norm",
    "linear",
    "binary_cross_entropy_with_logits",
    "bce_with_logits",
    "l1_loss",
    "mse_loss",
    "pad",
    "interpolate",
    "matmul",
    "permute",
    "add",
    "sub",
    "mul",
    "div",
    "sum",
    "mean",
    "sqrt",
    "rsqrt",
    "exp",
    "log",
    "square",
    "abs",
    "neg",
    "reshape",
    "cat",
    "narrow",
    "upfirdn2d",
    "setup_filter",
    "adain",
    "modulated_conv2d",
    "minibatch_stddev",
    "vjp",
]

Array = np.ndarray | Tensor
"""An op argument or result: a float32 numpy array or an engine Tensor."""

Ints = int | Sequence[int]
"""An int, or a sequence of ints (dimensions, shapes)."""
Padding4 = int | Sequence[int]
"""An int for all four sides, or ``(left, right, top, bottom)``."""

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}


# ---------------------------------------------------------------------------------------------------------
# plumbing: attribute checks (argument kinds: swiftgan._checks) and the one call into the engine


def _as_tensor(caller: str, name: str, value: Array | None) -> Tensor | None:
    """``value`` as a Tensor (numpy arrays are copied in); None stays None."""
    if value is None or isinstance(value, Tensor):
        return value
    return _native.tensor(value, name=name, caller=caller)


def _as_tuple(value: object) -> object:
    """An int as a one-element tuple; lists as tuples; None and anything else unchanged (for ``_attrs`` to check)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (value,)
    return tuple(value) if isinstance(value, (tuple, list)) else value


def _padding4(caller: str, name: str, value: Padding4) -> tuple[int, ...]:
    """``value`` as ``(left, right, top, bottom)``: an int pads all four sides."""
    if isinstance(value, (tuple, list)):
        if len(value) != 4:
            raise ValueError(
                f"{caller}: argument '{name}' must be an int or 4 ints (left, right, top, bottom), got {len(value)}"
            )
        return tuple(_check_int(caller, name, item) for item in value)
    return (_check_int(caller, name, value),) * 4


def _attrs(
    caller: str, ints: Mapping[str, object], floats: Mapping[str, object], flags: Mapping[str, object]
) -> dict[str, float | int | bool]:
    """The engine's attribute dict: kinds checked, None dropped, sequences flattened to ``name.0``, ``name.1``..."""
    attrs: dict[str, float | int | bool] = {}
    for values, check in ((ints, _check_int), (floats, _check_float), (flags, _check_flag)):
        for name, value in values.items():
            if isinstance(value, (tuple, list)):
                attrs.update({f"{name}.{i}": check(caller, name, item) for i, item in enumerate(value)})
            elif value is not None:
                attrs[name] = check(caller, name, value)
    return attrs


def _run(
    op: str,
    inputs: Mapping[str, Array | None],
    *,
    ints: Mapping[str, object] | None = None,
    floats: Mapping[str, object] | None = None,
    flags: Mapping[str, object] | None = None,
    caller: str | None = None,
    numpy_out: bool | None = None,
) -> Array:
    """Runs the engine op ``op`` on named inputs (arrays are copied into Tensors) and attributes.

    ``ints``, ``floats`` and ``flags`` hold attributes of those kinds, checked here (see ``_attrs``).
    ``caller`` (default ``op``) names the public function in error messages. The result is a numpy array
    when ``numpy_out`` is true, which by default means that no input is a Tensor.
    """
    caller = caller or op
    if numpy_out is None:
        numpy_out = not any(isinstance(value, Tensor) for value in inputs.values())
    tensors = {name: _as_tensor(caller, name, value) for name, value in inputs.items()}
    out = _native.op(op, tensors, _attrs(caller, ints or {}, floats or {}, flags or {}))
    return out.numpy() if numpy_out else out


def _operand(caller: str, name: str, value: Array | float) -> Array:
    """A Python number as a 0-d float32 array; arrays and Tensors unchanged; TypeError for anything else (bools
    included)."""
    if isinstance(value, (np.ndarray, Tensor)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=np.float32)
    raise _kind_error(caller, name, "a float32 numpy array, a swiftgan.Tensor or a number", value)


# ---------------------------------------------------------------------------------------------------------
# convolution and pooling


@overload
def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = ..., stride: int = ..., padding: int = ...
) -> np.ndarray: ...
@overload
def conv2d(x: Tensor, weight: Array, bias: Array | None = ..., stride: int = ..., padding: int = ...) -> Tensor: ...
@overload
def conv2d(x: Array, weight: Tensor, bias: Array | None = ..., stride: int = ..., padding: int = ...) -> Tensor: ...
@overload
def conv2d(x: Array, weight: Array, bias: Tensor, stride: int = ..., padding: int = ...) -> Tensor: ...
def conv2d(x: Array, weight: Array, bias: Array | None = None, stride: int = 1, padding: int = 0) -> Array:
    """2-D convolution (cross-correlation): x ``[N, C, H, W]``, weight ``[O, C, kh, kw]``, bias ``[O]``."""
    return _run("conv2d", {"x": x, "weight": weight, "bias": bias}, ints={"stride": stride, "padding": padding})


@overload
def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = ...,
    stride: int = ...,
    padding: int = ...,
    output_padding: int = ...,
) -> np.ndarray: ...
@overload
def conv_transpose2d(
    x: Tensor, weight: Array, bias: Array | None = ..., stride: int = ..., padding: int = ..., output_padding: int = ...
) -> Tensor: ...
@overload
def conv_transpose2d(
    x: Array, weight: Tensor, bias: Array | None = ..., stride: int = ..., padding: int = ..., output_padding: int = ...
) -> Tensor: ...
@overload
def conv_transpose2d(
    x: Array, weight: Array, bias: Tensor, stride: int = ..., padding: int = ..., output_padding: int = ...
) -> Tensor: ...
def conv_transpose2d(
    x: Array,
    weight: Array,
    bias: Array | None = None,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
) -> Array:
    """2-D transposed convolution: x ``[N, C, H, W]``, weight ``[C, O, kh, kw]``, bias ``[O]``.

    The output is ``(H - 1) * stride - 2 * padding + kh + output_padding`` high (likewise wide).
    """
    return _run(
        "conv_transpose2d",
        {"x": x, "weight": weight, "bias": bias},
        ints={"stride": stride, "padding": padding, "output_padding": output_padding},
    )


@overload
def avg_pool2d(x: np.ndarray, kernel_size: int, stride: int | None = ..., padding: int = ...) -> np.ndarray: ...
@overload
def avg_pool2d(x: Tensor, kernel_size: int, stride: int | None = ..., padding: int = ...) -> Tensor: ...
def avg_pool2d(x: Array, kernel_size: int, stride: int | None = None, padding: int = 0) -> Array:
    """Average pooling over ``kernel_size`` squares; ``stride`` defaults to ``kernel_size``."""
    return _run("avg_pool2d", {"x": x}, ints={"kernel_size": kernel_size, "stride": stride, "padding": padding})


# ---------------------------------------------------------------------------------------------------------
# activations


@overload
def relu(x: np.ndarray) -> np.ndarray: ...
@overload
def relu(x: Tensor) -> Tensor: ...
def relu(x: Array) -> Array:
    """``max(x, 0)``."""
    return _run("relu", {"x": x})


@overload
def leaky_relu(x: np.ndarray, negative_slope: float = ...) -> np.ndarray: ...
@overload
def leaky_relu(x: Tensor, negative_slope: float = ...) -> Tensor: ...
def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """``x`` where positive, else ``negative_slope * x``."""
    return _run("leaky_relu", {"x": x}, floats={"negative_slope": negative_slope})


@overload
def clamp(x: np.ndarray, min: float | None = ..., max: float | None = ...) -> np.ndarray: ...
@overload
def clamp(x: Tensor, min: float | None = ..., max: float | None = ...) -> Tensor: ...
def clamp(x: Array, min: float | None = None, max: float | None = None) -> Array:  # noqa: A002 (torch's names)
    """``x`` limited to ``[min, max]`` (either bound may be None), as ``torch.clamp``; the gradient passes where
    ``min <= x <= max``."""
    bounds = {name: value for name, value in (("min", min), ("max", max)) if value is not None}
    return _run("clamp", {"x": x}, floats=bounds)


@overload
def softplus(x: np.ndarray) -> np.ndarray: ...
@overload
def softplus(x: Tensor) -> Tensor: ...
def softplus(x: Array) -> Array:
    """``log(1 + exp(x))``, computed stably."""
    return _run("softplus", {"x": x})


@overload
def tanh(x: np.ndarray) -> np.ndarray: ...
@overload
def tanh(x: Tensor) -> Tensor: ...
def tanh(x: Array) -> Array:
    """Hyperbolic tangent."""
    return _run("tanh", {"x": x})


@overload
def sigmoid(x: np.ndarray) -> np.ndarray: ...
@overload
def sigmoid(x: Tensor) -> Tensor: ...
def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))``."""
    return _run("sigmoid", {"x": x})


# ---------------------------------------------------------------------------------------------------------
# normalization and linear layers


@overload
def batch_norm(
    x: np.ndarray,
    running_mean: np.ndarray | None = ...,
    running_var: np.ndarray | None = ...,
    weight: np.ndarray | None = ...,
    bias: np.ndarray | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> np.ndarray: ...
@overload
def batch_norm(
    x: Tensor,
    running_mean: Array | None = ...,
    running_var: Array | None = ...,
    weight: Array | None = ...,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Tensor,
    running_var: Array | None = ...,
    weight: Array | None = ...,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None,
    running_var: Tensor,
    weight: Array | None = ...,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None = ...,
    *,
    running_var: Tensor,
    weight: Array | None = ...,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None,
    running_var: Array | None,
    weight: Tensor,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None = ...,
    running_var: Array | None = ...,
    *,
    weight: Tensor,
    bias: Array | None = ...,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None,
    running_var: Array | None,
    weight: Array | None,
    bias: Tensor,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
@overload
def batch_norm(
    x: Array,
    running_mean: Array | None = ...,
    running_var: Array | None = ...,
    weight: Array | None = ...,
    *,
    bias: Tensor,
    training: bool = ...,
    momentum: float = ...,
    eps: float = ...,
) -> Tensor: ...
def batch_norm(
    x: Array,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    weight: Array | None = None,
    bias: Array | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Array:
    """Batch normalization over every dimension but the channel dimension 1 of x ``[N, C, ...]``.

    In training the batch statistics are used and the running statistics, if given, are updated in place
    (``running = (1 - momentum) * running + momentum * batch``, unbiased variance), as in PyTorch: numpy
    arrays passed as ``running_mean``/``running_var`` are written back. Otherwise the running statistics
    normalize. ``weight`` and ``bias`` (``[C]``) are the optional affine parameters.
    """
    numpy_out = not any(isinstance(value, Tensor) for value in (x, running_mean, running_var, weight, bias))
    stats: dict[str, Array | None] = {"running_mean": running_mean, "running_var": running_var}
    updated: dict[str, np.ndarray] = {}
    if _check_flag("batch_norm", "training", training):
        updated = {name: array for name, array in stats.items() if isinstance(array, np.ndarray)}
    for name, array in updated.items():
        if not array.flags.writeable:
            raise ValueError(f"batch_norm: argument '{name}' is read-only but training updates it in place")
    # numpy statistics that training updates go in as Tensors of this call's own, which are copied back after
    copies = {name: _native.tensor(array, name=name, caller="batch_norm") for name, array in updated.items()}
    out = _run(
        "batch_norm",
        {"x": x, **stats, **copies, "weight": weight, "bias": bias},
        floats={"momentum": momentum, "eps": eps},
        flags={"training": training},
        numpy_out=numpy_out,
    )
    for name, array in updated.items():
        array[...] = copies[name].numpy()
    return out


@overload
def instance_norm(
    x: np.ndarray, weight: np.ndarray | None = ..., bias: np.ndarray | None = ..., eps: float = ...
) -> np.ndarray: ...
@overload
def instance_norm(x: Tensor, weight: Array | None = ..., bias: Array | None = ..., eps: float = ...) -> Tensor: ...
@overload
def instance_norm(x: Array, weight: Tensor, bias: Array | None = ..., eps: float = ...) -> Tensor: ...
@overload
def instance_norm(x: Array, weight: Array | None, bias: Tensor, eps: float = ...) -> Tensor: ...
@overload
def instance_norm(x: Array, weight: Array | None = ..., *, bias: Tensor, eps: float = ...) -> Tensor: ...
def instance_norm(x: Array, weight: Array | None = None, bias: Array | None = None, eps: float = 1e-5) -> Array:
    """Normalizes each (sample, channel) plane of x ``[N, C, H, W]``; optional affine ``weight``/``bias`` ``[C]``."""
    return _run("instance_norm", {"x": x, "weight": weight, "bias": bias}, floats={"eps": eps})


@overload
def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = ...) -> np.ndarray: ...
@overload
def linear(x: Tensor, weight: Array, bias: Array | None = ...) -> Tensor: ...
@overload
def linear(x: Array, weight: Tensor, bias: Array | None = ...) -> Tensor: ...
@overload
def linear(x: Array, weight: Array, bias: Tensor) -> Tensor: ...
def linear(x: Array, weight: Array, bias: Array | None = None) -> Array:
    """``x @ weight.T + bias``: x ``[N, in]``, weight ``[out, in]``, bias ``[out]``."""
    return _run("linear", {"x": x, "weight": weight, "bias": bias})


# ---------------------------------------------------------------------------------------------------------
# losses (reduction: "none", "mean" or "sum")


@overload
def binary_cross_entropy_with_logits(
    x: np.ndarray, target: np.ndarray | float = ..., reduction: str = ...
) -> np.ndarray: ...
@overload
def binary_cross_entropy_with_logits(x: Tensor, target: Array | float = ..., reduction: str = ...) -> Tensor: ...
@overload
def binary_cross_entropy_with_logits(x: Array, target: Tensor, reduction: str = ...) -> Tensor: ...
def binary_cross_entropy_with_logits(x: Array, target: Array | float = 1.0, reduction: str = "mean") -> Array:
    """Binary cross-entropy of logits ``x`` against ``target``: a float label for every element, or an array."""
    caller = "binary_cross_entropy_with_logits"
    reduction_code = _choice(caller, "reduction", reduction, _REDUCTIONS)
    if isinstance(target, (Tensor, np.ndarray)):
        return _run("bce_with_logits", {"x": x, "target": target}, ints={"reduction": reduction_code}, caller=caller)
    return _run(
        "bce_with_logits", {"x": x}, ints={"reduction": reduction_code}, floats={"target": target}, caller=caller
    )


bce_with_logits = binary_cross_entropy_with_logits


@overload
def l1_loss(x: np.ndarray, y: np.ndarray, reduction: str = ...) -> np.ndarray: ...
@overload
def l1_loss(x: Tensor, y: Array, reduction: str = ...) -> Tensor: ...
@overload
def l1_loss(x: Array, y: Tensor, reduction: str = ...) -> Tensor: ...
def l1_loss(x: Array, y: Array, reduction: str = "mean") -> Array:
    """Absolute error ``|x - y|``, reduced."""
    reduction_code = _choice("l1_loss", "reduction", reduction, _REDUCTIONS)
    return _run("l1", {"x": x, "y": y}, ints={"reduction": reduction_code}, caller="l1_loss")


@overload
def mse_loss(x: np.ndarray, y: np.ndarray, reduction: str = ...) -> np.ndarray: ...
@overload
def mse_loss(x: Tensor, y: Array, reduction: str = ...) -> Tensor: ...
@overload
def mse_loss(x: Array, y: Tensor, reduction: str = ...) -> Tensor: ...
def mse_loss(x: Array, y: Array, reduction: str = "mean") -> Array:
    """Squared error ``(x - y)**2``, reduced."""
    reduction_code = _choice("mse_loss", "reduction", reduction, _REDUCTIONS)
    return _run("mse", {"x": x, "y": y}, ints={"reduction": reduction_code}, caller="mse_loss")


# ---------------------------------------------------------------------------------------------------------
# vision


_PAD_OPS = {"constant": "zero_pad2d", "reflect": "reflection_pad2d"}
_UPSAMPLE_OPS = {"nearest": "upsample_nearest2d", "bilinear": "upsample_bilinear2d"}


@overload
def pad(x: np.ndarray, pad: Padding4, mode: str = ...) -> np.ndarray: ...
@overload
def pad(x: Tensor, pad: Padding4, mode: str = ...) -> Tensor: ...
def pad(x: Array, pad: Padding4, mode: str = "constant") -> Array:
    """Pads the last two dimensions of x ``[N, C, H, W]`` by ``pad = (left, right, top, bottom)`` (an int: all four).

    ``mode`` is ``"constant"`` (zeros) or ``"reflect"`` (mirror without repeating the edge).
    """
    op = _choice("pad", "mode", mode, _PAD_OPS)
    return _run(op, {"x": x}, ints={"padding": _padding4("pad", "pad", pad)}, caller="pad")


@overload
def interpolate(x: np.ndarray, scale_factor: int = ..., mode: str = ..., align_corners: bool | None = ...
                ) -> np.ndarray: ...
@overload
def interpolate(x: Tensor, scale_factor: int = ..., mode: str = ..., align_corners: bool | None = ...) -> Tensor: ...
def interpolate(x: Array, scale_factor: int = 2, mode: str = "nearest", align_corners: bool | None = None) -> Array:
    """Upsamples x ``[N, C, H, W]`` by an integer ``scale_factor``, as ``torch.nn.functional.interpolate``.

    ``mode`` is ``"nearest"`` or ``"bilinear"``. For bilinear, ``align_corners`` (None: False, PyTorch's default)
    chooses how output pixels map onto the input: False maps pixel centres (output ``o`` reads input coordinate
    ``(o + 0.5) / scale_factor - 0.5``), True aligns the corner pixels (``o * (H - 1) / (H * scale_factor - 1)``).
    Nearest takes no ``align_corners`` (ValueError, as PyTorch).
    """
    op = _choice("interpolate", "mode", mode, _UPSAMPLE_OPS)
    scale = _check_int("interpolate", "scale_factor", scale_factor)
    if align_corners is None:
        return _run(op, {"x": x}, ints={"scale": scale}, caller="interpolate")
    corners = _check_flag("interpolate", "align_corners", align_corners)
    if mode != "bilinear":
        raise ValueError(f"interpolate: align_corners can only be set with mode='bilinear', got mode={mode!r}")
    return _run(op, {"x": x}, ints={"scale": scale}, flags={"align_corners": corners}, caller="interpolate")


# ---------------------------------------------------------------------------------------------------------
# tensor math (numpy broadcasting; Python numbers are 0-d operands)


@overload
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray: ...
@overload
def matmul(a: Tensor, b: Array) -> Tensor: ...
@overload
def matmul(a: Array, b: Tensor) -> Tensor: ...
def matmul(a: Array, b: Array) -> Array:
    """Matrix product of a ``[M, K]`` and b ``[K, N]``."""
    return _run("matmul", {"a": a, "b": b})


@overload
def add(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray: ...
@overload
def add(a: Tensor, b: Array | float) -> Tensor: ...
@overload
def add(a: Array | float, b: Tensor) -> Tensor: ...
def add(a: Array | float, b: Array | float) -> Array:
    """``a + b``."""
    return _run("add", {"a": _operand("add", "a", a), "b": _operand("add", "b", b)})


@overload
def sub(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray: ...
@overload
def sub(a: Tensor, b: Array | float) -> Tensor: ...
@overload
def sub(a: Array | float, b: Tensor) -> Tensor: ...
def sub(a: Array | float, b: Array | float) -> Array:
    """``a - b``."""
    return _run("sub", {"a": _operand("sub", "a", a), "b": _operand("sub", "b", b)})


@overload
def mul(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray: ...
@overload
def mul(a: Tensor, b: Array | float) -> Tensor: ...
@overload
def mul(a: Array | float, b: Tensor) -> Tensor: ...
def mul(a: Array | float, b: Array | float) -> Array:
    """``a * b``."""
    return _run("mul", {"a": _operand("mul", "a", a), "b": _operand("mul", "b", b)})


@overload
def div(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray: ...
@overload
def div(a: Tensor, b: Array | float) -> Tensor: ...
@overload
def div(a: Array | float, b: Tensor) -> Tensor: ...
def div(a: Array | float, b: Array | float) -> Array:
    """``a / b``."""
    return _run("div", {"a": _operand("div", "a", a), "b": _operand("div", "b", b)})


@overload
def sum(x: np.ndarray, dim: Ints | None = ..., keepdim: bool = ...) -> np.ndarray: ...
@overload
def sum(x: Tensor, dim: Ints | None = ..., keepdim: bool = ...) -> Tensor: ...
def sum(x: Array, dim: Ints | None = None, keepdim: bool = False) -> Array:
    """Sum over ``dim`` (an int or a sequence of ints; None: every dimension)."""
    return _run("sum", {"x": x}, ints={"dim": _as_tuple(dim)}, flags={"keepdim": keepdim})


@overload
def mean(x: np.ndarray, dim: Ints | None = ..., keepdim: bool = ...) -> np.ndarray: ...
@overload
def mean(x: Tensor, dim: Ints | None = ..., keepdim: bool = ...) -> Tensor: ...
def mean(x: Array, dim: Ints | None = None, keepdim: bool = False) -> Array:
    """Mean over ``dim`` (an int or a sequence of ints; None: every dimension)."""
    return _run("mean", {"x": x}, ints={"dim": _as_tuple(dim)}, flags={"keepdim": keepdim})


@overload
def sqrt(x: np.ndarray) -> np.ndarray: ...
@overload
def sqrt(x: Tensor) -> Tensor: ...
def sqrt(x: Array) -> Array:
    """Square root."""
    return _run("sqrt", {"x": x})


@overload
def rsqrt(x: np.ndarray) -> np.ndarray: ...
@overload
def rsqrt(x: Tensor) -> Tensor: ...
def rsqrt(x: Array) -> Array:
    """``1 / sqrt(x)``."""
    return _run("rsqrt", {"x": x})


@overload
def exp(x: np.ndarray) -> np.ndarray: ...
@overload
def exp(x: Tensor) -> Tensor: ...
def exp(x: Array) -> Array:
    """Exponential."""
    return _run("exp", {"x": x})


@overload
def log(x: np.ndarray) -> np.ndarray: ...
@overload
def log(x: Tensor) -> Tensor: ...
def log(x: Array) -> Array:
    """Natural logarithm."""
    return _run("log", {"x": x})


@overload
def square(x: np.ndarray) -> np.ndarray: ...
@overload
def square(x: Tensor) -> Tensor: ...
def square(x: Array) -> Array:
    """``x * x``."""
    return _run("square", {"x": x})


@overload
def abs(x: np.ndarray) -> np.ndarray: ...
@overload
def abs(x: Tensor) -> Tensor: ...
def abs(x: Array) -> Array:
    """Absolute value."""
    return _run("abs", {"x": x})


@overload
def neg(x: np.ndarray) -> np.ndarray: ...
@overload
def neg(x: Tensor) -> Tensor: ...
def neg(x: Array) -> Array:
    """``-x``."""
    return _run("neg", {"x": x})


@overload
def reshape(x: np.ndarray, shape: Ints) -> np.ndarray: ...
@overload
def reshape(x: Tensor, shape: Ints) -> Tensor: ...
def reshape(x: Array, shape: Ints) -> Array:
    """``x`` with a new shape of the same size; one entry may be -1."""
    return _run("reshape", {"x": x}, ints={"shape": _as_tuple(shape)})


@overload
def permute(x: np.ndarray, dims: Ints) -> np.ndarray: ...
@overload
def permute(x: Tensor, dims: Ints) -> Tensor: ...
def permute(x: Array, dims: Ints) -> Array:
    """``x`` with its axes reordered: output axis i is input axis ``dims[i]`` (``torch.permute``)."""
    return _run("permute", {"x": x}, ints={"dims": _as_tuple(dims)})


@overload
def cat(tensors: Sequence[np.ndarray], dim: int = ...) -> np.ndarray: ...
@overload
def cat(tensors: Sequence[Tensor], dim: int = ...) -> Tensor: ...
@overload
def cat(tensors: Sequence[Array], dim: int = ...) -> Array: ...
def cat(tensors: Sequence[Array], dim: int = 0) -> Array:
    """Concatenation along ``dim`` of arrays whose other dimensions agree."""
    if isinstance(tensors, (np.ndarray, Tensor)) or not isinstance(tensors, Sequence):
        raise _kind_error("cat", "tensors", "a sequence of arrays", tensors)
    return _run(
        "cat",
        {f"x.{i}": _as_tensor("cat", f"tensors[{i}]", item) for i, item in enumerate(tensors)},
        ints={"dim": dim},
        numpy_out=not any(isinstance(item, Tensor) for item in tensors),
    )


@overload
def narrow(x: np.ndarray, dim: int, start: int, length: int) -> np.ndarray: ...
@overload
def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor: ...
def narrow(x: Array, dim: int, start: int, length: int) -> Array:
    """The slice ``start:start + length`` of ``x`` along ``dim``."""
    return _run("narrow", {"x": x}, ints={"dim": dim, "start": start, "length": length})


# ---------------------------------------------------------------------------------------------------------
# StyleGAN ops


@overload
def upfirdn2d(
    x: np.ndarray, filter: np.ndarray, up: int = ..., down: int = ..., padding: Padding4 = ..., gain: float = ...
) -> np.ndarray: ...
@overload
def upfirdn2d(
    x: Tensor, filter: Array, up: int = ..., down: int = ..., padding: Padding4 = ..., gain: float = ...
) -> Tensor: ...
@overload
def upfirdn2d(
    x: Array, filter: Tensor, up: int = ..., down: int = ..., padding: Padding4 = ..., gain: float = ...
) -> Tensor: ...
def upfirdn2d(
    x: Array, filter: Array, up: int = 1, down: int = 1, padding: Padding4 = 0, gain: float = 1.0
) -> Array:
    """Upsample, FIR-filter, downsample (StyleGAN2's ``upfirdn2d``) of x ``[N, C, H, W]``.

    Inserts ``up - 1`` zeros after every pixel, pads by ``padding = (left, right, top, bottom)`` (an int: all
    four; negative values crop), convolves every plane with ``filter`` ``[fh, fw]`` (a true convolution: the
    filter is flipped), multiplies by ``gain`` and keeps every ``down``-th pixel.
    """
    return _run(
        "upfirdn2d",
        {"x": x, "filter": filter},
        ints={"up": up, "down": down, "padding": _padding4("upfirdn2d", "padding", padding)},
        floats={"gain": gain},
    )


def setup_filter(taps: Sequence[float] = (1, 3, 3, 1)) -> np.ndarray:
    """The separable 2-D FIR filter of 1-D ``taps``: their outer product, normalized to sum 1 (float32)."""
    if isinstance(taps, (str, bytes)) or not isinstance(taps, (Sequence, np.ndarray)):
        raise _kind_error("setup_filter", "taps", "a sequence of numbers", taps)
    try:
        taps_array = np.asarray(taps, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"setup_filter: argument 'taps' must be a sequence of numbers ({error})") from None
    if taps_array.ndim != 1 or taps_array.size == 0 or not np.isfinite(taps_array).all():
        raise ValueError("setup_filter: argument 'taps' must be a non-empty 1-D sequence of finite numbers")
    kernel = np.outer(taps_array, taps_array)
    total = kernel.sum()
    if total == 0:
        raise ValueError("setup_filter: argument 'taps' must not sum to zero")
    return (kernel / total).astype(np.float32)


@overload
def adain(x: np.ndarray, style: np.ndarray, eps: float = ...) -> np.ndarray: ...
@overload
def adain(x: Tensor, style: Array, eps: float = ...) -> Tensor: ...
@overload
def adain(x: Array, style: Tensor, eps: float = ...) -> Tensor: ...
def adain(x: Array, style: Array, eps: float = 1e-8) -> Array:
    """Adaptive instance norm (StyleGAN v1): ``instance_norm(x) * (scale + 1) + bias``.

    ``style`` is ``[N, 2C]``: ``scale`` is its first C columns, ``bias`` the last C.
    """
    return _run("adain", {"x": x, "style": style}, floats={"eps": eps})


@overload
def modulated_conv2d(
    x: np.ndarray, weight: np.ndarray, style: np.ndarray, demodulate: bool = ..., padding: int = ..., eps: float = ...
) -> np.ndarray: ...
@overload
def modulated_conv2d(
    x: Tensor, weight: Array, style: Array, demodulate: bool = ..., padding: int = ..., eps: float = ...
) -> Tensor: ...
@overload
def modulated_conv2d(
    x: Array, weight: Tensor, style: Array, demodulate: bool = ..., padding: int = ..., eps: float = ...
) -> Tensor: ...
@overload
def modulated_conv2d(
    x: Array, weight: Array, style: Tensor, demodulate: bool = ..., padding: int = ..., eps: float = ...
) -> Tensor: ...
def modulated_conv2d(
    x: Array, weight: Array, style: Array, demodulate: bool = True, padding: int = 0, eps: float = 1e-8
) -> Array:
    """StyleGAN2's modulated convolution: a per-sample weight ``weight[o, i] * style[b, i]``.

    x ``[N, C, H, W]``, weight ``[O, C, kh, kw]``, style ``[N, C]``. With ``demodulate`` each output
    channel's weight is divided by ``sqrt(sum of its squares + eps)``.
    """
    return _run(
        "modulated_conv2d",
        {"x": x, "weight": weight, "style": style},
        ints={"padding": padding},
        floats={"eps": eps},
        flags={"demodulate": demodulate},
    )


@overload
def minibatch_stddev(x: np.ndarray, group: int = ..., num_channels: int = ..., eps: float = ...) -> np.ndarray: ...
@overload
def minibatch_stddev(x: Tensor, group: int = ..., num_channels: int = ..., eps: float = ...) -> Tensor: ...
def minibatch_stddev(x: Array, group: int = 4, num_channels: int = 1, eps: float = 1e-8) -> Array:
    """Appends ``num_channels`` channels holding the mean standard deviation over groups of samples.

    Samples ``i`` and ``i + N / group`` share a group (StyleGAN's ``reshape(group, -1, ...)``); N must be a
    multiple of ``group``.
    """
    return _run("minibatch_stddev", {"x": x}, ints={"group": group, "num_channels": num_channels}, floats={"eps": eps})


# ---------------------------------------------------------------------------------------------------------
# one op forward and backward


def _reflection_pad2d(x: Tensor, padding: Padding4) -> Tensor:
    """The reference fixtures' ``reflection_pad2d`` op: ``pad(x, padding, mode="reflect")``."""
    return pad(x, padding, mode="reflect")


_VJP_FUNCTIONS: dict[str, Callable[..., Tensor]] = {  # called by vjp with Tensors only, so they return Tensors
    **{
        fn.__name__: fn
        for fn in (
            conv2d, conv_transpose2d, avg_pool2d, relu, leaky_relu, softplus, tanh, sigmoid, batch_norm,
            instance_norm, linear, binary_cross_entropy_with_logits, l1_loss, mse_loss, pad, interpolate, matmul,
            add, sub, mul, div, sum, mean, sqrt, rsqrt, exp, log, square, abs, neg, reshape, narrow, upfirdn2d,
            adain, modulated_conv2d, minibatch_stddev, clamp, permute,
        )
    },
    # the reference fixtures' op names
    "bce_with_logits": binary_cross_entropy_with_logits,
    "mse": mse_loss,
    "l1": l1_loss,
    "upsample": interpolate,
    "reflection_pad2d": _reflection_pad2d,
}
# the reference fixtures' attribute names -> this module's parameter names
_FIXTURE_ATTRS = {"slope": "negative_slope", "kernel": "kernel_size", "scale": "scale_factor"}


def vjp(
    op_name: str, inputs: Mapping[str, Array], grad_out: Array, **attrs: object
) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """Runs one op forward and backward on the engine's tape.

    ``op_name`` is a function of this module (``"conv2d"``, ``"interpolate"``...) or an op name of the
    reference fixtures (``"upsample"``, ``"reflection_pad2d"``, ``"mse"``...); ``inputs`` maps the
    function's array parameters to values, each of which becomes a leaf that requires grad; ``attrs`` are
    its other arguments (fixture spellings such as ``slope``, ``kernel``, ``scale`` and ``padding`` are
    accepted). Returns the output and the gradient of ``sum(out * grad_out)`` with respect to each input
    (None where an input does not influence the output), all as numpy arrays.
    """
    if not isinstance(op_name, str):
        raise _kind_error("vjp", "op_name", "a str", op_name)
    if op_name not in _VJP_FUNCTIONS:
        raise ValueError(f"vjp: unknown op {op_name!r}; known: {', '.join(sorted(_VJP_FUNCTIONS))}")
    if not isinstance(inputs, Mapping):
        raise _kind_error("vjp", "inputs", "a mapping of argument names to arrays (e.g. {'x': x})", inputs)
    if not isinstance(grad_out, (np.ndarray, Tensor)):
        raise _kind_error("vjp", "grad_out", "a float32 numpy array or a swiftgan.Tensor", grad_out)
    fn = _VJP_FUNCTIONS[op_name]
    leaves = {}
    for name, value in inputs.items():
        if not isinstance(name, str):
            raise TypeError(f"vjp: argument 'inputs' must map argument names (str) to arrays, got the key {name!r}")
        leaf = value.detach() if isinstance(value, Tensor) else _native.tensor(value, name=name, caller="vjp")
        leaf.requires_grad = True
        leaves[name] = leaf
    seed = grad_out if isinstance(grad_out, Tensor) else _native.tensor(grad_out, name="grad_out", caller="vjp")
    out = fn(**leaves, **{_FIXTURE_ATTRS.get(name, name): value for name, value in attrs.items()})
    grads = autograd.grad(out, list(leaves.values()), seed)
    return out.numpy(), {name: None if g is None else g.numpy() for name, g in zip(leaves, grads, strict=True)}
