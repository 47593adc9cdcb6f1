"""Callbacks for :meth:`swiftgan.GAN.fit`: :class:`TensorBoard` writes the losses and the sample grids of training to
TensorBoard event files.

A callback is called as ``cb(gan, step, losses)`` after every training step; it may also have the methods
``on_fit_start(gan, fit)`` and ``on_fit_end(gan, step, error)``, which ``fit`` calls around its steps (see
:meth:`swiftgan.GAN.fit` and :class:`swiftgan.models.base.FitInfo`).

TensorBoard support needs the optional package tensorboardX (``pip install "swiftgan[tensorboard]"``), which needs
neither PyTorch nor TensorFlow; ``import swiftgan`` does not import it.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np

from swiftgan import distributed
from swiftgan.models.base import GAN, FitInfo

__all__ = ["TensorBoard"]

_writer_numbers = itertools.count()
"""Numbers the event files this process opens, so that two writers opened within the same second in one folder
(tensorboardX names files by the second) write two files, not one over the other."""


def _tensorboardX() -> Any:
    """The tensorboardX module, or an ImportError saying how to install it."""
    try:
        import tensorboardX
    except ImportError:
        raise ImportError('swiftgan.callbacks.TensorBoard needs tensorboardX: pip install "swiftgan[tensorboard]" '
                          "(or pip install tensorboardX)") from None
    return tensorboardX


def _check_count(name: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"TensorBoard: {name} must be an int >= 1{' or None' if allow_none else ''}, got {value!r}")


class TensorBoard:
    """A :meth:`swiftgan.GAN.fit` callback writing TensorBoard event files into ``log_dir``:
    ``gan.fit(data, steps, callbacks=[swiftgan.callbacks.TensorBoard("runs/x")])``, then ``tensorboard --logdir runs``.

    What it writes, at the model's step numbers (:attr:`swiftgan.GAN.step`, counted on across resumes):

    - **Scalars** ``loss/<name>``, one per loss of the model (:attr:`swiftgan.GAN.loss_names`, e.g. ``loss/loss_d``):
      with ``log_every=1`` (the default) every step's value, exactly what ``fit`` returns in its history; with
      ``log_every=N`` the mean over the steps since the last write, at every step that is a multiple of N and at the
      last step of each ``fit`` call (like ``fit``'s ``log.jsonl``).
    - **Images** ``samples``: the sample grid of :meth:`swiftgan.GAN.preview_grid` (the picture ``fit`` saves as
      ``samples/step_XXXXXXX.png``) at every step that is a multiple of ``sample_every`` and after the last step of
      a ``fit`` call that ends normally (or by a callback's ``"stop"``). Grayscale grids are stored as RGB.

    The event file is opened when ``fit`` starts and closed (every event written and synced to disk) when it ends,
    however it ends (last step, ``"stop"``, Ctrl-C, an error); a later ``fit`` call opens a new file in the same
    folder, which TensorBoard reads as the continuation of the same run. While training, events reach the disk
    at least every ``flush_secs`` seconds. A file opened for steps from s on marks step s (TensorBoard's
    ``purge_step``): events of earlier files in ``log_dir`` at steps s and later, left by a run that went on past the
    checkpoint it was resumed from, are hidden, as ``fit`` drops such lines from ``log.jsonl``. (TensorBoard's
    default fast loader ignores the mark and drops a series' points from the step of each new point on, so until the
    resumed run's next grid, or next point with ``log_every`` > 1, one stale point can show.)

    Under data parallelism (:mod:`swiftgan.distributed`) every rank calls the callback and rank 0 alone writes.
    Outside ``fit`` (a loop of :meth:`swiftgan.GAN.train_step`), calling ``cb(gan, step, losses)`` writes the
    scalars (the file is opened at the first call), and :meth:`close` (or a ``with`` block) ends the file; the images
    need the training data, which only ``fit`` passes (``on_fit_start``).

    Args:
        log_dir: the folder of the event files (created if needed), one per run, e.g. ``runs/dcgan``; it may be
            ``fit``'s ``out_dir``.
        log_every: steps per scalar point (see above); 1 writes every step.
        sample_every: steps between sample grids; None (the default) takes ``fit``'s ``sample_every``.
        images: write the sample grids; False writes only the scalars (and never computes a preview).
        flush_secs: the longest time, in seconds, an event waits in memory before it is written to disk.

    Raises:
        ImportError: tensorboardX is not installed (``pip install "swiftgan[tensorboard]"``).

    Attributes:
        log_dir: the folder of the event files.
    """

    def __init__(self, log_dir: str | os.PathLike, *, log_every: int = 1, sample_every: int | None = None,
                 images: bool = True, flush_secs: float = 10.0) -> None:
        _check_count("log_every", log_every)
        _check_count("sample_every", sample_every, allow_none=True)
        if isinstance(flush_secs, bool) or not isinstance(flush_secs, int | float) or not flush_secs > 0:
            raise ValueError(f"TensorBoard: flush_secs must be a number > 0, got {flush_secs!r}")
        self._tensorboardX = _tensorboardX()
        self.log_dir = os.fspath(log_dir)
        self.log_every, self.sample_every, self.images, self.flush_secs = log_every, sample_every, images, flush_secs
        self._writer: Any = None
        self._window: dict[str, list[float]] = {}
        self._last_step: int | None = None
        """The step of the last call (None: no step since the file was opened)."""
        self._image_step: int | None = None
        """The step of the last sample grid written."""
        self._data: tuple[np.ndarray, ...] | None = None
        """The training arrays of the running ``fit`` call (None outside ``fit``)."""
        self._fit_sample_every: int | None = None

    def __repr__(self) -> str:
        return (f"TensorBoard({self.log_dir!r}, log_every={self.log_every}, sample_every={self.sample_every}, "
                f"images={self.images})")

    @property
    def writer(self) -> Any:
        """The ``tensorboardX.SummaryWriter`` of the current event file, opened if none is open: for writing more
        (``cb.writer.add_text(...)``) with the same file. It stays open until the end of ``fit`` or :meth:`close`."""
        if self._writer is None:
            self._open(purge_step=None)
        return self._writer

    def _open(self, purge_step: int | None) -> None:
        """Opens a new event file in :attr:`log_dir`, hiding earlier files' events from ``purge_step`` on."""
        suffix = f".{os.getpid()}.{next(_writer_numbers):04d}"
        self._writer = self._tensorboardX.SummaryWriter(self.log_dir, purge_step=purge_step,
                                                        flush_secs=self.flush_secs, filename_suffix=suffix)
        self._last_step = None

    # -- the callback protocol of GAN.fit ------------------------------------------------------------------------

    def on_fit_start(self, gan: GAN, fit: FitInfo) -> None:
        """Called by :meth:`swiftgan.GAN.fit` before its first step: opens the event file (rank 0) and keeps the
        training data for the sample grids until :meth:`on_fit_end`."""
        if distributed.rank() != 0:
            return
        if self._writer is None:
            self._open(purge_step=gan.step + 1)
        self._data, self._fit_sample_every = fit.data, fit.sample_every

    def __call__(self, gan: GAN, step: int, losses: dict[str, float]) -> None:
        """Records a step's losses, writing the scalars and the sample grid due at ``step`` (rank 0)."""
        if distributed.rank() != 0:
            return
        if self._writer is None:
            self._open(purge_step=step)
        for name, value in losses.items():
            self._window.setdefault(name, []).append(float(value))
        self._last_step = step
        if step % self.log_every == 0:
            self._write_scalars(step)
        sample_every = self.sample_every if self.sample_every is not None else self._fit_sample_every
        if sample_every is not None and step % sample_every == 0:
            self._write_grid(gan, step)

    def on_fit_end(self, gan: GAN, step: int, error: BaseException | None) -> None:
        """Called by :meth:`swiftgan.GAN.fit` when it ends: writes the scalars still averaging and, unless ``fit``
        is raising ``error``, the sample grid of the last step (if that call trained and it is not written yet);
        then closes the event file (rank 0)."""
        if distributed.rank() != 0:
            return
        try:
            if error is None and self._last_step == step and self._image_step != step:
                self._write_grid(gan, step)
        finally:
            self._data = self._fit_sample_every = None
            self.close()

    # -- writing -------------------------------------------------------------------------------------------------

    def _write_scalars(self, step: int) -> None:
        """Writes the means of the window's losses at ``step``, and empties it."""
        for name, values in self._window.items():
            if values:
                self._writer.add_scalar(f"loss/{name}", float(np.mean(values)), step)
                values.clear()

    def _write_grid(self, gan: GAN, step: int) -> None:
        """Writes the model's sample grid at ``step``, if images are on and the training data is known."""
        if not self.images or self._data is None:
            return
        grid = gan.preview_grid(self._data)
        self._writer.add_image("samples", grid, step, dataformats="HW" if grid.ndim == 2 else "HWC")
        self._image_step = step

    def close(self) -> None:
        """Writes the scalars still averaging (at the last step recorded) and closes the event file: every event is
        then on disk. The next call or ``fit`` opens a new file; closing twice is harmless."""
        if self._writer is None:
            return
        try:
            if self._last_step is not None and any(self._window.values()):
                self._write_scalars(self._last_step)
        finally:
            writer, self._writer = self._writer, None
            self._window.clear()
            writer.close()

    def __enter__(self) -> TensorBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
