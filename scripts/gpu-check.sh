#!/usr/bin/env bash
# The whole GPU verification in one command, on a machine with an NVIDIA GPU, the CUDA 13
# toolkit (nvcc, compute-sanitizer), CMake and ninja; no network needed. Run from anywhere:
#   scripts/gpu-check.sh OUTDIR
# Checks, each timed, in this order:
#   preflight     nvidia-smi sees a GPU; nvcc, compute-sanitizer, cmake, ninja, MNIST present
#   configure     Release, CMAKE_CUDA_ARCHITECTURES=native, ninja, in build/gpu-check
#   build         everything, all cores
#   cuda_doctor   the driver loads the image cuda_doctor predicted for every GPU ("loaded: as
#                 predicted"); cuda_doctor links the same kernel library as train_mnist
#   gpu_tests     every ctest test labelled gpu, with LENET_REQUIRE_GPU=1 (no test may skip for
#                 want of a device)
#   recipe        train_mnist --device cuda with the classic recipe (10 epochs); test accuracy
#                 must be >= 97.9 %
#   bench_ops     bench/ops.cu: every handwritten op against cuDNN/cuBLAS at LeNet's shapes,
#                 validated, then timed (its table is in the log); needs a build with cuDNN
#   gemm_stages   bench/gemm_stages.cu: the GEMM in stages validated and timed on this GPU, the
#                 Markdown rows of docs/gemm-stages.md's table in the log
#   gpu_vs_peers  bench/gpu_vs_peers.sh: train_mnist --device cuda and --device cudnn against
#                 PyTorch eager and torch.compile on this GPU, its table of medians in the log
#                 (2 epochs, 3 repetitions unless LENET_GPU_CHECK_PEER_EPOCHS / _REPS say more)
#                 The two benchmarks run alone on the GPU: the sanitizer runs start after them.
#   <tool>:<bin>  compute-sanitizer memcheck, racecheck, initcheck and synccheck, with
#                 --error-exitcode 1, on every test binary of the cuda executor (test_*_cuda:
#                 the kernel tests and the engine's cuda backend test), all its tests unless
#                 LENET_SANITIZER_FILTER narrows them
#   memcheck:train_mnist  compute-sanitizer memcheck on one short epoch on --device cuda
# A failed preflight, configure or build stops there; the other checks all run. The sanitizer
# runs go in parallel. Then it prints one table (check, PASS/FAIL, seconds), writes it with the
# exact commands, the machine and the tail of each failing log to OUTDIR/report.md, keeps every
# check's full log in OUTDIR/logs/, and exits with 1 if any check failed (2: bad usage).
#
# Environment:
#   LENET_GPU_BUNDLE          the dependencies for a machine without our distribution packages,
#                             made by scripts/gpu-bundle.sh (default build/gpu-bundle; used when
#                             present, else the system's packages)
#   MNIST_DIR                 the four MNIST files (default: the bundle's mnist/)
#   LENET_GPU_CHECK_BUDGET_S  seconds for everything (default 540, under the device tool's
#                             10 minutes a command): no check runs past it, and the report is
#                             always written
#   LENET_GPU_CHECK_JOBS      sanitizer runs at once (default: cores; 1 where the GPU is in an
#                             exclusive compute mode)
#   LENET_SANITIZER_FILTER    gtest filter of the sanitizer runs (default '*', every test)
#   CUDNN_ROOT                cuDNN for the cudnn backend and bench_ops; default: the toolkit's or
#                             the system's, else the one PyTorch's wheels bring (nvidia.cudnn of
#                             $PYTHON, default python3), then also put on LD_LIBRARY_PATH
#   PYTHON                    the interpreter with torch for gpu_vs_peers (default python3)
# docs/building.md explains the procedure on a lent GPU machine.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ne 1 || "$1" == -* ]]; then
  echo "usage: scripts/gpu-check.sh OUTDIR   (the report goes to OUTDIR/report.md)" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
