"""Checks of Python-level argument kinds, shared by every public function and model constructor of swiftgan.

Each check takes the public function's name (``caller``) and the argument's name, and raises an exception whose
message names both and what was expected: ``TypeError`` for a value of the wrong kind (``"conv2d: argument 'stride'
must be an int, got float"``), ``ValueError`` for a value of the right kind that is not allowed (a mode string that
is not one of the choices). Shapes and ranges are checked where they are known: by the engine, or by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np

_T = TypeVar("_T")


def _kind_error(caller: str, name: str, expected: str, value: object) -> TypeError:
    """The TypeError for an argument of the wrong kind: "<caller>: argument '<name>' must be <expected>, got <type>"."""
    return TypeError(f"{caller}: argument '{name}' must be {expected}, got {type(value).__name__}")


def _check_int(caller: str, name: str, value: object) -> int:
    """``value`` as an int if it is one (numpy integers included, bools excluded); TypeError otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _kind_error(caller, name, "an int", value)
    return int(value)


def _check_float(caller: str, name: str, value: object) -> float:
    """``value`` as a float if it is a real number (ints and numpy scalars included, bools excluded); TypeError
    otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise _kind_error(caller, name, "a float", value)
    return float(value)


def _check_flag(caller: str, name: str, value: object) -> bool:
    """``value`` as a bool if it is one (numpy bools included; ints are not flags); TypeError otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise _kind_error(caller, name, "a bool", value)
    return bool(value)


def _choice(caller: str, name: str, value: object, choices: Mapping[str, _T]) -> _T:
    """The entry of ``choices`` that the string ``value`` names: TypeError if ``value`` is not a str, ValueError
    (listing the choices) if it names none of them."""
    if not isinstance(value, str):
        raise _kind_error(caller, name, "a str", value)
    if value not in choices:
        raise ValueError(f"{caller}: argument '{name}' must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return choices[value]
