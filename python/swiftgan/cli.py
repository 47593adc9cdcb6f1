"""The command line: ``python -m swiftgan train KIND ...``, ``python -m swiftgan generate CKPT ...``,
``python -m swiftgan translate CKPT IMAGE ...``, for StyleGAN checkpoints ``python -m swiftgan style-mix CKPT ...``
and ``python -m swiftgan interpolate CKPT ...`` (which also take a published ``.pkl`` or ``.pt`` directly),
``python -m swiftgan convert FILE CKPT`` (a published StyleGAN2 as a swiftgan checkpoint), and for editing StyleGAN2
images ``edit MODEL ...`` (a sweep along a direction), ``project MODEL IMAGE ...`` (a photo's latent) and
``blend BASE OTHER ...`` (layer swapping).

``train`` has one subcommand per model kind, from :data:`TRAINERS`: each kind's options are its data options and
one option per field of the model's config (the engine's declaration: ``--image-size``, ``--betas B1 B2``,
``--lambda-A``, ``--ada``...), beside the options every kind shares (steps, batch size, output folder, sampling
and checkpoint intervals, seed, threads, resume).

A run's folder (``--out``) holds ``samples/step_XXXXXXX.png``, ``log.jsonl``, ``checkpoint.safetensors`` and
``run.json`` (the kind, data and its shapes, batch size, batch transform and model configuration it was started
with). ``--resume`` continues from the checkpoint up to ``--steps`` in all, refusing if the command line asks for
another configuration. ``--tensorboard DIR`` also writes the losses and the sample grids as TensorBoard event files
(:class:`swiftgan.callbacks.TensorBoard`).

``train ... --distributed`` under ``mpirun`` trains one model on every rank started (data parallelism over MPI, see
:mod:`swiftgan.distributed`): ``--batch-size`` is then the global batch, split evenly across the ranks, and rank 0
alone writes the run folder. ``--resume`` needs the checkpoint readable by every rank.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import swiftgan
from swiftgan import datasets
from swiftgan.models import DCGAN, GAN, CycleGAN, NonFiniteLossError, StyleGAN
from swiftgan.models.base import CHECKPOINT, BatchTransform
from swiftgan.models.config import ConfigField

RUN_FILE = "run.json"


@dataclass(frozen=True)
class ModelCommand:
    """How ``train <kind>`` builds a model. Its options are the model's config fields (:attr:`GAN.config_fields`,
    with ``cli_defaults`` in place of some defaults) and the data options of ``add_data_arguments`` (which must
    define ``--data``, which ``run.json`` records); ``load_data`` loads what ``GAN.fit`` takes; ``data_config``
    gives the config fields that follow from the data (channel counts), which have no option of their own; and
    ``transform`` the optional transform of every training batch (``GAN.fit``'s ``transform``)."""

    model: type[GAN]
    help: str
    add_data_arguments: Callable[[argparse.ArgumentParser], None]
    data_channels: str
    """The channels of the built-in data sets and of folders, for ``--channels``' help."""
    load_data: Callable[[argparse.Namespace], np.ndarray | list[np.ndarray]]
    data_config: Callable[[np.ndarray | list[np.ndarray]], dict[str, int]]
    cli_defaults: Mapping[str, Any] = field(default_factory=dict)
    transform: Callable[[argparse.Namespace, Any], BatchTransform | None] = lambda args, data: None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The data options, then one option per config field not set from the data (``seed`` is shared)."""
        self.add_data_arguments(parser)
        derived = self.data_config_fields()
        parser.add_argument("--channels", type=int, choices=(1, 3), default=None,
                            help=f"image channels, which set the config's {' and '.join(derived)} (default: the "
                                 f"data's: {self.data_channels})")
        derived += ("seed",)
        for config_field in self.model.config_fields:
            if config_field.name not in derived:
                _add_config_argument(parser, config_field, self.cli_defaults.get(config_field.name,
                                                                                 config_field.default))

    def data_config_fields(self) -> tuple[str, ...]:
        """The config fields that follow from the data."""
        return tuple(name for name in ("channels", "in_channels", "out_channels")
                     if any(f.name == name for f in self.model.config_fields))

    def config(self, args: argparse.Namespace, data: np.ndarray | list[np.ndarray]) -> dict[str, Any]:
        """The model's keyword arguments from the parsed options and the data."""
        from_data = self.data_config(data)
        return {f.name: from_data[f.name] if f.name in from_data else getattr(args, f.name)
                for f in self.model.config_fields}


def _add_config_argument(parser: argparse.ArgumentParser, config_field: ConfigField, default: Any) -> None:
    """``--name-with-dashes`` for one config field: a flag for a bool (``--no-...`` when it defaults to true), two
    values for a pair, a number otherwise; its help is the field's doc."""
    flag = "--" + config_field.name.replace("_", "-")
    text = config_field.doc + (f" ({config_field.accepts})" if config_field.accepts else "")
    if config_field.base_type == "bool":
        if default:
            parser.add_argument("--no-" + flag[2:], dest=config_field.name, action="store_false", help=f"not: {text}")
        else:
            parser.add_argument(flag, dest=config_field.name, action="store_true", help=text)
        return
    shown = "" if default is None else " (default: %(default)s)"
    kind = {"int": int, "float": float, "tuple[float, float]": float, "list[int]": int}.get(config_field.base_type, str)
    if config_field.base_type == "tuple[float, float]":
        parser.add_argument(flag, dest=config_field.name, type=float, nargs=2, metavar=("A", "B"),
                            default=None if default is None else list(default), help=text + shown)
    elif config_field.base_type == "list[int]":
        parser.add_argument(flag, dest=config_field.name, type=int, nargs="+", default=default, help=text + shown)
    elif config_field.base_type == "str" and config_field.choices:
        parser.add_argument(flag, dest=config_field.name, choices=config_field.choices, default=default,
                            help=config_field.doc + shown)
    else:
        parser.add_argument(flag, dest=config_field.name, type=kind, default=default, help=text + shown)


def _add_dcgan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="fashion-mnist",
                        help="fashion-mnist, digits or mnist5k, optionally with classes "
                             "(fashion-mnist:sneaker,ankle_boot; digits:3,5), or a folder of PNG/JPEG images "
                             "(default: %(default)s)")


