#!/usr/bin/env bash
# The demo, from nothing: set-up, then DCGAN trained on the bundled Fashion-MNIST at 32x32 for 1000 steps (about five
# minutes on 2 cores). Writes runs/demo/: sample grids every 250 steps, log.jsonl, checkpoint.safetensors and a final
# grid.png of 64 samples. Extra arguments go to `python -m swiftgan train dcgan`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf runs/demo
.venv/bin/python -m swiftgan train dcgan --data fashion-mnist --image-size 32 --steps 1000 --checkpoint-every 500 --out runs/demo "$@"
.venv/bin/python -m swiftgan generate runs/demo/checkpoint.safetensors --n 64 --seed 1 --out runs/demo/grid.png
echo "samples: runs/demo/grid.png, checkpoint: runs/demo/checkpoint.safetensors"
