#!/usr/bin/env bash
# The README's test command: installs dependencies, builds the release preset and runs every
# test, then builds the asan preset (host, cpu_ref and simulator code under AddressSanitizer and
# UBSan) and runs its tests. The exit status is the verdict.
#
# Environment: MNIST_DIR (the four MNIST files; tests labelled mnist need it),
#              LENET_TEST_JOBS (parallel ctest jobs, default: number of cores).
set -uo pipefail
# MNIST_DIR as the user typed it, relative to where they are: ctest runs the tests from the
# build directory, so make it absolute before leaving.
if [[ -n "${MNIST_DIR:-}" ]]; then
  MNIST_DIR=$(realpath -m -- "$MNIST_DIR")
  export MNIST_DIR
fi
cd "$(dirname "$0")/.."

jobs=${LENET_TEST_JOBS:-$(nproc)}
log_dir=build/test-logs
status=0
summary=()

scripts/install-deps.sh || exit 1
mkdir -p "$log_dir"

run_preset() {
  local preset=$1
  echo "== $preset: configure and build"
  if ! cmake --preset "$preset" || ! cmake --build --preset "$preset"; then
    summary+=("$preset: BUILD FAILED")
    status=1
    return
  fi
  echo "== $preset: test"
  local rc=0
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log_dir/$preset.log" || rc=$?
  local line
  line=$(grep -E 'tests passed|tests failed' "$log_dir/$preset.log" | tail -1)
  summary+=("$preset: ${line:-no ctest summary (ctest exit status $rc)}")
  ((rc == 0)) || status=1
}

run_preset release
run_preset asan

echo "== summary"
printf '%s\n' "${summary[@]}"
if ((status == 0)); then echo "scripts/test.sh: PASSED"; else echo "scripts/test.sh: FAILED"; fi
exit $status