def _load_images(args: argparse.Namespace) -> np.ndarray:
    return datasets.from_spec(args.data, args.image_size, channels=args.channels)


def _image_channels(data: np.ndarray | list[np.ndarray]) -> dict[str, int]:
    assert isinstance(data, np.ndarray)
    return {"channels": int(data.shape[1])}


def _add_cyclegan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="fashion-mnist:sneaker,ankle_boot",
                        help="two classes of a built-in set, A then B (fashion-mnist:sneaker,ankle_boot, "
                             "textures:grass,gravel, digits:3,8), or a folder holding trainA/ and trainB/ "
                             "(default: %(default)s)")
    parser.add_argument("--load-size", type=int, default=None,
                        help="images are loaded at this size, then randomly cropped to --image-size (default: "
                             "--image-size for built-in sets, --image-size * 286 / 256 for folders)")
    parser.add_argument("--no-flip", action="store_true", help="no random horizontal flips")


def _load_unpaired(args: argparse.Namespace) -> list[np.ndarray]:
    data = datasets.unpaired_from_spec(args.data, args.image_size, load_size=args.load_size, channels=args.channels)
    return [data.a, data.b]


def _domain_channels(data: np.ndarray | list[np.ndarray]) -> dict[str, int]:
    return {"in_channels": int(data[0].shape[1]), "out_channels": int(data[1].shape[1])}


def _cyclegan_transform(args: argparse.Namespace, data: list[np.ndarray]) -> BatchTransform | None:
    if args.no_flip and data[0].shape[-1] == args.image_size:
        return None
    return datasets.RandomCropFlip(args.image_size, flip=not args.no_flip)


def _add_stylegan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="emoji",
                        help="emoji (about 1,200 color emoji, from fonts-noto-color-emoji), fashion-mnist, digits or "
                             "mnist5k, optionally with classes (fashion-mnist:sneaker,ankle_boot), or a folder of "
                             "PNG/JPEG images (default: %(default)s)")


