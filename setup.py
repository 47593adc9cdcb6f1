"""Builds swiftgan: the Swift engine (libswiftgan.so) with SwiftPM, then the CPython extension that binds it.

`pip install .` runs everything below. The engine is built by

    swift build -c release --product swiftgan --scratch-path .build-release -Xswiftc -static-stdlib

plus `-target-cpu haswell` (AVX2 and FMA for the engine's own vector loops) when this machine's CPU has those
instructions (set SWIFTGAN_TARGET_CPU to choose another CPU, or to "generic" for the x86-64 baseline), plus any
flags in the environment variable SWIFTGAN_SWIFT_FLAGS (split like a shell command line). The
extension `swiftgan._native` links `libswiftgan.so` with rpath `$ORIGIN`, and the library is copied beside it,
so the installed package needs neither the Swift toolchain nor its runtime. The extension uses only the stable ABI of
CPython 3.10 (Py_LIMITED_API), so it is built as `_native.abi3.so` and wheels are tagged cp310-abi3: one build serves
every CPython from 3.10.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SCRATCH = ".build-release"
LIBRARY = "libswiftgan.so"
LIMITED_API = ("0x030A0000", "cp310")
"""The oldest CPython whose stable ABI the extension uses: its Py_LIMITED_API value and its wheel tag."""


def _native_cpu() -> str:
    """"haswell" when this x86-64 CPU has everything that target assumes (AVX2, FMA, BMI1/2, F16C, MOVBE, LZCNT),
    else "generic". The engine is built on the machine that runs it (pip builds from source), like -march=native."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "generic"
    needed = {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"}
    return "haswell" if needed <= set(flags) else "generic"


class SwiftBuildExt(build_ext):
    """build_ext that builds the Swift engine first and ships its shared library beside the extension."""

    def run(self) -> None:
        self._build_engine()
        super().run()
        for target in self._library_targets():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / SCRATCH / "release" / LIBRARY, target)

    def get_outputs(self) -> list[str]:
        return [*super().get_outputs(), *map(str, self._library_targets())]

    def _build_engine(self) -> None:
        swift = shutil.which("swift")
        if swift is None:
            raise RuntimeError("building swiftgan needs the Swift toolchain (`swift` on PATH)")
        cpu = os.environ.get("SWIFTGAN_TARGET_CPU") or _native_cpu()
        cpu_flags = ["-Xswiftc", "-target-cpu", "-Xswiftc", cpu] if cpu != "generic" else []
        command = [swift, "build", "-c", "release", "--product", "swiftgan", "--scratch-path", SCRATCH,
                   "-Xswiftc", "-static-stdlib", *cpu_flags, *shlex.split(os.environ.get("SWIFTGAN_SWIFT_FLAGS", ""))]
        self.announce(" ".join(command), level=2)
        subprocess.run(command, cwd=ROOT, check=True)

    def _library_targets(self) -> list[Path]:
        """Beside every extension: in the build tree, or in the source tree for --inplace builds."""
        return sorted({Path(self.get_ext_fullpath(ext.name)).parent / LIBRARY for ext in self.extensions})


setup(
    ext_modules=[
        Extension(
            "swiftgan._native",
            sources=["python/swiftgan/_native.c"],
            include_dirs=["CShim/include"],
            depends=["CShim/include/swiftgan.h"],
            library_dirs=[f"{SCRATCH}/release"],
            libraries=["swiftgan"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
            extra_link_args=["-Wl,-rpath,$ORIGIN"],
            define_macros=[("Py_LIMITED_API", LIMITED_API[0])],
            py_limited_api=True,
        )
    ],
    cmdclass={"build_ext": SwiftBuildExt},
    options={"bdist_wheel": {"py_limited_api": LIMITED_API[1]}},
)
