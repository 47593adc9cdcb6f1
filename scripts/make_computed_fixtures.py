"""Writes Tests/Fixtures/computed/: reference cases this project computed itself with PyTorch, in the format of
../shared/fixtures (see its README): inputs ``in.<name>``, ``out``, ``grad_out`` and ``grad.<name>`` (the gradient
of sum(out * grad_out)), computed in float64 from float32 inputs and stored as float32, with the case's ``spec``
JSON in the metadata.

Needs PyTorch and the safetensors package, which swiftgan itself never uses; run it from a separate environment:
``python -m venv /tmp/torch && /tmp/torch/bin/pip install torch safetensors && /tmp/torch/bin/python
scripts/make_computed_fixtures.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[1] / "Tests" / "Fixtures" / "computed"


def interpolate_case(name: str, shape: tuple[int, ...], scale: int, align_corners: bool, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator).double().requires_grad_()
    out = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=align_corners)
    grad_out = torch.randn(out.shape, generator=generator).double()
    (grad_x,) = torch.autograd.grad(out, x, grad_out)
    spec = {"op": "upsample", "mode": "bilinear", "scale": scale, "align_corners": align_corners}
    tensors = {"in.x": x, "out": out, "grad_out": grad_out, "grad.x": grad_x}
    save_file({key: value.detach().float().contiguous() for key, value in tensors.items()}, OUT / f"{name}.safetensors",
              metadata={"spec": json.dumps(spec)})


def unary_case(name: str, shape: tuple[int, ...], spec: dict, fn, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = (3 * torch.randn(shape, generator=generator)).double().requires_grad_()
    out = fn(x)
    grad_out = torch.randn(out.shape, generator=generator).double()
    (grad_x,) = torch.autograd.grad(out, x, grad_out)
    tensors = {"in.x": x, "out": out, "grad_out": grad_out, "grad.x": grad_x}
    save_file({key: value.detach().float().contiguous() for key, value in tensors.items()}, OUT / f"{name}.safetensors",
              metadata={"spec": json.dumps(spec)})


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    interpolate_case("upsample_bilinear3_align_corners", (2, 3, 5, 4), 3, True, seed=1)
    interpolate_case("upsample_bilinear2_align_corners_1px", (1, 2, 1, 6), 2, True, seed=2)
    unary_case("clamp_both", (2, 3, 5, 7), {"op": "clamp", "min": -2.0, "max": 1.5},
               lambda x: torch.clamp(x, -2.0, 1.5), seed=3)
    unary_case("clamp_max", (4, 33), {"op": "clamp", "max": 0.5}, lambda x: torch.clamp(x, max=0.5), seed=4)
    unary_case("permute_0132", (2, 3, 4, 5), {"op": "permute", "dims": [1, 0, 3, 2]},
               lambda x: x.permute(1, 0, 3, 2), seed=5)
    unary_case("permute_201", (3, 4, 6), {"op": "permute", "dims": [2, 0, 1]}, lambda x: x.permute(2, 0, 1), seed=6)
    print(f"wrote {OUT}")
