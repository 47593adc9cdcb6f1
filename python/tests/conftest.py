"""Fixtures shared by the swiftgan test suite."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test sees the same data."""
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def digits16() -> np.ndarray:
    """scikit-learn's digits at 16x16: (1797, 1, 16, 16) float32 in [-1, 1], quick to load."""
    from swiftgan.datasets import digits

    return digits(size=16)
