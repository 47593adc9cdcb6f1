#!/usr/bin/env bash
# Runs every test from nothing: set-up (apt packages, .venv, the build), the style checks, then the Swift engine's
# tests and the Python API's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/opt/swift/usr/bin"
bash scripts/lint.sh
swift test
.venv/bin/python -m pytest -q python/tests
