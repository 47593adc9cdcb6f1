"""Projection of images into a StyleGAN2's latent space, NVlabs' recipe (stylegan2-ada-pytorch's projector.py): the
ws (and the noise maps) whose image is closest to a photo, so that the photo can be edited like a generated image.

Every step runs in the engine (``swiftgan._native.Projector``, on its own copy of the model's networks); Python drives
the loop with a tqdm bar. The image distance needs no download: NVlabs' LPIPS on a VGG16 it fetches at run time is
replaced by the mean squared error at every scale of an average-pooling pyramid (``distance="pixel"``), optionally
plus the unit-normalized features of every block of the model's own discriminator (``distance="discriminator"``,
which needs D). What that costs: pixel errors reward matching colors and coarse shapes, not the perceptual features
LPIPS weighs, so a real photo's projection in W tends to be blurrier and less faithful in identity, and W+ with the
noise maps reproduces the pixels more closely but with latents less typical of the model (its edits are less clean).
On the model's own images the pixel distance is exact: their w is found back (PSNR 30 dB and above in W+).

The noise maps start as the model's constant noise (``initial_noise="model"``); NVlabs draws fresh Gaussian noise
(``"random"``). Both are standard Gaussian noise, so a photo's projection is no better or worse for it; but the model's
own images, made with its constant noise, then come back, where fresh noise maps cannot be brought to the model's under
NVlabs' autocorrelation penalty (about 25 dB instead of 35 dB in W+ on a briefly trained 32x32 model).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from swiftgan import _native
from swiftgan._checks import _check_float, _check_int, _choice
from swiftgan.datasets import _fit_picture, _load_picture
from swiftgan.metrics import psnr
from swiftgan.models.base import _interrupt_at_step_boundary, _never

if TYPE_CHECKING:
    from swiftgan.models.stylegan import StyleGAN

__all__ = ["Projection", "SPACES", "DISTANCES", "INITIAL_NOISE"]

SPACES = {"w": 0, "w+": 1}
"""Where the latent lives (the engine's codes): one w for every layer (NVlabs), or one per layer."""
DISTANCES = {"pixel": 0, "discriminator": 1}
"""The image distance (the engine's codes): see the module docstring."""
INITIAL_NOISE = {"random": 0, "model": 1}
"""Where the noise maps start (the engine's codes): fresh Gaussian noise (NVlabs), or the model's constant noise."""

ImageLike = np.ndarray | Image.Image | str | os.PathLike
"""An image to project: float (C, R, R) or (1, C, R, R) in [-1, 1], a PIL image, or an image file."""


def target_image(gan: StyleGAN, image: ImageLike) -> np.ndarray:
    """``image`` as the model's float32 (1, C, R, R) in [-1, 1]: an array of that size as it is; a PIL image or a file
    as NVlabs' projector prepares one (center-cropped to a square, resized with Lanczos; transparency on white)."""
    channels, resolution = gan.config["channels"], gan.config["resolution"]
    if isinstance(image, (str, os.PathLike, Image.Image)):
        pixels = (_load_picture(Path(image), resolution, channels) if not isinstance(image, Image.Image)
                  else _fit_picture(image, resolution, channels))
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32) / 127.5 - 1
    if not isinstance(image, np.ndarray):
        raise TypeError(f"StyleGAN.project: argument 'image' must be an array, a PIL image or a path, got "
                        f"{type(image).__name__}")
    array = image[None] if image.ndim == 3 else image
    if array.dtype.kind != "f" or array.shape != (1, channels, resolution, resolution):
        raise ValueError(f"StyleGAN.project: argument 'image' must be float ({channels}, {resolution}, {resolution}) "
                         f"or (1, {channels}, {resolution}, {resolution}) in [-1, 1], got {image.shape} {image.dtype} "
                         "(a PIL image or a file is cropped and resized)")
    if not np.isfinite(array).all():
        raise ValueError("StyleGAN.project: argument 'image' holds NaN or infinite values")
    return np.ascontiguousarray(array, dtype=np.float32)