def _load_stylegan_images(args: argparse.Namespace) -> np.ndarray:
    return datasets.from_spec(args.data, args.resolution, channels=args.channels)


TRAINERS: dict[str, ModelCommand] = {
    "dcgan": ModelCommand(DCGAN, "DCGAN (Radford et al. 2015), as in pytorch/examples", _add_dcgan_arguments,
                          "1 for the built-in sets, 3 for folders", _load_images, _image_channels,
                          cli_defaults={"image_size": 32}),
    "cyclegan": ModelCommand(CycleGAN, "CycleGAN (Zhu et al. 2017), as in junyanz/pytorch-CycleGAN-and-pix2pix",
                             _add_cyclegan_arguments, "1 for the built-in sets, 3 for folders", _load_unpaired,
                             _domain_channels, cli_defaults={"image_size": 32}, transform=_cyclegan_transform),
    "stylegan": ModelCommand(StyleGAN, "StyleGAN2 (Karras et al. 2020), as in NVlabs/stylegan2-ada-pytorch",
                             _add_stylegan_arguments, "3 for emoji and folders, 1 for the other sets",
                             _load_stylegan_images, _image_channels),
}
"""Model kind -> how ``train <kind>`` builds and feeds it. The command line trains at 32x32 by default (DCGAN and
CycleGAN models default to their papers' 64 and 256)."""


