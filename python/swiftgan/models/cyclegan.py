"""CycleGAN: unpaired image-to-image translation."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, overload

import numpy as np
from PIL import Image

from swiftgan import _native
from swiftgan._checks import _check_int
from swiftgan.images import resize
from swiftgan.models.base import GAN
from swiftgan.torch_io import load_torch_state_dict

__all__ = ["CycleGAN"]

DIRECTIONS = {"AtoB": "G_A", "BtoA": "G_B"}
"""Translation direction -> the generator that translates it."""

_UNUSED_BUFFERS = (".running_mean", ".running_var", ".num_batches_tracked")
"""Suffixes of entries old junyanz checkpoints carry for InstanceNorm layers, which have no statistics (their
``patch_instance_norm_state_dict`` drops them too)."""


def _side(caller: str, name: str, value: object) -> int:
    """A side length the ResNet generator takes: a multiple of 4, from 8 to 16384."""
    side = _check_int(caller, name, value)
    if side < 8 or side > 16384 or side % 4:
        raise ValueError(f"{caller}: {name} must be a multiple of 4 from 8 to 16384 (the generator downsamples "
                         f"twice), got {side}")
    return side


class CycleGAN(GAN, kind="cyclegan"):
    """CycleGAN (Zhu, Park, Isola and Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
    Adversarial Networks", arXiv:1703.10593), as in junyanz/pytorch-CycleGAN-and-pix2pix.

    Generators ``G_A`` (A to B) and ``G_B`` (B to A): the ResnetGenerator, ReflectionPad(3) + 7x7 conv, two
    stride-2 3x3 convs, ``n_blocks`` residual blocks, two stride-2 3x3 transposed convs, ReflectionPad(3) + 7x7
    conv and Tanh, with InstanceNorm (no affine parameters, no statistics) and ReLU. Discriminators ``D_A``
    (judges B images) and ``D_B`` (judges A images): the 70x70 PatchGAN (``n_layers_d`` = 3), 4x4 convs,
    LeakyReLU(0.2), InstanceNorm. Least-squares adversarial losses (the discriminators' halved), L1 cycle losses
    weighted ``lambda_A`` and ``lambda_B``, identity losses weighted ``lambda_identity`` times those, image pools
    of ``pool_size`` past fakes for the discriminators, Adam, and the learning rate constant for ``n_epochs``
    epochs, then decaying linearly to zero over ``n_epochs_decay``. Weights N(0, 0.02). Parameter names are the
    reference's (``model.N.*``, ``model.N.conv_block.M.*``), so its state dicts load with
    ``gan.nets["G_A"].load_state_dict(...)``, and its published generators with
    :meth:`from_pretrained_generator`.

    {args}

    ``train_step(batch_a, batch_b)`` takes a batch of each domain, (B, in_channels, image_size, image_size) and
    (B, out_channels, image_size, image_size) in [-1, 1], and returns the reference's losses ``D_A``, ``G_A``,
    ``cycle_A``, ``idt_A``, ``D_B``, ``G_B``, ``cycle_B``, ``idt_B``. ``fit((a, b), steps)`` trains on two
    unpaired arrays (see :func:`swiftgan.datasets.unpaired_from_spec`), each walked in its own random order.
    Checkpoints hold the four networks, both Adam states, the step (and so the schedule position), both image
    pools and the RNG, so a resumed run continues bit-identically.
    """

    preview_nrow: ClassVar[int | None] = 8
    default_batch_size: ClassVar[int] = 1


    # -- training -------------------------------------------------------------------------------------------

    @property
    def epoch_steps(self) -> int:
        """Training steps per epoch of the learning-rate schedule (set by :meth:`fit` unless fixed)."""
        return self._model.get_counter("epoch_steps")

    def _prepare_fit(self, arrays: Sequence[np.ndarray], batch_size: int) -> None:
        if len(arrays) != 2:
            raise ValueError(f"CycleGAN.fit: data must be two arrays, domain A and domain B, got {len(arrays)}")
        if self.config["epoch_steps"] is None:
            self._model.set_counter("epoch_steps", max(len(array) for array in arrays) // batch_size)

    def _world_size_change_problem(self, saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
        """The image pools are per-rank state (each rank pools its own fakes; a checkpoint holds rank 0's), which
        cannot be split or merged across another number of ranks."""
        return ("CycleGAN's image pools hold each rank's own generated images and cannot be redistributed; resume "
                f"on {saved['world_size']} rank(s)")

    def preview(self, data: Sequence[np.ndarray]) -> np.ndarray:
        """Six rows of eight: real A, G_A(A), G_B(G_A(A)), real B, G_B(B), G_A(G_B(B)), from the first eight images
        of each domain (center-cropped to ``image_size``), the same at every call."""
        rows = []
        for array, forward, backward in ((data[0], "G_A", "G_B"), (data[1], "G_B", "G_A")):
            real = self._center_crop(array[np.arange(8) % len(array)])
            fake = self.nets[forward](real)
            rows += [real, fake, self.nets[backward](fake)]
        if self.config["in_channels"] != self.config["out_channels"]:
            rows = [np.repeat(row, 3, axis=1) if row.shape[1] == 1 else row for row in rows]
        return np.concatenate(rows)

    def _center_crop(self, images: np.ndarray) -> np.ndarray:
        size = self.config["image_size"]
        top, left = (images.shape[2] - size) // 2, (images.shape[3] - size) // 2
        return np.ascontiguousarray(images[:, :, top:top + size, left:left + size])

    # -- inference ------------------------------------------------------------------------------------------

    @overload
    def translate(self, image: np.ndarray, direction: str = ..., resize_to: int | tuple[int, int] | None = ...,
                  batch_size: int = ..., tile: int | None = ...) -> np.ndarray: ...
    @overload
    def translate(self, image: Image.Image | str | os.PathLike, direction: str = ...,
                  resize_to: int | tuple[int, int] | None = ..., batch_size: int = ...,
                  tile: int | None = ...) -> Image.Image: ...

    def translate(self, image: np.ndarray | Image.Image | str | os.PathLike, direction: str = "AtoB",
                  resize_to: int | tuple[int, int] | None = None, batch_size: int = 16,
                  tile: int | None = None) -> np.ndarray | Image.Image:
        """Translates one image, or a batch, from domain A to B (``"AtoB"``, with ``G_A``) or B to A (``"BtoA"``).

        The image may have any size. The generator needs a height and width that are multiples of 4 and at least
        8: by default the image is padded to the next such size by reflecting its borders, translated, and the
        result cropped back to the original size, so nothing is resampled. With ``resize_to`` (a side length or
        (height, width), multiples of 4) the image is instead resized (bilinear) to that size, translated there
        and resized back (useful when the model was trained at a smaller scale than the image's).

        With ``tile``, an image with a side longer than ``tile`` pixels is translated in overlapping tiles, so that
        memory stays bounded (a 4096 x 4096 photo fits in a few GB): the full-resolution layers run tile by tile, each
        tile with a margin of its neighbours wide enough that no seam can form, the residual blocks on the whole
        image at a quarter of its resolution, and every InstanceNorm normalizes with the statistics of the whole
        image, gathered over all tiles first. The result equals the untiled one up to float rounding (about 1e-6).

        Args:
            image: a numpy array, uint8 ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)`` in [0, 255], or float
                ``(C, H, W)`` or ``(N, C, H, W)`` in [-1, 1]; a PIL image; or the path of an image file. PIL images
                and files are converted to the generator's channels (grayscale or RGB); arrays must have them.
            direction: "AtoB" or "BtoA".
            resize_to: translate at this size instead of padding (see above).
            batch_size: images per forward pass.
            tile: translate larger images in tiles of this side (a multiple of 4, at least 16); None: whole.

        Returns:
            The same kind as given, with the same shape: a uint8 or float32 array, or a PIL image (also for a
            path).

        Raises:
            ValueError: unknown direction, wrong channels, an empty image or an invalid ``resize_to``.
            TypeError: an array that is neither uint8 nor floating point.
            OSError: a file that cannot be read as an image.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"translate: direction must be 'AtoB' or 'BtoA', got {direction!r}")
        net = DIRECTIONS[direction]
        channels = self.config["in_channels" if net == "G_A" else "out_channels"]
        if isinstance(image, (str, os.PathLike)):
            try:
                with Image.open(image) as opened:
                    picture = opened.copy()
            except (OSError, ValueError) as error:
                raise OSError(f"translate: cannot read {os.fspath(image)!r} as an image ({error})") from None
            return self.translate(picture, direction, resize_to, batch_size, tile)
        if isinstance(image, Image.Image):
            if channels not in (1, 3):
                raise ValueError(f"translate: {net} takes {channels}-channel images; pass them as a numpy array")
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
            return Image.fromarray(self.translate(pixels, direction, resize_to, batch_size, tile))
        if not isinstance(image, np.ndarray):
            raise TypeError(f"translate: expected a numpy array, a PIL image or a path, got {type(image).__name__}")
        batch = self._as_batch(image)
        if batch.shape[1] != channels:
            raise ValueError(f"translate: direction {direction!r} ({net}) takes {channels}-channel images, got "
                             f"{batch.shape[1]} channels (an array of shape {image.shape})")
        out = self._translate_batch(batch, net, resize_to, batch_size, tile)
        return self._like(out, image)

    @staticmethod
    def _as_batch(image: np.ndarray) -> np.ndarray:
        """An array in one of the layouts :meth:`translate` takes, as float32 (N, C, H, W) in [-1, 1]."""
        if image.dtype == np.uint8:
            if image.ndim not in (2, 3, 4):
                raise ValueError(f"translate: uint8 images must be (H, W), (H, W, C) or (N, H, W, C), got shape "
                                 f"{image.shape}")
            pixels = {2: image[None, :, :, None], 3: image[None], 4: image}[image.ndim]
            batch = pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        elif image.dtype.kind == "f":
            if image.ndim not in (3, 4):
                raise ValueError(f"translate: float images must be (C, H, W) or (N, C, H, W), got shape {image.shape}")
            batch = (image[None] if image.ndim == 3 else image).astype(np.float32)
        else:
            raise TypeError(f"translate: arrays must be uint8 in [0, 255] or float in [-1, 1], got dtype {image.dtype}")
        if 0 in batch.shape:
            raise ValueError(f"translate: empty image (shape {image.shape})")
        return np.ascontiguousarray(batch)

    @staticmethod
    def _like(batch: np.ndarray, image: np.ndarray) -> np.ndarray:
        """A translated float (N, C, H, W) batch in the dtype and layout of the array it came from."""
        if image.dtype.kind == "f":
            return batch[0] if image.ndim == 3 else batch
        pixels = np.round((np.clip(batch, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
        return pixels.reshape(image.shape)

    def _translate_batch(self, batch: np.ndarray, net: str, resize_to: int | tuple[int, int] | None,
                         batch_size: int, tile: int | None) -> np.ndarray:
        """``net`` on float (N, C, H, W) images of any size: padded or resized to a size it takes, and back."""
        step = _check_int("translate", "batch_size", batch_size)
        if step < 1:
            raise ValueError(f"translate: batch_size must be >= 1, got {step}")
        if tile is not None:
            tile = _check_int("translate", "tile", tile)
            if tile < 16 or tile % 4:
                raise ValueError(f"translate: tile must be a multiple of 4 and at least 16, got {tile}")

        def forward(x: np.ndarray) -> np.ndarray:
            parts = [np.ascontiguousarray(x[i:i + step]) for i in range(0, len(x), step)]
            if tile is None:
                return np.concatenate([self.nets[net](part) for part in parts])
            direction = 0 if net == "G_A" else 1
            return np.concatenate([
                self._model.call("translate", {"x": _native.tensor(part, name="image", caller="translate")},
                                 {"direction": direction, "tile": tile}).numpy() for part in parts])

        height, width = batch.shape[2:]
        if resize_to is not None:
            pair: tuple[object, ...]  # each side is checked by _side
            if isinstance(resize_to, (tuple, list, np.ndarray)) and np.ndim(resize_to) > 0:
                pair = tuple(resize_to)
            else:
                pair = (resize_to, resize_to)
            if len(pair) != 2:
                raise ValueError(f"translate: resize_to must be a side length or (height, width), got {resize_to!r}")
            size = (_side("translate", "resize_to", pair[0]), _side("translate", "resize_to", pair[1]))
            return resize(forward(resize(batch, size)), (height, width))
        full_height, full_width = max(8, 4 * math.ceil(height / 4)), max(8, 4 * math.ceil(width / 4))
        top, left = (full_height - height) // 2, (full_width - width) // 2
        padded = np.pad(batch, ((0, 0), (0, 0), (top, full_height - height - top), (left, full_width - width - left)),
                        mode="reflect")
        return np.ascontiguousarray(forward(padded)[:, :, top:top + height, left:left + width])

    # -- pretrained weights ---------------------------------------------------------------------------------

    @classmethod
    def from_pretrained_generator(cls, weights: str | os.PathLike | Mapping[str, np.ndarray],
                                  direction: str = "AtoB", **config: Any) -> CycleGAN:
        """A model whose ``G_A`` (``direction="AtoB"``) or ``G_B`` (``"BtoA"``) is a generator published by
        junyanz/pytorch-CycleGAN-and-pix2pix (``latest_net_G.pth``, ``horse2zebra.pth``...), ready for
        :meth:`translate` in that direction. PyTorch is not needed: the ``.pth`` file is read by
        :func:`swiftgan.load_torch_state_dict`, which runs no code from it.

        ``ngf``, ``n_blocks`` and the channels are read off the weights' shapes (``resnet_9blocks`` and
        ``resnet_6blocks`` generators alike); the InstanceNorm ``running_mean`` / ``running_var`` entries of
        checkpoints written by old PyTorch versions are ignored, as the reference does. The other networks keep
        their fresh initialization.

        Args:
            weights: a ``.pth`` file, or a state dict already loaded (name -> array).
            direction: which way the generator translates: "AtoB" or "BtoA".
            **config: further :class:`CycleGAN` arguments (``image_size`` for fine-tuning...).

        Raises:
            ValueError: the weights are not a ResnetGenerator's (the message names what does not fit), or the
                file is not a PyTorch checkpoint.
            OSError: the file cannot be read.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"from_pretrained_generator: direction must be 'AtoB' or 'BtoA', got {direction!r}")
        where = os.fspath(weights) if isinstance(weights, (str, os.PathLike)) else "state dict"
        state = load_torch_state_dict(weights) if isinstance(weights, (str, os.PathLike)) else weights
        if not isinstance(state, Mapping):
            raise ValueError(f"{where}: expected a state dict (name -> tensor), got {type(state).__name__}")
        state = {name: value for name, value in state.items() if not name.endswith(_UNUSED_BUFFERS)}
        blocks = {name.split(".")[1] for name in state if ".conv_block." in name}
        first, last = state.get("model.1.weight"), state.get(f"model.{17 + len(blocks)}.weight")
        if first is None or last is None or np.ndim(first) != 4 or np.ndim(last) != 4:
            raise ValueError(f"{where}: not a junyanz ResnetGenerator state dict (expected 4-d 'model.1.weight' and "
                             f"'model.{17 + len(blocks)}.weight' for {len(blocks)} residual blocks)")
        ngf, source_channels = np.shape(first)[:2]
        target_channels = np.shape(last)[0]
        a_channels, b_channels = ((source_channels, target_channels) if direction == "AtoB"
                                  else (target_channels, source_channels))
        if a_channels != b_channels:
            config.setdefault("lambda_identity", 0.0)
        gan = cls(in_channels=int(a_channels), out_channels=int(b_channels), ngf=int(ngf), n_blocks=len(blocks),
                  **config)
        try:
            gan.nets[DIRECTIONS[direction]].load_state_dict(state)
        except ValueError as error:
            raise ValueError(f"{where}: not a junyanz ResnetGenerator with ngf={ngf} and {len(blocks)} blocks "
                             f"({error})") from None
        return gan
