#!/usr/bin/env bash
# scripts/plot_metrics.py on metrics files written here (the JSON Lines format of
# docs/training.md): two runs, one interrupted without its end record, drawn as PNG and SVG;
# then each error path with its one-line message and exit status.
#
#   test_plot_metrics.sh SCRIPT WORKDIR
# Exit status 0 passes, 1 fails, 77 skips (no matplotlib: scripts/install-deps.sh installs it).
set -euo pipefail

script=$1 work=$2/plot_metrics.$$
failed=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failed=1; fi
}
# shellcheck disable=SC2317  # called through check
contains() { grep -qF -- "$2" <<<"$1"; }
# shellcheck disable=SC2317
one_line() { [[ $(wc -l <<<"$1") -eq 1 ]]; }

rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cd "$work"

recipe() {  # recipe BACKEND LR
  printf '{"type": "recipe", "epochs": 3, "batch_size": 64, "lr": %s, "momentum": 0.9, ' "$2"
  printf '"weight_decay": 0.0, "seed": 0, "limit_train": 640, "limit_test": 100, '
  printf '"backend": "%s", "device": "CPU, 2 threads", "data": "/data", ' "$1"
  printf '"version": "0.1.0", "self_check": null, "resumed_from": null}\n'
}
batch() {  # batch EPOCH BATCH LOSS
  printf '{"type": "batch", "epoch": %s, "batch": %s, "batches": 10, "step": %s, ' \
    "$1" "$2" "$((($1 - 1) * 10 + $2))"
  printf '"progress": %s, "loss": %s, "images_per_second": 9000.0, "seconds": 0.1}\n' \
    "$(awk "BEGIN { print $1 - 1 + $2 / 10 }")" "$3"
}
epoch() {  # epoch EPOCH LOSS TRAIN TEST [EXTRA]
  printf '{"type": "epoch", "epoch": %s, "loss": %s, "train_accuracy": %s, ' "$1" "$2" "$3"
  printf '"test_accuracy": %s, "test_loss": 0.5, "seconds": 1.0, "eval_seconds": 0.1, ' "$4"
  printf '"images": 640%s}\n' "${5:-}"
}

# A finished run of three epochs.
{
  recipe cpu 0.001
  batch 1 5 2.25; batch 1 10 1.9; epoch 1 2.05 30.5 61.0
  batch 2 5 1.1; batch 2 10 0.8; epoch 2 0.95 74.2 85.0
  batch 3 5 0.6; batch 3 10 0.5; epoch 3 0.55 84.0 88.0
  echo '{"type": "end", "status": "finished", "train_seconds": 3.0, "test_accuracy": 88.0,' \
    '"checkpoint": null, "message": "done"}'
} >finished.jsonl
# Killed in its second epoch: no end record, and its last line cut off mid-write.
{
  recipe sim 0.01
  batch 1 5 2.1; batch 1 10 1.2; epoch 1 1.65 50.0 70.0
  batch 2 5 0.7
  printf '{"type": "batch", "epoch": 2, "ba'
} >killed.jsonl
# Resumed from a checkpoint (earlier epochs repeated with from_checkpoint), then diverged: a loss
# that is not finite is written as null.
{
  resumed='{"path": "c.safetensors", "epochs_done": 1, "batch": 0, "overrides": {"lr": 0.5}}'
  recipe cpu 0.001 | sed "s/\"resumed_from\": null/\"resumed_from\": $resumed/"
  epoch 1 2.05 30.5 61.0 ', "from_checkpoint": true'
  batch 2 5 9.5; batch 2 10 null
  echo '{"type": "end", "status": "diverged", "train_seconds": 1.0, "test_accuracy": null,' \
    '"checkpoint": null, "message": "loss is nan"}'
} >diverged.jsonl

# --- drawing ---
out=$("$script" finished.jsonl -o probe.png 2>&1) || true
if contains "$out" "matplotlib is missing"; then
  echo "$out: skipped"
  exit 77
fi

out=$("$script" finished.jsonl killed.jsonl -o curves.png 2>&1) && rc=0 || rc=$?
echo "$out"
check "png: exit status 0" test "$rc" -eq 0
check "png: file written" test -s curves.png
check "png: PNG signature" test "$(head -c 8 curves.png | od -An -tx1 | tr -d ' \n')" = \
  "89504e470d0a1a0a"
check "png: warns about the cut-off line" contains "$out" \
  "warning: killed.jsonl:6: incomplete last line ignored"
