"""Directions in a StyleGAN2's w space that change one thing about its images, found three ways:

- :func:`ganspace`, GANSpace (Härkönen et al. 2020, "GANSpace: Discovering Interpretable GAN Controls",
  arXiv:2004.02546): the principal components of w over many mapped latents, with the variance of w along each;
- :func:`sefa`, SeFa (Shen and Zhou 2021, "Closed-Form Factorization of Latent Semantics in GANs",
  arXiv:2007.06600): the eigenvectors of ``A^T A`` for the chosen layers' style (affine) weights ``A``, no sampling;
- :func:`fit_boundary`, InterFaceGAN (Shen et al. 2020, "Interpreting the Latent Space of GANs for Semantic Face
  Editing", arXiv:1907.10786): the unit normal of a linear classifier separating labelled latents.

:func:`save_direction` and :func:`load_direction` read and write InterFaceGAN's boundary files (``.npy``, float32
``[1, w_dim]``). ``gan.directions("ganspace")`` and ``gan.directions("sefa")`` call the first two; ``gan.edit`` moves
ws along any of them.
"""

from __future__ import annotations

import os
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from swiftgan import functional as F
from swiftgan._checks import _check_float, _check_int

if TYPE_CHECKING:
    from swiftgan.models.stylegan import StyleGAN

__all__ = ["Directions", "ganspace", "sefa", "fit_boundary", "save_direction", "load_direction", "style_layers"]

MAX_SAMPLES = 10_000_000
"""The most latents :func:`ganspace` maps (memory stays at one batch; time grows with the count)."""


@dataclass(frozen=True, eq=False)
class Directions:
    """Directions in w space, strongest first.

    Attributes:
        method: "ganspace" or "sefa".
        vectors: float32 (n, w_dim), unit rows.
        variance: float64 (n,), descending: GANSpace's variance of w along each direction, SeFa's eigenvalues.
        scale: float32 (n,), the step one unit of edit strength takes: GANSpace's standard deviation of w along the
            direction (so strengths count standard deviations, as GANSpace's sliders), SeFa's 1 (strengths are
            distances in w, as SeFa's).
        layers: the layers whose weights SeFa factorized (None for GANSpace): edit those.
        mean: GANSpace's mean w (None for SeFa).
        total_variance: GANSpace's total variance of w (the sum over all w_dim components), SeFa's eigenvalue sum.
    """

    method: str
    vectors: np.ndarray
    variance: np.ndarray
    scale: np.ndarray
    layers: tuple[int, ...] | None = None
    mean: np.ndarray | None = None
    total_variance: float = float("nan")

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, index: int) -> np.ndarray:
        """Direction ``index`` scaled to one unit of strength (``vectors[index] * scale[index]``), float32 (w_dim,)."""
        index = _check_int("Directions", "index", index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"Directions: index {index} is out of range for {len(self)} directions")
        return (self.vectors[index] * self.scale[index]).astype(np.float32)

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """Each direction's share of the total variance (GANSpace) or of the eigenvalue sum (SeFa)."""
        return self.variance / self.total_variance

    def __repr__(self) -> str:
        shares = ", ".join(f"{share:.3f}" for share in self.explained_variance_ratio[:5])
        return (f"<Directions {self.method}: {len(self)} of {self.vectors.shape[1]} dims, explained variance "
                f"{shares}{', ...' if len(self) > 5 else ''}>")


def _check_count(caller: str, name: str, value: object, low: int, high: int) -> int:
    count = _check_int(caller, name, value)
    if not low <= count <= high:
        raise ValueError(f"{caller}: argument '{name}' must be from {low} to {high}, got {count}")
    return count


def ganspace(gan: StyleGAN, n: int = 20, samples: int = 100_000, seed: int = 0, class_idx: int | None = None,
             batch_size: int = 10_000) -> Directions:
    """GANSpace's directions: the ``n`` (at most w_dim) principal components of w over ``samples`` latents
    z ~ N(0, I) (drawn with numpy's ``default_rng(seed)``) mapped by G_ema's mapping network without truncation,
    strongest first.

    The covariance of w is accumulated batch by batch (its products in the engine), so memory stays at one batch;
    100,000 samples of a 512-dimensional w take a few seconds. ``Directions.scale`` holds the standard deviation of
    w along each component: ``gan.edit(ws, d[i], 2.0)`` moves two standard deviations, as GANSpace's sliders.
    For a conditional model, ``class_idx`` is the class whose ws are sampled.
    """
    caller = "StyleGAN.directions"
    w_dim = gan.config["w_dim"]
    n = min(_check_count(caller, "n", n, 1, MAX_SAMPLES), w_dim)
    samples = _check_count(caller, "samples", samples, 2, MAX_SAMPLES)
    batch_size = _check_count(caller, "batch_size", batch_size, 1, MAX_SAMPLES)
    seed = _check_int(caller, "seed", seed)
    if seed < 0:
        raise ValueError(f"{caller}: argument 'seed' must be >= 0, got {seed}")
    rng = np.random.default_rng(seed)
    labels = gan.class_labels(class_idx, 1)
    total = np.zeros(w_dim)
    products = np.zeros((w_dim, w_dim))
    for start in range(0, samples, batch_size):
        count = min(batch_size, samples - start)
        z = rng.standard_normal((count, gan.config["z_dim"]), dtype=np.float32)
        w = np.ascontiguousarray(gan.mapping(z, None if labels is None else np.repeat(labels, count, axis=0))[:, 0])
        total += w.sum(axis=0, dtype=np.float64)
        products += F.matmul(np.ascontiguousarray(w.T), w)  # the engine's GEMM, not numpy's BLAS
    mean = total / samples
    covariance = (products - samples * np.outer(mean, mean)) / (samples - 1)
    eigenvalues, eigenvectors = np.linalg.eigh((covariance + covariance.T) / 2)
    order = np.argsort(eigenvalues)[::-1][:n]
    variance = np.clip(eigenvalues[order], 0.0, None)
    return Directions("ganspace", np.ascontiguousarray(eigenvectors[:, order].T, dtype=np.float32), variance,
                      np.sqrt(variance).astype(np.float32), None, mean.astype(np.float32),
                      float(np.clip(eigenvalues, 0.0, None).sum()))


