"""The Fréchet distance and the shipped Fashion-MNIST feature network."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from swiftgan import metrics
from swiftgan.datasets import fashion_mnist
from swiftgan.safetensors import load_file


def direct_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula, with a general (non-symmetric) matrix square root."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_matches_the_formula(rng) -> None:
    a = rng.standard_normal((200, 6))
    b = rng.standard_normal((150, 6)) @ rng.standard_normal((6, 6)) + 0.5
    distance = metrics.frechet_distance(a, b)
    assert distance == pytest.approx(direct_frechet(a, b), rel=1e-9)
    assert metrics.frechet_distance(b, a) == pytest.approx(distance, rel=1e-9)
    assert metrics.frechet_distance(a, a + 2.0) == pytest.approx(6 * 4.0, rel=1e-9)  # a shift adds |shift|^2


def test_frechet_distance_is_zero_for_identical_sets_even_when_singular(rng) -> None:
    a = rng.standard_normal((300, 8)).astype(np.float32)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    few = rng.standard_normal((10, 64))  # rank-deficient covariance
    assert metrics.frechet_distance(few, few) == pytest.approx(0.0, abs=1e-8)
    assert metrics.frechet_distance(few, few[::-1]) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((5, 3)), np.zeros((5, 4)), r"two \(N, D\) arrays with the same D"),
        (np.zeros(5), np.zeros(5), r"two \(N, D\) arrays"),
        (np.zeros((1, 3)), np.zeros((5, 3)), r"at least 2 samples"),
        (np.full((5, 3), np.nan), np.zeros((5, 3)), r"finite"),
    ],
)
def test_frechet_distance_errors(a, b, message) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.frechet_distance(a, b)


@pytest.fixture(scope="module")
def test_split() -> tuple[np.ndarray, np.ndarray]:
    images, labels = fashion_mnist("test", return_labels=True)
    return images[:2000], labels[:2000]


def test_shipped_feature_net_classifies_fashion_mnist(test_split) -> None:
    _, metadata = load_file(metrics.FEATURE_NET_WEIGHTS)
    assert float(metadata["test_accuracy"]) >= 0.88
    images, labels = test_split
    assert np.mean(metrics.fashion_mnist_classify(images) == labels) >= 0.88


def test_features_and_the_distance_they_give(test_split) -> None:
    images, labels = test_split
    features = metrics.fashion_mnist_features(images[:100])
    assert features.shape == (100, 128) and features.dtype == np.float64
    resized = fashion_mnist("test", size=32)[:2000]  # other sizes are resized to 28x28 first
    assert np.mean(metrics.fashion_mnist_classify(resized) == labels) >= 0.85

    real, same = images[:1000], images[1000:2000]
    shoes = images[np.isin(labels, [5, 7, 9])]
    noise = np.random.default_rng(0).uniform(-1, 1, (1000, 1, 28, 28)).astype(np.float32)
    close = metrics.fid_fashion_mnist(same, real)
    assert 0 < close < 0.05 * min(metrics.fid_fashion_mnist(shoes, real), metrics.fid_fashion_mnist(noise, real))


def test_feature_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match=r"expected 1-channel square images \(N, 1, H, H\), got \(2, 3, 28, 28\)"):
        metrics.fashion_mnist_features(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(TypeError, match=r"expected float32 images"):
        metrics.fashion_mnist_features(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"FeatureNet: expected parameters"):
        metrics.FeatureNet({"conv1.weight": np.zeros((32, 1, 4, 4), np.float32)})