# Paths from the environment are relative to where this was started; the checks run from root.
bundle=$(realpath -m "${LENET_GPU_BUNDLE:-$root/build/gpu-bundle}")
mnist=$(realpath -m "${MNIST_DIR:-$bundle/mnist}")
cd "$root" || exit 2
build=build/gpu-check
budget_s=${LENET_GPU_CHECK_BUDGET_S:-540}
parallel=${LENET_GPU_CHECK_JOBS:-$(nproc)}
filter=${LENET_SANITIZER_FILTER:-*}
peer_epochs=${LENET_GPU_CHECK_PEER_EPOCHS:-2}
peer_reps=${LENET_GPU_CHECK_PEER_REPS:-3}
python=${PYTHON:-python3}
cudnn="not looked for (the preflight failed)"
min_accuracy=97.9
sanitizer_tools=(racecheck initcheck memcheck synccheck)  # the slowest first
logs=$out/logs

now_ms() { date +%s%3N; }
start_ms=$(now_ms)
deadline_ms=$((start_ms + budget_s * 1000))
# Logs of an earlier run go; a logs/ holding anything else stays, and so does the run.
if [[ -d "$logs" && -n "$(find "$logs" -mindepth 1 ! -name '*.log' ! -name '*.status' | head -1)" ]]; then
  echo "gpu-check: $logs holds files that are not gpu-check logs: name another OUTDIR" >&2
  exit 2
fi
rm -rf "$logs"
mkdir -p "$logs"

# The CUDA toolkit's usual home, for machines whose PATH lacks it.
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  PATH=/usr/local/cuda/bin:$PATH
fi

checks=()  # names, in the order of the table
declare -A command_of

# run_check NAME LIMIT_S VERIFY COMMAND...: runs COMMAND with its output in logs/NAME.log, at
# most LIMIT_S seconds and never past the budget, then VERIFY (a function reading the log that
# prints why it fails, or -). Writes "exit-status milliseconds" to logs/NAME.status ("1 -" when
# the budget left no time to start it).
run_check() {
  local name=$1 limit=$2 verify=$3
  shift 3
  local log=$logs/$name.log left rc t0 why
  left=$(((deadline_ms - $(now_ms)) / 1000))
  ((left < limit)) && limit=$left
  printf '$ %s\n' "${command_of[$name]}" >"$log"
  if ((limit < 1)); then
    echo "gpu-check: not run: the ${budget_s} s budget is spent" >>"$log"
    echo "1 -" >"$logs/$name.status"
    return
  fi
  t0=$(now_ms)
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  if ((rc == 124 || rc == 137)); then
    echo "gpu-check: timed out after $limit s" >>"$log"
  elif ((rc == 0)) && [[ "$verify" != - ]] && ! why=$("$verify" "$log"); then
    echo "gpu-check: $why" >>"$log"
    rc=1
  fi
  echo "$rc $(($(now_ms) - t0))" >"$logs/$name.status"
}

# check NAME LIMIT_S VERIFY COMMAND...: records the check, then runs it here.
check() {
  checks+=("$1")
  command_of[$1]=$(quote "${@:4}")
  run_check "$@"
}
# check_in_background NAME LIMIT_S VERIFY COMMAND...: the same, at most $parallel at once.
check_in_background() {
  checks+=("$1")
  command_of[$1]=$(quote "${@:4}")
  while (($(jobs -rp | wc -l) >= parallel)); do wait -n; done
  run_check "$@" &
}
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
passed() { [[ -f "$logs/$1.status" ]] && [[ $(cut -d' ' -f1 "$logs/$1.status") == 0 ]]; }
# The command as one shell line.
quote() {
  local s
  s=$(printf '%q ' "$@")
  echo "${s% }"
}

