"""StyleGAN2 quality run: the Fréchet distance on Fashion-MNIST at a few iteration counts, and emoji grids for the
README.

1. Trains StyleGAN2 on the Fashion-MNIST training set at 32x32 (1 channel) and reports, after each of --fd-steps
   iterations, the Fréchet distance (:func:`swiftgan.metrics.fid_fashion_mnist`, features of the Fashion-MNIST
   classifier that ships with swiftgan) between --fd-n G_ema samples and as many test images. For scale it also
   reports the distance of --fd-n real training images.
2. Trains StyleGAN2 with ADA on the emoji (:func:`swiftgan.datasets.emoji`) for --emoji-steps iterations and writes
   ``stylegan_emoji.png`` (64 seeds, truncation psi 0.7) and ``stylegan_mixing.png`` (a style-mixing grid) into
   --images.

Both runs use a network narrower than StyleGAN's defaults (--channel-max, --w-dim for z and w, --mapping-layers), so
that they take minutes on a 2-core CPU, with NVlabs' G_ema half-life and ramp-up (--ema-images). Run folders (samples, logs,
checkpoints) go under --out; the results are printed as a Markdown table and written as JSON (--json).

Usage: python scripts/stylegan_quality.py [--fd-steps 125,250,500] [--emoji-steps 500] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import swiftgan
from swiftgan.metrics import fid_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]


def train_fashion_mnist(args: argparse.Namespace, network: dict) -> list[dict]:
    data = swiftgan.datasets.fashion_mnist("train", size=32)
    test = swiftgan.datasets.fashion_mnist("test", size=32)
    gan = swiftgan.StyleGAN(resolution=32, channels=1, **network, seed=0)
    rows = [{"step": 0, "fd": fid_fashion_mnist(gan.generate(args.fd_n), test, n=args.fd_n), "minutes": 0.0}]
    start = time.perf_counter()
    for target in args.fd_steps:
        gan.fit(data, steps=target - gan.step, out_dir=args.out / "fashion-mnist", sample_every=250,
                checkpoint_every=1000, progress=not args.quiet)
        minutes = (time.perf_counter() - start) / 60
        fd = fid_fashion_mnist(gan.generate(args.fd_n), test, n=args.fd_n)
        rows.append({"step": gan.step, "fd": fd, "minutes": round(minutes, 1)})
        print(f"Fashion-MNIST step {gan.step}: FD {fd:.2f} after {minutes:.1f} min of training", flush=True)
    swiftgan.save_grid(gan.generate(64, truncation_psi=0.7), args.images / "stylegan_fashion_mnist.png", nrow=8)
    return rows


def train_emoji(args: argparse.Namespace, network: dict) -> dict:
    data = swiftgan.datasets.emoji(size=32)
    gan = swiftgan.StyleGAN(resolution=32, channels=3, **network, ada=True, seed=0)
    start = time.perf_counter()
    gan.fit(data, steps=args.emoji_steps, out_dir=args.out / "emoji", sample_every=500, checkpoint_every=1000,
            progress=not args.quiet)
    minutes = (time.perf_counter() - start) / 60
    swiftgan.save_grid(gan.generate(64, truncation_psi=0.7), args.images / "stylegan_emoji.png", nrow=8)
    mix = gan.style_mix(row_seeds=range(4), col_seeds=range(10, 16), layers=range(4), truncation_psi=0.7)
    swiftgan.save_grid(mix, args.images / "stylegan_mixing.png")
    return {"steps": gan.step, "minutes": round(minutes, 1), "augment_p": round(gan.augment_p, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fd-steps", type=lambda text: sorted(int(s) for s in text.split(",")),
                    default=[125, 250, 500], help="iteration counts at which to measure FD (default: 125,250,500)")
    ap.add_argument("--fd-n", type=int, default=2000, help="samples and test images per FD (default: %(default)s)")
    ap.add_argument("--emoji-steps", type=int, default=500, help="emoji iterations (default: %(default)s)")
    ap.add_argument("--channel-max", type=int, default=32, help="feature maps per resolution (default: %(default)s)")
    ap.add_argument("--w-dim", type=int, default=128, help="z and w length (default: %(default)s)")
    ap.add_argument("--mapping-layers", type=int, default=4, help="mapping layers (default: %(default)s)")
    ap.add_argument("--ema-images", type=float, default=10000,
                    help="G_ema half-life in images, capped at 5%% of the images seen by the ramp-up (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "stylegan-quality", help="run folders")
    ap.add_argument("--images", type=Path, default=ROOT / "docs" / "images", help="where the README images go")
    ap.add_argument("--json", type=Path, help="also write the results to this file")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--runs", type=lambda text: text.split(","), default=["fashion-mnist", "emoji"],
                    help="which runs: fashion-mnist, emoji or both (default: fashion-mnist,emoji)")
    args = ap.parse_args()
    swiftgan.set_num_threads(args.threads)
    args.images.mkdir(parents=True, exist_ok=True)
    network = {"channel_max": args.channel_max, "z_dim": args.w_dim, "w_dim": args.w_dim,
               "mapping_layers": args.mapping_layers, "ema_images": args.ema_images}

    results: dict = {"network": network, "fd_n": args.fd_n}
    if "fashion-mnist" in args.runs:
        real = fid_fashion_mnist(swiftgan.datasets.fashion_mnist("train", size=32)[:args.fd_n], n=args.fd_n)
        fashion = train_fashion_mnist(args, network)
        results.update(real_fd=real, fashion_mnist=fashion)
        print(f"\nStyleGAN2 {network}, batch 16, {args.threads} threads; FD of {args.fd_n} G_ema samples against the "
              f"Fashion-MNIST test set ({args.fd_n} real training images: {real:.2f})\n")
        print("| iterations | training minutes | FD |\n|---:|---:|---:|")
        for row in fashion:
            print(f"| {row['step']} | {row['minutes']} | {row['fd']:.2f} |")
    if "emoji" in args.runs:
        emoji = results["emoji"] = train_emoji(args, network)
        print(f"\nemoji with ADA: {emoji['steps']} iterations in {emoji['minutes']} min, final augment_p "
              f"{emoji['augment_p']}; grids in {args.images}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
