"""No leaks: resident memory stays flat over long training and many create/destroy cycles, and engine handles are
freed as soon as their Python objects are (by reference counting, or by the cyclic collector)."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest

import swiftgan as sg
from swiftgan import _native
from swiftgan import functional as F

from helpers import TINY_DCGAN, TINY_STYLEGAN, randn

FLAT_MB = 4.0
"""Growth of the resident set allowed over a leak test (allocator noise, numpy caches)."""


def resident_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def growth_mb(body, warmup: int, repeats: int) -> float:
    """The growth of the resident set over ``repeats`` calls of ``body``, after ``warmup`` calls."""
    for _ in range(warmup):
        body()
    gc.collect()
    before = resident_mb()
    for _ in range(repeats):
        body()
    gc.collect()
    return resident_mb() - before


def test_memory_is_flat_over_2000_training_steps(digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)
    gan.fit(digits16, steps=200, batch_size=8, progress=False)
    before = resident_mb()
    gan.fit(digits16, steps=2000, batch_size=8, progress=False)
    growth = resident_mb() - before
    assert growth < FLAT_MB, f"resident memory grew {growth:.1f} MB over 2000 steps"
    print(f"\n2000 training steps: resident memory {growth:+.2f} MB")


@pytest.mark.slow
def test_memory_is_flat_over_10000_model_lifetimes() -> None:
    config = json.dumps({**TINY_DCGAN, "seed": 0})
    engine = lambda: _native.Model("dcgan", config).generate(2, 1)  # noqa: E731
    growth = growth_mb(engine, warmup=200, repeats=10_000)
    assert growth < FLAT_MB, f"resident memory grew {growth:.1f} MB over 10,000 engine models"
    python = lambda: sg.DCGAN(**TINY_DCGAN, seed=0).nets["G"].state_dict()  # noqa: E731
    python_growth = growth_mb(python, warmup=50, repeats=1_000)
    assert python_growth < FLAT_MB, f"resident memory grew {python_growth:.1f} MB over 1,000 DCGAN objects"
    assert _native.live_handles()["models"] == 0
    print(f"\n10,000 engine model lifetimes (create, generate, free): {growth:+.2f} MB; "
          f"1,000 DCGAN objects: {python_growth:+.2f} MB")


def test_memory_is_flat_over_10000_functional_calls(rng) -> None:
    x, w = randn(rng, 2, 3, 8, 8), randn(rng, 4, 3, 3, 3)
    tx, tw = sg.tensor(x, requires_grad=True), sg.tensor(w, requires_grad=True)

    def calls() -> None:
        F.conv2d(x, w, padding=1)  # numpy in and out
        y = F.mean(F.square(F.leaky_relu(F.conv2d(tx, tw, padding=1), 0.2)))
        (gx,) = sg.grad(y, tx, create_graph=True)  # a double-backward penalty, as R1
        sg.grad(F.sum(F.square(gx)), [tw])
        F.sum(F.conv2d(tx, tw)).backward()
        tx.zero_grad()
        tw.zero_grad()

    growth = growth_mb(calls, warmup=200, repeats=10_000)
    assert growth < FLAT_MB, f"resident memory grew {growth:.1f} MB over 10,000 functional calls"
    print(f"\n10,000 rounds of functional calls with autograd: resident memory {growth:+.2f} MB")


@pytest.mark.parametrize("make", [lambda: sg.DCGAN(**TINY_DCGAN),
                                  lambda: sg.StyleGAN(**TINY_STYLEGAN),
                                  lambda: sg.CycleGAN(image_size=32, in_channels=1, out_channels=1, ngf=4, ndf=4,
                                                      n_blocks=1, n_layers_d=2)],
                         ids=["dcgan", "stylegan", "cyclegan"])
def test_handles_are_freed_with_their_python_objects(make) -> None:
    gc.collect()
    baseline = _native.live_handles()
    gan = make()
    weights = next(iter(gan.nets.values())).state_dict()
    tensor = sg.tensor(np.ones(3, np.float32))
    optimizer = sg.optim.Adam([sg.tensor(np.ones(3, np.float32), requires_grad=True)], lr=0.1)
    assert _native.live_handles()["models"] == baseline["models"] + 1
    del gan, tensor, optimizer  # reference counting alone frees them: a model is not in a reference cycle
    assert _native.live_handles() == baseline
    assert weights  # copies outlive the model

    cycle = [make()]
    cycle.append(cycle)  # a user's reference cycle: the collector frees it
    del cycle
    gc.collect()
    assert _native.live_handles() == baseline