check "png: says what it wrote" contains "$out" "plot_metrics: wrote curves.png (2 runs)"

out=$("$script" finished.jsonl killed.jsonl diverged.jsonl -o curves.svg 2>&1) && rc=0 || rc=$?
echo "$out"
check "svg: exit status 0" test "$rc" -eq 0
check "svg: <svg tag" grep -q '<svg' curves.svg
svg=$(cat curves.svg)
# matplotlib writes each text it draws as a comment before its glyphs.
check "svg: label from the recipe" contains "$svg" "<!-- sim, batch 64, lr 0.01 (no end record) -->"
check "svg: same recipe twice: file names" contains "$svg" "<!-- finished.jsonl -->"
check "svg: diverged run says so" contains "$svg" "<!-- diverged.jsonl (diverged) -->"

out=$("$script" finished.jsonl killed.jsonl --label slow --label fast -o labelled.svg 2>&1) \
  && rc=0 || rc=$?
check "--label: exit status 0" test "$rc" -eq 0
svg=$(cat labelled.svg)
check "--label: first label" contains "$svg" "<!-- slow -->"
check "--label: second label" contains "$svg" "<!-- fast -->"
check "one file: label from the recipe" \
  "$script" finished.jsonl -o one.svg
check "one file: recipe label" grep -qF "<!-- cpu, batch 64, lr 0.001 -->" one.svg

# --- errors: exit status, one line naming the file and line ---
expect_error() {  # expect_error NAME STATUS MESSAGE ARGS...
  local name=$1 status=$2 message=$3 err rc
  shift 3
  err=$("$script" "$@" 2>&1 >/dev/null) && rc=0 || rc=$?
  echo "$name: $err"
  check "$name: exit status $status" test "$rc" -eq "$status"
  check "$name: message" contains "$err" "$message"
  check "$name: one line" one_line "$err"
}

{ recipe cpu 0.001; batch 1 5 2.2; echo '{"type": "batch", oops}'; batch 1 10 2.0; } >bad.jsonl
expect_error "not JSON" 1 "plot_metrics: error: bad.jsonl:3: not JSON" bad.jsonl -o x.png
{ batch 1 5 2.2; epoch 1 2.0 30.0 60.0; } >norecipe.jsonl
expect_error "no recipe" 1 'norecipe.jsonl:1: no recipe record: the first record has type "batch"' \
  norecipe.jsonl -o x.png
: >empty.jsonl
expect_error "empty file" 1 "empty.jsonl: empty: no recipe record" empty.jsonl -o x.png
recipe cpu 0.001 >recipeonly.jsonl
expect_error "nothing to draw" 1 "recipeonly.jsonl: no batch or epoch records to draw" \
  recipeonly.jsonl -o x.png
{ recipe cpu 0.001; echo '{"type": "batch", "epoch": 1, "progress": 0.5, "loss": "high"}'; } \
  >badloss.jsonl
expect_error "loss not a number" 1 'badloss.jsonl:2: batch record: "loss" is "high", not a number' \
  badloss.jsonl -o x.png
printf '{\n  "recipe": {"epochs": 10},\n  "epochs": []\n}\n' >document.json
expect_error "one JSON document" 1 "document.json:1: not JSON (Expecting property name" \
  document.json -o x.png
err=$("$script" document.json -o x.png 2>&1) || true
check "one JSON document: says it is not JSON Lines" contains "$err" \
  "; the file is one JSON document, not JSON Lines"
expect_error "missing file" 1 "missing.jsonl: cannot read: No such file or directory" \
  finished.jsonl missing.jsonl -o x.png
check "no figure after an error" test ! -e x.png
expect_error "unwritable output" 1 "cannot write nodir/x.png" finished.jsonl -o nodir/x.png

expect_error "usage: no file" 2 "plot_metrics: error: the following arguments are required" \
  -o x.png
expect_error "usage: no -o" 2 "-o/--output" finished.jsonl
expect_error "usage: other format" 2 "-o x.pdf: the name must end in .png or .svg" \
  finished.jsonl -o x.pdf
expect_error "usage: too many labels" 2 "more --label options (2) than files (1)" \
  finished.jsonl --label a --label b -o x.png
expect_error "usage: unknown option" 2 "unrecognized arguments: --bogus" \
  finished.jsonl --bogus -o x.png

if ((failed)); then echo "test_plot_metrics: FAILED"; exit 1; fi
echo "test_plot_metrics: PASSED"