def _add_training_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    """The options every model kind shares."""
    parser.add_argument("--steps", type=int, default=2000,
                        help="train until this many steps in all (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=TRAINERS[kind].model.default_batch_size,
                        help="examples per batch (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs") / kind,
                        help="run folder: samples/, log.jsonl, checkpoint.safetensors (default: %(default)s)")
    parser.add_argument("--sample-every", type=int, default=250,
                        help="steps between sample grids (default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=int, default=1000,
                        help="steps between checkpoints (default: %(default)s)")
    parser.add_argument("--log-every", type=int, default=10, help="steps between log lines (default: %(default)s)")
    parser.add_argument("--tensorboard", type=Path, default=None, metavar="DIR",
                        help="also write TensorBoard event files into DIR: every step's losses and the sample grids of "
                             "--sample-every (needs tensorboardX: pip install \"swiftgan[tensorboard]\"; view them "
                             "with: tensorboard --logdir DIR)")
    seed = next(f for f in TRAINERS[kind].model.config_fields if f.name == "seed")
    parser.add_argument("--seed", type=int, default=seed.default, help=f"{seed.doc} (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: the engine's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint (up to --steps in all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over MPI: start with mpirun -np N; --batch-size is the global "
                             "batch, split across the ranks; rank 0 writes --out")
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="with --distributed: BatchNorm statistics over the whole global batch instead of per rank")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swiftgan",
                                     description="Train GANs on the CPU and sample from their checkpoints.")
    parser.add_argument("--version", action="version", version=f"swiftgan {swiftgan.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model",
                                description="Train a model; writes sample grids, a loss log and checkpoints.")
    kinds = train.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, command in TRAINERS.items():
        sub = kinds.add_parser(kind, help=command.help, description=f"Train {command.help}.")
        command.add_arguments(sub)
        _add_training_arguments(sub, kind)

    generate = commands.add_parser("generate", help="sample a grid of images from a checkpoint",
                                   description="Sample images from a checkpoint and save them as one grid.")
    generate.add_argument("checkpoint", type=Path, metavar="CKPT",
                          help="a checkpoint (.safetensors), or a published StyleGAN2 (.pkl, .pt)")
    generate.add_argument("--n", type=int, default=64, help="number of images (default: %(default)s)")
    generate.add_argument("--seed", type=int, default=1, help="noise seed (default: %(default)s)")
    generate.add_argument("--seeds", type=parse_ranges, default=None,
                          help="StyleGAN: one image per seed, e.g. 1-16 or 1,5,9-12 (default: --n seeds from --seed)")
    _add_style_arguments(generate)
    generate.add_argument("--nrow", type=int, default=None, help="images per row (default: a square grid)")
    generate.add_argument("--out", type=Path, default=Path("grid.png"), help="image file (default: %(default)s)")

    mix = commands.add_parser("style-mix", help="a style-mixing grid from a StyleGAN checkpoint",
                              description="Draw the style-mixing grid of Karras et al. 2019: the top row shows the "
                                          "--cols seeds, the left column the --rows seeds, and each cell the row "
                                          "seed's styles with the --layers styles of the column seed.")
    mix.add_argument("checkpoint", type=Path, metavar="CKPT",
                     help="a StyleGAN checkpoint (.safetensors) or a published StyleGAN2 (.pkl, .pt)")
    mix.add_argument("--rows", type=parse_ranges, default=parse_ranges("1-4"), help="row seeds (default: 1-4)")
    mix.add_argument("--cols", type=parse_ranges, default=parse_ranges("5-8"), help="column seeds (default: 5-8)")
    mix.add_argument("--layers", type=parse_ranges, default=parse_ranges("0-3"),
                     help="the ws taken from the column seeds: 0-3 coarse styles, the last ones fine styles "
                          "(default: 0-3)")
    _add_style_arguments(mix)
    mix.add_argument("--out", type=Path, default=Path("mix.png"), help="image file (default: %(default)s)")

    walk = commands.add_parser("interpolate", help="an animated GIF walking in w space between two seeds",
                               description="Interpolate linearly in w space between the images of two seeds of a "
                                           "StyleGAN checkpoint and save the frames as an animated GIF.")
    walk.add_argument("checkpoint", type=Path, metavar="CKPT",
                      help="a StyleGAN checkpoint (.safetensors) or a published StyleGAN2 (.pkl, .pt)")
    walk.add_argument("--seeds", type=parse_ranges, default=parse_ranges("1,2"),
                      help="the two seeds, A,B (default: 1,2)")
    walk.add_argument("--steps", type=int, default=16, help="frames, both ends included (default: %(default)s)")
    walk.add_argument("--duration", type=int, default=100, help="milliseconds per frame (default: %(default)s)")
    _add_style_arguments(walk)
    walk.add_argument("--out", type=Path, default=Path("walk.gif"), help="GIF file (default: %(default)s)")

    convert = commands.add_parser(
        "convert", help="write a published StyleGAN2 (.pkl, .pt) as a swiftgan checkpoint",
        description="Read an NVlabs network pickle (stylegan2-ada-pytorch, its TF conversions, stylegan3's StyleGAN2s) "
                    "or a rosinality .pt without PyTorch and without running anything from it, and write it as an "
                    "ordinary swiftgan checkpoint (config in its metadata), which loads with no pickle at all.")
    convert.add_argument("source", type=Path, metavar="FILE", help="a published .pkl or .pt")
    convert.add_argument("out", type=Path, metavar="CKPT", help="the checkpoint to write (.safetensors)")
    convert.add_argument("--for-training", action="store_true",
                         help="keep G, D, G_ema and ADA's p, with fresh optimizers, to fine-tune (default: G_ema "
                              "alone, for generation)")

    translate = commands.add_parser("translate", help="translate an image with a CycleGAN",
                                    description="Translate one image with a CycleGAN checkpoint, or with a generator "
                                                "published by junyanz/pytorch-CycleGAN-and-pix2pix (.pth, read "
                                                "without PyTorch). Any image size: it is padded by reflection to a "
                                                "size the generator takes and cropped back, unless --resize-to.")
    translate.add_argument("checkpoint", type=Path, metavar="CKPT",
                           help="a CycleGAN checkpoint (.safetensors) or a junyanz generator (.pth)")
    translate.add_argument("input", type=Path, metavar="IMAGE", help="the image to translate")
    translate.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                           help="AtoB (G_A) or BtoA (G_B); for a .pth, the way its generator translates "
                                "(default: %(default)s)")
    translate.add_argument("--resize-to", type=int, default=None,
                           help="translate at this size (a multiple of 4) and resize back, instead of padding")
    translate.add_argument("--tile", type=int, default=None,
                           help="translate a larger image in overlapping tiles of this side (a multiple of 4), "
                                "with bounded memory and the same result")
    translate.add_argument("--out", type=Path, default=Path("translated.png"),
                           help="image file (default: %(default)s)")
    _add_editing_commands(commands)
    return parser


