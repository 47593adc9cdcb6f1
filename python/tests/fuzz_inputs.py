"""Hostile-input fuzzer, run as a child process by test_hostile_inputs.py (a crash kills this process, not pytest).

Hypothesis drives every public function, constructor and method of swiftgan with arbitrary shapes, dtypes,
NaN/Inf, negative and huge sizes, wrong types and None. Each call must return or raise an ``Exception``; a
``SystemError`` (a C function that failed without setting an exception) also counts as a failure. The address
space is capped so a huge allocation that slips past the engine's checks fails fast instead of swapping.

Usage: ``python fuzz_inputs.py REPORT.json [EXAMPLES_PER_TARGET]``. Writes ``{"cases": {area: n}, "errors":
{type: n}, "failures": [...], "seconds": s}``; the repr of the call in progress goes to ``REPORT.json.last``
first, so a crash can be traced to its input.
"""

from __future__ import annotations

import collections
import faulthandler
import functools
import inspect
import json
import os
import resource
import sys
import tempfile
import time
import typing

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADDRESS_SPACE = 6 << 30
"""The child's address-space cap: room for the engine's threads and small models, none for a huge buffer."""

resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
faulthandler.enable()

import swiftgan as sg  # noqa: E402  (after the limit, so the engine starts under it)
from swiftgan import functional as F  # noqa: E402

sg.set_num_threads(1)

FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, 1e30, 3.4e38, 1e308, float("nan"), float("inf"), float("-inf")]
INTS = [0, 1, 2, 3, -1, -2, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63), 10**12, 10**30]
DTYPES = ["float32", "float32", "float32", "float64", "float16", "int64", "int32", "uint8", "bool", ">f4", "complex64"]

small_dims = st.lists(st.integers(0, 5), max_size=5)
huge_dims = st.lists(st.sampled_from([0, 1, 2, 2**20, 2**31, 2**40, 2**62]), min_size=1, max_size=4)


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    """An array of an arbitrary small shape and dtype, sometimes non-contiguous, holding NaN/Inf or extremes."""
    shape = tuple(draw(small_dims))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    values = np.asarray(draw(st.lists(st.sampled_from(FLOATS + [2.0, -3.0, 0.25]), min_size=1, max_size=4)))
    flat = np.resize(values, int(np.prod(shape)))
    with np.errstate(all="ignore"):
        array = flat.astype(dtype).reshape(shape) if dtype.kind != "b" else (flat > 0).reshape(shape)
    if draw(st.booleans()) and array.ndim >= 2 and array.shape[-1] > 1:
        array = array[..., ::2]  # non-contiguous
    return array


def float32_arrays() -> st.SearchStrategy:
    """Mostly well-typed float32 arrays, so calls reach the engine's shape checks."""
    return st.builds(lambda shape, fill: np.full(shape, fill, np.float32), small_dims.map(tuple),
                     st.sampled_from([0.0, 1.0, -2.0, float("nan"), float("inf"), 1e30]))


def tensors() -> st.SearchStrategy:
    return st.builds(lambda a, g: sg.tensor(a, requires_grad=g), float32_arrays(), st.booleans())


scalars = st.one_of(st.sampled_from(INTS), st.sampled_from(FLOATS), st.integers(-4, 16), st.booleans(),
                    st.none(), st.text(max_size=6), st.binary(max_size=4))
containers = st.one_of(st.lists(st.one_of(st.integers(-3, 8), st.sampled_from(INTS)), max_size=5).map(tuple),
                       st.lists(st.integers(-3, 8), max_size=5), huge_dims.map(tuple),
                       st.dictionaries(st.text(max_size=8), st.one_of(float32_arrays(), scalars), max_size=3),
                       st.lists(float32_arrays(), max_size=3))
anything = st.one_of(float32_arrays(), arrays(), tensors(), scalars, containers)


