#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the release preset, then trains
# LeNet on MNIST with the classic recipe. Flags go to train_mnist, e.g.
#   scripts/train.sh --epochs 2 --device cpu --save lenet.safetensors
# --help (-h) prints this usage and train_mnist's flags without installing or building anything.
# Data: --data DIR, else $MNIST_DIR, else data/mnist of the repository (scripts/download_mnist.sh
# fetches it there). Relative paths in the flags and in MNIST_DIR are relative to the directory
# you run this from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/bin/train_mnist

usage() {
  cat <<EOF
Usage: scripts/train.sh [train_mnist flags]

Installs what the build needs (scripts/install-deps.sh), builds train_mnist with the release
preset (build/release), then runs it with your flags: LeNet trained on MNIST with the classic
recipe (docs/training.md), on the GPU when one is usable, else on the CPU.

Data: --data DIR, else \$MNIST_DIR, else data/mnist of the repository, where
scripts/download_mnist.sh puts the four MNIST files: $root/data/mnist
Relative paths (--data, --save, --resume, --metrics, MNIST_DIR) are relative to the directory
you run this from.
EOF
}

for arg in "$@"; do
  case $arg in
    -h | --help)
      usage
      echo
      if [[ -x "$bin" ]]; then
        "$bin" --help
      else
        echo "train_mnist's flags: listed by train_mnist --help after the first build, and in" \
          "docs/training.md."
      fi
      exit 0
      ;;
    --) break ;;
  esac
done

# Without --data and MNIST_DIR, the repository's data/mnist, wherever this is run from.
data_given=0
for arg in "$@"; do
  case $arg in
    --data | --data=*) data_given=1 ;;
    --) break ;;
  esac
done
if ((!data_given)) && [[ -z "${MNIST_DIR:-}" ]]; then
  export MNIST_DIR=$root/data/mnist
fi

"$root/scripts/install-deps.sh"
(cd "$root" && cmake --preset release >/dev/null &&
  cmake --build --preset release --target train_mnist)
# Run from the caller's directory, so that relative paths mean what they typed.
exec "$bin" "$@"