STYLEGAN_MODEL_HELP = "a StyleGAN2 checkpoint (.safetensors) or a published StyleGAN2 (.pkl, .pt)"
"""The MODEL argument of the editing commands."""


def _add_editing_commands(commands: Any) -> None:
    """The StyleGAN2 editing commands: edit, project, blend."""
    edit = commands.add_parser(
        "edit", help="images of a StyleGAN2 edited along a direction (a sweep of strengths)",
        description="Edit the images of --seed along a direction in the --layers ws only, one image per strength: "
                    "a row per seed, a column per strength (a .gif out: one frame per strength).")
    edit.add_argument("checkpoint", type=Path, metavar="MODEL", help=STYLEGAN_MODEL_HELP)
    edit.add_argument("--seed", type=parse_ranges, default=parse_ranges("0"),
                      help="the seeds to edit, e.g. 85 or 1-4 (default: 0)")
    edit.add_argument("--direction", required=True,
                      help="ganspace:K (GANSpace's component K, strengths in standard deviations), sefa:K (SeFa's "
                           "direction K for --layers) or an InterFaceGAN boundary .npy file")
    edit.add_argument("--layers", type=parse_ranges, default=None,
                      help="the ws to edit, inclusive ranges such as 4-7 (default: all)")
    edit.add_argument("--strengths", type=parse_strength_list, default=parse_strength_list("-3:3:7"),
                      help="start:stop:count or a comma-separated list (default: -3:3:7)")
    edit.add_argument("--samples", type=int, default=100_000,
                      help="latents GANSpace's components are computed from (default: %(default)s)")
    _add_style_arguments(edit)
    edit.add_argument("--duration", type=int, default=200, help="GIF: milliseconds per frame (default: %(default)s)")
    edit.add_argument("--out", type=Path, default=Path("sweep.png"), help="image or .gif file (default: %(default)s)")

    project = commands.add_parser(
        "project", help="the latent of a photo in a StyleGAN2 (NVlabs' projector recipe)",
        description="Project an image into a StyleGAN2's latent space (the image is center-cropped and resized to the "
                    "model's resolution) and write NVlabs' projected_w.npz layout, the reconstruction and the target.")
    project.add_argument("checkpoint", type=Path, metavar="MODEL", help=STYLEGAN_MODEL_HELP)
    project.add_argument("input", type=Path, metavar="IMAGE", help="the image to project")
    project.add_argument("--steps", type=int, default=1000, help="optimization steps (default: %(default)s)")
    project.add_argument("--space", choices=("w", "w+"), default="w",
                         help="one w for every layer (NVlabs) or one per layer (default: %(default)s)")
    project.add_argument("--distance", choices=("pixel", "discriminator"), default="pixel",
                         help="image distance; discriminator needs a checkpoint with D (default: %(default)s)")
    project.add_argument("--seed", type=int, default=303, help="seed of the optimization (default: %(default)s)")
    project.add_argument("--class-idx", type=int, default=None, help="the class of a conditional model")
    project.add_argument("--out", type=Path, default=Path("projected_w.npz"),
                         help="the .npz to write; proj.png and target.png go beside it (default: %(default)s)")

    blend = commands.add_parser(
        "blend", help="a StyleGAN2 with the low resolutions of one model and the high ones of another (toonify)",
        description="Swap layers between two StyleGAN2s of one architecture: synthesis layers below --swap-resolution "
                    "(and the mapping network) from BASE, from it on from OTHER; write a checkpoint and a sample grid.")
    blend.add_argument("base", type=Path, metavar="BASE", help="the model of the low resolutions")
    blend.add_argument("other", type=Path, metavar="OTHER", help="the model of the high resolutions")
    blend.add_argument("--swap-resolution", type=int, default=32,
                       help="the first resolution taken from OTHER (default: %(default)s)")
    blend.add_argument("--width", type=float, default=0.0,
                       help="blend over this many layers instead of swapping at once (default: %(default)s)")
    blend.add_argument("--seeds", type=parse_ranges, default=parse_ranges("0-7"),
                       help="seeds of the sample grid (default: 0-7)")
    blend.add_argument("--out", type=Path, default=Path("blended.safetensors"),
                       help="the checkpoint to write; a grid of base, other and blend goes beside it as .png "
                            "(default: %(default)s)")


