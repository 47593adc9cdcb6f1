#!/usr/bin/env bash
# Proves the binary wheel on a clean system: a minimal Debian root made with debootstrap (python3 and nothing from
# this project's set-up; Debian 13, so its CPython 3.13 differs from the 3.11 that built the stable-ABI wheel)
# installs the wheel with pip, checks that every shared object in the installed package resolves to files inside
# the wheel or to the C and C++ runtimes, runs a few DCGAN training steps, a StyleGAN generation and a CycleGAN
# translation, then the kernel and network parity tests once per engine build this CPU runs (SWIFTGAN_CPU).
#
# Usage: bash scripts/wheel_check.sh [WHEEL]   (default: the newest dist/swiftgan-*-abi3-*.whl)
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=${1:-$(ls -t dist/swiftgan-*-abi3-*.whl | head -1)}
suite=trixie
root=.build-wheel/root-$suite

bash scripts/apt_install.sh debootstrap
if [ ! -x "$root/usr/bin/python3" ]; then
    rm -rf "$root"
    debootstrap --variant=minbase --include=python3,python3-venv "$suite" "$root" http://deb.debian.org/debian \
        >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
fi

mount -t proc proc "$root/proc"
trap 'umount "$root/proc"' EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -rf "$root/check" && mkdir -p "$root/check/python" "$root/check/Tests"
cp "$wheel" "$root/check/"
cp -r python/tests "$root/check/python/"
cp -r Tests/Fixtures "$root/check/Tests/"
cp scripts/wheel_smoke.py "$root/check/"

# pip in the root trusts what the host trusts (networks that intercept TLS add their CA there).
cp /etc/ssl/certs/ca-certificates.crt "$root/check/host-ca.crt"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root PIP_CERT=/check/host-ca.crt "$@"; }
in_root python3 -m venv /check/venv
in_root /check/venv/bin/pip install -q "/check/$(basename "$wheel")" pytest scikit-learn  # sklearn: digits for tests
in_root /check/venv/bin/python -u /check/wheel_smoke.py
levels=$(in_root /check/venv/bin/python -c "import swiftgan; print(' '.join(swiftgan.cpu_features()['supported']))")
for level in $levels; do
    echo "kernel and network parity tests, engine build $level:"
    in_root /usr/bin/env SWIFTGAN_CPU="$level" /check/venv/bin/python -m pytest -q -p no:cacheprovider \
        /check/python/tests/test_fixtures.py /check/python/tests/test_functional.py \
        /check/python/tests/test_conv_paths.py \
        /check/python/tests/test_upfirdn2d.py /check/python/tests/test_models.py /check/python/tests/test_pretrained.py
done
