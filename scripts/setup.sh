#!/usr/bin/env bash
# Sets up swiftgan on a fresh Debian machine: the apt packages it builds and runs with (as root), a virtual
# environment in .venv, and `pip install .` (which builds the Swift engine and the CPython extension).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

bash scripts/apt_install.sh libopenblas-dev python3-dev python3-venv dataset-fashion-mnist fonts-noto-color-emoji \
    openmpi-bin libopenmpi-dev

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q ".[test]"