@functools.cache
def for_annotation(annotation: object) -> st.SearchStrategy:
    """Values for a parameter, biased by its type hint (still often of another kind); one strategy per hint, built
    once (building and validating a strategy costs more than drawing from it)."""
    text = str(annotation)
    if any(word in text for word in ("ndarray", "Array", "Tensor", "ImageLike")):
        preferred = st.one_of(float32_arrays(), tensors(), arrays())
    elif "int" in text and "float" not in text:
        preferred = st.one_of(st.integers(-4, 16), st.sampled_from(INTS), huge_dims.map(tuple))
    elif "float" in text:
        preferred = st.one_of(st.sampled_from(FLOATS), st.integers(-4, 16))
    elif "str" in text or "PathLike" in text:
        preferred = st.one_of(st.text(max_size=12), st.sampled_from(["", "AtoB", "BtoA", "const", "random", "none",
                                                                       "mean", "sum", "nearest", "bilinear", "/", "."]))
    else:
        preferred = anything
    return st.one_of(preferred, preferred, anything)


@st.composite
def call_arguments(draw: st.DrawFn, function: typing.Callable) -> tuple[list, dict]:
    """Positional and keyword arguments for ``function``: each parameter omitted (if optional) or hostile."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        return draw(st.lists(anything, max_size=4)), {}
    args, kwargs = [], {}
    for p in parameters:
        if p.name == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            if p.kind == p.VAR_POSITIONAL:
                args += draw(st.lists(anything, max_size=3))
            continue
        if p.default is not p.empty and draw(st.integers(0, 2)) == 0:
            continue
        value = draw(for_annotation(p.annotation))
        if p.kind == p.POSITIONAL_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and not kwargs and draw(st.booleans())):
            args.append(value)
        else:
            kwargs[p.name] = value
    if draw(st.integers(0, 9)) == 0:
        kwargs["no_such_argument"] = draw(anything)
    return args, kwargs


class Fuzzer:
    """Runs hostile calls, counting them and their outcomes."""

    def __init__(self, last_call_path: str) -> None:
        self.cases: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.failures: list[str] = []
        self.seconds: collections.Counter[str] = collections.Counter()
        self.last_call = os.open(last_call_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def call(self, area: str, name: str, function: typing.Callable, args: list, kwargs: dict) -> None:
        text = f"{name}(*{args!r}, **{kwargs!r})"[:4000]
        os.pwrite(self.last_call, text.encode().ljust(4096), 0)
        self.cases[area] += 1
        try:
            function(*args, **kwargs)
        except SystemError as error:
            self.failures.append(f"{text}: SystemError {error}")
        except Exception as error:  # every other exception is the contract: a Python error, no crash
            self.errors[type(error).__name__] += 1

    def run(self, area: str, name: str, function: typing.Callable, examples: int, arguments=None) -> None:
        strategy = arguments if arguments is not None else call_arguments(function)
        started = time.perf_counter()

        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck), phases=[__import__("hypothesis").Phase.generate])
        @given(strategy)
        def fuzz(drawn: tuple[list, dict]) -> None:
            self.call(area, name, function, *drawn)

        fuzz()
        self.seconds[area] += time.perf_counter() - started


def huge_cases() -> dict[str, typing.Callable[[], object]]:
    """Calls whose result would need more memory than the process may have: each must raise MemoryError."""
    x = np.ones((1, 1, 4, 4), np.float32)
    filt = np.ones((3, 3), np.float32)
    return {
        "tensor 2**31 floats": lambda: sg.random_normal(0, 0, (2**31,)),
        "tensor 2**40 floats": lambda: sg.random_uniform(0, 0, (2**20, 2**20)),
        "tensor 2**62 floats": lambda: sg.random_normal(0, 0, (2**31, 2**31)),
        "zeros 2**33 floats": lambda: F.reshape(sg.random_normal(0, 0, (2**33,)), (2, -1)),
        "pad by 2**30": lambda: F.pad(x, 2**30),
        "pad one side by 2**31-1": lambda: F.pad(np.ones((1, 1, 1, 1), np.float32), (0, 0, 2**31 - 1, 2**31 - 1)),
        "upsample a tall image x64": lambda: F.interpolate(np.ones((1, 1, 2**22, 1), np.float32), scale_factor=64),
        "bilinear x64 of 2**24 pixels": lambda: F.interpolate(np.ones((1, 1, 2**12, 2**12), np.float32),
                                                               scale_factor=64, mode="bilinear"),
        "conv_transpose stride 2**31-1": lambda: F.conv_transpose2d(x, np.ones((1, 1, 1, 1), np.float32),
                                                                    stride=2**31 - 1),
        "upfirdn2d x64 tall": lambda: F.upfirdn2d(np.ones((1, 1, 2**22, 1), np.float32), filt, up=64),
        "linear to 2**31 outputs": lambda: F.linear(np.ones((2**11, 1), np.float32), np.ones((2**20, 1), np.float32)),
        "DCGAN 128x128, 64 channels, ngf=ndf=1024": lambda: sg.DCGAN(image_size=128, channels=64, ngf=1024, ndf=1024),
    }


def public_callables(owner: object, names: typing.Iterable[str]) -> list[tuple[str, typing.Callable]]:
    return [(name, getattr(owner, name)) for name in names if callable(getattr(owner, name, None))]


def main() -> None:
    report_path = sys.argv[1]
    examples = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    fuzzer = Fuzzer(report_path + ".last")
    start = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="swiftgan-fuzz-")
    os.chdir(workdir)  # files a fuzzed call writes (save_grid, save) land here

    for name, case in huge_cases().items():
        fuzzer.cases["huge sizes"] += 1
        try:
            case()
            fuzzer.failures.append(f"{name}: returned instead of raising MemoryError")
        except MemoryError:
            fuzzer.errors["MemoryError"] += 1
        except Exception as error:
            fuzzer.failures.append(f"{name}: {type(error).__name__} {error} instead of MemoryError")
    for name in F.__all__:
        fuzzer.run("functional ops", f"F.{name}", getattr(F, name), examples)
    runtime = ["tensor", "random_normal", "random_uniform", "set_num_threads", "set_grad_enabled", "grad", "op_names",
               "get_num_threads", "load", "load_torch_state_dict"]
    for name, function in public_callables(sg, runtime):
        fuzzer.run("runtime and autograd", f"sg.{name}", function, examples)
    sg.set_num_threads(1)
    sg.set_grad_enabled(True)
    fuzzer.run("runtime and autograd", "sg.op", sg._native.op,
               examples, st.tuples(st.tuples(st.sampled_from(sg.op_names() + ["nope", ""]),
                                             st.dictionaries(st.sampled_from(["x", "a", "b", "weight", "bias", "y",
                                                                              "tensors.0", "tensors.2", "f"]),
                                                             st.one_of(tensors(), st.none(), anything), max_size=4),
                                             st.dictionaries(st.sampled_from(["stride", "padding", "dim", "dim.0",
                                                                              "shape.0", "shape.1", "start", "length",
                                                                              "up", "down", "eps", "reduction",
                                                                              "mode", "group", "training"]),
                                                             st.one_of(st.sampled_from(FLOATS + INTS),
                                                                       st.integers(-3, 8)), max_size=4)).map(list),
                                   st.just({})))
    x = sg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    for name in ("numpy", "detach", "backward", "copy_", "zero_grad"):
        fuzzer.run("tensor methods", f"Tensor.{name}", getattr(x, name), examples)
    fuzzer.run("tensor methods", "Tensor.requires_grad=", lambda value: setattr(x, "requires_grad", value), examples)

    for name, function in public_callables(sg.optim, ["Adam", "SGD", "EMA", "ConstantLR", "LinearDecayLR"]):
        fuzzer.run("optimizers", f"optim.{name}", function, examples)
    adam = sg.optim.Adam([x], lr=0.1)
    for name in ("step", "zero_grad", "load_state_dict"):
        fuzzer.run("optimizers", f"Adam.{name}", getattr(adam, name), examples)

    model_examples = max(examples // 2, 10)
    tiny = {sg.DCGAN: dict(image_size=16, channels=1, ngf=4, ndf=4, nz=4),
            sg.CycleGAN: dict(image_size=16, in_channels=1, out_channels=1, ngf=4, ndf=4, n_blocks=1, n_layers_d=2,
                             pool_size=2),
            sg.StyleGAN: dict(resolution=8, channels=1, z_dim=4, w_dim=4, mapping_layers=1, channel_base=16,
                              channel_max=4)}
    for cls, config in tiny.items():
        # constructors: one hostile keyword over a tiny config, so valid values stay cheap
        keys = list(inspect.signature(cls.__init__).parameters)[1:]
        hints = typing.get_type_hints(cls.__init__)
        values = {key: st.one_of(for_annotation(hints.get(key, "")), st.sampled_from([10**9, 2**40, -5]))
                  for key in keys}
        fuzzer.run("model constructors", cls.__name__, lambda key, value, cls=cls, config=config:
                   cls(**{**config, key: value}), model_examples,
                   st.sampled_from(keys).flatmap(lambda key, values=values: st.tuples(
                       st.tuples(st.just(key), values[key]).map(list), st.just({}))))
        gan = cls(**config)
        methods = [name for name in ("generate", "train_step", "translate", "style_mix", "interpolate", "mapping",
                                     "synthesis", "seed_ws", "save", "fit", "edit", "edit_sweep", "directions")
                   if hasattr(gan, name)]
        for name in methods:
            fuzzer.run("model methods", f"{cls.__name__}.{name}", getattr(gan, name), model_examples)
        for net_name, net in gan.nets.items():
            fuzzer.run("model methods", f"{cls.__name__}.nets[{net_name}]", net, model_examples)
            fuzzer.run("model methods", f"{cls.__name__}.nets[{net_name}].load_state_dict", net.load_state_dict,
                       model_examples)

        if isinstance(gan, sg.StyleGAN):  # editing: a projection is built (its steps are not run), models blended
            fuzzer.run("model methods", "projection.Projection", functools.partial(sg.projection.Projection, gan),
                       model_examples)
            fuzzer.run("model methods", "blend", functools.partial(sg.blend, gan), model_examples)
    for name in ("fit_boundary", "save_direction", "load_direction"):
        fuzzer.run("images, metrics, files", f"directions.{name}", getattr(sg.directions, name), examples)
    for name, function in public_callables(sg.images, ["resize", "make_grid", "to_pil", "save_grid", "save_gif"]):
        fuzzer.run("images, metrics, files", f"images.{name}", function, examples)
    fuzzer.run("images, metrics, files", "metrics.frechet_distance", sg.metrics.frechet_distance, examples)
    fuzzer.run("images, metrics, files", "safetensors.save_file", sg.safetensors.save_file, examples)
    fuzzer.run("images, metrics, files", "safetensors.load_file", sg.safetensors.load_file, examples)
    fuzzer.run("images, metrics, files", "datasets.RandomCropFlip", sg.datasets.RandomCropFlip, examples)
    fuzzer.run("images, metrics, files", "datasets.parse_spec", sg.datasets.parse_spec, examples)

    report = {"cases": dict(fuzzer.cases), "errors": dict(fuzzer.errors), "failures": fuzzer.failures,
              "area_seconds": {area: round(seconds, 1) for area, seconds in fuzzer.seconds.items()},
              "seconds": round(time.perf_counter() - start, 1)}
    with open(report_path, "w") as file:
        json.dump(report, file, indent=1)


if __name__ == "__main__":
    main()
