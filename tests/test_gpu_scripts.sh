#!/usr/bin/env bash
# The GPU verification scripts, on a machine without a GPU.
#   test_gpu_scripts.sh preflight ROOT WORKDIR   scripts/gpu-check.sh stops at its preflight in
#                                                seconds, says why in one line, still writes
#                                                its report, and exits with 1; bad usage: 2
#   test_gpu_scripts.sh bundle ROOT WORKDIR      scripts/gpu-bundle.sh gathers the bundle from
#                                                this machine, refuses MNIST files that do not
#                                                match their SHA256SUMS, and CMake finds every
#                                                package in the bundle (--configure-check)
# Exit status 0 passes, 1 fails, 77 skips (preflight: this machine has nvidia-smi).
set -uo pipefail

mode=$1 root=$2 work=$3/gpu_scripts.$mode.$$

failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi
}
# shellcheck disable=SC2317  # called through check
contains() { grep -qF -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
matches() { grep -qE -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
file_contains() { grep -qF -- "$2" "$1"; }
# shellcheck disable=SC2317
file_lacks() { ! grep -qF -- "$2" "$1"; }

rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

case $mode in
  preflight)
    if command -v nvidia-smi >/dev/null 2>&1; then
      echo "nvidia-smi is present: the preflight would pass here"
      exit 77
    fi
    out=$("$root/scripts/gpu-check.sh" 2>&1)
    rc=$?
    echo "$out"
    check "without OUTDIR: exit status 2" test "$rc" -eq 2
    check "without OUTDIR: prints the usage" contains "$out" "usage: scripts/gpu-check.sh OUTDIR"

    start=$SECONDS
    out=$("$root/scripts/gpu-check.sh" "$work/report" 2>&1)
    rc=$?
    echo "$out"
    report=$work/report/report.md
    check "exit status 1" test "$rc" -eq 1
    check "stops within seconds" test $((SECONDS - start)) -le 20
    check "says in one line that there is no GPU" \
      contains "$out" "gpu-check: preflight failed: MISSING: nvidia-smi"
    check "prints the table" matches "$out" "^preflight +FAIL"
    check "writes the report" test -f "$report"
    check "the report's verdict" file_contains "$report" "# GPU check: FAILED"
    check "the report's row" file_contains "$report" "| preflight | FAIL |"
    check "the report lists what did not run" \
      file_contains "$report" "Not run, after an earlier check failed: configure, build,"
    check "the report quotes the failing log" file_contains "$report" "MISSING: nvidia-smi"
    check "keeps the log" file_contains "$work/report/logs/preflight.log" "MISSING: nvidia-smi"
    check "configures nothing" file_lacks "$report" "| configure |"
    ;;
  bundle)
    # Four small stand-ins for the MNIST files: the bundle copies whatever is there.
    mnist=$work/mnist
    mkdir -p "$mnist"
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
             t10k-labels-idx1-ubyte.gz; do
      echo "$f" | gzip >"$mnist/$f"
    done
    bundle=$work/bundle

    out=$(MNIST_DIR=$work/none "$root/scripts/gpu-bundle.sh" "$bundle" 2>&1)
    rc=$?
    echo "$out"
    check "without MNIST: exit status 1" test "$rc" -eq 1
    check "without MNIST: says so" contains "$out" "$work/none/train-images-idx3-ubyte.gz is missing"

    (cd "$mnist" && sha256sum -- *.gz | sed 's/^./0/' >SHA256SUMS)  # every sum wrong
    out=$(MNIST_DIR=$mnist "$root/scripts/gpu-bundle.sh" "$bundle" 2>&1)
    rc=$?
    echo "$out"
    check "damaged MNIST: exit status 1" test "$rc" -eq 1
    check "damaged MNIST: says so" contains "$out" "do not match their SHA256SUMS"
    rm "$mnist/SHA256SUMS"

    out=$(MNIST_DIR=$mnist "$root/scripts/gpu-bundle.sh" --configure-check "$bundle" 2>&1)
    rc=$?
    echo "$out"
    check "exit status 0" test "$rc" -eq 0
    check "CMake finds every package in the bundle" \
      contains "$out" "gpu-bundle: CMake finds every package in $bundle"
    prefix=$bundle/prefix
    for f in include/eigen3/Eigen/Core include/boost/context/fiber.hpp include/gtest/gtest.h \
             include/CLI/CLI.hpp include/nlohmann/json.hpp include/zlib.h include/lz4.h \
             include/zstd.h lib/x86_64-linux-gnu/libboost_context.a lib/x86_64-linux-gnu/libgtest.a \
             lib/x86_64-linux-gnu/libz.a lib/x86_64-linux-gnu/liblz4.a lib/x86_64-linux-gnu/libzstd.a; do
      check "has $f" test -f "$prefix/$f"
    done
    check "has the four MNIST files" test "$(find "$bundle/mnist" -name '*.gz' | wc -l)" -eq 4
    check "has its initial cache" file_contains "$bundle/bundle.cmake" CMAKE_PREFIX_PATH
    check "no shared library but pkgconf's own" \
      test -z "$(find "$prefix" -name '*.so*' ! -path "$prefix/lib/pkgconf/*")"
    check "only the static Boost.Context variant" \
      test -z "$(find "$prefix" -name '*variant-shared*')"
    pc=$("$prefix/bin/pkg-config" --libs liblz4 libzstd 2>&1)
    check "its pkg-config reads the bundle's .pc files" contains "$pc" "$prefix/"
    check "under 60 MiB" test "$(du -sm "$bundle" | cut -f1)" -lt 60
    ;;
  *)
    echo "usage: test_gpu_scripts.sh preflight|bundle ROOT WORKDIR" >&2
    exit 2
    ;;
esac

exit $failed
