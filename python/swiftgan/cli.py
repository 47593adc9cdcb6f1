"""The command line: ``python -m swiftgan train KIND ...`` and ``python -m swiftgan generate CKPT ...``.

``train`` has one subcommand per model kind, from :data:`TRAINERS`: each kind adds its own options (data,
sizes, widths, learning rates) to the options every kind shares (steps, batch size, output folder, sampling
and checkpoint intervals, seed, threads, resume).

A run's folder (``--out``) holds ``samples/step_XXXXXXX.png``, ``log.jsonl``, ``checkpoint.safetensors`` and
``run.json`` (the kind, data, batch size and model configuration it was started with). ``--resume`` continues
from the checkpoint up to ``--steps`` in all, refusing if the command line asks for another configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import swiftgan
from swiftgan import datasets
from swiftgan.models import DCGAN, GAN
from swiftgan.models.base import CHECKPOINT

RUN_FILE = "run.json"


@dataclass(frozen=True)
class ModelCommand:
    """How ``train <kind>`` builds a model: its options (``add_arguments`` must define ``--data``, which
    ``run.json`` records), how it loads the data (what ``GAN.fit`` takes), and the model's configuration (its
    constructor's keyword arguments) from the parsed options and the data."""

    model: type[GAN]
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    load_data: Callable[[argparse.Namespace], np.ndarray | list[np.ndarray]]
    config: Callable[[argparse.Namespace, Any], dict[str, Any]]


def _add_dcgan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="fashion-mnist",
                        help="fashion-mnist, digits or mnist5k, optionally with classes "
                             "(fashion-mnist:sneaker,ankle_boot; digits:3,5), or a folder of PNG/JPEG images "
                             "(default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=32, help="16, 32, 64 or 128 (default: %(default)s)")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=None,
                        help="image channels (default: the data's: 1 for the built-in sets, 3 for folders)")
    parser.add_argument("--nz", type=int, default=100, help="noise length (default: %(default)s)")
    parser.add_argument("--ngf", type=int, default=64, help="generator width (default: %(default)s)")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator width (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (default: %(default)s)")
    parser.add_argument("--beta2", type=float, default=0.999, help="Adam beta2 (default: %(default)s)")


def _load_images(args: argparse.Namespace) -> np.ndarray:
    return datasets.from_spec(args.data, args.image_size, channels=args.channels)


def _dcgan_config(args: argparse.Namespace, data: np.ndarray) -> dict[str, Any]:
    return {"image_size": args.image_size, "channels": int(data.shape[1]), "nz": args.nz, "ngf": args.ngf,
            "ndf": args.ndf, "lr": args.lr, "betas": [args.beta1, args.beta2], "seed": args.seed}


TRAINERS: dict[str, ModelCommand] = {
    "dcgan": ModelCommand(DCGAN, "DCGAN (Radford et al. 2015), as in pytorch/examples", _add_dcgan_arguments,
                          _load_images, _dcgan_config),
}
"""Model kind -> how ``train <kind>`` builds and feeds it."""


def _add_training_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    """The options every model kind shares."""
    parser.add_argument("--steps", type=int, default=2000,
                        help="train until this many steps in all (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per batch (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs") / kind,
                        help="run folder: samples/, log.jsonl, checkpoint.safetensors (default: %(default)s)")
    parser.add_argument("--sample-every", type=int, default=250,
                        help="steps between sample grids (default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=int, default=1000,
                        help="steps between checkpoints (default: %(default)s)")
    parser.add_argument("--log-every", type=int, default=10, help="steps between log lines (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, the training noise and the batch order (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: the engine's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint (up to --steps in all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


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
    generate.add_argument("checkpoint", type=Path, metavar="CKPT", help="a checkpoint (.safetensors)")
    generate.add_argument("--n", type=int, default=64, help="number of images (default: %(default)s)")
    generate.add_argument("--seed", type=int, default=1, help="noise seed (default: %(default)s)")
    generate.add_argument("--nrow", type=int, default=None, help="images per row (default: a square grid)")
    generate.add_argument("--out", type=Path, default=Path("grid.png"), help="image file (default: %(default)s)")
    return parser


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
                        for key in ("data", "batch_size") if started.get(key) != run[key]]
    if differences:
        raise CommandError(f"--resume: {out / CHECKPOINT} was trained with another configuration:\n  "
                           + "\n  ".join(differences)
                           + "\nrepeat the run's options, or start a new run with another --out")


def train(args: argparse.Namespace) -> None:
    command = TRAINERS[args.kind]
    if args.threads is not None:
        swiftgan.set_num_threads(args.threads)
    checkpoint = args.out / CHECKPOINT
    if args.resume and not checkpoint.exists():
        raise CommandError(f"--resume: there is no {checkpoint} to resume")
    if not args.resume and checkpoint.exists():
        raise CommandError(f"{checkpoint} exists: pass --resume to continue that run, or choose another --out")
    data = command.load_data(args)
    config = command.config(args, data)
    run = {"kind": args.kind, "data": args.data, "batch_size": args.batch_size, "config": config}
    if args.resume:
        gan = command.model.load(checkpoint)
        _check_resume(args.out, gan, args.kind, config, run)
    else:
        gan = command.model(**config)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    remaining = args.steps - gan.step
    if remaining <= 0:
        print(f"{checkpoint} is at step {gan.step}, not before --steps {args.steps}: nothing to do")
        return
    try:
        gan.fit(data, remaining, batch_size=args.batch_size, out_dir=args.out, sample_every=args.sample_every,
                checkpoint_every=args.checkpoint_every, log_every=args.log_every, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {gan.step}; {checkpoint} holds it: continue with --resume", file=sys.stderr)
        raise
    print(f"step {gan.step}: checkpoint {checkpoint}, samples in {args.out / 'samples'}, "
          f"log {args.out / 'log.jsonl'}")


def generate(args: argparse.Namespace) -> None:
    gan = swiftgan.load(args.checkpoint)
    if not hasattr(gan, "generate"):
        raise CommandError(f"{args.checkpoint}: a {gan.kind} model does not generate from noise")
    images = gan.generate(args.n, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    swiftgan.save_grid(images, args.out, nrow=args.nrow)
    print(f"wrote {args.out}: {args.n} samples of {args.checkpoint} (step {gan.step}), seed {args.seed}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        {"train": train, "generate": generate}[args.command](args)
    except (CommandError, ValueError, OSError, ImportError) as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
