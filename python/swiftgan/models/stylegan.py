"""StyleGAN: style-based generators with mixing, truncation, lazy regularization, EMA and adaptive augmentation."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from swiftgan import _native, editing
from swiftgan._checks import _check_float, _check_int, _choice
from swiftgan.directions import Directions, ganspace, sefa
from swiftgan.models.base import GAN
from swiftgan.projection import ImageLike, Projection

if TYPE_CHECKING:
    from swiftgan.explore import Explorer

__all__ = ["StyleGAN", "NOISE_MODES", "SAMPLE_BATCH"]

MAX_IMAGES = 65536
"""The most images (seeds, interpolation steps, style-mixing cells) one call renders, as DCGAN's generate."""
SAMPLE_BATCH = 64
"""Images per engine call when sampling."""
NOISE_MODES = {"random": 0, "const": 1, "none": 2}
"""How the synthesis network's per-layer noise is drawn (the engine's ``noise_mode`` codes): fresh Gaussian noise
from the image's seed, each layer's fixed noise buffer (NVlabs' ``const``), or no noise."""


class StyleGAN(GAN, kind="stylegan"):
    """StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", arXiv:1912.04958) as
    in NVlabs/stylegan2-ada-pytorch, the default, and StyleGAN (Karras, Laine and Aila 2019, "A Style-Based Generator
    Architecture for Generative Adversarial Networks", arXiv:1812.04948) as in NVlabs/stylegan with ``version=1``;
    both with adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks with
    Limited Data", arXiv:2006.06676) for small datasets.

    Both versions share the mapping network (``mapping_layers`` fully connected layers at a 0.01 learning-rate
    multiplier) from the pixel-normalized z to w, whose running average ``w_avg`` anchors the truncation trick; a
    synthesis network from a learned 4x4 constant that reads one w per layer (:attr:`num_ws` in all) and adds
    per-layer noise with learned strengths; style mixing; the non-saturating logistic loss with R1; and ``G_ema``, an
    exponential moving average of ``G`` with a half-life of ``ema_images`` images, which is what :meth:`generate`,
    :meth:`mapping` and :meth:`synthesis` use. All layers use equalized learning rates; parameter names are NVlabs'.

    - Version 2: modulated/demodulated 3x3 convolutions with FIR [1,3,3,1] upsampling and skip connections through
      toRGB layers; a residual D with FIR downsampling and minibatch standard deviation. One :meth:`train_step` is
      NVlabs' phase order: the G loss, every ``pl_interval`` steps the path-length penalty, the D loss on fresh fakes
      and the reals, every ``r1_interval`` steps R1 on the reals (both penalties through the engine's double
      backward, the optimizers' lr and betas scaled by ``c = k / (k + 1)`` for lazy regularization), then G_ema.
    - Version 1: AdaIN (``x_norm * (scale + 1) + bias``) with styles from w, blurred [1,2,1] resampling, and
      progressive growing of G and D from ``initial_resolution`` with fade-in, each phase (training a resolution,
      then fading the next one in) lasting ``phase_images`` real images; R1 (gamma 10) every step.

    With ``ada``, every image D sees is augmented (x-flips, 90-degree rotations, integer translations, brightness,
    contrast, luma flip, hue, saturation) with probability :attr:`augment_p`, which moves every ``ada_interval``
    steps by the sign of D's outputs on reals against ``ada_target``.

    The defaults suit a 2-core CPU at 32x32. NVlabs' configurations use 512-dimensional z and w and up to 512
    feature maps; here z and w have 256 dimensions and every resolution 128 feature maps (``channel_base`` 4096 /
    resolution, capped at ``channel_max``): a 3x3 convolution costs 1/16 of its 512-map counterpart, and the
    network keeps the whole architecture (8 mapping layers, modulation, noise, skips, residual D). Batches of 16
    (:attr:`default_batch_size`) keep a step short and give minibatch standard deviation four groups. The rest are
    the papers': Adam lr 0.002 with betas (0, 0.99), R1 every 16 and path length every 4 steps (weight 2), mixing
    probability 0.9, a G_ema half-life of 10k images, ADA's target 0.6. Train on small sets (a few thousand images,
    such as :func:`swiftgan.datasets.emoji`) with ``ada=True``.

    {args}

    ``train_step(batch)`` takes real images (B, channels, resolution, resolution) in [-1, 1] and returns ``loss_g``,
    ``loss_d``, ``loss_pl`` and ``loss_r1`` (the penalties as of their latest lazy step), ``d_real`` and ``d_fake``
    (D's mean logits), ``pl_mean`` and ``augment_p``. Checkpoints hold G, D, G_ema (with ``w_avg``), both Adam
    states, ``pl_mean``, ADA's p and sign statistics, the step (which schedules the lazy penalties), the images seen
    (version 1's growth clock) and the RNG.
    """

    preview_nrow = 8
    default_batch_size = 16

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any], format_version: int) -> dict[str, Any]:
        """Checkpoints of format 1 (swiftgan 0.1) hold StyleGAN2s whose up-convolutions upsample before the 3x3 conv:
        they keep that computation (``legacy_upsampling``)."""
        if format_version == 1 and isinstance(config, dict) and config.get("version", 2) == 2:
            return {**config, "legacy_upsampling": True}
        return config

    # -- properties -----------------------------------------------------------------------------------------

    @property
    def num_ws(self) -> int:
        """How many w vectors the synthesis network reads, ``2 * log2(resolution) - 2`` in both versions (two per
        resolution; version 2 shares each toRGB's with the next resolution's first layer, and adds the last one)."""
        return 2 * self.config["resolution"].bit_length() - 4

    @property
    def w_avg(self) -> np.ndarray:
        """G_ema's running average of w (w_dim,), the center of the truncation trick."""
        return self._model.state_tensor("G_ema.mapping.w_avg").numpy()

    @property
    def augment_p(self) -> float:
        """ADA's current augmentation probability (0 when ADA is off)."""
        return float(self._model.state_tensor("augment_p").numpy()) if self.config["ada"] else 0.0

    # -- sampling -------------------------------------------------------------------------------------------

    def mapping(self, z: np.ndarray, c: np.ndarray | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> np.ndarray:
        """G_ema's ws (N, num_ws, w_dim) for latents z (N, z_dim) and, for a conditional model (``c_dim`` > 0),
        labels c (N, c_dim) such as one-hot classes; float32. NVlabs' ``G.mapping(z, c, truncation_psi,
        truncation_cutoff)``.

        Truncation (Karras et al. 2019) pulls ws toward ``w_avg``: ``w_avg + truncation_psi * (w - w_avg)``. With
        the config's ``truncation="nvlabs"`` any psi applies (above 1 extrapolates) to the first
        ``truncation_cutoff`` ws (all when None); with ``"rosinality"`` (models read from rosinality's files) only
        psi below 1 applies, to every w. psi 1 leaves w unchanged, psi 0 gives ``w_avg`` for every z.
        """
        attrs: dict[str, float] = {"truncation_psi": _check_float("StyleGAN.mapping", "truncation_psi",
                                                                  truncation_psi)}
        if truncation_cutoff is not None:
            attrs["truncation_cutoff"] = _check_int("StyleGAN.mapping", "truncation_cutoff", truncation_cutoff)
        inputs: dict[str, _native.Tensor | None] = {"z": _native.tensor(z, name="z", caller="StyleGAN.mapping")}
        if c is not None:
            inputs["c"] = _native.tensor(c, name="c", caller="StyleGAN.mapping")
        return self._model.call("mapping", inputs, attrs).numpy()

    def synthesis(self, ws: np.ndarray, noise_mode: str = "const", noise_seed: int = 0) -> np.ndarray:
        """G_ema's images (N, channels, resolution, resolution), roughly in [-1, 1] (not clipped), for ws
        (N, num_ws, w_dim). NVlabs' ``G.synthesis(ws, noise_mode=...)`` in float32.

        ``noise_mode`` (see :data:`NOISE_MODES`): "const", each layer's fixed noise; "random", fresh noise drawn
        from ``noise_seed``; "none".
        """
        attrs: dict[str, float | int | bool] = {
            "noise_mode": _choice("StyleGAN.synthesis", "noise_mode", noise_mode, NOISE_MODES),
            "seed": _check_int("StyleGAN.synthesis", "noise_seed", noise_seed),
        }
        tensor = _native.tensor(ws, name="ws", caller="StyleGAN.synthesis")
        return self._model.call("synthesis", {"ws": tensor}, attrs).numpy()

    def discriminate(self, images: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
        """D's logits (N, 1) for images (N, channels, resolution, resolution) and, for a conditional model, labels
        c (N, c_dim), float32 (no augmentation). NVlabs' ``D(images, c)``. Needs D: a model built or loaded for
        training (``trainable``)."""
        inputs: dict[str, _native.Tensor | None] = {
            "images": _native.tensor(images, name="images", caller="StyleGAN.discriminate")}
        if c is not None:
            inputs["c"] = _native.tensor(c, name="c", caller="StyleGAN.discriminate")
        return self._model.call("discriminate", inputs).numpy()

    def seed_z(self, seeds: Iterable[int]) -> np.ndarray:
        """The latents z (len(seeds), z_dim) of seeds, float32, as the config's ``seed_rng`` draws them: "philox",
        ``swiftgan.random_normal(s, 0, [1, z_dim])``; "numpy" (models read from published files),
        ``np.random.RandomState(s).randn(1, z_dim)`` as NVlabs' generate.py draws them, so that seed 85 is the image
        the papers and notebooks show."""
        seeds = _check_seeds("StyleGAN.seed_z", "seeds", seeds)
        z_dim = self.config["z_dim"]
        if self.config["seed_rng"] == "numpy":
            if any(seed >= 2 ** 32 for seed in seeds):
                raise ValueError(f"StyleGAN.seed_z: numpy's RandomState takes seeds below 2**32, got {max(seeds)}")
            return np.concatenate([np.random.RandomState(seed).randn(1, z_dim) for seed in seeds]).astype(np.float32)
        return np.concatenate([_native.random_normal(seed, 0, [1, z_dim]).numpy() for seed in seeds])

    def class_labels(self, class_idx: int | None, count: int) -> np.ndarray | None:
        """One-hot labels (count, c_dim) of class ``class_idx`` for a conditional model; None for an unconditional
        one (which takes no class)."""
        c_dim = self.config["c_dim"]
        if c_dim == 0:
            if class_idx is not None:
                raise ValueError("StyleGAN: class_idx is for conditional models; this one has c_dim 0")
            return None
        if class_idx is None:
            raise ValueError(f"StyleGAN: this model is conditional ({c_dim} classes): pass class_idx")
        index = _check_int("StyleGAN", "class_idx", class_idx)
        if not 0 <= index < c_dim:
            raise ValueError(f"StyleGAN: class_idx must be in [0, {c_dim}), got {index}")
        labels = np.zeros((count, c_dim), np.float32)
        labels[:, index] = 1
        return labels

    def seed_ws(self, seeds: Iterable[int], truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                class_idx: int | None = None) -> np.ndarray:
        """The ws (len(seeds), num_ws, w_dim) of the seeds' latents (:meth:`seed_z`) and, for a conditional model,
        the class ``class_idx``, mapped by :meth:`mapping`."""
        z = self.seed_z(seeds)
        return self.mapping(z, self.class_labels(class_idx, len(z)), truncation_psi, truncation_cutoff)

    def _render(self, ws: np.ndarray, seeds: Sequence[int], noise_mode: str, batch_size: int) -> np.ndarray:
        """Images of ws in batches; with random noise each image's noise is drawn from its seed alone."""
        if noise_mode == "random":
            return np.concatenate([self.synthesis(ws[i:i + 1], "random", seed) for i, seed in enumerate(seeds)])
        return np.concatenate([self.synthesis(ws[start:start + batch_size], noise_mode)
                               for start in range(0, len(ws), batch_size)])

    def generate(self, n: int | None = None, seeds: Iterable[int] | None = None, truncation_psi: float = 1.0,
                 truncation_cutoff: int | None = None, noise_mode: str = "const",
                 batch_size: int = SAMPLE_BATCH, class_idx: int | None = None) -> np.ndarray:
        """One image per seed from G_ema: float32 (len(seeds), channels, resolution, resolution), roughly in [-1, 1].

        An image depends on its seed alone (and on the truncation, noise and class arguments), not on the other
        seeds of the call: z for seed s is drawn as :meth:`seed_z` says (as NVlabs' generate.py for published
        models), and with ``noise_mode="random"`` the noise is drawn from s too. (Images of one seed computed in
        batches of different composition agree to float rounding, about 1e-6: the engine's matrix products tile a
        batch by its size.)

        Args:
            n: the seeds 0..n-1, when ``seeds`` is not given.
            seeds: non-negative ints, one image each.
            truncation_psi: the truncation trick's psi (see :meth:`mapping`); 0.5 to 0.7 trade variety for quality.
            truncation_cutoff: truncate only the first this many ws (coarse styles); None truncates all.
            noise_mode: "const", "random" or "none" (see :data:`NOISE_MODES`).
            batch_size: images per engine call.
            class_idx: the class of a conditional model (its one-hot label).
        """
        if (n is None) == (seeds is None):
            raise ValueError("StyleGAN.generate: pass either n (the seeds 0..n-1) or seeds")
        if seeds is None:
            seeds = range(_check_int("StyleGAN.generate", "n", n))
        seeds = _check_seeds("StyleGAN.generate", "seeds", seeds)
        _choice("StyleGAN.generate", "noise_mode", noise_mode, NOISE_MODES)
        if _check_int("StyleGAN.generate", "batch_size", batch_size) < 1:
            raise ValueError(f"StyleGAN.generate: batch_size must be >= 1, got {batch_size}")
        ws = self.seed_ws(seeds, truncation_psi, truncation_cutoff, class_idx)
        return self._render(ws, seeds, noise_mode, batch_size)

    def style_mix(self, row_seeds: Iterable[int], col_seeds: Iterable[int], layers: Iterable[int] = range(4),
                  truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                  noise_mode: str = "const", class_idx: int | None = None) -> np.ndarray:
        """The style-mixing grid of Karras et al. 2019 (Figure 3; NVlabs' ``style_mixing.py``), as one image
        float32 (channels, (rows + 1) * resolution, (cols + 1) * resolution).

        The top row holds the images of ``col_seeds``, the left column those of ``row_seeds`` (the top-left corner
        is black); the cell in row i and column j is synthesized from the ws of ``row_seeds[i]`` with the ws of
        ``layers`` taken from ``col_seeds[j]``. Layers 0-3 are the coarse styles (pose, shape), the last ones the
        fine styles (color, texture); there are :attr:`num_ws`. Show or save it with :func:`swiftgan.show` and
        :func:`swiftgan.save_grid`.
        """
        rows = _check_seeds("StyleGAN.style_mix", "row_seeds", row_seeds)
        cols = _check_seeds("StyleGAN.style_mix", "col_seeds", col_seeds)
        if len(rows) * len(cols) > MAX_IMAGES:
            raise ValueError(f"StyleGAN.style_mix: {len(rows)} x {len(cols)} cells is more than {MAX_IMAGES} images")
        layers = sorted({_check_int("StyleGAN.style_mix", "layers", layer) for layer in layers})
        if layers and not 0 <= layers[0] <= layers[-1] < self.num_ws:
            raise ValueError(f"StyleGAN.style_mix: layers must be in [0, {self.num_ws}), got {layers}")
        _choice("StyleGAN.style_mix", "noise_mode", noise_mode, NOISE_MODES)
        ws_rows = self.seed_ws(rows, truncation_psi, truncation_cutoff, class_idx)
        ws_cols = self.seed_ws(cols, truncation_psi, truncation_cutoff, class_idx)
        mixed = np.repeat(ws_rows[:, None], len(cols), axis=1)
        mixed[:, :, layers] = ws_cols[None, :, layers]
        ws = np.concatenate([ws_cols, ws_rows, mixed.reshape(-1, *ws_rows.shape[1:])])
        images = self._render(ws, [*cols, *rows, *(row for row in rows for _ in cols)], noise_mode, SAMPLE_BATCH)
        c, r = self.config["channels"], self.config["resolution"]
        cells = np.full((len(rows) + 1, len(cols) + 1, c, r, r), -1.0, dtype=np.float32)
        cells[0, 1:] = images[:len(cols)]
        cells[1:, 0] = images[len(cols):len(cols) + len(rows)]
        cells[1:, 1:] = images[len(cols) + len(rows):].reshape(len(rows), len(cols), c, r, r)
        return np.ascontiguousarray(cells.transpose(2, 0, 3, 1, 4).reshape(c, (len(rows) + 1) * r, (len(cols) + 1) * r))

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 16, truncation_psi: float = 1.0,
                    truncation_cutoff: int | None = None, noise_mode: str = "const",
                    class_idx: int | None = None) -> np.ndarray:
        """``steps`` frames (steps, channels, resolution, resolution) along the straight line in w space from seed
        ``seed_a``'s ws to ``seed_b``'s, both ends included (they are the seeds' :meth:`generate` images). Save
        them as an animated GIF with :func:`swiftgan.images.save_gif`. Random noise is drawn from ``seed_a``."""
        if not 2 <= _check_int("StyleGAN.interpolate", "steps", steps) <= MAX_IMAGES:
            raise ValueError(f"StyleGAN.interpolate: steps must be from 2 to {MAX_IMAGES}, got {steps}")
        _choice("StyleGAN.interpolate", "noise_mode", noise_mode, NOISE_MODES)
        ws_a, ws_b = self.seed_ws([seed_a, seed_b], truncation_psi, truncation_cutoff, class_idx)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None]
        ws = np.ascontiguousarray((1 - t) * ws_a + t * ws_b, dtype=np.float32)
        return self._render(ws, [seed_a] * steps, noise_mode, SAMPLE_BATCH)

    def preview(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """64 images of G_ema for seeds 0-63 (constant noise), the same latents at every call; for a conditional
        model, row r shows class r (modulo the classes)."""
        if self.config["c_dim"] == 0:
            return self.generate(seeds=range(64))
        return np.concatenate([self.generate(seeds=range(8 * r, 8 * r + 8), class_idx=r % self.config["c_dim"])
                               for r in range(8)])

    @property
    def _paired_data(self) -> bool:
        return bool(self.config["c_dim"])

    def _data_arrays(self, data: np.ndarray | Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
        """A conditional model trains on ``(images, labels)``: one-hot labels (N, c_dim) float32, or class indices
        (N,) ints, which become one-hot; an unconditional one on images alone."""
        c_dim = self.config["c_dim"]
        if c_dim == 0:
            return super()._data_arrays(data, batch_size)
        if isinstance(data, np.ndarray) or len(data) != 2:
            raise ValueError(f"StyleGAN.fit: this model is conditional ({c_dim} classes): data must be (images, "
                             "labels), labels one-hot (N, c_dim) float32 or class indices (N,)")
        images, labels = data
        labels = np.asarray(labels)
        if labels.ndim == 1 and labels.dtype.kind in "iu":
            if len(labels) and not 0 <= labels.min() <= labels.max() < c_dim:
                raise ValueError(f"StyleGAN.fit: class indices must be in [0, {c_dim}), got {labels.min()} to "
                                 f"{labels.max()}")
            labels = np.eye(c_dim, dtype=np.float32)[labels]
        if labels.dtype != np.float32 or labels.shape != (len(images), c_dim):
            raise ValueError(f"StyleGAN.fit: labels must be ({len(images)}, {c_dim}) float32 (one-hot) or "
                             f"({len(images)},) class indices, got {labels.shape} {labels.dtype}")
        return [*super()._data_arrays(images, batch_size), labels]

    def _prepare_fit(self, arrays: Sequence[np.ndarray], batch_size: int) -> None:
        """The data must be images of the model's size and channels (a published model keeps its own)."""
        c, r = self.config["channels"], self.config["resolution"]
        if arrays and tuple(arrays[0].shape[1:]) != (c, r, r):
            shape = "x".join(map(str, arrays[0].shape[1:]))
            raise ValueError(f"StyleGAN.fit: the data holds {shape} images, this model makes {c}x{r}x{r} "
                             f"(channels {c}, resolution {r}): load the data at that size, e.g. "
                             f"swiftgan.datasets.image_folder(path, size={r})")

    # -- editing --------------------------------------------------------------------------------------------

    def directions(self, method: str = "ganspace", n: int = 20, samples: int = 100_000,
                   layers: Iterable[int] | None = None, seed: int = 0, class_idx: int | None = None) -> Directions:
        """Directions in w space that edit one aspect of the images, strongest first (:mod:`swiftgan.directions`):

        - ``"ganspace"`` (GANSpace): the ``n`` principal components of w over ``samples`` latents drawn from
          ``seed``, with the variance of w along each; ``d[i]`` is component i scaled to one standard deviation.
        - ``"sefa"`` (SeFa): the ``n`` eigenvectors of ``A^T A`` for the style weights ``A`` of the layers that read
          the ws ``layers`` (None: all), computed from the weights alone; ``d[i]`` is the unit vector.

        ``gan.edit(ws, d[i], strength, layers)`` applies one. InterFaceGAN's boundaries come from
        :func:`swiftgan.directions.fit_boundary` and :func:`swiftgan.directions.load_direction`.
        """
        method = _choice("StyleGAN.directions", "method", method, {"ganspace": "ganspace", "sefa": "sefa"})
        if method == "sefa":
            return sefa(self, layers=layers, n=n)
        if layers is not None:
            raise ValueError("StyleGAN.directions: GANSpace's components are of w itself; 'layers' is for SeFa "
                             "(choose the layers to edit in StyleGAN.edit)")
        return ganspace(self, n=n, samples=samples, seed=seed, class_idx=class_idx)

    def edit(self, ws: np.ndarray, direction: np.ndarray, strength: float,
             layers: Iterable[int] | None = None) -> np.ndarray:
        """ws (N, num_ws, w_dim) or (num_ws, w_dim) moved by ``strength * direction`` in the layers ``layers`` only
        (w indices, such as ``range(4, 8)``; None: all), W+ style; every other w is left bit-identical. The direction
        is (w_dim,) or InterFaceGAN's (1, w_dim), e.g. ``gan.directions("ganspace")[3]``. Render with
        :meth:`synthesis`."""
        return editing.edit(self, ws, direction, strength, layers)

    def edit_sweep(self, seed_or_ws: int | np.ndarray, direction: np.ndarray, strengths: Iterable[float],
                   layers: Iterable[int] | None = None, truncation_psi: float = 1.0, noise_mode: str = "const",
                   class_idx: int | None = None) -> np.ndarray:
        """Images (len(strengths), C, R, R) of a seed's image (or of ws, a projection's say) edited along
        ``direction`` by each of ``strengths`` in ``layers``: a row of GANSpace's figures. Save it with
        ``swiftgan.save_grid(images, "sweep.png", nrow=len(strengths))`` or as a GIF with
        :func:`swiftgan.images.save_gif`."""
        return editing.edit_sweep(self, seed_or_ws, direction, strengths, layers, truncation_psi, noise_mode,
                                  class_idx)

    def project(self, image: ImageLike, steps: int = 1000, space: str = "w", *, w_avg_samples: int = 10_000,
                initial_learning_rate: float = 0.1, initial_noise_factor: float = 0.05,
                lr_rampdown_length: float = 0.25, lr_rampup_length: float = 0.05, noise_ramp_length: float = 0.75,
                regularize_noise_weight: float = 1e5, distance: str = "pixel", initial_noise: str = "model",
                seed: int = 303, class_idx: int | None = None, progress: bool = True) -> Projection:
        """The latent of an image: NVlabs' projector (stylegan2-ada-pytorch's projector.py) run in the engine, with
        a tqdm bar. Returns a :class:`swiftgan.projection.Projection`: ``ws`` (1, num_ws, w_dim), ``noise`` (the
        optimized noise maps), ``image`` (the reconstruction), ``losses`` (per step), ``psnr()``, and ``save(path)``
        in NVlabs' ``projected_w.npz`` layout. Ctrl-C stops it, keeping the projection so far (``run()`` resumes).

        Args:
            image: float (C, R, R) or (1, C, R, R) in [-1, 1], or a PIL image or an image file, center-cropped and
                resized to the model's resolution (Lanczos) as NVlabs' projector does.
            steps: optimization steps (NVlabs' num_steps).
            space: "w", one w for every layer as NVlabs; "w+", one w per layer (closer reconstructions, latents less
                typical of the model).
            w_avg_samples: mapped latents whose mean w is the start and whose spread scales the noise added to w.
            initial_learning_rate, lr_rampdown_length, lr_rampup_length: Adam's learning rate, ramped up over the
                first and down (cosine) over the last fractions of the steps.
            initial_noise_factor, noise_ramp_length: Gaussian noise added to w, this factor of w's spread, fading
                out (quadratically) over this fraction of the steps.
            regularize_noise_weight: the weight of the noise maps' autocorrelation penalty.
            distance: "pixel", MSE at every scale of an average-pooling pyramid; "discriminator", plus the
                unit-normalized features of the model's own D blocks (needs D: a model loaded ``for_training``).
                NVlabs' LPIPS needs a VGG16 download; see :mod:`swiftgan.projection` for what this costs.
            initial_noise: where the noise maps start: "model", the model's own constant noise; "random", fresh
                Gaussian noise (NVlabs). Both are Gaussian noise, no better or worse for a photo; the model's own
                images, made with the constant noise, are found back only from "model" (fresh noise maps do not
                converge to the model's under the autocorrelation penalty).
            seed: seeds the w samples, the initial noise maps and the noise added to w.
            class_idx: a conditional model's class.
            progress: show the tqdm bar.
        """
        projection = Projection(self, image, steps, space, w_avg_samples=w_avg_samples,
                                initial_learning_rate=initial_learning_rate, initial_noise_factor=initial_noise_factor,
                                lr_rampdown_length=lr_rampdown_length, lr_rampup_length=lr_rampup_length,
                                noise_ramp_length=noise_ramp_length, regularize_noise_weight=regularize_noise_weight,
                                distance=distance, initial_noise=initial_noise, seed=seed, class_idx=class_idx)
        return projection.run(progress=progress)

    def explore(self, directions: Directions | Sequence[np.ndarray] | None = None, n: int = 4, seed: int = 0,
                truncation_psi: float = 0.7, layers: Sequence[int] | None = None, max_strength: float = 5.0,
                samples: int = 20_000, noise_mode: str = "const", class_idx: int | None = None) -> Explorer:
        """Sliders in Jupyter (ipywidgets, imported only here): the seed, the truncation and the strengths of ``n``
        directions (GANSpace's over ``samples`` latents by default, in standard deviations up to ``max_strength``),
        each with its own layer range (initially ``layers``' span, or all), re-rendering the image as they move. A
        256x256 model re-renders in a few tenths of a second on 2 cores. Returns the
        :class:`swiftgan.explore.Explorer`, which displays itself."""
        from swiftgan.explore import Explorer

        _choice("StyleGAN.explore", "noise_mode", noise_mode, NOISE_MODES)
        return Explorer(self, directions, n=n, seed=seed, truncation_psi=truncation_psi, layers=layers,
                        max_strength=max_strength, samples=samples, noise_mode=noise_mode, class_idx=class_idx)

    # -- published models -----------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, *, for_training: bool = False, **config: Any) -> StyleGAN:
        """A StyleGAN2 from a published file: an NVlabs network pickle (stylegan2-ada-pytorch, its TF conversions,
        stylegan3's StyleGAN2s) or a rosinality checkpoint (train.py's or convert_weight.py's, zip or legacy
        torch.save), read without PyTorch and without running anything from the file (:mod:`swiftgan.pretrained`).

        The architecture comes from the file; the model computes what the original code computes in float32
        (fp16 blocks included). By default only G_ema is kept (generation, in the least memory); ``for_training``
        keeps G, D and G_ema, turns on ADA (its p from the file's augment pipe, if any) and builds the optimizers,
        so that :meth:`fit` fine-tunes the published model (FreezeD with ``freeze_d=k``). Seeds draw z as NVlabs'
        generate.py does (``seed_rng="numpy"``). A rosinality model truncates by rosinality's rule and uses its
        ``latent_avg`` as ``w_avg``; without one (train.py checkpoints) ``w_avg`` is the mean w of 4096 latents of
        ``np.random.RandomState(0)``. ``config`` overrides fields of the config (training hyperparameters such as
        ``lr``, ``r1_gamma``, ``freeze_d``).
        """
        from swiftgan.pretrained import read_published

        published = read_published(path, for_training=for_training)
        where = os.fspath(path)
        # The reader writes None where a file leaves a setting open (channel_base when the channel table follows no
        # rule): the field then keeps its default, unless it takes None itself.
        optional = {f.name for f in cls.config_fields if f.optional}
        settings: dict[str, Any] = {key: value for key, value in published.config.items()
                                    if value is not None or key in optional}
        settings.update(trainable=for_training, seed_rng="numpy")
        if for_training:
            if published.d is None:
                raise ValueError(f"{where}: holds no discriminator, so it cannot be fine-tuned (load it to generate)")
            settings.update(ada=True, augment_p=float(published.augment_p or 0.0))
        gan = cls(**{**settings, **config})
        nets = {"G_ema": published.g_ema}
        if for_training:
            nets.update(G=published.g if published.g is not None else published.g_ema, D=published.d or {})
        missing_w_avg = "mapping.w_avg" not in published.g_ema
        for net, tensors in nets.items():
            gan.nets[net].load_state_dict(tensors, strict=not (missing_w_avg and net.startswith("G")))
        if missing_w_avg:
            z = np.random.RandomState(0).randn(4096, gan.config["z_dim"]).astype(np.float32)
            w_avg = gan.mapping(z, gan.class_labels(0, len(z)) if gan.config["c_dim"] else None)[:, 0].mean(axis=0)
            for net in ("G_ema", "G") if for_training else ("G_ema",):
                gan._model.state_tensor(f"{net}.mapping.w_avg").copy_(w_avg.astype(np.float32))
        gan.source = {"path": where, "format": published.source, **published.info}
        return gan


def _check_seeds(caller: str, name: str, seeds: Iterable[int]) -> list[int]:
    """``seeds`` as a non-empty list of at most :data:`MAX_IMAGES` ints in [0, 2**64)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"{caller}: argument '{name}' must be an iterable of ints, got {type(seeds).__name__}")
    values = [_check_int(caller, name, seed) for seed in itertools.islice(seeds, MAX_IMAGES + 1)]
    if len(values) > MAX_IMAGES:  # checked while reading: range(2**31) must not build a list of 2**31 ints
        raise ValueError(f"{caller}: argument '{name}' holds more than {MAX_IMAGES} seeds")
    if not values:
        raise ValueError(f"{caller}: argument '{name}' is empty")
    if not all(0 <= seed < 2 ** 64 for seed in values):
        raise ValueError(f"{caller}: seeds must be ints in [0, 2**64), got {values}")
    return values
