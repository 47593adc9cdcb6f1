"""Data-parallel training across processes and machines over MPI (Open MPI).

Start the same script on every rank with ``mpirun`` and call :func:`init` before training::

    # mpirun -np 4 python train.py
    import swiftgan
    swiftgan.distributed.init()
    gan = swiftgan.DCGAN(image_size=32, channels=1)
    gan.fit(data, steps=2000, batch_size=64, out_dir="runs/x")   # 64 images per step in all, 16 per rank

:meth:`swiftgan.GAN.fit` detects the world size: each rank trains on its own shard of every global batch, every
optimizer step averages the gradients over all ranks (one allreduce in the engine, the GIL released), the losses
it reports are averaged too, and only rank 0 writes samples, logs and checkpoints. BatchNorm normalizes each
rank's shard with that shard's statistics, as the reference implementations do, unless ``fit(...,
sync_batchnorm=True)``.

``fit`` attaches the data parallelism for its duration only: ``train_step`` called directly trains each rank's model
on its own. A rank that raises an uncaught exception aborts the whole job (``MPI_Abort``), since the others would
otherwise wait for it in their next collective.

Open MPI's library is loaded by the engine with ``dlopen`` when :func:`init` is called, never before: importing
swiftgan, and training in one process, need no MPI installed.
"""

from __future__ import annotations

import atexit
import os
import sys
from types import TracebackType

from swiftgan import _native

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "allreduce_sum", "abort", "finalize",
           "threads_per_rank"]

_state: dict[str, int] = {}
"""``rank`` and ``size`` once :func:`init` has succeeded."""


def local_ranks() -> int:
    """The ranks ``mpirun`` started on this machine (``OMPI_COMM_WORLD_LOCAL_SIZE``), at least 1."""
    return max(1, int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE", "1") or 1))


def threads_per_rank() -> int:
    """The engine threads each rank should use: the cores this process may run on, divided among the
    :func:`local_ranks`, at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    machine = os.cpu_count() or cores
    return max(1, min(cores, machine // local_ranks()))


def init(library: str | None = None, threads: int | None = None) -> tuple[int, int]:
    """Joins the MPI job this process was started in (``mpirun``) and returns ``(rank, world_size)``.

    Loads Open MPI's ``libmpi`` (``library``, else ``$SWIFTGAN_MPI_LIBRARY``, ``libmpi.so.40``, ``libmpi.so``) and
    calls ``MPI_Init_thread``, unless MPI is already initialized (by mpi4py, say). Calling it again returns the same.
    A process started without ``mpirun`` is a world of one. Sets the engine's threads to ``threads`` (default:
    :func:`threads_per_rank`, so that the ranks on one machine do not oversubscribe its cores) and divides its
    buffer cache's limit (:func:`swiftgan.set_cache_limit`) among the local ranks, registers
    :func:`finalize` to run at exit, and makes an uncaught exception :func:`abort` the whole job (after printing
    its traceback) rather than leave the other ranks waiting for this one.

    Raises:
        swiftgan.SwiftGANError or ValueError: when Open MPI cannot be loaded or started.
    """
    if _state:
        return _state["rank"], _state["size"]
    rank_, size = _native.dist_init(library)
    _state.update(rank=rank_, size=size)
    _native.set_num_threads(threads_per_rank() if threads is None else threads)
    _native.set_cache_limit(_native.get_cache_limit() // local_ranks())  # the machine's share, as for threads
    atexit.register(finalize)
    if size > 1:
        previous = sys.excepthook

        def abort_on_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
            previous(kind, error, trace)
            abort(1)

        sys.excepthook = abort_on_uncaught
    return rank_, size


def is_initialized() -> bool:
    """Whether :func:`init` has succeeded in this process."""
    return bool(_state)


def rank() -> int:
    """This process's rank (0 without :func:`init`)."""
    return _state.get("rank", 0)


def world_size() -> int:
    """The number of processes training together (1 without :func:`init`)."""
    return _state.get("size", 1)


def _check_open(caller: str) -> bool:
    """Whether collectives run (after :func:`init`); RuntimeError after :func:`finalize`."""
    if _state.get("finalized"):
        raise RuntimeError(f"swiftgan.distributed.{caller}: MPI is finalized")
    return bool(_state)


def barrier() -> None:
    """Waits until every rank has called it (nothing without :func:`init`)."""
    if _check_open("barrier"):
        _native.dist_barrier()


def allreduce_sum(values: list[float]) -> list[float]:
    """The element-wise sums of ``values`` over all ranks (``values`` itself without :func:`init`)."""
    return _native.dist_allreduce_sum(values) if _check_open("allreduce_sum") else [float(v) for v in values]


def abort(code: int = 1) -> None:
    """Ends every rank of the job with exit status ``code`` (``MPI_Abort``): what a rank that fails on its own must
    do, since the others would wait for it in their next collective. Without :func:`init`, exits this process."""
    if _state and not _state.get("finalized"):
        sys.stderr.flush()
        _native.dist_abort(code)
    raise SystemExit(code)


def finalize() -> None:
    """Leaves MPI (``MPI_Finalize``, if :func:`init` started it); no collective may follow. Runs at exit."""
    if _state and not _state.get("finalized"):
        _state["finalized"] = 1
        _native.dist_finalize()
