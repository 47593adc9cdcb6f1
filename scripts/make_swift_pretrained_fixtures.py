"""Writes Tests/Fixtures/pretrained/<name>_state.safetensors for the Swift tests: the tensors swiftgan's reader
(`swiftgan.pretrained.read_published`, Python) takes from each published fixture, under the engine's state names
(`G_ema.*`, `D.*`), with the StyleGAN config in the metadata (`config`, JSON). The engine's parity tests
(Tests/SwiftGANTests/PretrainedTests.swift) then check the Swift networks against the reference outputs without the
unpickler, which lives in Python.

Usage: .venv/bin/python scripts/make_swift_pretrained_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from swiftgan.pretrained import read_published
from swiftgan.safetensors import save_file

FOLDER = Path(__file__).resolve().parents[1] / "Tests" / "Fixtures" / "pretrained"
FILES = ["nvlabs_snapshot_64.pkl", "nvlabs_resnet_cond_32.pkl", "nvlabs_orig_16.pkl",
         "rosinality_64_convert_legacy.pt", "rosinality_64_train.pt"]


def main() -> None:
    for name in FILES:
        published = read_published(FOLDER / name, for_training=True)
        tensors = {f"G_ema.{key}": value for key, value in published.g_ema.items()}
        tensors.update({f"D.{key}": value for key, value in (published.d or {}).items()})
        out = FOLDER / f"{Path(name).stem}_state.safetensors"
        save_file({key: np.ascontiguousarray(value, dtype=np.float32) for key, value in tensors.items()}, out,
                  {"config": json.dumps(published.config), "source": name})
        print(f"wrote {out.name}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
