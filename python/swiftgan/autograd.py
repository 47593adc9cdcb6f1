"""Reverse-mode autodiff on the engine's tape: gradients of Tensors, and switching recording off."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from swiftgan import _native
from swiftgan._native import Tensor

__all__ = ["grad", "no_grad"]


def _tensors(value: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [value] if isinstance(value, Tensor) else list(value)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | np.ndarray | Sequence[Tensor | np.ndarray | None] | None = None,
    create_graph: bool = False,
) -> list[Tensor | None]:
    """Gradients of ``sum_i <outputs[i], grad_outputs[i]>`` with respect to each of ``inputs``.

    Like ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of Tensors;
    ``grad_outputs`` holds one upstream gradient (Tensor or float32 array) per output, or None (or None
    entries) for scalar outputs, whose gradient is 1. The result has one entry per input: a Tensor, or None
    where the input does not influence the outputs. With ``create_graph`` the gradients are recorded on the
    tape themselves, so they can be differentiated again (R1 penalty, gradient penalty).
    """
    seeds: list[Tensor | None] | None = None
    if grad_outputs is not None:
        if isinstance(grad_outputs, (Tensor, np.ndarray)):
            grad_outputs = [grad_outputs]
        seeds = [
            g if g is None or isinstance(g, Tensor) else _native.tensor(g, name=f"grad_outputs[{i}]", caller="grad")
            for i, g in enumerate(grad_outputs)
        ]
    return _native.grad(_tensors(outputs), _tensors(inputs), seeds, create_graph)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager (and decorator) in which ops do not record on the autodiff tape (this thread only)."""
    previous = _native.set_grad_enabled(False)
    try:
        yield
    finally:
        _native.set_grad_enabled(previous)