class Projection:
    """A projection of one image into a StyleGAN2's latent space: running (:meth:`run`) or done.

    ``gan.project(image, ...)`` builds one and runs all its steps; its arguments are documented there. Attributes:
    ``target`` (1, C, R, R), ``steps`` (all it will take), ``space``, ``distance`` and ``losses`` (per step taken:
    ``"loss"``, ``"distance"``, ``"noise_regularization"``).
    """

    def __init__(self, gan: StyleGAN, image: ImageLike, steps: int = 1000, space: str = "w", *,
                 w_avg_samples: int = 10_000, initial_learning_rate: float = 0.1, initial_noise_factor: float = 0.05,
                 lr_rampdown_length: float = 0.25, lr_rampup_length: float = 0.05, noise_ramp_length: float = 0.75,
                 regularize_noise_weight: float = 1e5, distance: str = "pixel", initial_noise: str = "model",
                 seed: int = 303, class_idx: int | None = None) -> None:
        caller = "StyleGAN.project"
        self.target = target_image(gan, image)
        self.space, self.distance = space, distance
        self.steps = _check_int(caller, "steps", steps)
        """The steps the projection takes in all."""
        attrs: dict[str, float | int | bool] = {
            "space": _choice(caller, "space", space, SPACES),
            "distance": _choice(caller, "distance", distance, DISTANCES),
            "initial_noise": _choice(caller, "initial_noise", initial_noise, INITIAL_NOISE),
            "num_steps": self.steps,
            "w_avg_samples": _check_int(caller, "w_avg_samples", w_avg_samples),
            "seed": _check_int(caller, "seed", seed),
        }
        for name, value in (("initial_learning_rate", initial_learning_rate),
                            ("initial_noise_factor", initial_noise_factor), ("lr_rampdown_length", lr_rampdown_length),
                            ("lr_rampup_length", lr_rampup_length), ("noise_ramp_length", noise_ramp_length),
                            ("regularize_noise_weight", regularize_noise_weight)):
            attrs[name] = _check_float(caller, name, value)
        labels = gan.class_labels(class_idx, 1)
        self._engine = _native.Projector(gan._model, _native.tensor(self.target, name="image", caller=caller),
                                         None if labels is None else _native.tensor(labels), attrs)
        self.losses: dict[str, list[float]] = {"loss": [], "distance": [], "noise_regularization": []}

    @property
    def steps_taken(self) -> int:
        """The optimization steps taken so far."""
        return self._engine.steps_taken

    def run(self, steps: int | None = None, progress: bool = True) -> Projection:
        """Takes the remaining steps (at most ``steps`` of them), with a tqdm bar showing the distance; returns self.

        Ctrl-C stops at once (a step in progress is abandoned, leaving the projection as it was before it): the
        projection so far stays usable, with a warning, and ``run()`` again takes the remaining steps.
        """
        remaining = self.steps - self.steps_taken
        count = remaining if steps is None else min(max(_check_int("Projection.run", "steps", steps), 0), remaining)
        with tqdm(total=count, desc="project", unit="step", disable=not progress, dynamic_ncols=True) as bar, \
                _interrupt_at_step_boundary() as pending:
            for _ in range(count):
                try:
                    if pending():
                        raise KeyboardInterrupt
                    loss, dist, reg = self._engine.step(None if pending is _never else pending)
                except KeyboardInterrupt:
                    if pending is _never:
                        raise
                    warnings.warn(f"projection interrupted after {self.steps_taken} of {self.steps} steps; run() "
                                  "continues it", stacklevel=2)
                    break
                for key, value in zip(self.losses, (loss, dist, reg), strict=True):
                    self.losses[key].append(value)
                bar.set_postfix(distance=f"{dist:.4g}", loss=f"{loss:.4g}", refresh=False)
                bar.update(1)
        return self

    @property
    def ws(self) -> np.ndarray:
        """The projected ws, float32 (1, num_ws, w_dim): ``gan.synthesis(ws)`` renders them, ``gan.edit`` edits them
        (with the model's own noise; :meth:`apply_noise` gives it the projected noise maps)."""
        return self._engine.tensor("ws").numpy()

    @property
    def noise(self) -> dict[str, np.ndarray]:
        """The optimized noise maps, under their G_ema state names (``"synthesis.b8.conv0.noise_const"``)."""
        return {f"synthesis.{name[len('noise.'):]}": self._engine.tensor(name).numpy()
                for name in self._engine.tensor_names() if name.startswith("noise.")}

    @property
    def image(self) -> np.ndarray:
        """The reconstruction (1, C, R, R): the image of :attr:`ws` with the projected noise maps."""
        return self._engine.tensor("image").numpy()

    def psnr(self) -> float:
        """The reconstruction's PSNR against the target in dB (:func:`swiftgan.metrics.psnr`)."""
        return psnr(self.image, self.target)

    def apply_noise(self, gan: StyleGAN) -> None:
        """Writes the projected noise maps into ``gan``'s G_ema noise buffers (its "const" noise), so that
        ``gan.synthesis(result.ws)`` is the reconstruction and edits keep the projection's fine detail. This changes
        the model's constant noise for every later image."""
        gan.nets["G_ema"].load_state_dict(self.noise, strict=False)

    def save(self, path: str | os.PathLike) -> None:
        """Writes NVlabs' ``projected_w.npz`` layout: ``w`` float32 (1, num_ws, w_dim), which NVlabs'
        ``generate.py --projected-w`` reads, plus the noise maps under ``noise/<state name>``."""
        arrays = {"w": self.ws, **{f"noise/{name}": value for name, value in self.noise.items()}}
        savez: Any = np.savez  # numpy's stub types **arrays as its allow_pickle flag
        savez(path, **arrays)

    def __repr__(self) -> str:
        last = f", distance {self.losses['distance'][-1]:.4g}" if self.losses["distance"] else ""
        return f"<Projection in {self.space} ({self.distance}): step {self.steps_taken} of {self.steps}{last}>"
