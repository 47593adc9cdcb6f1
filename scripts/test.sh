#!/usr/bin/env bash
# Runs every test from nothing: set-up (apt packages, .venv, the build), then the Swift engine's tests and the
# Python API's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/opt/swift/usr/bin"
swift test
.venv/bin/python -m pytest -q python/tests
