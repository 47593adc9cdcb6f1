"""The installed wheel on a clean system (run by scripts/wheel_check.sh inside its Debian root): every shared object
of the package resolves to the package's own files or the C and C++ runtimes; `import swiftgan` time; a few DCGAN
training steps, a StyleGAN generation and a CycleGAN translation on every engine build this CPU runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

RUNTIME = re.compile(r"^(linux-vdso|ld-linux-x86-64|libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so")
"""Libraries every Linux system has: the C runtime, and the C++ runtime (manylinux's policy allows both)."""


def check_linkage(package: Path) -> None:
    """Fails unless every shared object under the package's directories resolves inside them or to RUNTIME."""
    roots = [package, package.parent / "swiftgan.libs"]
    objects = [path for root in roots if root.exists() for path in root.rglob("*.so*")]
    for path in objects:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            name, _, target = line.strip().partition(" => ")
            resolved = target.split(" (")[0].strip()
            if "not found" in target:
                sys.exit(f"{path.name}: {name} not found")
            if RUNTIME.match(name.strip()) or not resolved:
                continue
            if not any(Path(resolved).resolve().is_relative_to(root.resolve()) for root in roots):
                sys.exit(f"{path.name}: {name} resolves outside the wheel, to {resolved}")
    print(f"linkage: {len(objects)} shared objects resolve inside the wheel or to the C/C++ runtime")


def import_seconds() -> float:
    """The fastest of five fresh `import swiftgan`s."""
    code = "import time; t = time.perf_counter(); import swiftgan; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout) for _ in range(5))


def run_models(level: str) -> None:
    """DCGAN training steps, StyleGAN generation and CycleGAN translation on engine build `level`."""
    code = """
import numpy as np, swiftgan
x = np.random.default_rng(0).uniform(-1, 1, (16, 1, 32, 32)).astype(np.float32)
dcgan = swiftgan.DCGAN(image_size=32, channels=1, seed=0)
losses = [dcgan.train_step(x) for _ in range(3)]
assert all(np.isfinite(v) for step in losses for v in step.values()), losses
images = swiftgan.StyleGAN(resolution=32, channel_max=32, z_dim=64, w_dim=64, seed=0).generate(2)
assert images.shape == (2, 3, 32, 32) and np.isfinite(images).all()
cyclegan = swiftgan.CycleGAN(image_size=32, ngf=8, ndf=8, n_blocks=2, seed=0)
y = cyclegan.translate(x[:1].repeat(3, axis=1), tile=16)
assert y.shape == (1, 3, 32, 32) and np.abs(y).max() <= 1
print(swiftgan.cpu_features()["engine"], "ok:", {k: round(v, 3) for k, v in losses[-1].items()})
"""
    env = {**os.environ, "SWIFTGAN_CPU": level}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def main() -> None:
    import swiftgan

    features = swiftgan.cpu_features()
    print(f"swiftgan {swiftgan.__version__} on Python {sys.version.split()[0]}; {features}")
    check_linkage(Path(swiftgan.__file__).parent)
    print(f"import swiftgan: {import_seconds():.3f} s (fastest of 5)")
    for level in features["supported"]:
        run_models(level)


if __name__ == "__main__":
    main()
