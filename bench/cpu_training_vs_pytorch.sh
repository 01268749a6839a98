#!/usr/bin/env bash
# The classic recipe on the CPU, train_mnist against PyTorch, one after the other on one machine.
#   bench/cpu_training_vs_pytorch.sh [BUILD_DIR] [PYTHON]
# BUILD_DIR: a build with bin/train_mnist (default build/release). PYTHON: an interpreter with
# torch and numpy (default python3); e.g. a venv made with
#   python3 -m venv build/torch-venv && build/torch-venv/bin/pip install torch numpy
# Data: $MNIST_DIR, else data/mnist. Threads: $THREADS, else every core, for both.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
python=${2:-python3}
data=${MNIST_DIR:-data/mnist}
threads=${THREADS:-$(nproc)}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; threads used: $threads"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "== train_mnist (lenet-cuda, cpu backend)"
"$build/bin/train_mnist" --data "$data" --device cpu --threads "$threads" --quiet
echo "== PyTorch ($("$python" -c 'import torch; print(torch.__version__)'))"
"$python" bench/pytorch_lenet.py --data "$data" --threads "$threads" | tail -2
