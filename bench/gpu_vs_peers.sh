#!/usr/bin/env bash
# The classic recipe on one GPU, four ways, in one run: train_mnist --device cuda (our kernels),
# train_mnist --device cudnn (cuDNN and cuBLAS behind the same engine), and PyTorch
# (bench/pytorch_lenet.py --device cuda: data sets on the GPU, float32) eager and with
# torch.compile(mode="reduce-overhead"). Repetitions are interleaved (cuda, cudnn, eager,
# compile, cuda, ...) so that a change in the machine hits all alike. Nothing is fetched: the
# GPU machine's own PyTorch is used.
#   bench/gpu_vs_peers.sh [BUILD_DIR] [OUT_DIR]
# BUILD_DIR: a build with CUDA and cuDNN holding bin/train_mnist (default build/gpu-check, what
# scripts/gpu-check.sh builds). OUT_DIR: each run's log and --metrics file (default
# BUILD_DIR/gpu-vs-peers).
# Environment: MNIST_DIR (else data/mnist), REPS (3), EPOCHS (10), PYTHON (python3; needs torch
# and numpy).
# Prints the GPU, driver, CUDA, cuDNN and torch versions, then a table of medians over the
# repetitions: training seconds, images/s over the whole run and over the epochs after the first
# (compilation, graph capture and warm-up fall in the first), test accuracy, and the time
# against train_mnist --device cuda. Exit status 1 when a run failed (the table says which),
# 2 on bad usage.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
build=${1:-build/gpu-check}
out=${2:-$build/gpu-vs-peers}
data=${MNIST_DIR:-data/mnist}
reps=${REPS:-3}
epochs=${EPOCHS:-10}
python=${PYTHON:-python3}
train_mnist=$build/bin/train_mnist
if [[ ! -x $train_mnist ]]; then
  echo "gpu_vs_peers: $train_mnist not found: build the project with CUDA first" >&2
  exit 2
fi
mkdir -p "$out" || exit 2

runs=(cuda cudnn torch-eager torch-compile)
declare -A label=(
  [cuda]="train_mnist --device cuda"
  [cudnn]="train_mnist --device cudnn"
  [torch-eager]="PyTorch eager"
  [torch-compile]="PyTorch torch.compile(reduce-overhead)"
)
# set_command RUN REP: cmd=(the command line of one run)
set_command() {
  local metrics=$out/$1-$2.jsonl
  case $1 in
    cuda|cudnn) cmd=("$train_mnist" --device "$1") ;;
    torch-eager) cmd=("$python" bench/pytorch_lenet.py --device cuda) ;;
    torch-compile) cmd=("$python" bench/pytorch_lenet.py --device cuda --compile) ;;
  esac
  cmd+=(--data "$data" --epochs "$epochs" --metrics "$metrics")
}

echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null |
  head -1 | sed 's/, /, driver /' || echo unknown)"
echo "CUDA toolkit: $(nvcc --version 2>/dev/null | sed -n 's/^Cuda compilation tools, //p')"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
torch_line=$("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda,
"cuDNN", torch.backends.cudnn.version())' 2>&1) || torch_line="not usable: ${torch_line##*$'\n'}"
echo "torch: $torch_line"
echo "recipe: $epochs epochs, batch 64, lr 0.001, momentum 0.9; $reps repetitions, interleaved"

failed=0
for rep in $(seq 1 "$reps"); do
  for run in "${runs[@]}"; do
    log=$out/$run-$rep.log
    rm -f "$out/$run-$rep.jsonl"
    echo "== repetition $rep: ${label[$run]}"
    set_command "$run" "$rep"
    if "${cmd[@]}" >"$log" 2>&1; then
      grep -E '^train_mnist: (backend|self-check)|^pytorch_lenet:|^Training took|^Accuracy' "$log"
    else
      echo "FAILED ($log):"
      tail -3 "$log"
      failed=1
    fi
  done
done

# The table, from the runs' --metrics files (train_mnist's JSON Lines, which pytorch_lenet.py
# writes too): the "end" record's train_seconds and test_accuracy, the "epoch" records' images
# and seconds.
python3 - "$out" "$reps" "${runs[@]}" <<'EOF' || failed=1
import json, os, statistics, sys

out, reps, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
labels = {"cuda": "train_mnist --device cuda", "cudnn": "train_mnist --device cudnn",
          "torch-eager": "PyTorch eager", "torch-compile": "PyTorch torch.compile(reduce-overhead)"}

def summary(run):
    seconds, rate, steady, accuracy = [], [], [], []
    for rep in range(1, reps + 1):
        try:
            records = [json.loads(l) for l in open(os.path.join(out, f"{run}-{rep}.jsonl"))]
        except (OSError, ValueError):
            continue
        end = [r for r in records
               if r.get("type") == "end" and r.get("status") in ("finished", "completed")]
        epochs = [r for r in records if r.get("type") == "epoch"]
        if not end or not epochs:
            continue
        seconds.append(end[0]["train_seconds"])
        accuracy.append(end[0]["test_accuracy"])
        rate.append(sum(e["images"] for e in epochs) / end[0]["train_seconds"])
        later = epochs[1:]
        if later:
            steady.append(sum(e["images"] for e in later) / sum(e["seconds"] for e in later))
    med = lambda v: statistics.median(v) if v else None
    return len(seconds), med(seconds), med(rate), med(steady), med(accuracy)

rows = {run: summary(run) for run in runs}
ours = rows.get("cuda", (0, None))[1]
print()
print(f"medians over {reps} repetitions")
print("| run | runs | training s | images/s | images/s after epoch 1 | test accuracy % "
      "| time / train_mnist --device cuda |")
print("|---|---|---|---|---|---|---|")
fmt = lambda v, f: "n/a" if v is None else f.format(v)
missing = False
for run in runs:
    n, s, r, st, a = rows[run]
    missing |= n < reps
    ratio = s / ours if s is not None and ours else None
    print(f"| {labels.get(run, run)} | {n}/{reps} | {fmt(s, '{:.2f}')} | {fmt(r, '{:.0f}')} "
          f"| {fmt(st, '{:.0f}')} | {fmt(a, '{:.2f}')} | {fmt(ratio, '{:.2f}x')} |")
sys.exit(1 if missing else 0)
EOF
exit $failed
