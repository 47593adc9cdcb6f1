"""What every swiftgan model shares: networks as state dicts, checkpoints, deterministic batches and ``fit``.

A model is a :class:`GAN` subclass registered under the engine's model kind (``class DCGAN(GAN, kind="dcgan")``).
Its engine object owns the networks, the optimizers, the RNG and the step counter; one ``train_step`` is one call
into Swift. This module adds everything around it: named access to the networks (:class:`Net`), checkpoints
(:meth:`GAN.save`, :func:`load`) and the training loop (:meth:`GAN.fit`).

Checkpoints are safetensors files holding every state tensor of the engine (network parameters and buffers,
optimizer moments) under the engine's names, and the metadata ``format``, ``format_version``, ``kind``,
``config`` (the constructor's keyword arguments, JSON) and ``counters`` (step, RNG position, optimizer steps,
JSON), and ``training`` (JSON: the ``world_size``, global ``batch_size`` and ``sync_batchnorm`` of the last
:meth:`GAN.fit`). Training N steps, saving, loading (in any process) and training M more gives bit-identical weights
to training N + M steps straight (same thread count): batches are drawn from ``(seed, step)`` alone.

Under data parallelism (:mod:`swiftgan.distributed`), ``fit``'s ``batch_size`` is the global batch: rank r trains
on slice r of the batch one process would draw, with the noise one process would draw for that slice, so the
global batch, not the number of ranks, defines the training run.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import json
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, TextIO

import numpy as np
from PIL import Image
from tqdm import tqdm

from swiftgan import _native, distributed
from swiftgan.images import make_grid
from swiftgan.models.config import (
    ConfigField,
    config_docs,
    config_fields,
    config_json,
    config_signature,
    normalize_config,
)
from swiftgan.safetensors import load_file, save_file

__all__ = ["GAN", "Net", "load", "batch_indices", "batch_generator", "BatchTransform", "Callback", "CHECKPOINT",
           "FitInfo", "FORMAT", "FORMAT_VERSION", "NonFiniteLossError", "NonFiniteLossWarning"]

FORMAT = "swiftgan"
"""The ``format`` metadata of a swiftgan checkpoint."""
FORMAT_VERSION = 2
"""The checkpoint layout version this code writes. It reads this one and every earlier one (``_upgrade_config``
says what changed)."""
CHECKPOINT = "checkpoint.safetensors"
"""The file name of the checkpoint :meth:`GAN.fit` keeps in its output folder."""

_REGISTRY: dict[str, type[GAN]] = {}
"""Model kind -> class, filled by ``GAN.__init_subclass__``."""

Callback = Callable[["GAN", int, dict[str, float]], Any]
"""``cb(gan, step, losses)``, called after every training step; returning ``"stop"`` ends ``fit``. A callback may
also have the methods ``on_fit_start(gan, fit: FitInfo)`` and ``on_fit_end(gan, step, error)`` (see
:meth:`GAN.fit`)."""


@dataclasses.dataclass(frozen=True)
class FitInfo:
    """What a callback's ``on_fit_start(gan, fit)`` learns of the :meth:`GAN.fit` call about to train."""

    data: tuple[np.ndarray, ...]
    """The training arrays, one per input of the model (what :meth:`GAN.preview` takes)."""
    steps: int
    """The steps this call is to take, counting on from the model's :attr:`GAN.step`."""
    batch_size: int
    """The (global) batch size."""
    sample_every: int
    """``fit``'s steps between sample grids."""
    log_every: int
    """``fit``'s steps between log lines."""

BatchTransform = Callable[[np.ndarray, np.random.Generator], np.ndarray]
"""``transform(batch, rng)``: the batch a training step sees in place of ``batch`` (random crops, flips...), drawing
its randomness from ``rng`` only (see :func:`batch_generator`)."""


class NonFiniteLossError(_native.SwiftGANError, FloatingPointError):
    """Raised by :meth:`GAN.fit` (``on_nonfinite="stop"``) when a training step reports a NaN or infinite loss.

    The model holds the weights after that step; the checkpoint in ``out_dir``, if any, is the last one written
    before it (a diverged state is never saved by ``fit``).

    Attributes:
        step: the step (counted from 1) whose losses are not finite.
        losses: that step's losses and statistics.
        history: what ``fit`` would have returned, up to and including that step.
    """

    def __init__(self, step: int, losses: Mapping[str, float], history: Mapping[str, list[float]]) -> None:
        self.step, self.losses, self.history = step, dict(losses), dict(history)
        shown = ", ".join(f"{name}={value:.4g}" for name, value in self.losses.items())
        super().__init__(f"training diverged at step {step}: {shown} (lower the learning rate, or resume from the "
                         "last checkpoint; fit(on_nonfinite='warn') trains on regardless)")


class NonFiniteLossWarning(RuntimeWarning):
    """Warned by :meth:`GAN.fit` (``on_nonfinite="warn"``) at the first step of a call with a NaN or infinite loss."""


INTERRUPTIBLE_STEP_SECONDS = 0.25
"""In :meth:`GAN.fit`, steps that follow one at least this long are interruptible (Ctrl-C stops them part-way and
rolls them back); shorter steps run to their end before Ctrl-C is honoured, saving the rollback's copies."""


