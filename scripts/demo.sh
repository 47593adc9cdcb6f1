#!/usr/bin/env bash
# Runs the demo from nothing: set-up, then a short training run on the bundled Fashion-MNIST data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/ops_demo.py "$@"
