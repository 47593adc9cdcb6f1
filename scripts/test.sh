#!/usr/bin/env bash
# Runs every test from nothing: set-up (apt packages, .venv, the build), the style checks, the Swift engine's tests
# (once per x86-64 level this CPU runs) and the Python API's tests; then the binary wheel: built (the engine for each x86-64 level) and proven on a clean
# Debian root, where the kernel and network parity tests run once per engine build this CPU supports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/opt/swift/usr/bin"
bash scripts/lint.sh
bash scripts/swift_test_levels.sh
.venv/bin/python -m pytest -q python/tests
bash scripts/build_wheel.sh
bash scripts/wheel_check.sh