def style_layers(gan: StyleGAN) -> dict[int, str]:
    """The modulated layer that reads each w, by w index, as SeFa (genforce) counts StyleGAN2's layers: the 3x3
    convolutions (``synthesis.b4.conv1``, ``synthesis.b8.conv0``, ...), which read ws 0 to num_ws - 2, and the last
    toRGB, which alone reads the last w."""
    names = {0: "synthesis.b4.conv1"}
    resolution = 8
    while resolution <= gan.config["resolution"]:
        index = 2 * resolution.bit_length() - 6
        names[index - 1], names[index] = f"synthesis.b{resolution}.conv0", f"synthesis.b{resolution}.conv1"
        resolution *= 2
    names[gan.num_ws - 1] = f"synthesis.b{gan.config['resolution']}.torgb"
    return names


def _check_layers(caller: str, layers: Iterable[int] | None, num_ws: int) -> list[int]:
    """``layers`` as a sorted list of distinct w indices in [0, num_ws) (None: all of them)."""
    if layers is None:
        return list(range(num_ws))
    if isinstance(layers, (int, np.integer)):
        layers = [int(layers)]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise TypeError(f"{caller}: argument 'layers' must be an iterable of ints (w indices) or None, "
                        f"got {type(layers).__name__}")
    values = sorted({_check_int(caller, "layers", layer) for layer in layers})
    if not values:
        raise ValueError(f"{caller}: argument 'layers' is empty")
    if not 0 <= values[0] <= values[-1] < num_ws:
        raise ValueError(f"{caller}: layers must be w indices in [0, {num_ws}), got {values}")
    return values


