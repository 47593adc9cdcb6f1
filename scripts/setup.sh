#!/usr/bin/env bash
# Sets up swiftgan on a fresh Debian machine: the apt packages it builds and runs with (as root), a virtual
# environment in .venv, and `pip install .` (which builds the Swift engine and the CPython extension).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

packages=(libopenblas-dev python3-dev python3-venv dataset-fashion-mnist fonts-noto-color-emoji openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing apt packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q ".[test]"