def _never() -> bool:
    """The ``pending()`` of :func:`_interrupt_at_step_boundary` where it does not handle SIGINT."""
    return False


@contextlib.contextmanager
def _interrupt_at_step_boundary() -> Iterator[Callable[[], bool]]:
    """Defers Ctrl-C (SIGINT) to the caller's next check, so that training stops between steps.

    Yields ``pending()``, true once SIGINT arrived; a second SIGINT before the check raises KeyboardInterrupt at
    once. Only where Python's default handler is installed and on the main thread (elsewhere nothing changes).
    ``pending`` is also the ``should_stop`` of :meth:`GAN.train_step`: a step in progress is stopped and rolled
    back, so the training stops within a fraction of a second however long its steps are.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield _never
        return
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class _InterruptPolicy:
    """Which training steps of a :meth:`GAN.fit` call Ctrl-C stops part-way.

    A step is interruptible, with ``pending`` (of :func:`_interrupt_at_step_boundary`) as its ``should_stop``, when
    it is the first of the call, whose length is unknown, or follows a step of at least
    :data:`INTERRUPTIBLE_STEP_SECONDS`; a shorter step runs to its end, which saves the rollback's copies. Where
    SIGINT is not handled (``pending`` is :func:`_never`) no step is interruptible.
    """

    def __init__(self, pending: Callable[[], bool]) -> None:
        self.pending = pending
        self.last_step_seconds: float | None = None
        """How long the last step that completed took (None before the first)."""

    def should_stop(self) -> Callable[[], bool] | None:
        """The ``should_stop`` of the next step: ``pending`` if it is interruptible, else None."""
        if self.pending is _never:
            return None
        long_step = self.last_step_seconds is None or self.last_step_seconds >= INTERRUPTIBLE_STEP_SECONDS
        return self.pending if long_step else None

    def train_step(self, gan: GAN, batches: Sequence[np.ndarray]) -> dict[str, float]:
        """``gan.train_step(*batches)``, interruptible or not by this policy, and timed for the next step's."""
        should_stop = self.should_stop()
        started = time.perf_counter()
        losses = gan.train_step(*batches, should_stop=should_stop)
        self.last_step_seconds = time.perf_counter() - started
        return losses


def _match_state(what: str, shapes: Mapping[str, tuple[int, ...]], given: Mapping[str, Any],
                 strict: bool = True) -> dict[str, np.ndarray]:
    """The entries of ``given`` to copy into state entries of the given ``shapes``, as float32 arrays.

    Raises ValueError listing every mis-shaped entry and, when ``strict``, every missing and unexpected one;
    TypeError for a non-float entry. Nothing is copied here, so a failed check leaves the model unchanged.
    """
    arrays, problems = {}, []
    missing = [name for name in shapes if name not in given]
    unexpected = [name for name in given if name not in shapes]
    if strict and missing:
        problems.append(f"missing {missing}")
    if strict and unexpected:
        problems.append(f"unexpected {unexpected}")
    for name, shape in shapes.items():
        if name not in given:
            continue
        array = np.asarray(given[name])
        if array.dtype.kind != "f":
            raise TypeError(f"{what}: {name!r} must be a float array, got dtype {array.dtype}")
        if array.shape != shape:
            problems.append(f"{name!r} has shape {array.shape}, expected {shape}")
        arrays[name] = np.asarray(array, dtype=np.float32, order="C")  # ascontiguousarray makes 0-d 1-d
    if problems:
        raise ValueError(f"{what}: " + "; ".join(problems))
    return arrays


