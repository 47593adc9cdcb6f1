"""Optimizers, learning-rate schedules and parameter EMA, all updating engine Tensors in place.

The update itself runs in the engine; these classes hold the hyperparameters and convert state to and
from numpy for checkpoints. A schedule maps an epoch (or any counter) to a learning rate, which the
training loop assigns to the optimizer::

    opt = Adam(params, lr=2e-4)
    schedule = LinearDecayLR(2e-4, n_constant=100, n_decay=100)
    for epoch in range(200):
        opt.lr = schedule(epoch)
        ...  # backward, then opt.step(), opt.zero_grad()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from swiftgan import _native
from swiftgan._native import Tensor

__all__ = ["Optimizer", "Adam", "SGD", "ConstantLR", "LinearDecayLR", "EMA"]


def _copy_arrays(what: str, tensors: Sequence[Tensor], arrays: Sequence[np.ndarray]) -> None:
    """Overwrites each tensor with the array of the same index (same shapes required)."""
    if len(arrays) != len(tensors):
        raise ValueError(f"{what}: expected {len(tensors)} arrays, got {len(arrays)}")
    for tensor, array in zip(tensors, arrays, strict=True):
        tensor.copy_(array)


class Optimizer:
    """Base of the engine optimizers: the parameters, the learning rate ``lr`` and the engine's state.

    ``params`` are leaf Tensors that require grad; ``step()`` updates them from their ``.grad``.
    """

    kind: str = ""
    """The engine's optimizer kind."""
    slot_names: tuple[str, ...] = ()
    """Names of the per-parameter state tensors, in the engine's slot order."""

    def __init__(self, params: Iterable[Tensor], lr: float, **attrs: float) -> None:
        self.params: list[Tensor] = list(params)
        self.lr: float = lr
        self._engine = _native.Optimizer(self.kind, self.params, {"lr": lr, **attrs})

    def step(self) -> None:
        """One update of every parameter from its gradient, at the current ``lr``."""
        self._engine.step(self.lr)

    def zero_grad(self) -> None:
        """Clears the gradient of every parameter."""
        self._engine.zero_grad()

    @property
    def step_count(self) -> int:
        """The number of steps taken."""
        return self._engine.step_count

    def state_dict(self) -> dict[str, Any]:
        """The state as numpy copies: ``{"step": int, "lr": float, "state": [{slot name: array}, ...]}``."""
        return {
            "step": self._engine.step_count,
            "lr": self.lr,
            "state": [
                {name: self._engine.state(index, slot).numpy() for slot, name in enumerate(self.slot_names)}
                for index in range(len(self.params))
            ],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restores a ``state_dict()`` (same parameter count, slot names and shapes)."""
        what = f"{type(self).__name__}.load_state_dict"
        missing = {"step", "lr", "state"} - set(state_dict)
        if missing:
            raise ValueError(f"{what}: missing keys {sorted(missing)}")
        state = state_dict["state"]
        if len(state) != len(self.params):
            raise ValueError(f"{what}: state for {len(state)} parameters, the optimizer has {len(self.params)}")
        for index, slots in enumerate(state):
            if set(slots) != set(self.slot_names):
                raise ValueError(
                    f"{what}: parameter {index} has state {sorted(slots)}, expected {list(self.slot_names)}"
                )
            _copy_arrays(
                what,
                [self._engine.state(index, slot) for slot in range(len(self.slot_names))],
                [slots[name] for name in self.slot_names],
            )
        self._engine.step_count = state_dict["step"]
        self.lr = state_dict["lr"]


class Adam(Optimizer):
    """Adam (Kingma and Ba), with L2 ``weight_decay`` added to the gradient as in ``torch.optim.Adam``.

    The defaults are the DCGAN paper's: ``lr=2e-4``, ``betas=(0.5, 0.999)``.
    """

    kind = "adam"
    slot_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: argument 'betas' must be a pair of floats, got {betas!r}")
        super().__init__(params, lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum and L2 weight decay, as in torch."""

    kind = "sgd"
    slot_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay)


class ConstantLR:
    """The same learning rate at every epoch."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def __call__(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (counted from 0)."""
        return self.lr


class LinearDecayLR:
    """CycleGAN's schedule: ``lr`` for ``n_constant`` epochs, then linearly down to zero over ``n_decay``.

    Epoch ``n_constant + k`` (``k`` from 0) gets ``lr * (1 - (k + 1) / (n_decay + 1))``, and every epoch
    from ``n_constant + n_decay`` on gets 0.
    """

    def __init__(self, lr: float, n_constant: int, n_decay: int) -> None:
        if n_constant < 0 or n_decay < 0:
            raise ValueError(f"LinearDecayLR: n_constant and n_decay must be >= 0, got {n_constant}, {n_decay}")
        self.lr = lr
        self.n_constant = n_constant
        self.n_decay = n_decay

    def __call__(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (counted from 0)."""
        decayed = max(0, epoch + 1 - self.n_constant)
        return self.lr * max(0.0, 1.0 - decayed / (self.n_decay + 1))


class EMA:
    """An exponential moving average of parameters (StyleGAN's ``G_ema``), kept in engine Tensors.

    ``update()`` sets ``average = decay * average + (1 - decay) * param`` for every parameter; the averages
    start as copies of the parameters.
    """

    def __init__(self, params: Iterable[Tensor], decay: float = 0.999) -> None:
        self.params: list[Tensor] = list(params)
        for index, param in enumerate(self.params):
            if not isinstance(param, Tensor):
                raise TypeError(f"EMA: argument 'params' item {index} must be a swiftgan.Tensor, "
                                f"got {type(param).__name__}")
        self.decay = decay
        self.averages: list[Tensor] = [_native.tensor(param.numpy()) for param in self.params]

    def update(self) -> None:
        """Moves every average towards its parameter."""
        _native.ema_update(self.averages, self.params, self.decay)

    def state_dict(self) -> list[np.ndarray]:
        """The averages as numpy copies, in parameter order."""
        return [average.numpy() for average in self.averages]

    def load_state_dict(self, arrays: Sequence[np.ndarray]) -> None:
        """Restores ``state_dict()`` (same count and shapes)."""
        _copy_arrays("EMA.load_state_dict", self.averages, arrays)
