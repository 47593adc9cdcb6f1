"""Builds swiftgan: the Swift engine (libswiftgan.so) with SwiftPM, then the CPython extension that binds it.

`pip install .` runs everything below. The engine is built by

    swift build -c release --product swiftgan --scratch-path .build-release -Xswiftc -static-stdlib

plus `-target-cpu skylake-avx512` (AVX-512) or `haswell` (AVX2 and FMA) for the engine's own vector loops when this
machine's CPU has those instructions (set SWIFTGAN_TARGET_CPU to choose another CPU, or to "generic" for the x86-64
baseline), plus any flags in the environment variable SWIFTGAN_SWIFT_FLAGS (split like a shell command line). The
extension `swiftgan._native` links `libswiftgan.so` with rpath `$ORIGIN`, and the library is copied beside it,
so the installed package needs neither the Swift toolchain nor its runtime. The extension uses CPython's stable ABI
(3.10 on), so one build serves every later CPython.

With SWIFTGAN_CPU_LEVELS (e.g. "baseline v3 v4", as scripts/build_wheel.sh sets it) the engine is built once per
x86-64 microarchitecture level instead, into `.build-release-<level>`, and shipped as `libswiftgan_<level>.so`
with its own extension `swiftgan._native_<level>`; `swiftgan._cpu` imports the best one the CPU runs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SCRATCH = ".build-release"
LEVEL_TARGET_CPUS = {"baseline": "generic", "v3": "haswell", "v4": "skylake-avx512"}
"""The engine builds a wheel can carry: x86-64 microarchitecture level -> swiftc's -target-cpu (its LLVM names no
x86-64-v3/v4 target CPUs; Haswell and Skylake-AVX512 have those levels' instructions, and code generation uses no
others of theirs)."""
STABLE_ABI = ("Py_LIMITED_API", "0x030A0000")
"""CPython's stable ABI as of 3.10: one extension for every later version (wheel tag cp310-abi3)."""


def _native_cpu() -> str:
    """The target of the highest level this x86-64 CPU runs: "skylake-avx512" with AVX-512 (F, BW, CD, DQ, VL; the
    engine's packed GEMM needs its 32 vector registers), "haswell" with everything that target assumes (AVX2, FMA,
    BMI1/2, F16C, MOVBE, LZCNT), else "generic". The engine is built on the machine that runs it (pip builds from
    source), like -march=native, and as the wheel's engine for that level is."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = set(next(line for line in lines if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "generic"
    if not {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"} <= flags:
        return "generic"
    return LEVEL_TARGET_CPUS["v4"] if {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"} <= flags else "haswell"


def _levels() -> list[str]:
    """The microarchitecture levels to build (SWIFTGAN_CPU_LEVELS), or [] for one engine for this machine."""
    levels = os.environ.get("SWIFTGAN_CPU_LEVELS", "").replace(",", " ").split()
    unknown = [level for level in levels if level not in LEVEL_TARGET_CPUS]
    if unknown:
        raise RuntimeError(f"SWIFTGAN_CPU_LEVELS: unknown levels {unknown}; expected some of {list(LEVEL_TARGET_CPUS)}")
    return levels


class Engine:
    """One build of the Swift engine: its SwiftPM scratch directory, -target-cpu, and the names of its library and
    of the extension that binds it."""

    def __init__(self, level: str | None) -> None:
        self.scratch = SCRATCH if level is None else f"{SCRATCH}-{level}"
        self.cpu = LEVEL_TARGET_CPUS[level] if level else os.environ.get("SWIFTGAN_TARGET_CPU") or _native_cpu()
        self.library = "swiftgan" if level is None else f"swiftgan_{level}"
        self.module = "_native" if level is None else f"_native_{level}"

    @property
    def library_file(self) -> str:
        return f"lib{self.library}.so"

    def build(self, announce: Callable[[str], None]) -> None:
        """swift build, then the library under this build's name (the extension records that name: no soname)."""
        swift = shutil.which("swift")
        if swift is None:
            raise RuntimeError("building swiftgan needs the Swift toolchain (`swift` on PATH)")
        cpu_flags = ["-Xswiftc", "-target-cpu", "-Xswiftc", self.cpu] if self.cpu != "generic" else []
        command = [swift, "build", "-c", "release", "--product", "swiftgan", "--scratch-path", self.scratch,
                   "-Xswiftc", "-static-stdlib", *cpu_flags, *shlex.split(os.environ.get("SWIFTGAN_SWIFT_FLAGS", ""))]
        announce(" ".join(command))
        subprocess.run(command, cwd=ROOT, check=True)
        release = ROOT / self.scratch / "release"
        if self.library_file != "libswiftgan.so":
            shutil.copy2(release / "libswiftgan.so", release / self.library_file)

    def extension(self) -> Extension:
        return Extension(
            f"swiftgan.{self.module}",
            sources=["python/swiftgan/_native.c"],
            include_dirs=["CShim/include"],
            depends=["CShim/include/swiftgan.h"],
            define_macros=[STABLE_ABI, ("SWIFTGAN_MODULE", self.module)],
            library_dirs=[f"{self.scratch}/release"],
            libraries=[self.library],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
            # libc named though nothing calls it directly: auditwheel reads the wheel's libc from the extension
            extra_link_args=["-Wl,-rpath,$ORIGIN", "-Wl,--no-as-needed,-lc"],
            py_limited_api=True,
        )


ENGINES = [Engine(level) for level in _levels()] or [Engine(None)]


class SwiftBuildExt(build_ext):
    """build_ext that builds the Swift engines first and ships each shared library beside its extension."""

    def run(self) -> None:
        for engine in ENGINES:
            engine.build(lambda message: self.announce(message, level=2))
        super().run()
        targets = self._library_targets()
        for engine, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / engine.scratch / "release" / engine.library_file, target)
        # Builds of another kind left in the package directory (the source tree for --inplace, else build/lib)
        # would be imported, or packed into a wheel, beside this one.
        current = {Path(output).name for output in self.get_outputs()}
        for package in {target.parent for _, target in targets}:
            for stale in [*package.glob("_native*.so"), *package.glob("libswiftgan*.so")]:
                if stale.name not in current:
                    stale.unlink()

    def get_outputs(self) -> list[str]:
        return [*super().get_outputs(), *(str(target) for _, target in self._library_targets())]

    def _library_targets(self) -> list[tuple[Engine, Path]]:
        """Beside each extension: in the build tree, or in the source tree for --inplace builds."""
        return [(engine, Path(self.get_ext_fullpath(f"swiftgan.{engine.module}")).parent / engine.library_file)
                for engine in ENGINES]


setup(
    ext_modules=[engine.extension() for engine in ENGINES],
    cmdclass={"build_ext": SwiftBuildExt},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
