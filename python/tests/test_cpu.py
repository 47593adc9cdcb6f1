"""The engine build chosen for the CPU (swiftgan._cpu): levels from CPU flags, the choice, SWIFTGAN_CPU.

The builds themselves run the kernel and network parity tests once per level in scripts/wheel_check.sh."""

from __future__ import annotations

import pytest

import swiftgan
from swiftgan import _cpu

V3 = {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm", "xsave", "sse4_1", "sse4_2", "ssse3", "popcnt",
      "cx16"}
V4 = V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}


def test_levels_follow_the_cpu_flags() -> None:
    assert _cpu.supported_levels(set()) == ["baseline"]
    assert _cpu.supported_levels({"sse4_2", "avx"}) == ["baseline"]
    assert _cpu.supported_levels(V3) == ["baseline", "v3"]
    assert _cpu.supported_levels(V3 - {"fma"}) == ["baseline"]
    assert _cpu.supported_levels(V4) == ["baseline", "v3", "v4"]
    # AVX-512 without the v3 instructions below it is not v4
    assert _cpu.supported_levels({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}) == ["baseline"]


def test_the_highest_supported_build_is_chosen() -> None:
    built = ["baseline", "v3", "v4"]
    assert _cpu.choose_level(built, ["baseline", "v3", "v4"], None) == "v4"
    assert _cpu.choose_level(built, ["baseline", "v3"], None) == "v3"
    assert _cpu.choose_level(["baseline", "v3"], ["baseline", "v3", "v4"], None) == "v3"
    assert _cpu.choose_level(built, ["baseline", "v3", "v4"], "baseline") == "baseline"


def test_a_forced_level_must_exist_and_run_here() -> None:
    with pytest.raises(ImportError, match=r"SWIFTGAN_CPU='avx9'.*baseline, v3, v4"):
        _cpu.choose_level(["baseline"], ["baseline"], "avx9")
    with pytest.raises(ImportError, match=r"SWIFTGAN_CPU='v4'.*this CPU supports only baseline, v3"):
        _cpu.choose_level(["baseline", "v3", "v4"], ["baseline", "v3"], "v4")
    with pytest.raises(ImportError, match=r"SWIFTGAN_CPU='v3'.*engine builds for baseline"):
        _cpu.choose_level(["baseline"], ["baseline", "v3"], "v3")


def test_cpu_features_names_the_engine_that_runs() -> None:
    features = swiftgan.cpu_features()
    assert set(features) == {"engine", "supported", "built", "forced", "flags"}
    assert features["supported"] == _cpu.supported_levels()
    if features["built"]:
        assert features["engine"] in features["built"]
        assert swiftgan._native.__file__.endswith(f"_native_{features['engine']}.abi3.so")
    else:
        assert features["engine"] == "source build"