def parse_strength_list(text: str) -> list[float]:
    """The strengths of ``edit``'s --strengths: ``start:stop:count`` or a comma-separated list."""
    try:
        return swiftgan.editing.parse_strengths(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_ranges(text: str) -> list[int]:
    """Non-negative ints from a comma-separated list of ints and inclusive ranges: ``"1-16"``, ``"1,5,9-12"``."""
    values: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            start = int(first)
            stop = int(last) if dash else start
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected ints and ranges such as 1-16 or 1,5,9-12, got {text!r}"
                                             ) from None
        if start < 0 or stop < start:
            raise argparse.ArgumentTypeError(f"expected non-negative ints and increasing ranges, got {text!r}")
        values.extend(range(start, stop + 1))
    return values


def _add_style_arguments(parser: argparse.ArgumentParser) -> None:
    """The sampling options of StyleGAN's commands."""
    parser.add_argument("--trunc", type=float, default=None,
                        help="StyleGAN: truncation psi, 0.5-0.7 trade variety for quality (default: 1, none)")
    parser.add_argument("--noise-mode", choices=("const", "random", "none"), default=None,
                        help="StyleGAN: per-layer noise (default: const)")
    parser.add_argument("--class-idx", type=int, default=None, help="StyleGAN: the class of a conditional model")


class CommandError(Exception):
    """A problem with the command line's request, reported without a traceback."""


def _check_resume(out: Path, gan: GAN, kind: str, config: dict[str, Any], run: dict[str, Any]) -> None:
    """Refuses to resume a run with another configuration than it was started with."""
    wanted = json.loads(json.dumps(config))
    differences = [f"{key}: checkpoint {gan.config.get(key)!r}, command line {wanted.get(key)!r}"
                   for key in sorted(set(gan.config) | set(wanted)) if gan.config.get(key) != wanted.get(key)]
    if gan.kind != kind:
        differences.insert(0, f"kind: checkpoint {gan.kind!r}, command line {kind!r}")
    if (out / RUN_FILE).exists():
        started = json.loads((out / RUN_FILE).read_text())
        differences += [f"{key}: run {started.get(key)!r}, command line {run[key]!r}"
                        for key in ("data", "data_shapes", "batch_size", "transform")
                        if key in started and started[key] != run[key]]
    if differences:
        raise CommandError(f"--resume: {out / CHECKPOINT} was trained with another configuration:\n  "
                           + "\n  ".join(differences)
                           + "\nrepeat the run's options, or start a new run with another --out")


