#!/usr/bin/env bash
# scripts/download_mnist.sh without the network: every mirror points at a closed local port.
#
#   test_download_mnist.sh unreachable SCRIPT WORKDIR   fails fast, says why, leaves no file
#   test_download_mnist.sh present SCRIPT WORKDIR       with $MNIST_DIR: keeps verified files,
#                                                       re-fetches a damaged one (and fails)
#   test_download_mnist.sh mirror SCRIPT WORKDIR        with $MNIST_DIR and curl: skips a mirror
#                                                       serving wrong files, takes the next one
# Exit status 0 passes, 1 fails, 77 skips (no MNIST_DIR, or no curl for "mirror").
set -uo pipefail

mode=$1 script=$2 work=$3/download_mnist.$mode.$$
export MNIST_MIRRORS="http://127.0.0.1:9/a/ http://127.0.0.1:9/b/"
export MNIST_CONNECT_TIMEOUT=5
names=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi
}
# shellcheck disable=SC2317  # called through check
contains() { grep -qF -- "$2" <<<"$1"; }
fetch() {  # runs the script into $work/mnist: its output in $out (and printed), its status in $rc
  out=$("$script" "$work/mnist" 2>&1)
  rc=$?
  echo "$out"
}

rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

case $mode in
  unreachable)
    fetch
    check "exit status 1" test "$rc" -eq 1
    check "tries every mirror" contains "$out" "http://127.0.0.1:9/b/train-images-idx3-ubyte.gz"
    check "says it seems offline" contains "$out" "this machine seems to be offline, or the mirrors are unreachable"
    for n in "${names[@]}"; do check "names $n" contains "$out" "$n"; done
    check "leaves no file behind" test -z "$(find "$work/mnist" -mindepth 1)"
    ;;
  present | mirror)
    if [[ -z "${MNIST_DIR:-}" ]]; then
      echo "MNIST_DIR is not set: skipped"
      exit 77
    fi
    ;;&
  present)
    mkdir -p "$work/mnist"
    for n in "${names[@]}"; do cp "$MNIST_DIR/$n" "$work/mnist/" || exit 1; done
    fetch
    check "exit status 0" test "$rc" -eq 0
    check "all four already present" test "$(grep -c 'already present, checksum OK' <<<"$out")" -eq 4
    check "reports the directory" contains "$out" "all 4 MNIST files are in $work/mnist (0 downloaded now)"

    printf 'x' >>"$work/mnist/t10k-labels-idx1-ubyte.gz"
    fetch
    check "damaged file: exit status 1" test "$rc" -eq 1
    check "damaged file: says so" contains "$out" "t10k-labels-idx1-ubyte.gz: present but its SHA-256 is wrong"
    check "damaged file: kept when no mirror answers" test -f "$work/mnist/t10k-labels-idx1-ubyte.gz"
    ;;
  mirror)
    if ! command -v curl >/dev/null 2>&1; then
      echo "no curl (file:// mirrors need it): skipped"
      exit 77
    fi
    mkdir -p "$work/bad"
    for n in "${names[@]}"; do echo "<html>moved</html>" >"$work/bad/$n"; done
    real_dir=$(cd "$MNIST_DIR" && pwd)
    export MNIST_MIRRORS="file://$work/bad/ file://$work/none/ file://$real_dir/"
    fetch
    check "exit status 0" test "$rc" -eq 0
    check "reports the wrong files" test "$(grep -c 'wrong file from this mirror' <<<"$out")" -eq 4
    check "all four downloaded" contains "$out" "(4 downloaded now)"
    for n in "${names[@]}"; do check "$n is intact" cmp -s "$MNIST_DIR/$n" "$work/mnist/$n"; done
    check "no temporary file left" test "$(find "$work/mnist" -mindepth 1 | wc -l)" -eq 4
    ;;
  *)
    echo "unknown mode $mode"
    exit 1
    ;;
esac
exit $failed
