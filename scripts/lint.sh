#!/usr/bin/env bash
# Style checks, in seconds: swift-format (its configuration in .swift-format) and a 120-column limit for the Swift
# sources (swift-format does not measure comments), ruff and mypy for the Python package (pyproject.toml).
# Run by scripts/test.sh after set-up; `swift-format format -i -r Sources Tests` and `ruff check --fix` repair most.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

swift-format lint --strict --recursive Sources Tests Package.swift
long=$(find Sources Tests -name '*.swift' -print0 | xargs -0 awk 'length > 120 { print FILENAME ":" FNR }')
if [ -n "$long" ]; then
    echo "lines over 120 columns:"; echo "$long"; exit 1
fi
.venv/bin/ruff check python
.venv/bin/mypy
echo "lint: clean"
