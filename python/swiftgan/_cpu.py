"""Chooses the engine build for this CPU and registers it as ``swiftgan._native``.

A source build (``pip install .``) compiles one engine for the machine that builds it: ``swiftgan._native``. The
binary wheel carries one build per x86-64 microarchitecture level, ``swiftgan._native_<level>`` (each with its own
``libswiftgan_<level>.so``), and the best level this CPU supports is imported, or the one the environment variable
``SWIFTGAN_CPU`` names (``baseline``, ``v3``, ``v4``; for tests and for comparing them).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

LEVELS = ("baseline", "v3", "v4")
"""x86-64 microarchitecture levels, lowest first: the x86-64 baseline (SSE2), x86-64-v3 (AVX2, FMA, BMI1/2, F16C,
MOVBE, LZCNT) and x86-64-v4 (v3 plus AVX-512 F, BW, CD, DQ and VL)."""

_LEVEL_FLAGS = {
    "baseline": set(),
    "v3": {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm", "xsave", "sse4_1", "sse4_2", "ssse3",
           "popcnt", "cx16"},
    "v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}
"""The /proc/cpuinfo flags each level adds to the one below it."""

ENVIRONMENT_VARIABLE = "SWIFTGAN_CPU"


def cpu_flags() -> set[str]:
    """This CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())


def supported_levels(flags: set[str] | None = None) -> list[str]:
    """The levels this CPU runs, lowest first (each needs every flag of the levels below it)."""
    flags = cpu_flags() if flags is None else flags
    levels: list[str] = []
    for level in LEVELS:
        if not _LEVEL_FLAGS[level] <= flags:
            break
        levels.append(level)
    return levels


def built_levels() -> list[str]:
    """The per-level engine builds this installation carries (none for a source build), lowest first."""
    return [level for level in LEVELS if importlib.util.find_spec(f"swiftgan._native_{level}") is not None]


def choose_level(built: list[str], supported: list[str], forced: str | None) -> str:
    """The level to load: ``forced`` if given (it must be built and supported), else the highest supported build."""
    if forced is not None:
        if forced not in LEVELS:
            raise ImportError(f"{ENVIRONMENT_VARIABLE}={forced!r}: expected one of {', '.join(LEVELS)}")
        if forced not in built:
            raise ImportError(f"{ENVIRONMENT_VARIABLE}={forced!r}: this installation has engine builds for "
                              f"{', '.join(built)}")
        if forced not in supported:
            raise ImportError(f"{ENVIRONMENT_VARIABLE}={forced!r}: this CPU supports only {', '.join(supported)}")
        return forced
    usable = [level for level in built if level in supported]
    if not usable:
        raise ImportError(f"none of this installation's engine builds ({', '.join(built)}) runs on this CPU")
    return usable[-1]


def load_engine() -> tuple[ModuleType, str | None]:
    """Imports the engine build for this CPU, registered as ``swiftgan._native``; returns it and its level (None for
    a source build)."""
    built = built_levels()
    if not built:
        return importlib.import_module("swiftgan._native"), None
    level = choose_level(built, supported_levels(), os.environ.get(ENVIRONMENT_VARIABLE) or None)
    module = importlib.import_module(f"swiftgan._native_{level}")
    sys.modules["swiftgan._native"] = module
    return module, level


_native, engine_level = load_engine()


def cpu_features() -> dict[str, object]:
    """Which engine build runs and why: ``engine`` (the level loaded, or ``"source build"`` for an engine compiled
    for the machine that built it), ``supported`` (the levels this CPU runs), ``built`` (the levels this installation
    carries), ``forced`` (the value of ``SWIFTGAN_CPU``, or None) and ``flags`` (the vector extensions the CPU has,
    of those the levels use)."""
    flags = cpu_flags()
    return {
        "engine": engine_level or "source build",
        "supported": supported_levels(flags),
        "built": built_levels(),
        "forced": os.environ.get(ENVIRONMENT_VARIABLE) or None,
        "flags": sorted(flags & {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"}),
    }