# --- verifiers: each prints why the log shows a failure and returns 1 ---
# shellcheck disable=SC2317  # the verifiers are called through run_check
verify_doctor() {
  grep -q 'loaded: as predicted' "$1" || { echo "no 'loaded: as predicted' line"; return 1; }
  ! grep -q 'loaded: NOT as predicted' "$1" || { echo "a GPU loaded another image than predicted"; return 1; }
}
# shellcheck disable=SC2317
verify_ctest() {
  # CMake 3.25 writes "100% tests passed, 0 tests failed out of N", newer ones "100% tests passed
  # out of N".
  grep -qE '100% tests passed(, 0 tests failed)? out of [1-9]' "$1" || { echo "no test ran"; return 1; }
  ! grep -q 'The following tests did not run' "$1" || { echo "some tests did not run (above)"; return 1; }
}
# shellcheck disable=SC2317
verify_sanitizer() {  # racecheck sums up its own way; warnings do not fail, as with its exit code
  grep -qE 'ERROR SUMMARY: 0 errors|RACECHECK SUMMARY: [0-9]+ hazards? displayed \(0 errors' "$1" \
    || { echo "no sanitizer summary with 0 errors"; return 1; }
}
# shellcheck disable=SC2317
verify_ops() {
  ! grep -q '^MISMATCH' "$1" || { echo "an op disagrees with cuDNN/cuBLAS (MISMATCH)"; return 1; }
  grep -q '^| op | batch |' "$1" || { echo "no table of timings"; return 1; }
}
# shellcheck disable=SC2317
verify_peers() {
  grep -q '^| run | runs |' "$1" || { echo "no table of medians"; return 1; }
}
# shellcheck disable=SC2317
verify_recipe() {
  local accuracy
  accuracy=$(sed -n 's/^Accuracy of the network on the 10000 test images: \([0-9.]*\) %$/\1/p' "$1")
  [[ -n "$accuracy" ]] || { echo "no accuracy on the 10000 test images in the output"; return 1; }
  awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }' \
    || { echo "test accuracy $accuracy % is below $min_accuracy %"; return 1; }
}

# --- preflight: what the other checks need, all of it reported at once ---
preflight() {
  local missing=0 tool gpus
  echo "GPU machine preflight"
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "MISSING: nvidia-smi (no NVIDIA driver here): this is not a GPU machine"
    missing=1
  elif ! gpus=$(nvidia-smi --query-gpu=index,name,driver_version,compute_cap,compute_mode \
                  --format=csv,noheader 2>&1) || [[ -z "$gpus" ]]; then
    echo "MISSING: a GPU: nvidia-smi lists none: $gpus"
    missing=1
  else
    echo "GPUs (index, name, driver, compute capability, compute mode):"
    echo "$gpus"
  fi
  for tool in nvcc compute-sanitizer cmake ninja; do
    if command -v "$tool" >/dev/null 2>&1; then
      echo "$tool: $(command -v "$tool")"
    else
      echo "MISSING: $tool on PATH"
      missing=1
    fi
  done
  if [[ -f "$bundle/bundle.cmake" ]]; then
    echo "bundle: $bundle ($(head -1 "$bundle/MANIFEST.txt" 2>/dev/null))"
  else
    echo "bundle: none at $bundle; the system's packages must provide the dependencies"
  fi
  local f mnist_ok=1
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
           t10k-labels-idx1-ubyte.gz; do
    [[ -f "$mnist/$f" ]] || { echo "MISSING: $mnist/$f (set MNIST_DIR, or bundle it)"; mnist_ok=0; }
  done
  ((mnist_ok)) && echo "MNIST: $mnist" || missing=1
  return $missing
}

# --- the report ---
gpu_names=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | paste -sd ';' -)
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
# Every check of a full run that does not depend on the build's output, for the report's list
# of what an early failure left out.
planned=(preflight configure build cuda_doctor gpu_tests recipe bench_ops gemm_stages
         gpu_vs_peers memcheck:train_mnist)