def train(args: argparse.Namespace) -> None:
    command = TRAINERS[args.kind]
    if args.sync_batchnorm and not args.distributed:
        raise CommandError("--sync-batchnorm takes --distributed")
    if args.distributed:
        swiftgan.distributed.init(threads=args.threads)
    elif args.threads is not None:
        swiftgan.set_num_threads(args.threads)
    writer = swiftgan.distributed.rank() == 0
    checkpoint = args.out / CHECKPOINT
    if args.resume and not checkpoint.exists():
        raise CommandError(f"--resume: there is no {checkpoint} to resume")
    if not args.resume and checkpoint.exists():
        raise CommandError(f"{checkpoint} exists: pass --resume to continue that run, or choose another --out")
    callbacks = [] if args.tensorboard is None else [swiftgan.callbacks.TensorBoard(args.tensorboard)]
    data = command.load_data(args)
    config = command.config(args, data)
    transform = command.transform(args, data)
    shapes = [list(array.shape) for array in ([data] if isinstance(data, np.ndarray) else data)]
    run = {"kind": args.kind, "data": args.data, "data_shapes": shapes, "batch_size": args.batch_size,
           "transform": None if transform is None else repr(transform), "config": config}
    if args.resume:
        gan = command.model.load(checkpoint)
        _check_resume(args.out, gan, args.kind, config, run)
    else:
        gan = command.model(**config)
        if writer:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    remaining = args.steps - gan.step
    if remaining <= 0:
        print(f"{checkpoint} is at step {gan.step}, not before --steps {args.steps}: nothing to do")
        return
    try:
        gan.fit(data, remaining, batch_size=args.batch_size, out_dir=args.out, sample_every=args.sample_every,
                checkpoint_every=args.checkpoint_every, log_every=args.log_every, progress=not args.quiet,
                transform=transform, sync_batchnorm=args.sync_batchnorm, callbacks=callbacks)
    except KeyboardInterrupt:
        if writer:
            print(f"\ninterrupted at step {gan.step}; {checkpoint} holds it: continue with --resume", file=sys.stderr)
        raise
    if writer:
        ranks = f" on {swiftgan.distributed.world_size()} ranks" if args.distributed else ""
        board = "" if args.tensorboard is None else f", TensorBoard events in {args.tensorboard}"
        print(f"step {gan.step}{ranks}: checkpoint {checkpoint}, samples in {args.out / 'samples'}, "
              f"log {args.out / 'log.jsonl'}{board}")


def _style_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """StyleGAN's truncation and noise keyword arguments from the options of :func:`_add_style_arguments`."""
    return {"truncation_psi": 1.0 if args.trunc is None else args.trunc, "noise_mode": args.noise_mode or "const",
            "class_idx": args.class_idx}


def _load_stylegan(path: Path) -> StyleGAN:
    gan = swiftgan.load(path)
    if not isinstance(gan, StyleGAN):
        raise CommandError(f"{path}: a {gan.kind} model has no styles; this command takes a StyleGAN checkpoint")
    return gan


def generate(args: argparse.Namespace) -> None:
    gan = swiftgan.load(args.checkpoint)
    if isinstance(gan, StyleGAN):
        seeds = args.seeds if args.seeds is not None else list(range(args.seed, args.seed + args.n))
        images = gan.generate(seeds=seeds, **_style_kwargs(args))
        what = f"seeds {seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"seeds {seeds}"
    else:
        if not hasattr(gan, "generate"):
            raise CommandError(f"{args.checkpoint}: a {gan.kind} model does not generate from noise")
        if (args.seeds, args.trunc, args.noise_mode, args.class_idx) != (None, None, None, None):
            raise CommandError(f"--seeds, --trunc and --noise-mode take a StyleGAN checkpoint (so does --class-idx); "
                               f"a {gan.kind} model draws --n samples from one --seed")
        images = gan.generate(args.n, seed=args.seed)
        what = f"seed {args.seed}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    swiftgan.save_grid(images, args.out, nrow=args.nrow)
    print(f"wrote {args.out}: {len(images)} samples of {args.checkpoint} (step {gan.step}), {what}")