class Net:
    """One network of a model, e.g. ``gan.nets["G"]``: its state under the reference implementation's names
    (``"main.0.weight"``), and a forward pass on numpy arrays.

    The tensors are the model's own: loading a state dict changes the model, and training changes what
    ``state_dict()`` returns next.
    """

    IGNORED: ClassVar[tuple[str, ...]] = ("num_batches_tracked",)
    """Name suffixes of PyTorch entries with no counterpart here, accepted and ignored by load_state_dict."""

    def __init__(self, gan: GAN, name: str) -> None:
        self.name = name
        # the model's engine object and state shapes, not the model itself: no reference cycle, so a model is freed
        # (engine memory included) as soon as its last reference goes, without waiting for the cyclic collector
        self._model = gan._model
        self._state_shapes = gan._state_shapes
        self._owner = type(gan).__name__
        prefix = f"{name}."
        self._keys = {key[len(prefix):]: key for key in gan._state_shapes if key.startswith(prefix)}

    @property
    def _shapes(self) -> dict[str, tuple[int, ...]]:
        return {short: self._state_shapes[key] for short, key in self._keys.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer (BatchNorm running statistics) as numpy float32 copies."""
        return {short: self._model.state_tensor(key).numpy() for short, key in self._keys.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copies a state dict (name -> float array) into the network, e.g. pytorch/examples weights.

        Every name and shape is checked before anything is copied. With ``strict`` the names must be exactly
        the network's; otherwise missing entries keep their values and unexpected ones are ignored. Shapes must
        match either way. PyTorch's ``num_batches_tracked`` entries are accepted and ignored.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{self.name}.load_state_dict: argument 'state_dict' must map names to arrays, "
                            f"got {type(state_dict).__name__}")
        given = {name: value for name, value in state_dict.items()
                 if not (isinstance(name, str) and name.endswith(self.IGNORED))}
        arrays = _match_state(f"{self.name}.load_state_dict", self._shapes, given, strict)
        for short, array in arrays.items():
            self._model.state_tensor(self._keys[short]).copy_(array)

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The network's output for a float32 batch (nothing is recorded for autodiff).

        ``training``: BatchNorm normalizes with the batch's statistics and updates its running averages, as in
        a training step; otherwise (evaluation) with the running averages.
        """
        tensor = _native.tensor(x, name="x", caller=f"nets[{self.name!r}]")
        return self._model.forward(self.name, tensor, bool(training)).numpy()

    @property
    def num_parameters(self) -> int:
        """The number of trained values: entries some optimizer updates (buffers such as running statistics
        are excluded). A net no optimizer updates, a moving average such as StyleGAN's ``G_ema``, counts the entries
        that mirror trained entries of another net (the same name within the net, the same shape)."""
        shapes = self._state_shapes
        trained = {key.split(".exp_avg.", 1)[1] for key in shapes if key.startswith("opt_") and ".exp_avg." in key}
        keys = [key for key in self._keys.values() if key in trained]
        if not keys:
            mirrored = {(key.split(".", 1)[1], shapes[key]) for key in trained}
            keys = [key for short, key in self._keys.items() if (short, shapes[key]) in mirrored]
        return sum(math.prod(shapes[key]) for key in keys)

    def __repr__(self) -> str:
        return f"<{self._owner} net {self.name!r}: {self.num_parameters:,} parameters>"


@functools.lru_cache(maxsize=8)
def _permutation(seed: int, stream: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` examples of data stream ``stream`` in epoch ``epoch``."""
    generator = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, stream, epoch])))
    order = generator.permutation(n)
    order.flags.writeable = False
    return order


def batch_indices(seed: int, stream: int, step: int, n: int, batch_size: int) -> np.ndarray:
    """The example indices of batch ``step`` (counted from 0) of data stream ``stream`` (one per training input).

    Each epoch of ``n // batch_size`` batches walks a fresh permutation of the ``n`` examples, drawn from a
    Philox generator keyed by ``(seed, stream, epoch)``; the last ``n % batch_size`` examples of a permutation
    are skipped. The result depends on these arguments alone, so a resumed run sees the same batches.
    """
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and the number of examples ({n}), got {batch_size}")
    epoch, position = divmod(step, n // batch_size)
    return _permutation(seed, stream, epoch, n)[position * batch_size:(position + 1) * batch_size]


def batch_generator(seed: int, stream: int, step: int) -> np.random.Generator:
    """The random generator a :data:`BatchTransform` gets for batch ``step`` of data stream ``stream``: a Philox
    generator keyed by ``(seed, stream, step)`` alone (apart from the keys of :func:`batch_indices`), so a resumed
    run transforms its batches exactly as one that never stopped."""
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, stream, step], spawn_key=(1,))))


def _step_batches(seed: int, arrays: Sequence[np.ndarray], step: int, batch_size: int, shard: slice,
                  transform: BatchTransform | None, paired: bool = False) -> list[np.ndarray]:
    """One rank's batches for training step ``step`` (counted from 0), one per data stream: the rank's ``shard`` of
    the global batch :func:`batch_indices` draws, after ``transform`` (given the generator of
    :func:`batch_generator`), which sees the whole global batch so that it draws the same on every rank. ``paired``
    streams (images and their labels) all take the first stream's indices, and the transform applies to it alone."""
    indices = [batch_indices(seed, 0 if paired else stream, step, len(array), batch_size)
               for stream, array in enumerate(arrays)]
    batches = []
    for stream, (array, index) in enumerate(zip(arrays, indices, strict=True)):
        if transform is not None and (stream == 0 or not paired):
            batches.append(transform(array[index], batch_generator(seed, stream, step))[shard])
        else:
            batches.append(array[index[shard]])
    return batches


class _FitProgress:
    """The progress bar and the loss log of one :meth:`GAN.fit` call.

    Every step's losses join a window; every ``log_every`` steps, and when the call ends, the window's means are
    shown on the tqdm bar and, when the call has an output folder, appended to its ``log.jsonl`` as one JSON
    object with the ``step`` and the ``time`` in seconds since the call started.
    """

    def __init__(self, title: str, loss_names: Sequence[str], steps: int, log_every: int, log_path: Path | None,
                 step: int, show: bool) -> None:
        self.log_every = log_every
        self.log = self._open_log(log_path, step) if log_path is not None else None
        self.window: dict[str, list[float]] = {name: [] for name in loss_names}
        self.start = time.perf_counter()
        self.bar = tqdm(total=steps, desc=f"{title} training", unit="step", disable=not show, dynamic_ncols=True)

    @staticmethod
    def _open_log(path: Path, step: int) -> TextIO:
        """The loss log opened for appending, without lines of steps beyond ``step`` (the model's current one)."""
        kept = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= step:
                        kept.append(line + "\n")
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a crash
        path.write_text("".join(kept))
        return path.open("a")

    def add(self, losses: Mapping[str, float]) -> None:
        """Adds a step's losses to the window."""
        for name, value in losses.items():
            self.window[name].append(value)

    def step_done(self, step: int) -> None:
        """Advances the bar past ``step``, logging the window if ``step`` is a multiple of ``log_every``."""
        if step % self.log_every == 0:
            self.flush(step)
        self.bar.update(1)

    def flush(self, step: int) -> None:
        """Logs and shows the means of the window's losses as of ``step``, and empties it."""
        means = {name: float(np.mean(values)) for name, values in self.window.items()}
        if self.log is not None:
            self.log.write(json.dumps({"step": step, "time": round(time.perf_counter() - self.start, 3), **means})
                           + "\n")
            self.log.flush()
        self.bar.set_postfix({name: f"{value:.3f}" for name, value in means.items()}, refresh=False)
        for values in self.window.values():
            values.clear()

    def close(self, step: int) -> None:
        """Flushes what the window still holds (``step`` is the last one trained) and closes the bar and the log."""
        if any(self.window.values()):
            self.flush(step)
        self.bar.close()
        if self.log is not None:
            self.log.close()


class _FitOutputs:
    """The sample grids and checkpoints a :meth:`GAN.fit` call writes to its output folder ``out`` (None: none).

    A grid of :meth:`GAN.preview` every ``sample_every`` steps and a checkpoint every ``checkpoint_every`` steps;
    both after the last step if not written at it; the checkpoint when training is interrupted.
    """

    def __init__(self, gan: GAN, out: Path | None, data: Sequence[np.ndarray], sample_every: int,
                 checkpoint_every: int) -> None:
        self.gan, self.out, self.data = gan, out, data
        self.sample_every, self.checkpoint_every = sample_every, checkpoint_every
        if out is not None:
            (out / "samples").mkdir(parents=True, exist_ok=True)

    def after_step(self, step: int) -> None:
        """The grid and the checkpoint due at ``step``."""
        if self.out is not None and step % self.sample_every == 0:
            self._save_preview(self.out, step)
        if self.out is not None and step % self.checkpoint_every == 0:
            self.gan.save(self.out / CHECKPOINT)

    def after_interrupt(self, trained: bool) -> None:
        """The checkpoint of the step boundary training was interrupted at, if this call ``trained`` any step."""
        if self.out is not None and trained:
            self.gan.save(self.out / CHECKPOINT)

    def after_training(self, step: int, trained: bool) -> None:
        """The grid and the checkpoint of the last step ``step``, unless :meth:`after_step` wrote them at it."""
        if self.out is not None and trained:
            if step % self.sample_every:
                self._save_preview(self.out, step)
            if step % self.checkpoint_every:
                self.gan.save(self.out / CHECKPOINT)

    def _save_preview(self, out: Path, step: int) -> None:
        Image.fromarray(self.gan.preview_grid(self.data)).save(out / "samples" / f"step_{step:07d}.png")


@contextlib.contextmanager
def _fit_callbacks(gan: GAN, callbacks: Sequence[Callback], fit: FitInfo) -> Iterator[None]:
    """Calls the callbacks' ``on_fit_start(gan, fit)`` on entering, and on leaving, however the body ends,
    ``on_fit_end(gan, step, error)`` of those whose ``on_fit_start`` was called (every callback that has the method;
    see :meth:`GAN.fit`)."""
    started = []
    try:
        for callback in callbacks:
            if hasattr(callback, "on_fit_start"):
                callback.on_fit_start(gan, fit)
            started.append(callback)
        yield
    except BaseException as error:
        for callback in started:
            if hasattr(callback, "on_fit_end"):
                callback.on_fit_end(gan, gan.step, error)
        raise
    for callback in started:
        if hasattr(callback, "on_fit_end"):
            callback.on_fit_end(gan, gan.step, None)


class GAN:
    """Base class of swiftgan's models.

    Subclasses register under their engine kind (``class DCGAN(GAN, kind="dcgan")``); their keyword arguments are
    the fields of the engine's config for that kind (:attr:`config_fields`), with the paper's defaults, and the
    ``{args}`` line of their docstring becomes the list of them. ``config`` holds every field's value (what
    checkpoints store, so that ``cls(**config)`` rebuilds the model; it includes ``seed``).
    They implement :meth:`preview`, the images of the periodic sample grids.

    Attributes:
        config: the constructor's keyword arguments (a JSON-able dict).
        nets: name -> :class:`Net`, e.g. ``{"G": ..., "D": ...}``.
        loss_names: the keys of the dicts :meth:`train_step` returns.
    """

    kind: ClassVar[str]
    """The engine's model kind, and the ``kind`` of this model's checkpoints."""
    config_fields: ClassVar[tuple[ConfigField, ...]]
    """The model's keyword arguments, as the engine declares its config (see :mod:`swiftgan.models.config`)."""
    __signature__: ClassVar[inspect.Signature]
    """The constructor's keyword arguments and defaults, for ``inspect.signature`` and ``help``."""
    preview_nrow: ClassVar[int | None] = None
    """Images per row of the sample grids (None: a square grid)."""
    default_batch_size: ClassVar[int] = 64
    """The batch size of :meth:`fit` (and of the command line) when none is given: the reference recipe's."""

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            if kind in _REGISTRY:
                raise ValueError(f"model kind {kind!r} is already registered by {_REGISTRY[kind].__name__}")
            cls.kind = kind
            _REGISTRY[kind] = cls
            # The keyword arguments, their defaults and their docs are the engine's declaration of the config.
            cls.config_fields = config_fields(kind)
            cls.__signature__ = config_signature(cls.config_fields)
            if cls.__doc__ is not None:
                cls.__doc__ = cls.__doc__.replace("    {args}", config_docs(cls.config_fields))

    def __init__(self, **config: Any) -> None:
        """See the class docstring: every keyword argument is a field of the model's config (:attr:`config_fields`),
        with the defaults of the paper the model follows."""
        self.config: dict[str, Any] = normalize_config(type(self).__name__, self.config_fields, config)
        budget = _construction_budget.get()
        self._model = _native.Model(self.kind, config_json(self.config), -1 if budget is None else budget)
        self.loss_names: tuple[str, ...] = tuple(self._model.loss_names())
        self._state_shapes = {name: self._model.state_tensor(name).shape for name in self._model.state_names()}
        self.nets: dict[str, Net] = {name: Net(self, name) for name in self._model.net_names()}
        self._training: dict[str, Any] | None = None
        """``world_size``, ``batch_size`` (global) and ``sync_batchnorm`` of the last ``fit`` (or of the checkpoint
        this model was loaded from): checked when ``fit`` resumes on another number of ranks."""
        self.source: dict[str, Any] | None = None
        """For a model read from a published file: its path, format and what the file says of itself."""

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{type(self).__name__}({arguments})  # step {self.step}"

    @property
    def step(self) -> int:
        """Training steps taken so far (restored by :func:`load`)."""
        return self._model.get_counter("step")

    @property
    def seed(self) -> int:
        """The seed of the weights' initialization, the training RNG and the order of the batches."""
        return self.config["seed"]

    # -- training -------------------------------------------------------------------------------------------

    def train_step(self, *batches: np.ndarray, should_stop: Callable[[], bool] | None = None) -> dict[str, float]:
        """One training step (every network and optimizer update of the recipe) on float32 batches.

        Returns the losses and statistics named by :attr:`loss_names`. ``should_stop``, when given, makes the step
        interruptible: it is called about every 50 ms while the step computes (after Python's pending signal
        handlers have run), and when it returns true the step is rolled back, leaving the model exactly as it
        was, and KeyboardInterrupt is raised. :meth:`fit` uses it so that Ctrl-C stops even a long step at once.
        """
        caller = f"{type(self).__name__}.train_step"
        tensors = [_native.tensor(batch, name=f"batches[{i}]", caller=caller) for i, batch in enumerate(batches)]
        return dict(zip(self.loss_names, self._model.train_step(tensors, should_stop=should_stop), strict=True))

    def preview(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """The images (N, C, H, W) of the sample grids :meth:`fit` writes, given its training arrays: the same
        inputs at every call, so that successive grids show training progress."""
        raise NotImplementedError(f"{type(self).__name__} does not define preview()")

    def preview_grid(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """The sample grid :meth:`fit` writes (``samples/step_XXXXXXX.png``) and
        :class:`swiftgan.callbacks.TensorBoard` shows: :meth:`preview`'s images tiled by
        :func:`swiftgan.images.make_grid` with :attr:`preview_nrow` per row, as uint8 (height, width, 3), or
        (height, width) for grayscale images."""
        return make_grid(self.preview(data), nrow=self.preview_nrow)

    def fit(
        self,
        data: np.ndarray | Sequence[np.ndarray],
        steps: int,
        batch_size: int | None = None,
        *,
        out_dir: str | os.PathLike | None = None,
        sample_every: int = 250,
        checkpoint_every: int = 1000,
        callbacks: Iterable[Callback] = (),
        log_every: int = 10,
        progress: bool = True,
        transform: BatchTransform | None = None,
        sync_batchnorm: bool = False,
        on_nonfinite: Literal["stop", "warn"] = "stop",
    ) -> dict[str, list[float]]:
        """Trains for ``steps`` more steps on ``data``.

        Batches are drawn by :func:`batch_indices` from the model's seed and step, so a model restored from a
        checkpoint continues exactly where the saved one stopped.

        After :func:`swiftgan.distributed.init` in a job of several processes (``mpirun``), every rank calls
        ``fit`` with the same arguments and data: ``batch_size`` is then the global batch, of which each rank trains
        on its own slice of ``batch_size // world_size`` examples; gradients are averaged over the ranks before
        every optimizer step, the returned losses are averaged over the ranks, and rank 0 alone writes to
        ``out_dir`` and shows progress. Resuming on a different number of ranks is refused (ValueError) where
        the computation would change (see :meth:`_world_size_change_problem`).

        Args:
            data: float32 images (N, C, H, W) in [-1, 1], or one such array per training input of the model.
            steps: how many steps to take now (counting on from :attr:`step`).
            batch_size: examples per batch (per input); None means the model's :attr:`default_batch_size`.
            out_dir: where to write, if given: ``samples/step_XXXXXXX.png`` (grids of :meth:`preview`) every
                ``sample_every`` steps, the checkpoint ``checkpoint.safetensors`` every ``checkpoint_every``
                steps, and ``log.jsonl``, one JSON object per ``log_every`` steps with ``step``, ``time`` (seconds
                since this call started) and the mean of every loss over those steps. Grid and checkpoint are
                also written after the last step, and the checkpoint when training is interrupted
                (KeyboardInterrupt). Ctrl-C stops at a step boundary: a short step (under
                :data:`INTERRUPTIBLE_STEP_SECONDS`) is allowed to finish, a longer one is stopped part-way and
                rolled back, so the model and the checkpoint are always those of a step boundary; a second Ctrl-C
                interrupts at once. Log lines of steps beyond the model's current step (left by a run that went on
                past its last checkpoint) are dropped first.
            sample_every: steps between sample grids.
            checkpoint_every: steps between checkpoints.
            callbacks: ``cb(gan, step, losses)`` after every step, ``step`` counted from 1 and ``losses`` the
                step's dict; training stops after a step at which a callback returns ``"stop"``. A callback that
                has the method ``on_fit_start(gan, fit)`` gets it called before the first step, ``fit`` a
                :class:`FitInfo` (the training data and this call's settings); one that has
                ``on_fit_end(gan, step, error)`` gets it called when this call ends, however it ends (unless the
                ``on_fit_start`` of an earlier callback in the list raised): ``step`` is the model's step and
                ``error`` None after the last step (and the grid and checkpoint of the end) or a ``"stop"``, else
                the exception ``fit`` is raising (KeyboardInterrupt, NonFiniteLossError...). Every rank calls
                them. :class:`swiftgan.callbacks.TensorBoard` uses both.
            log_every: steps between log lines and progress-bar updates.
            progress: show a tqdm progress bar with the latest logged losses.
            transform: applied to every batch of every input before the step, e.g.
                :class:`swiftgan.datasets.RandomCropFlip`, with the generator :func:`batch_generator` gives for
                that input and step (under data parallelism applied to the global batch, then sliced).
            sync_batchnorm: under data parallelism, BatchNorm's batch statistics (and the sums of its backward
                pass) are taken over all ranks' slices, like ``torch.nn.SyncBatchNorm``, so any number of ranks
                computes what one process computes; False (the default, as in the reference implementations):
                each rank normalizes its own slice.
            on_nonfinite: what to do when a step reports a NaN or infinite loss: ``"stop"`` raises
                :class:`NonFiniteLossError` (with the step and the losses) without writing a checkpoint of the
                diverged model; ``"warn"`` warns (:class:`NonFiniteLossWarning`, once per call) and trains on.

        Returns:
            The history of this call: ``"step"`` and every loss name -> one value per step.

        Raises:
            NonFiniteLossError: a loss became NaN or infinite (``on_nonfinite="stop"``).
            KeyboardInterrupt: Ctrl-C, at a step boundary (and after the checkpoint, with ``out_dir``).
        """
        arrays, batch_size = self._check_fit_arguments(data, steps, batch_size, sample_every, checkpoint_every,
                                                       log_every, on_nonfinite)
        world, rank = distributed.world_size(), distributed.rank()
        training = {"world_size": world, "batch_size": batch_size, "sync_batchnorm": bool(sync_batchnorm)}
        self._check_world_size_change(training)
        self._prepare_fit(arrays, batch_size)
        callbacks = list(callbacks)
        shard = slice(rank * (batch_size // world), (rank + 1) * (batch_size // world))
        history: dict[str, list[float]] = {name: [] for name in ("step", *self.loss_names)}
        out = Path(out_dir) if out_dir is not None and rank == 0 else None
        parallel = world > 1
        with _fit_callbacks(self, callbacks, FitInfo(tuple(arrays), steps, batch_size, sample_every, log_every)):
            outputs = _FitOutputs(self, out, arrays, sample_every, checkpoint_every)
            tracker = _FitProgress(type(self).__name__, self.loss_names, steps, log_every,
                                   out / "log.jsonl" if out is not None else None, self.step,
                                   show=progress and rank == 0)
            if parallel:
                self._model.set_data_parallel(True, bool(sync_batchnorm))
            self._training = training
            warned = False
            step = self.step
            try:
                with _interrupt_at_step_boundary() as interrupted:
                    policy = _InterruptPolicy(interrupted)
                    for _ in range(steps):
                        batches = _step_batches(self.seed, arrays, step, batch_size, shard, transform,
                                                paired=self._paired_data)
                        losses = policy.train_step(self, batches)
                        step = self.step
                        history["step"].append(step)
                        for name, value in losses.items():
                            history[name].append(value)
                        tracker.add(losses)
                        warned = self._check_losses(step, losses, history, on_nonfinite, warned)
                        tracker.step_done(step)
                        outputs.after_step(step)
                        if self._stop_requested(callbacks, step, losses, interrupted, parallel):
                            break
                    if interrupted():
                        raise KeyboardInterrupt
            except KeyboardInterrupt:
                outputs.after_interrupt(trained=bool(history["step"]))
                raise
            finally:
                tracker.close(step)
                if parallel:
                    self._model.set_data_parallel(False)
            outputs.after_training(step, trained=bool(history["step"]))
        if parallel:
            distributed.barrier()  # the other ranks return once rank 0's files are written
        return history

    def _check_fit_arguments(self, data: np.ndarray | Sequence[np.ndarray], steps: int, batch_size: int | None,
                             sample_every: int, checkpoint_every: int, log_every: int,
                             on_nonfinite: str) -> tuple[list[np.ndarray], int]:
        """:meth:`fit`'s data as a list of arrays, and its batch size (None: :attr:`default_batch_size`), after
        checking them and its counts and options (ValueError or TypeError naming what is wrong)."""
        batch_size = self.default_batch_size if batch_size is None else batch_size
        arrays = self._data_arrays(data, batch_size)
        for name, count in (("steps", steps), ("sample_every", sample_every),
                            ("checkpoint_every", checkpoint_every), ("log_every", log_every)):
            if isinstance(count, bool) or not isinstance(count, int) or count < (0 if name == "steps" else 1):
                raise ValueError(f"fit: {name} must be an int >= {0 if name == 'steps' else 1}, got {count!r}")
        world = distributed.world_size()
        if batch_size % world:
            raise ValueError(f"fit: batch_size {batch_size} (the global batch) must be a multiple of the world size "
                             f"{world}")
        if on_nonfinite not in ("stop", "warn"):
            raise ValueError(f"fit: on_nonfinite must be 'stop' or 'warn', got {on_nonfinite!r}")
        return arrays, batch_size

    @staticmethod
    def _check_losses(step: int, losses: Mapping[str, float], history: Mapping[str, list[float]],
                      on_nonfinite: str, warned: bool) -> bool:
        """:meth:`fit`'s reaction to a step's NaN or infinite loss: raises :class:`NonFiniteLossError` (``"stop"``)
        or warns once per call (``"warn"``). Returns whether the warning has been given (``warned``: before)."""
        if all(math.isfinite(value) for value in losses.values()):
            return warned
        if on_nonfinite == "stop":
            raise NonFiniteLossError(step, losses, history)
        if not warned:
            warnings.warn(f"fit: non-finite loss at step {step}: {losses} (training on, as on_nonfinite='warn'; "
                          "later ones in this call are not reported)", NonFiniteLossWarning, stacklevel=3)
        return True

    def _stop_requested(self, callbacks: Sequence[Callback], step: int, losses: dict[str, float],
                        interrupted: Callable[[], bool], parallel: bool) -> bool:
        """Whether :meth:`fit` stops after ``step``: every callback is called, and training stops if one returned
        ``"stop"`` or Ctrl-C is pending, on any rank (``parallel``: an allreduce, so that every rank stops)."""
        stop = "stop" in [callback(self, step, losses) for callback in callbacks] or interrupted()
        if parallel:
            stop = distributed.allreduce_sum([float(stop)])[0] > 0
        return stop

    def _check_world_size_change(self, training: Mapping[str, Any]) -> None:
        """Refuses (ValueError) to continue training that the last ``fit`` (or the loaded checkpoint) did on a
        different number of ranks when the computation would change: the global batch must stay the same, and
        the model must have no per-rank state or statistic that depends on the per-rank batch
        (:meth:`_world_size_change_problem`)."""
        saved = self._training
        if saved is None or saved.get("world_size") == training["world_size"]:
            return
        where = (f"this model was trained on {saved['world_size']} rank(s) with a global batch of "
                 f"{saved['batch_size']} ({saved['batch_size'] // saved['world_size']} per rank)")
        now = (f"now {training['world_size']} rank(s) with batch_size {training['batch_size']} "
               f"({training['batch_size'] // training['world_size']} per rank)")
        if saved.get("batch_size") != training["batch_size"]:
            raise ValueError(f"fit: cannot resume on another number of ranks with another global batch: {where}, "
                             f"{now}; pass batch_size={saved['batch_size']}")
        problem = self._world_size_change_problem(saved, training)
        if problem:
            raise ValueError(f"fit: cannot resume on another number of ranks: {where}, {now}: {problem}")

    def _world_size_change_problem(self, saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
        """Why training saved with ``saved`` cannot go on with ``current`` (dicts of ``world_size``, global
        ``batch_size``, ``sync_batchnorm``) at the same global batch, or None when the computation is the same
        (data and noise are drawn by global index, and gradients are averaged). None by default."""
        return None

    def _data_arrays(self, data: np.ndarray | Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
        """``data`` as a list of float32 image arrays with at least ``batch_size`` examples each."""
        arrays = [data] if isinstance(data, np.ndarray) else list(data)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be an int >= 1, got {batch_size!r}")
        for index, array in enumerate(arrays):
            if not isinstance(array, np.ndarray) or array.dtype != np.float32:
                got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
                raise TypeError(f"fit: data[{index}] must be a float32 numpy array (use .astype(np.float32)), "
                                f"got {got}")
            if array.ndim != 4:
                raise ValueError(f"fit: data[{index}] must be images shaped (N, C, H, W), got shape {array.shape}")
            if len(array) < batch_size:
                raise ValueError(f"fit: data[{index}] has {len(array)} examples, fewer than batch_size {batch_size}")
        return arrays

    @property
    def _paired_data(self) -> bool:
        """Whether :meth:`fit`'s data streams are paired (images and their labels: the same examples in each batch)
        rather than independent (CycleGAN's two domains). False by default."""
        return False

    def _prepare_fit(self, arrays: Sequence[np.ndarray], batch_size: int) -> None:
        """Called by :meth:`fit` once its data is checked, before the first step: models whose training schedule
        depends on the size of the data (CycleGAN's epochs) set it here. Does nothing by default."""

    # -- checkpoints ----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Writes a checkpoint holding the whole training state (see the module docstring), atomically."""
        tensors = {name: self._model.state_tensor(name).numpy() for name in self._state_shapes}
        counters = {name: self._model.get_counter(name) for name in self._model.counter_names()}
        save_file(tensors, path, {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "kind": self.kind,
            "config": json.dumps(self.config),
            "counters": json.dumps(counters),
            **({"training": json.dumps(self._training)} if self._training is not None else {}),
        })

    @classmethod
    def load(cls, path: str | os.PathLike) -> GAN:
        """Restores a model from a checkpoint written by :meth:`save`, as an instance of the class its ``kind``
        names (``GAN.load`` accepts any kind; ``DCGAN.load`` only DCGAN checkpoints).

        Raises OSError if the file cannot be read, and ValueError if it is not a swiftgan checkpoint (or a
        truncated one), is of another model kind, or lacks a tensor or has one of the wrong shape.
        """
        tensors, metadata = load_file(path)
        where = os.fspath(path)
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{where}: not a swiftgan checkpoint (no format={FORMAT!r} metadata)")
        version = metadata.get("format_version")
        if version not in [str(v) for v in range(1, FORMAT_VERSION + 1)]:
            raise ValueError(f"{where}: checkpoint format version {version!r}; this swiftgan reads versions 1 to "
                             f"{FORMAT_VERSION}")
        kind = metadata.get("kind")
        if kind not in _REGISTRY:
            raise ValueError(f"{where}: a checkpoint of model kind {kind!r}; known kinds: {', '.join(_REGISTRY)}")
        model_class = _REGISTRY[kind]
        if not issubclass(model_class, cls):
            raise ValueError(f"{where}: a checkpoint of a {model_class.__name__} ({kind!r}), not a {cls.__name__}")
        # The file holds every state tensor of its model, so building the model its config describes may take at most
        # about that much memory: a forged config naming a far bigger model fails here instead of allocating gigabytes.
        stored = sum(int(array.size) for array in tensors.values())
        token = _construction_budget.set(2 * stored + (16 << 20))
        try:
            config, counters = json.loads(metadata["config"]), json.loads(metadata["counters"])
            gan = model_class(**model_class._upgrade_config(config, int(version)))
        except (KeyError, TypeError, ValueError, RecursionError) as error:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{where}: invalid config or counters metadata ({type(error).__name__}: {error})"
                             ) from None
        except MemoryError as error:
            if "allocation budget exceeded" not in str(error):
                raise
            raise ValueError(f"{where}: its config describes a model far larger than the {stored} floats of tensors "
                             "the file holds") from None
        finally:
            _construction_budget.reset(token)
        gan._restore(where, tensors, counters)
        if "training" in metadata:
            try:
                training = json.loads(metadata["training"])
                if not {"world_size", "batch_size"} <= set(training):
                    raise ValueError("missing world_size or batch_size")
            except (ValueError, TypeError) as error:
                raise ValueError(f"{where}: invalid training metadata ({error})") from None
            gan._training = training
        return gan

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any], format_version: int) -> dict[str, Any]:
        """The config of a checkpoint written in ``format_version``, as this version's constructor takes it (the
        same by default)."""
        return config

    def _restore(self, where: str, tensors: Mapping[str, np.ndarray], counters: Mapping[str, Any]) -> None:
        """Copies a checkpoint's tensors and counters into the model, after checking all of them."""
        arrays = _match_state(where, self._state_shapes, tensors)
        names = self._model.counter_names()
        if set(counters) != set(names) or not all(type(value) is int for value in counters.values()):
            raise ValueError(f"{where}: counters {counters} do not match the model's {names}")
        for name, array in arrays.items():
            self._model.state_tensor(name).copy_(array)
        for name in names:
            self._model.set_counter(name, counters[name])


_construction_budget: contextvars.ContextVar[int | None] = contextvars.ContextVar("swiftgan_construction_budget",
                                                                                default=None)
"""While :meth:`GAN.load` builds a model: the most floats the engine may allocate for it (None: no cap)."""


def load(path: str | os.PathLike) -> GAN:
    """Any swiftgan model: from a checkpoint (see :meth:`GAN.load`), or a StyleGAN2 from a published file, an NVlabs
    network pickle or a rosinality ``.pt`` (see :meth:`swiftgan.StyleGAN.from_pretrained`, here for generation)."""
    try:
        with open(path, "rb") as file:
            head = file.read(2)
    except OSError:
        head = b""  # GAN.load reports the unreadable file
    if head[:1] == b"\x80" or head == b"PK":  # a pickle or torch.save's zip: not a safetensors checkpoint
        from swiftgan.models.stylegan import StyleGAN

        return StyleGAN.from_pretrained(path)
    return GAN.load(path)
