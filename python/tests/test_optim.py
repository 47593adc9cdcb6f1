"""Optimizers against numpy references, their checkpoint state, schedules and EMA."""

from __future__ import annotations

import numpy as np
import pytest

import swiftgan as sg
from swiftgan import functional as F
from swiftgan import optim

from helpers import randn


def quadratic_step(params: list[sg.Tensor], curvatures: list[np.ndarray]) -> None:
    """Backward of sum_i 0.5 * sum(c_i * p_i**2), whose gradient is c_i * p_i."""
    loss = None
    for param, curvature in zip(params, curvatures, strict=True):
        term = F.sum(F.mul(F.mul(F.square(param), curvature), 0.5))
        loss = term if loss is None else F.add(loss, term)
    loss.backward()


def numpy_adam(values, curvatures, steps, lr, betas, eps, weight_decay):
    """torch.optim.Adam on the same quadratic, in float64."""
    values = [v.astype(np.float64) for v in values]
    m = [np.zeros_like(v) for v in values]
    s = [np.zeros_like(v) for v in values]
    for t in range(1, steps + 1):
        for i, (v, c) in enumerate(zip(values, curvatures, strict=True)):
            g = c * v + weight_decay * v
            m[i] = betas[0] * m[i] + (1 - betas[0]) * g
            s[i] = betas[1] * s[i] + (1 - betas[1]) * g * g
            m_hat, s_hat = m[i] / (1 - betas[0] ** t), s[i] / (1 - betas[1] ** t)
            values[i] = v - lr * m_hat / (np.sqrt(s_hat) + eps)
    return values, m, s


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_numpy(rng, weight_decay) -> None:
    # 37 elements: the update's full sixteen-lane vectors and a partial one
    values = [randn(rng, 3, 4), randn(rng, 5), randn(rng, 37)]
    curvatures = [np.abs(randn(rng, *v.shape)) + 0.1 for v in values]
    params = [sg.tensor(v, requires_grad=True) for v in values]
    opt = optim.Adam(params, lr=0.01, betas=(0.5, 0.999), eps=1e-8, weight_decay=weight_decay)
    for _ in range(5):
        opt.zero_grad()
        quadratic_step(params, curvatures)
        opt.step()
    expected, m, s = numpy_adam(values, curvatures, 5, 0.01, (0.5, 0.999), 1e-8, weight_decay)
    assert opt.step_count == 5
    state = opt.state_dict()
    for i, param in enumerate(params):
        np.testing.assert_allclose(param.numpy(), expected[i], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state["state"][i]["exp_avg"], m[i], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state["state"][i]["exp_avg_sq"], s[i], rtol=1e-5, atol=1e-7)


def test_sgd_momentum_matches_numpy(rng) -> None:
    value, curvature = randn(rng, 6), np.abs(randn(rng, 6)) + 0.1
    param = sg.tensor(value, requires_grad=True)
    opt = optim.SGD([param], lr=0.1, momentum=0.9)
    expected, buffer = value.astype(np.float64), np.zeros(6)
    for _ in range(4):
        opt.zero_grad()
        quadratic_step([param], [curvature])
        opt.step()
        buffer = 0.9 * buffer + curvature * expected
        expected = expected - 0.1 * buffer
    np.testing.assert_allclose(param.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum_buffer"], buffer, rtol=1e-5, atol=1e-6)


def test_state_dict_resumes_bit_identically(rng) -> None:
    values, curvatures = [randn(rng, 4, 2)], [np.abs(randn(rng, 4, 2)) + 0.1]

    def train(opt: optim.Adam, params: list[sg.Tensor], steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            quadratic_step(params, curvatures)
            opt.step()

    params = [sg.tensor(v, requires_grad=True) for v in values]
    opt = optim.Adam(params, lr=0.05)
    train(opt, params, 3)
    checkpoint = opt.state_dict(), [p.numpy() for p in params]
    train(opt, params, 2)

    resumed = [sg.tensor(v, requires_grad=True) for v in checkpoint[1]]
    opt2 = optim.Adam(resumed, lr=0.05)
    opt2.load_state_dict(checkpoint[0])
    assert opt2.step_count == 3
    train(opt2, resumed, 2)
    np.testing.assert_array_equal(resumed[0].numpy(), params[0].numpy())


def test_load_state_dict_rejects_mismatches(rng) -> None:
    opt = optim.Adam([sg.tensor(randn(rng, 3), requires_grad=True)])
    state = opt.state_dict()
    with pytest.raises(ValueError, match="parameters"):
        opt.load_state_dict({**state, "state": []})
    with pytest.raises(ValueError, match="shape"):
        wrong_shape = {"exp_avg": np.zeros(4, np.float32), "exp_avg_sq": np.zeros(3, np.float32)}
        opt.load_state_dict({**state, "state": [wrong_shape]})
    with pytest.raises(ValueError, match="exp_avg"):
        opt.load_state_dict({**state, "state": [{"momentum_buffer": np.zeros(3, np.float32)}]})


def test_schedules() -> None:
    assert [optim.ConstantLR(0.5)(epoch) for epoch in (0, 10)] == [0.5, 0.5]
    schedule = optim.LinearDecayLR(1.0, n_constant=2, n_decay=3)
    assert [schedule(epoch) for epoch in range(7)] == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_ema(rng) -> None:
    value = randn(rng, 2, 3)
    param = sg.tensor(value, requires_grad=True)
    ema = optim.EMA([param], decay=0.9)
    param.copy_(value + 1)
    ema.update()
    np.testing.assert_allclose(ema.averages[0].numpy(), value + 0.1, rtol=1e-6, atol=1e-6)
    ema.load_state_dict([value])
    np.testing.assert_array_equal(ema.state_dict()[0], value)
