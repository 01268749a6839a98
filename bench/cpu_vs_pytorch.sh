#!/usr/bin/env bash
# The classic recipe on the CPU: train_mnist --device cpu against PyTorch (bench/pytorch_lenet.py:
# the blog's net and recipe, data preloaded in one tensor), same machine, same thread count, in
# one run, repetitions interleaved (lenet, torch, lenet, torch, ...) so that a change in the
# machine's load hits both alike.
#   bench/cpu_vs_pytorch.sh [BUILD_DIR] [OUT_DIR]
# BUILD_DIR: a build with bin/train_mnist (default build/cpu-release: configure it with
#   cmake -S . -B build/cpu-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENET_WITH_CUDA=OFF
#   and build train_mnist). OUT_DIR: logs, metrics and the plot (default build/cpu-vs-pytorch).
# Environment: MNIST_DIR (else data/mnist), THREADS (else every core), REPS (3), EPOCHS (10),
# PYTHON (an interpreter with torch and numpy; else build/torch-venv, made here with
# `pip install torch numpy` from PyPI when missing: Debian's python3-torch is older and slower).
# Prints the machine, the versions, each run's training time and load average, then a table of
# medians, the ratio and both accuracies; draws the last repetition's loss and accuracy curves of
# both into OUT_DIR/cpu_vs_pytorch.png with scripts/plot_metrics.py.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/cpu-release}
out=${2:-build/cpu-vs-pytorch}
data=${MNIST_DIR:-data/mnist}
threads=${THREADS:-$(nproc)}
reps=${REPS:-3}
epochs=${EPOCHS:-10}
train_mnist=$build/bin/train_mnist

if [[ ! -x $train_mnist ]]; then
  echo "cpu_vs_pytorch: $train_mnist not found: build it first (see the top of $0)" >&2
  exit 2
fi
python=${PYTHON:-}
if [[ -z $python ]]; then
  python=build/torch-venv/bin/python
  if ! "$python" -c 'import torch, numpy' 2>/dev/null; then
    echo "== installing PyTorch from PyPI into build/torch-venv"
    python3 -m venv build/torch-venv
    build/torch-venv/bin/pip install --quiet torch numpy
  fi
fi
mkdir -p "$out"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; threads used: $threads"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "lenet: $("$train_mnist" --version 2>/dev/null | head -1 || echo unknown)"
echo "torch: $("$python" -c 'import torch; print(torch.__version__)')" \
     "(oneDNN: $("$python" -c 'import torch; print(torch.backends.mkldnn.is_available())'))"
echo "recipe: $epochs epochs, batch 64, lr 0.001, momentum 0.9; $reps repetitions, interleaved"

# "Training took S seconds." and "Accuracy of the network on the N test images: A %".
seconds_of() { sed -n 's/^Training took \([0-9.]*\) seconds\.$/\1/p' "$1"; }
accuracy_of() { sed -n 's/^Accuracy of the network .*: \([0-9.]*\) %$/\1/p' "$1"; }

lenet_times=() torch_times=()
for rep in $(seq 1 "$reps"); do
  echo "== repetition $rep: train_mnist (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$train_mnist" --data "$data" --device cpu --threads "$threads" --epochs "$epochs" \
    --metrics "$out/lenet-$rep.jsonl" > "$out/lenet-$rep.log" 2>&1
  grep -E '^train_mnist: backend|^epoch|^Training took|^Accuracy' "$out/lenet-$rep.log"
  lenet_times+=("$(seconds_of "$out/lenet-$rep.log")")
  echo "== repetition $rep: PyTorch (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$python" bench/pytorch_lenet.py --data "$data" --threads "$threads" --epochs "$epochs" \
    --metrics "$out/pytorch-$rep.jsonl" > "$out/pytorch-$rep.log" 2>&1
  cat "$out/pytorch-$rep.log"
  torch_times+=("$(seconds_of "$out/pytorch-$rep.log")")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lenet_median=$(median "${lenet_times[@]}")
torch_median=$(median "${torch_times[@]}")
echo
echo "| run | training seconds (each) | median | test accuracy (last run) |"
echo "|---|---|---|---|"
echo "| train_mnist --device cpu | ${lenet_times[*]} | $lenet_median |" \
     "$(accuracy_of "$out/lenet-$reps.log") % |"
echo "| PyTorch | ${torch_times[*]} | $torch_median | $(accuracy_of "$out/pytorch-$reps.log") % |"
echo
awk -v l="$lenet_median" -v t="$torch_median" \
  'BEGIN { printf "train_mnist is %.2fx as fast as PyTorch (median %s s against %s s)\n", t / l, l, t }'

plot=$out/cpu_vs_pytorch.png
if /usr/bin/python3 scripts/plot_metrics.py "$out/lenet-$reps.jsonl" "$out/pytorch-$reps.jsonl" \
     -o "$plot" --label "train_mnist --device cpu" --label "PyTorch $("$python" -c \
     'import torch; print(torch.__version__)')"; then
  echo "plot: $plot"
else
  echo "cpu_vs_pytorch: no plot (scripts/plot_metrics.py needs python3-matplotlib)" >&2
fi
