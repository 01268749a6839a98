#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the release preset, then trains
# LeNet on MNIST with the classic recipe. Flags go to train_mnist (see --help), e.g.
#   scripts/train.sh --epochs 2 --device cpu --save lenet.safetensors
# Data: --data DIR, else $MNIST_DIR, else data/mnist (scripts/download_mnist.sh fetches it).
# Relative paths in the flags are relative to the directory you run this from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/install-deps.sh"
(cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target train_mnist)
exec "$root/build/release/bin/train_mnist" "$@"