def sefa(gan: StyleGAN, layers: Iterable[int] | None = None, n: int = 20) -> Directions:
    """SeFa's ``n`` (at most w_dim) directions for the layers that read the ws ``layers`` (None: all, SeFa's default):
    the eigenvectors of ``A^T A``, strongest first, where the rows of ``A`` are the style weights (the
    ``affine.weight`` rows, one per input channel) of those layers (:func:`style_layers`), each normalized to unit
    length as SeFa does.

    The directions come from G_ema's weights alone, in a fraction of a second; ``Directions.variance`` holds the
    eigenvalues and ``Directions.scale`` is 1 (strengths are distances in w, SeFa's -3 to 3 a typical range). Edit
    the same layers the directions were computed for (``Directions.layers``).
    """
    caller = "StyleGAN.directions"
    if gan.config["version"] != 2:
        raise ValueError(f"{caller}: SeFa factorizes StyleGAN2's modulation weights; this model is version "
                         f"{gan.config['version']}")
    chosen = _check_layers(caller, layers, gan.num_ws)
    n = min(_check_count(caller, "n", n, 1, MAX_SAMPLES), gan.config["w_dim"])
    names = style_layers(gan)
    weights = np.concatenate([gan._model.state_tensor(f"G_ema.{names[i]}.affine.weight").numpy() for i in chosen])
    weights = weights.astype(np.float64) / np.linalg.norm(weights, axis=1, keepdims=True).astype(np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(weights.T @ weights)
    order = np.argsort(eigenvalues)[::-1][:n]
    return Directions("sefa", np.ascontiguousarray(eigenvectors[:, order].T, dtype=np.float32),
                      eigenvalues[order], np.ones(len(order), np.float32), tuple(chosen), None,
                      float(eigenvalues.sum()))


def fit_boundary(ws: np.ndarray, labels: np.ndarray, chosen_ratio: float = 0.02, c: float = 1.0,
                 iterations: int = 50) -> np.ndarray:
    """InterFaceGAN's boundary: the unit normal [1, w_dim] (float32, pointing toward the positive side) of a linear
    classifier of latents by an attribute, ready for ``gan.edit`` and :func:`save_direction`.

    Args:
        ws: latents (N, w_dim), or ws (N, num_ws, w_dim) whose first w is used (mapped ws repeat one w).
        labels: (N,) the attribute: bools or 0/1 for two classes; otherwise real-valued scores (a classifier's
            confidence, say), of which InterFaceGAN keeps the ``chosen_ratio`` highest as positives and as many lowest
            as negatives (its default 0.02: the clearest 2% each way).
        chosen_ratio: the share of samples taken from each end of real-valued scores.
        c: inverse L2 regularization strength (InterFaceGAN's linear SVM uses C = 1).
        iterations: at most this many Newton steps.

    The classifier is L2-regularized logistic regression fitted by Newton's method (InterFaceGAN fits a linear SVM:
    both are linear classifiers, and on separable data weakly regularized logistic regression tends to the
    maximum-margin direction).
    """
    caller = "fit_boundary"
    points = np.asarray(ws)
    if points.dtype.kind not in "fiu":
        raise TypeError(f"{caller}: argument 'ws' must be a numeric array, got dtype {points.dtype}")
    if points.ndim == 3:
        points = points[:, 0]
    scores = np.asarray(labels)
    if points.ndim != 2 or scores.shape != (len(points),) or scores.dtype.kind not in "fiub":
        raise ValueError(f"{caller}: expected ws (N, w_dim) or (N, num_ws, w_dim) and labels (N,) of numbers, "
                         f"got {np.shape(ws)} and {np.shape(labels)} {scores.dtype}")
    ratio = _check_float(caller, "chosen_ratio", chosen_ratio)
    strength = _check_float(caller, "c", c)
    iterations = _check_count(caller, "iterations", iterations, 1, 10_000)
    if not np.isfinite(points).all() or not np.isfinite(scores.astype(np.float64)).all():
        raise ValueError(f"{caller}: ws and labels must be finite")
    if not (0 < ratio <= 0.5 and strength > 0):
        raise ValueError(f"{caller}: need 0 < chosen_ratio <= 0.5 and c > 0, got {ratio} and {strength}")
    values = scores.astype(np.float64)
    if np.isin(values, (0.0, 1.0)).all():
        x, y = points.astype(np.float64), values
    else:
        chosen = max(1, int(len(values) * ratio))
        order = np.argsort(values, kind="stable")
        x = points[np.concatenate([order[-chosen:], order[:chosen]])].astype(np.float64)
        y = np.concatenate([np.ones(chosen), np.zeros(chosen)])
    if y.min() == y.max():
        raise ValueError(f"{caller}: the labels hold one class only; a boundary needs both")
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.full(design.shape[1], 1.0 / strength)
    penalty[-1] = 0.0  # the intercept is not regularized
    theta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -500, 500)))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-10 * np.eye(len(theta))
        delta = np.linalg.solve(hessian, gradient)
        theta -= delta
        if np.abs(delta).max() < 1e-10:
            break
    normal = theta[:-1]
    length = np.linalg.norm(normal)
    if not np.isfinite(length) or length == 0:
        raise ValueError(f"{caller}: the classifier found no direction (the classes are not separable at all)")
    return (normal / length).astype(np.float32)[None]


def save_direction(path: str | os.PathLike, direction: np.ndarray) -> None:
    """Writes a direction as InterFaceGAN does: a ``.npy`` file holding float32 [1, w_dim]."""
    vector = np.asarray(direction)
    if vector.dtype.kind not in "fiu" or vector.ndim not in (1, 2) or (vector.ndim == 2 and vector.shape[0] != 1) \
            or vector.size == 0:
        raise ValueError(f"save_direction: expected a direction (w_dim,) or (1, w_dim) of numbers, got "
                         f"{vector.shape} {vector.dtype}")
    np.save(path, vector.reshape(1, -1).astype(np.float32), allow_pickle=False)


def load_direction(path: str | os.PathLike) -> np.ndarray:
    """A direction from a ``.npy`` file in InterFaceGAN's layout ([1, w_dim]; (w_dim,) is accepted too), as float32
    [1, w_dim]. The header is checked against the file's size before any data is read, and pickled (object)
    arrays are refused, so a forged or truncated file raises ValueError instead of allocating or running code."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(file)
            data_bytes = os.fstat(file.fileno()).st_size - file.tell()
        if dtype.hasobject or int(np.prod(shape, dtype=np.float64)) * dtype.itemsize != data_bytes:
            raise ValueError(f"its header says {shape} {dtype}, which does not match its {data_bytes} data bytes"
                             if not dtype.hasobject else "it holds pickled objects")
        vector = np.load(path, allow_pickle=False)
    except OSError as error:
        raise OSError(f"load_direction: cannot read {name!r} ({error})") from None
    except (ValueError, SyntaxError, tokenize.TokenError, TypeError, OverflowError) as error:  # numpy's header parser
        raise ValueError(f"load_direction: cannot read {name!r} as a .npy array: {error}") from None
    if vector.dtype.kind not in "fiu" or vector.ndim not in (1, 2) or (vector.ndim == 2 and vector.shape[0] != 1) \
            or vector.size == 0 or not np.isfinite(vector).all():
        raise ValueError(f"load_direction: {name!r} holds {vector.shape} {vector.dtype}, expected finite numbers "
                         f"[1, w_dim] (InterFaceGAN's layout)")
    return vector.reshape(1, -1).astype(np.float32)
