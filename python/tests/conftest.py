"""Fixtures shared by the swiftgan test suite."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test sees the same data."""
    return np.random.default_rng(1234)
