#!/usr/bin/env bash
# Proves the LENET_REQUIRE_GPU switch (tests/support/gpu.h) on a machine without a usable CUDA
# device: a gpu-labelled test binary skips without the variable and fails under
# LENET_REQUIRE_GPU=1, naming the CUDA error both times.
#   test_require_gpu.sh BINARY
# Exit status 0 passes, 1 fails, 77 skips (a device is present: the binary runs its tests).
set -uo pipefail

binary=$1
# "cudaErrorInsufficientDriver (35)": the CUDA error's name and number.
cuda_error='cudaError[A-Za-z]+ \([0-9]+\)'

failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi
}
# shellcheck disable=SC2317  # called through check
contains() { grep -qF -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
lacks() { ! grep -qF -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
matches() { grep -qE -- "$2" <<<"$1"; }

out=$(env -u LENET_REQUIRE_GPU "$binary" 2>&1)
rc=$?
echo "== without LENET_REQUIRE_GPU (exit status $rc)"
echo "$out"
if ! contains "$out" "no usable CUDA device"; then
  echo "a CUDA device is usable here, so $binary ran its tests: nothing to prove"
  exit 77
fi
check "exit status 0" test "$rc" -eq 0
check "prints gtest's skip marker" contains "$out" "[  SKIPPED ]"
check "names the CUDA error" matches "$out" "$cuda_error"

out=$(LENET_REQUIRE_GPU=1 "$binary" 2>&1)
rc=$?
echo "== LENET_REQUIRE_GPU=1 (exit status $rc)"
echo "$out"
check "non-zero exit status" test "$rc" -ne 0
check "says the variable made it fail" contains "$out" "LENET_REQUIRE_GPU=1 but no usable CUDA device"
check "names the CUDA error" matches "$out" "$cuda_error"
# ctest would report a test whose output has the marker as skipped, whatever its exit status.
check "prints no skip marker" lacks "$out" "[  SKIPPED ]"

exit $failed
