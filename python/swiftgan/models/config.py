"""Model configurations, as the engine declares them.

Each model kind's hyperparameters are declared once, in Swift (a ``@Param`` per field: its default, a one-line doc
and the values it accepts). The engine exports them as a schema (:func:`config_fields`), and everything on the Python
side is derived from it: a model class's keyword arguments and their defaults (its ``__signature__``), the Args
section of its docstring, the type checks of its constructor, the ``train`` options of the command line and the
``config`` a checkpoint stores. The values a field accepts (ranges, choices) are checked by the engine, whose errors
name the field.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swiftgan import _native
from swiftgan._checks import _check_flag, _check_float, _check_int

__all__ = ["ConfigField", "config_fields", "normalize_config", "config_signature", "config_docs"]


@dataclass(frozen=True)
class ConfigField:
    """One keyword argument of a model, as the engine's schema declares it."""

    name: str
    """The name in Python, on the command line (with dashes) and in checkpoints."""
    type: str
    """The Python type: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"tuple[float, float]"``, or ``"<type> | None"``
    (None: a default that depends on other fields, as the doc says)."""
    default: Any
    doc: str
    accepts: str | None = None
    """What the field accepts, in words ("1 to 64", "a power of two from 8 to 256"), for numbers."""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[float | str, ...] | None = None

    @property
    def base_type(self) -> str:
        """The type without ``| None``."""
        return self.type.removesuffix(" | None")

    @property
    def optional(self) -> bool:
        """Whether None is accepted."""
        return self.type.endswith(" | None")


@functools.cache
def config_fields(kind: str) -> tuple[ConfigField, ...]:
    """The fields of a model kind's configuration (``"dcgan"``, ``"cyclegan"``, ``"stylegan"``), in declaration
    order, ``seed`` last."""
    fields = []
    for entry in json.loads(_native.config_schema(kind)):
        choices = entry.get("choices")
        default = entry["default"]
        fields.append(ConfigField(name=entry["name"], type=entry["type"], doc=entry["doc"],
                                  default=default, accepts=entry.get("accepts"), minimum=entry.get("minimum"),
                                  maximum=entry.get("maximum"), choices=None if choices is None else tuple(choices)))
    return tuple(fields)


def _check_value(caller: str, field: ConfigField, value: object) -> object:
    """``value`` as the JSON-able Python value of ``field``'s type (ints, floats, bools, a pair as a list), or a
    TypeError naming the argument (a wrong pair is a ValueError, as it always was)."""
    if value is None and field.optional:
        return None
    kind = field.base_type
    if kind == "int":
        return _check_int(caller, field.name, value)
    if kind == "float":
        return _check_float(caller, field.name, value)
    if kind == "bool":
        return _check_flag(caller, field.name, value)
    if kind == "tuple[float, float]":
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ValueError(f"{caller}: argument '{field.name}' must be a pair of floats, got {value!r}")
        return [_check_float(caller, field.name, item) for item in value]
    if kind == "list[int]":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError(f"{caller}: argument '{field.name}' must be a list of ints, got {type(value).__name__}")
        return [_check_int(caller, field.name, item) for item in value]
    if kind == "str" and isinstance(value, str):
        return value
    raise TypeError(f"{caller}: argument '{field.name}' must be a {kind}, got {type(value).__name__}")


def normalize_config(caller: str, fields: tuple[ConfigField, ...], given: Mapping[str, object]) -> dict[str, Any]:
    """Every field's value: those in ``given`` checked for type (an unknown name is a TypeError, as Python's own for a
    function), the rest their defaults; JSON-able, in declaration order."""
    names = {field.name for field in fields}
    for name in given:
        if name not in names:
            raise TypeError(f"{caller}.__init__() got an unexpected keyword argument {name!r} (expected one of "
                            f"{', '.join(field.name for field in fields)})")
    return {field.name: _check_value(caller, field, given[field.name]) if field.name in given else field.default
            for field in fields}


def config_json(config: Mapping[str, Any]) -> str:
    """A normalized config as the JSON text the engine reads (non-finite floats as NaN/Infinity, which the engine
    refuses naming the field)."""
    return json.dumps(dict(config), allow_nan=True)


def config_signature(fields: tuple[ConfigField, ...]) -> inspect.Signature:
    """The keyword-only signature of a model's constructor: each field with its default and type."""
    annotations = {"int": int, "float": float, "bool": bool, "str": str, "tuple[float, float]": tuple[float, float],
                   "list[int]": list[int]}
    parameters = []
    for field in fields:
        annotation: Any = annotations.get(field.base_type, Any)
        if field.optional:
            annotation = annotation | None
        default = tuple(field.default) if isinstance(field.default, list) else field.default
        parameters.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    return inspect.Signature(parameters, return_annotation=None)


def _shown(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) >= 1000:
        return str(int(value))
    return repr(tuple(value)) if isinstance(value, list) else repr(value)


def config_docs(fields: tuple[ConfigField, ...], indent: str = "    ") -> str:
    """The Args section of a model's docstring: one entry per field, with its type, default and what it accepts."""
    lines = ["Args:"]
    for field in fields:
        text = f"{field.name} ({field.type}, default {_shown(field.default)}): {field.doc}"
        if field.accepts:
            text += f"; accepts {field.accepts}"
        lines += textwrap.wrap(text + ".", width=112, initial_indent=indent, subsequent_indent=indent * 2)
    return textwrap.indent("\n".join(lines), indent)