def style_mix(args: argparse.Namespace) -> None:
    gan = _load_stylegan(args.checkpoint)
    grid = gan.style_mix(args.rows, args.cols, layers=args.layers, **_style_kwargs(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    swiftgan.save_grid(grid, args.out)
    print(f"wrote {args.out}: rows {args.rows} x columns {args.cols}, layers {args.layers} from the columns")


def interpolate(args: argparse.Namespace) -> None:
    gan = _load_stylegan(args.checkpoint)
    if len(args.seeds) != 2:
        raise CommandError(f"--seeds: give two seeds, A,B; got {args.seeds}")
    seed_a, seed_b = args.seeds
    frames = gan.interpolate(seed_a, seed_b, steps=args.steps, **_style_kwargs(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    swiftgan.images.save_gif(frames, args.out, duration=args.duration)
    print(f"wrote {args.out}: {args.steps} frames from seed {seed_a} to seed {seed_b}")


def convert(args: argparse.Namespace) -> None:
    gan = StyleGAN.from_pretrained(args.source, for_training=args.for_training)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    gan.save(args.out)
    kept = "G, D and G_ema" if args.for_training else "G_ema"
    source = gan.source or {}
    print(f"wrote {args.out}: {args.source} ({source.get('format')}, {gan.config['resolution']} px, "
          f"{gan.config['architecture']} G) with {kept}")


def translate(args: argparse.Namespace) -> None:
    gan: GAN
    if args.checkpoint.suffix == ".pth":
        gan = CycleGAN.from_pretrained_generator(args.checkpoint, direction=args.direction)
    else:
        gan = swiftgan.load(args.checkpoint)
    if not isinstance(gan, CycleGAN):
        raise CommandError(f"{args.checkpoint}: a {gan.kind} model does not translate images")
    image = gan.translate(args.input, direction=args.direction, resize_to=args.resize_to, tile=args.tile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out)
    print(f"wrote {args.out}: {args.input} translated {args.direction} by {args.checkpoint}")


def edit(args: argparse.Namespace) -> None:
    gan = _load_stylegan(args.checkpoint)
    direction = swiftgan.editing.parse_direction(gan, args.direction, args.layers, args.samples, args.class_idx)
    style = _style_kwargs(args)
    rows = [gan.edit_sweep(seed, direction, args.strengths, args.layers, **style) for seed in args.seed]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".gif":
        frames = np.stack(rows, axis=1)  # (strengths, seeds, C, R, R): one frame per strength
        swiftgan.images.save_gif(list(frames), args.out, duration=args.duration)
    else:
        swiftgan.save_grid(np.concatenate(rows), args.out, nrow=len(args.strengths))
    layers = "all layers" if args.layers is None else f"layers {args.layers}"
    print(f"wrote {args.out}: seeds {args.seed} along {args.direction} in {layers}, strengths "
          f"{', '.join(f'{value:g}' for value in args.strengths)}")


def project(args: argparse.Namespace) -> None:
    gan = _load_stylegan(args.checkpoint)
    if args.distance == "discriminator" and args.checkpoint.suffix in (".pkl", ".pt"):
        gan = StyleGAN.from_pretrained(args.checkpoint, for_training=True)  # D for the feature distance
    result = gan.project(args.input, steps=args.steps, space=args.space, distance=args.distance, seed=args.seed,
                         class_idx=args.class_idx)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.save(args.out)
    swiftgan.images.to_pil(result.image[0]).save(args.out.with_name("proj.png"))
    swiftgan.images.to_pil(result.target[0]).save(args.out.with_name("target.png"))
    print(f"wrote {args.out} (w {result.ws.shape}), {args.out.with_name('proj.png')} and "
          f"{args.out.with_name('target.png')}: {result.steps_taken} steps in {args.space}, "
          f"PSNR {result.psnr():.2f} dB")


def blend(args: argparse.Namespace) -> None:
    base, other = _load_stylegan(args.base), _load_stylegan(args.other)
    blended = swiftgan.blend(base, other, swap_resolution=args.swap_resolution, width=args.width)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    blended.save(args.out)
    grid = args.out.with_suffix(".png")
    swiftgan.save_grid(np.concatenate([model.generate(seeds=args.seeds) for model in (base, other, blended)]), grid,
                       nrow=len(args.seeds))
    print(f"wrote {args.out} and {grid} (rows: base, other, blend): resolutions from {args.swap_resolution} of "
          f"{args.other}, below of {args.base}")


def _join_negative_values(argv: Sequence[str], options: Sequence[str]) -> list[str]:
    """``--option -3:3:7`` as ``--option=-3:3:7``: argparse takes a value starting with '-' for an option."""
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] in options and arg.startswith("-") and arg[1:2].isdigit():
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv, ["--strengths"]))
    try:
        {"train": train, "generate": generate, "translate": translate, "style-mix": style_mix,
         "interpolate": interpolate, "convert": convert, "edit": edit, "project": project,
         "blend": blend}[args.command](args)
    except (CommandError, ValueError, OSError, ImportError, pickle.UnpicklingError, NonFiniteLossError) as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        if swiftgan.distributed.world_size() > 1:
            swiftgan.distributed.abort(1)  # the other ranks would wait for this one forever
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