write_report() {
  local total_s failed=0 name rc ms result report=$out/report.md
  total_s=$(seconds $(($(now_ms) - start_ms)))
  local rows=()
  for name in "${checks[@]}"; do
    if [[ -f "$logs/$name.status" ]]; then
      read -r rc ms <"$logs/$name.status"
      if ((rc == 0)); then result=PASS; else result=FAIL; failed=1; fi
      if [[ $ms == - ]]; then ms="not run"; else ms=$(seconds "$ms"); fi
      rows+=("$name|$result|$ms")
    else
      rows+=("$name|FAIL|not run")
      failed=1
    fi
  done

  local row width=5
  for name in "${checks[@]}"; do ((${#name} > width)) && width=${#name}; done
  printf '\n%-*s  %-6s %8s\n' "$width" check result seconds
  for row in "${rows[@]}"; do
    IFS='|' read -r name result ms <<<"$row"
    printf '%-*s  %-6s %8s\n' "$width" "$name" "$result" "$ms"
  done
  printf '%-*s  %-6s %8s\n' "$width" total "$( ((failed)) && echo FAIL || echo PASS)" "$total_s"

  {
    echo "# GPU check: $( ((failed)) && echo FAILED || echo PASSED)"
    echo
    echo "- GPU: ${gpu_names:-none (no nvidia-smi, or it lists no GPU)}"
    echo "- NVIDIA driver: ${driver:-none}"
    echo "- CUDA toolkit: $(nvcc --version 2>/dev/null | sed -n 's/^Cuda compilation tools, //p')"
    local sanitizer_version
    sanitizer_version=$(compute-sanitizer --version 2>/dev/null | sed -n 's/^Version //p' | head -1)
    echo "- compute-sanitizer: ${sanitizer_version:-none}"
    echo "- CMake: $(cmake --version 2>/dev/null | head -1 | sed 's/^cmake version //')," \
         "host: $(uname -m), $(nproc) cores"
    echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "unknown (no git here)")"
    echo "- dependencies: $(head -1 "$bundle/MANIFEST.txt" 2>/dev/null || echo "the system's packages")"
    echo "- cuDNN: $cudnn"
    echo "- MNIST: $mnist"
    echo "- sanitizer runs: gtest filter '$filter', $parallel at once"
    echo "- started $(date -u -d "@$((start_ms / 1000))" '+%Y-%m-%d %H:%M:%S UTC'), took $total_s s" \
         "(budget $budget_s s)"
    echo
    echo "| check | result | seconds | command (from the repository root) |"
    echo "|---|---|---|---|"
    for row in "${rows[@]}"; do
      IFS='|' read -r name result ms <<<"$row"
      echo "| $name | $result | $ms | \`${command_of[$name]//|/\\|}\` |"
    done
    local not_run=() p
    for p in "${planned[@]}"; do
      [[ " ${checks[*]} " == *" $p "* ]] || not_run+=("$p")
    done
    if ((${#not_run[@]} > 0)); then
      echo
      local joined
      joined=$(printf '%s, ' "${not_run[@]}")
      echo "Not run, after an earlier check failed: ${joined}and the compute-sanitizer runs of" \
           "the test_*_cuda binaries."
    fi
    echo
    echo "Logs: logs/<check>.log (the command is on each log's first line)."
    for row in "${rows[@]}"; do
      IFS='|' read -r name result ms <<<"$row"
      [[ "$result" == FAIL ]] || continue
      echo
      echo "## $name: FAIL"
      echo
      echo '```'
      tail -n 40 "$logs/$name.log" 2>/dev/null || echo "(no log: not run)"
      echo '```'
    done
  } >"$report"
  echo "report: $report"
  return $failed
}

finish() {
  wait
  write_report
  exit $?
}

# --- the checks ---
command_of[preflight]="nvidia-smi --query-gpu=index,name,driver_version,compute_cap,compute_mode --format=csv,noheader; command -v nvcc compute-sanitizer cmake ninja; ls $mnist"
checks+=(preflight)
t0=$(now_ms)
if preflight >"$logs/preflight.log" 2>&1; then rc=0; else rc=1; fi
echo "$rc $(($(now_ms) - t0))" >"$logs/preflight.status"
sed 's/^/  /' "$logs/preflight.log"
if ((rc != 0)); then
  echo "gpu-check: preflight failed: $(grep -m1 '^MISSING' "$logs/preflight.log")"
  finish
fi
if nvidia-smi --query-gpu=compute_mode --format=csv,noheader | grep -qi exclusive; then
  parallel=1  # one process at a time can hold the GPU
fi

configure=(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
           -DCMAKE_CUDA_ARCHITECTURES=native -DLENET_WITH_CUDA=ON)
[[ -f "$bundle/bundle.cmake" ]] && configure+=(-C "$bundle/bundle.cmake")
# cuDNN: CMake finds the toolkit's and the system's itself (cmake/LenetCudnn.cmake); without
# those, PyTorch's (pip's nvidia-cudnn wheel: include/ and lib/libcudnn.so.9).
cudnn_root=${CUDNN_ROOT:-}
toolkit=$(dirname "$(command -v nvcc)")/..
if [[ -z $cudnn_root ]] && ! compgen -G "$toolkit/include/cudnn.h" >/dev/null &&
   ! compgen -G "/usr/include/cudnn.h" >/dev/null &&
   ! compgen -G "/usr/include/*-linux-gnu/cudnn.h" >/dev/null; then
  cudnn_root=$("$python" -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) ||
    cudnn_root=""
fi
if [[ -n $cudnn_root ]]; then
  configure+=(-DCUDNN_ROOT="$cudnn_root")
  export LD_LIBRARY_PATH=$cudnn_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  cudnn="$cudnn_root (CUDNN_ROOT, and on LD_LIBRARY_PATH)"
else
  cudnn="the toolkit's or the system's, as CMake finds it (configure log)"
fi
check configure 240 - "${configure[@]}"
passed configure || finish
check build 420 - cmake --build "$build" -j "$(nproc)"
passed build || finish

bin=$build/bin
check cuda_doctor 60 verify_doctor "$bin/cuda_doctor"
check gpu_tests 240 verify_ctest env LENET_REQUIRE_GPU=1 \
  ctest --test-dir "$build" -L gpu -j "$(nproc)" --timeout 120 --output-on-failure
# The recipe alone on the GPU, so its time in the log is the real one.
check recipe 300 verify_recipe "$bin/train_mnist" --device cuda --data "$mnist" \
  --metrics "$out/recipe-metrics.json"

# The benchmarks, alone on the GPU: before the sanitizer runs start.
if [[ -x $bin/bench_ops ]]; then
  check bench_ops 120 verify_ops "$bin/bench_ops"
else
  check bench_ops 5 - sh -c "echo 'no $bin/bench_ops: the build found no cuDNN'; exit 1"
fi
check gemm_stages 60 - "$bin/bench_gemm_stages"
check gpu_vs_peers 300 verify_peers env MNIST_DIR="$mnist" EPOCHS="$peer_epochs" \
  REPS="$peer_reps" PYTHON="$python" bench/gpu_vs_peers.sh "$build" "$out/gpu-vs-peers"

sanitize=(compute-sanitizer --error-exitcode 1)
check_in_background memcheck:train_mnist 300 verify_sanitizer "${sanitize[@]}" --tool memcheck \
  "$bin/train_mnist" --device cuda --data "$mnist" --epochs 1 --limit-train 512 --limit-test 512
shopt -s nullglob
kernel_tests=("$bin"/test_*_cuda)  # the cuda twins of the tests that also run on the simulator
shopt -u nullglob
if ((${#kernel_tests[@]} == 0)); then
  check sanitizers 5 - sh -c "echo 'no $bin/test_*_cuda to run'; exit 1"
fi
for tool in "${sanitizer_tools[@]}"; do
  for test_bin in "${kernel_tests[@]}"; do
    check_in_background "$tool:$(basename "$test_bin")" 300 verify_sanitizer \
      env LENET_REQUIRE_GPU=1 "${sanitize[@]}" --tool "$tool" "$test_bin" --gtest_filter="$filter"
  done
done
finish
