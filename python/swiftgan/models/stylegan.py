"""StyleGAN: style-based generators with mixing, truncation, lazy regularization, EMA and adaptive augmentation."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from swiftgan import _native
from swiftgan._checks import _check_flag, _check_float, _check_int, _choice
from swiftgan.models.base import GAN

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

    Args:
        resolution: side length of the square images, a power of two from 8 to 256.
        channels: image channels (1 grayscale, 3 RGB, ...).
        version: 2 (StyleGAN2) or 1 (StyleGAN).
        z_dim: length of the latent z.
        w_dim: length of the intermediate latent w.
        mapping_layers: fully connected layers of the mapping network.
        channel_base: feature maps at resolution r are ``min(channel_base // r, channel_max)``.
        channel_max: the most feature maps at any resolution.
        lr: Adam learning rate of G and D (before the lazy-regularization scaling).
        betas: Adam's (beta1, beta2) (likewise).
        r1_gamma: R1 weight; None: version 2's NVlabs heuristic ``0.0002 * resolution**2 / 32``, version 1's 10.
        r1_interval: steps between R1 penalties; None: 16 (lazy) for version 2, 1 for version 1.
        pl_interval: steps between path-length penalties (version 2).
        pl_weight: path-length penalty weight; None: 2 for version 2, 0 (none) for version 1.
        style_mixing: probability that a training batch mixes the ws of two z from a random layer on.
        ema_images: half-life of G_ema in images.
        ema_rampup: the half-life is at most this fraction of the images seen so far (NVlabs' ramp-up), so G_ema
            follows G closely early in a run; 0 keeps the half-life fixed.
        ada: adaptive discriminator augmentation.
        ada_target: ADA's target for the mean sign of D's outputs on reals.
        augment_p: ADA's initial augmentation probability (needs ``ada``).
        seed: seeds the initial weights, the training noise and the order of the batches in :meth:`fit`.
        mapping_lr_multiplier: learning-rate multiplier of the mapping network.
        pl_decay: decay of the running mean of path lengths (``pl_mean``).
        pl_batch_shrink: the path-length penalty runs on batch_size // pl_batch_shrink samples.
        mbstd_group: group size of D's minibatch standard deviation.
        ada_interval: steps between ADA's adjustments of p.
        ada_kimg: thousands of images for p to go from 0 to 1 at full speed.
        phase_images: version 1: real images per phase of progressive growing.
        initial_resolution: version 1: the resolution growing starts from.

    ``train_step(batch)`` takes real images (B, channels, resolution, resolution) in [-1, 1] and returns ``loss_g``,
    ``loss_d``, ``loss_pl`` and ``loss_r1`` (the penalties as of their latest lazy step), ``d_real`` and ``d_fake``
    (D's mean logits), ``pl_mean`` and ``augment_p``. Checkpoints hold G, D, G_ema (with ``w_avg``), both Adam
    states, ``pl_mean``, ADA's p and sign statistics, the step (which schedules the lazy penalties), the images seen
    (version 1's growth clock) and the RNG.
    """

    preview_nrow = 8
    default_batch_size = 16

    def __init__(self, *, resolution: int = 32, channels: int = 3, version: int = 2, z_dim: int = 256,
                 w_dim: int = 256, mapping_layers: int = 8, channel_base: int = 4096, channel_max: int = 128,
                 lr: float = 0.002, betas: tuple[float, float] = (0.0, 0.99), r1_gamma: float | None = None,
                 r1_interval: int | None = None, pl_interval: int = 4, pl_weight: float | None = None,
                 style_mixing: float = 0.9, ema_images: float = 10000, ema_rampup: float = 0.05, ada: bool = False,
                 ada_target: float = 0.6,
                 augment_p: float = 0.0, seed: int = 0, mapping_lr_multiplier: float = 0.01, pl_decay: float = 0.01,
                 pl_batch_shrink: int = 2, mbstd_group: int = 4, ada_interval: int = 4, ada_kimg: float = 500,
                 phase_images: int = 20000, initial_resolution: int = 8) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"StyleGAN: argument 'betas' must be a pair of floats, got {betas!r}")
        integer = functools.partial(_check_int, "StyleGAN")
        real = functools.partial(_check_float, "StyleGAN")
        config: dict[str, Any] = {
            "resolution": integer("resolution", resolution),
            "channels": integer("channels", channels),
            "version": integer("version", version),
            "z_dim": integer("z_dim", z_dim),
            "w_dim": integer("w_dim", w_dim),
            "mapping_layers": integer("mapping_layers", mapping_layers),
            "channel_base": integer("channel_base", channel_base),
            "channel_max": integer("channel_max", channel_max),
            "lr": real("lr", lr),
            "betas": [real("betas", beta) for beta in betas],
            "r1_gamma": None if r1_gamma is None else real("r1_gamma", r1_gamma),
            "r1_interval": None if r1_interval is None else integer("r1_interval", r1_interval),
            "pl_interval": integer("pl_interval", pl_interval),
            "pl_weight": None if pl_weight is None else real("pl_weight", pl_weight),
            "style_mixing": real("style_mixing", style_mixing),
            "ema_images": real("ema_images", ema_images),
            "ema_rampup": real("ema_rampup", ema_rampup),
            "ada": _check_flag("StyleGAN", "ada", ada),
            "ada_target": real("ada_target", ada_target),
            "augment_p": real("augment_p", augment_p),
            "seed": integer("seed", seed),
            "mapping_lr_multiplier": real("mapping_lr_multiplier", mapping_lr_multiplier),
            "pl_decay": real("pl_decay", pl_decay),
            "pl_batch_shrink": integer("pl_batch_shrink", pl_batch_shrink),
            "mbstd_group": integer("mbstd_group", mbstd_group),
            "ada_interval": integer("ada_interval", ada_interval),
            "ada_kimg": real("ada_kimg", ada_kimg),
            "phase_images": integer("phase_images", phase_images),
            "initial_resolution": integer("initial_resolution", initial_resolution),
        }
        if config["augment_p"] and not config["ada"]:
            raise ValueError("StyleGAN: augment_p is ADA's initial probability; it needs ada=True")
        # None leaves a setting to the engine, whose defaults depend on the version.
        attrs = {name: value for name, value in config.items() if name not in ("seed", "betas") and value is not None}
        attrs.update(beta1=config["betas"][0], beta2=config["betas"][1])
        super().__init__(config, attrs)

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

    def mapping(self, z: np.ndarray, truncation_psi: float = 1.0, truncation_cutoff: int | None = None) -> np.ndarray:
        """G_ema's ws (N, num_ws, w_dim) for latents z (N, z_dim), float32.

        Truncation (Karras et al. 2019): ``w_avg + truncation_psi * (w - w_avg)`` for the first
        ``truncation_cutoff`` ws (all when None); psi 1 leaves w unchanged, psi 0 gives ``w_avg`` for every z.
        """
        attrs: dict[str, float] = {"truncation_psi": _check_float("StyleGAN.mapping", "truncation_psi",
                                                                  truncation_psi)}
        if truncation_cutoff is not None:
            attrs["truncation_cutoff"] = _check_int("StyleGAN.mapping", "truncation_cutoff", truncation_cutoff)
        tensor = _native.tensor(z, name="z", caller="StyleGAN.mapping")
        return self._model.call("mapping", {"z": tensor}, attrs).numpy()

    def synthesis(self, ws: np.ndarray, noise_mode: str = "const", noise_seed: int = 0) -> np.ndarray:
        """G_ema's images (N, channels, resolution, resolution), roughly in [-1, 1] (not clipped), for ws
        (N, num_ws, w_dim).

        ``noise_mode`` (see :data:`NOISE_MODES`): "const", each layer's fixed noise; "random", fresh noise drawn
        from ``noise_seed``; "none".
        """
        attrs: dict[str, float | int | bool] = {
            "noise_mode": _choice("StyleGAN.synthesis", "noise_mode", noise_mode, NOISE_MODES),
            "seed": _check_int("StyleGAN.synthesis", "noise_seed", noise_seed),
        }
        tensor = _native.tensor(ws, name="ws", caller="StyleGAN.synthesis")
        return self._model.call("synthesis", {"ws": tensor}, attrs).numpy()

    def seed_ws(self, seeds: Iterable[int], truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> np.ndarray:
        """The ws (len(seeds), num_ws, w_dim) of the seeds' latents: z for seed s is
        ``swiftgan.random_normal(s, 0, [1, z_dim])``, mapped by :meth:`mapping`."""
        seeds = _check_seeds("StyleGAN.seed_ws", "seeds", seeds)
        z = np.concatenate([_native.random_normal(seed, 0, [1, self.config["z_dim"]]).numpy() for seed in seeds])
        return self.mapping(z, truncation_psi, truncation_cutoff)

    def _render(self, ws: np.ndarray, seeds: Sequence[int], noise_mode: str, batch_size: int) -> np.ndarray:
        """Images of ws in batches; with random noise each image's noise is drawn from its seed alone."""
        if noise_mode == "random":
            return np.concatenate([self.synthesis(ws[i:i + 1], "random", seed) for i, seed in enumerate(seeds)])
        return np.concatenate([self.synthesis(ws[start:start + batch_size], noise_mode)
                               for start in range(0, len(ws), batch_size)])

    def generate(self, n: int | None = None, seeds: Iterable[int] | None = None, truncation_psi: float = 1.0,
                 truncation_cutoff: int | None = None, noise_mode: str = "const",
                 batch_size: int = SAMPLE_BATCH) -> np.ndarray:
        """One image per seed from G_ema: float32 (len(seeds), channels, resolution, resolution), roughly in [-1, 1].

        An image depends on its seed alone (and on the truncation and noise arguments), not on the other seeds of
        the call: z for seed s is ``swiftgan.random_normal(s, 0, [1, z_dim])``, and with ``noise_mode="random"``
        the noise is drawn from s too. (Images of one seed computed in batches of different composition agree to
        float rounding, about 1e-6: the engine's matrix products tile a batch by its size.)

        Args:
            n: the seeds 0..n-1, when ``seeds`` is not given.
            seeds: non-negative ints, one image each.
            truncation_psi: the truncation trick's psi (see :meth:`mapping`); 0.5 to 0.7 trade variety for quality.
            truncation_cutoff: truncate only the first this many ws (coarse styles); None truncates all.
            noise_mode: "const", "random" or "none" (see :data:`NOISE_MODES`).
            batch_size: images per engine call.
        """
        if (n is None) == (seeds is None):
            raise ValueError("StyleGAN.generate: pass either n (the seeds 0..n-1) or seeds")
        if seeds is None:
            seeds = range(_check_int("StyleGAN.generate", "n", n))
        seeds = _check_seeds("StyleGAN.generate", "seeds", seeds)
        _choice("StyleGAN.generate", "noise_mode", noise_mode, NOISE_MODES)
        if _check_int("StyleGAN.generate", "batch_size", batch_size) < 1:
            raise ValueError(f"StyleGAN.generate: batch_size must be >= 1, got {batch_size}")
        return self._render(self.seed_ws(seeds, truncation_psi, truncation_cutoff), seeds, noise_mode, batch_size)

    def style_mix(self, row_seeds: Iterable[int], col_seeds: Iterable[int], layers: Iterable[int] = range(4),
                  truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                  noise_mode: str = "const") -> np.ndarray:
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
        ws_rows = self.seed_ws(rows, truncation_psi, truncation_cutoff)
        ws_cols = self.seed_ws(cols, truncation_psi, truncation_cutoff)
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
                    truncation_cutoff: int | None = None, noise_mode: str = "const") -> np.ndarray:
        """``steps`` frames (steps, channels, resolution, resolution) along the straight line in w space from seed
        ``seed_a``'s ws to ``seed_b``'s, both ends included (they are the seeds' :meth:`generate` images). Save
        them as an animated GIF with :func:`swiftgan.images.save_gif`. Random noise is drawn from ``seed_a``."""
        if not 2 <= _check_int("StyleGAN.interpolate", "steps", steps) <= MAX_IMAGES:
            raise ValueError(f"StyleGAN.interpolate: steps must be from 2 to {MAX_IMAGES}, got {steps}")
        _choice("StyleGAN.interpolate", "noise_mode", noise_mode, NOISE_MODES)
        ws_a, ws_b = self.seed_ws([seed_a, seed_b], truncation_psi, truncation_cutoff)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None]
        ws = np.ascontiguousarray((1 - t) * ws_a + t * ws_b, dtype=np.float32)
        return self._render(ws, [seed_a] * steps, noise_mode, SAMPLE_BATCH)

    def preview(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """64 images of G_ema for seeds 0-63 (constant noise), the same latents at every call."""
        return self.generate(seeds=range(64))


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
