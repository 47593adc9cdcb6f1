"""Each model's config is declared once, in the engine: the Python signature, docstring, command-line options and
checkpoints all follow its schema."""

from __future__ import annotations

import inspect
import json

import pytest

import swiftgan as sg
from swiftgan import _native, cli
from swiftgan.models.config import ConfigField, config_fields
from swiftgan.safetensors import load_file

from helpers import TINY_DCGAN, TINY_STYLEGAN

TINY_CYCLEGAN = {"image_size": 16, "in_channels": 1, "out_channels": 1, "ngf": 4, "ndf": 4, "n_blocks": 1,
                 "n_layers_d": 2}
MODELS = [(sg.DCGAN, TINY_DCGAN), (sg.CycleGAN, TINY_CYCLEGAN), (sg.StyleGAN, TINY_STYLEGAN)]


@pytest.mark.parametrize("model", [model for model, _ in MODELS], ids=lambda model: model.__name__)
def test_the_signature_and_docstring_are_the_schema(model) -> None:
    fields = config_fields(model.kind)
    assert fields == model.config_fields and fields[-1].name == "seed"
    parameters = inspect.signature(model).parameters
    assert list(parameters) == [field.name for field in fields]
    for field in fields:
        parameter = parameters[field.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        default = tuple(field.default) if isinstance(field.default, list) else field.default
        assert parameter.default == default, field.name
        assert f"    {field.name} ({field.type}, default " in model.__doc__
    assert "{args}" not in model.__doc__
    # The defaults are the model's own: a model built with no arguments has them all.
    assert all(isinstance(field, ConfigField) and field.doc for field in fields)


@pytest.mark.parametrize("kind", ["dcgan", "cyclegan", "stylegan"])
def test_every_field_is_a_command_line_option(kind, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["train", kind, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # help text wraps lines
    for field in config_fields(kind):
        flag = f"--{field.name.replace('_', '-')}"
        if field.name in ("channels", "in_channels", "out_channels"):  # set by the data's --channels
            assert "--channels {1,3} image channels, which set the config's " in text and field.name in text
        else:
            assert f"{flag} " in text or (field.base_type == "bool" and f"--no-{flag[2:]}" in text), field.name


@pytest.mark.parametrize(("model", "kwargs"), MODELS, ids=lambda value: getattr(value, "__name__", ""))
def test_every_field_round_trips_through_a_checkpoint(tmp_path, model, kwargs) -> None:
    gan = model(**kwargs)
    assert list(gan.config) == [field.name for field in model.config_fields]
    gan.save(tmp_path / "model.safetensors")
    _, metadata = load_file(tmp_path / "model.safetensors")
    stored = json.loads(metadata["config"])
    assert stored == gan.config and list(stored) == list(gan.config)
    restored = sg.load(tmp_path / "model.safetensors")
    assert restored.config == gan.config


def test_the_schema_describes_types_defaults_and_accepted_values() -> None:
    schema = {entry["name"]: entry for entry in json.loads(_native.config_schema("stylegan"))}
    assert schema["resolution"] == {"name": "resolution", "type": "int", "default": 32,
                                    "doc": "side length of the square images",
                                    "accepts": "a power of two from 4 to 1024", "minimum": 4, "maximum": 1024,
                                    "choices": [4, 8, 16, 32, 64, 128, 256, 512, 1024]}
    assert schema["r1_gamma"]["type"] == "float | None" and schema["r1_gamma"]["default"] is None
    assert schema["betas"]["type"] == "tuple[float, float]" and schema["betas"]["default"] == [0.0, 0.99]
    assert schema["lr"]["default"] == 0.002  # the float the engine holds, written in its shortest form
    assert schema["architecture"]["choices"] == ["skip", "resnet", "orig"] and schema["architecture"]["type"] == "str"
    assert schema["channel_counts"]["type"] == "list[int] | None"
    with pytest.raises(ValueError, match="unknown model 'biggan'"):
        _native.config_schema("biggan")


def test_values_are_checked_by_the_engine_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"ngf: expected 1 to 1024, got 0"):
        sg.DCGAN(ngf=0)
    with pytest.raises(ValueError, match=r"lr: expected a non-negative number, got nan"):
        sg.DCGAN(lr=float("nan"))
    with pytest.raises(TypeError, match=r"DCGAN: argument 'nz' must be an int, got str"):
        sg.DCGAN(nz="100")
    with pytest.raises(TypeError, match=r"got an unexpected keyword argument 'nfg'"):
        sg.DCGAN(nfg=64)
    with pytest.raises(ValueError, match=r"lambda_A: expected a non-negative number"):
        sg.CycleGAN(lambda_A=-1.0)
    with pytest.raises(ValueError, match=r"seed: expected an int from 0 to 2\*\*64 - 1, got -1"):
        sg.DCGAN(**TINY_DCGAN, seed=-1)
    assert sg.DCGAN(**{**TINY_DCGAN, "seed": 2**64 - 1}).seed == 2**64 - 1
