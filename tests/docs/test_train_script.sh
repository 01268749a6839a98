#!/usr/bin/env bash
# scripts/train.sh without building anything: a PATH that holds only bash and a few coreutils
# (no cmake, no apt-get), so any install or build attempt fails.
#   - --help and -h print the usage, then train_mnist's --help when the binary exists, else a
#     line pointing at train_mnist --help and docs/training.md; nothing is installed or built;
#   - with stand-ins for install-deps.sh, cmake and train_mnist: train_mnist runs in the caller's
#     directory with the flags as typed (relative --data and MNIST_DIR keep their meaning), and
#     without --data or MNIST_DIR it gets the repository's data/mnist.
#
#   test_train_script.sh SOURCE_DIR WORKDIR
# Exit status 0 passes, 1 fails.
set -euo pipefail

source_dir=$1 work=$2/train_script.$$
unset MNIST_DIR  # each case below sets it or not
failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi
}
# shellcheck disable=SC2317  # called through check
contains() { grep -qF -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
lacks() { ! grep -qF -- "$2" <<<"$1"; }

rm -rf "$work"
mkdir -p "$work/bin" "$work/root/scripts" "$work/user"
trap 'rm -rf "$work"' EXIT

# The only programs train.sh may find.
for tool in bash cat dirname echo env; do
  ln -s "$(command -v "$tool")" "$work/bin/$tool"
done
check "the test PATH has no cmake" test ! -e "$work/bin/cmake"
run() {  # run DIR ARGS...: train.sh of the copy, from DIR, on the stripped PATH
  local dir=$1
  shift
  (cd "$dir" && PATH=$work/bin "$work/root/scripts/train.sh" "$@" 2>&1)
}

# A copy of the repository's train.sh whose install-deps.sh would say it ran.
cp "$source_dir/scripts/train.sh" "$work/root/scripts/"
printf '#!/usr/bin/env bash\necho "INSTALL-DEPS RAN"\nexit 1\n' \
  >"$work/root/scripts/install-deps.sh"
chmod +x "$work/root/scripts/install-deps.sh"

for flag in --help -h; do
  out=$(run "$work/user" "$flag") && rc=0 || rc=$?
  echo "$out"
  check "$flag, no build: exit status 0" test "$rc" -eq 0
  check "$flag, no build: usage" contains "$out" "Usage: scripts/train.sh [train_mnist flags]"
  check "$flag, no build: where data comes from" contains "$out" \
    "Data: --data DIR, else \$MNIST_DIR, else data/mnist of the repository"
  check "$flag, no build: names the repository's data dir" contains "$out" \
    "puts the four MNIST files: $work/root/data/mnist"
  check "$flag, no build: relative paths" contains "$out" \
    "are relative to the directory"
  check "$flag, no build: points at the flags" contains "$out" "train_mnist's flags: listed by \
train_mnist --help after the first build, and in docs/training.md."
  check "$flag, no build: installs nothing" lacks "$out" "INSTALL-DEPS RAN"
done

# A built train_mnist: its --help follows the usage.
mkdir -p "$work/root/build/release/bin"
cat >"$work/root/build/release/bin/train_mnist" <<'EOF'
#!/usr/bin/env bash
if [[ "$1" == --help ]]; then echo "STAND-IN TRAIN_MNIST HELP"; exit 0; fi
echo "cwd=$PWD"
echo "MNIST_DIR=${MNIST_DIR:-}"
echo "args=$*"
EOF
chmod +x "$work/root/build/release/bin/train_mnist"
out=$(run "$work/user" --epochs 2 --help) && rc=0 || rc=$?
echo "$out"
check "--help after a flag, built: exit status 0" test "$rc" -eq 0
check "--help, built: usage" contains "$out" "Usage: scripts/train.sh [train_mnist flags]"
check "--help, built: train_mnist's --help" contains "$out" "STAND-IN TRAIN_MNIST HELP"
check "--help, built: no pointer line" lacks "$out" "after the first build"
check "--help, built: installs nothing" lacks "$out" "INSTALL-DEPS RAN"

# The real script in the checkout, whatever is built there, still on the stripped PATH.
out=$(cd "$work/user" && PATH=$work/bin "$source_dir/scripts/train.sh" --help 2>&1) && rc=0 \
  || rc=$?
check "the checkout's train.sh --help: exit status 0" test "$rc" -eq 0
check "the checkout's train.sh --help: usage" contains "$out" \
  "Usage: scripts/train.sh [train_mnist flags]"

# Training: stand-ins for install-deps.sh and cmake, so the script reaches train_mnist.
printf '#!/usr/bin/env bash\nexit 0\n' >"$work/root/scripts/install-deps.sh"
printf '#!/usr/bin/env bash\necho "cmake $*" >>"%s"\n' "$work/cmake.log" >"$work/bin/cmake"
chmod +x "$work/bin/cmake"

out=$(run "$work/user" --data rel/mnist --epochs 1) && rc=0 || rc=$?
echo "$out"
check "--data: exit status 0" test "$rc" -eq 0
check "--data: builds the release preset" grep -qF "cmake --build --preset release" \
  "$work/cmake.log"
check "--data: train_mnist runs in the caller's directory" contains "$out" "cwd=$work/user"
check "--data: the flags as typed" contains "$out" "args=--data rel/mnist --epochs 1"
check "--data: MNIST_DIR left unset" contains "$out" "MNIST_DIR="$'\n'

out=$(cd "$work/user" && MNIST_DIR=rel/mnist PATH=$work/bin "$work/root/scripts/train.sh" 2>&1) \
  && rc=0 || rc=$?
echo "$out"
check "MNIST_DIR: exit status 0" test "$rc" -eq 0
check "MNIST_DIR: train_mnist runs in the caller's directory" contains "$out" "cwd=$work/user"
check "MNIST_DIR: as typed" contains "$out" "MNIST_DIR=rel/mnist"

out=$(run "$work/user" --epochs 1) && rc=0 || rc=$?
echo "$out"
check "no data flag: exit status 0" test "$rc" -eq 0
check "no data flag: the repository's data/mnist" contains "$out" \
  "MNIST_DIR=$work/root/data/mnist"
out=$(run "$work/user" --data=elsewhere) && rc=0 || rc=$?
check "--data=DIR: MNIST_DIR left unset" contains "$out" "MNIST_DIR="$'\n'

if ((failed)); then echo "test_train_script: FAILED"; exit 1; fi
echo "test_train_script: PASSED"
