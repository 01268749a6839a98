#!/usr/bin/env bash
# Downloads the four MNIST files (gzip-compressed IDX) and checks their SHA-256.
#
#   scripts/download_mnist.sh [DIR]     DIR defaults to data/mnist in the repository
#
# Files already in DIR with the right checksum (NAME.gz, or NAME decompressed) are kept, so a
# second run does nothing. Each missing file is fetched from the first mirror that serves it
# with the right checksum; it is only moved into place once it has passed the check, so an
# interrupted run never leaves a partial file.
#
# Environment: MNIST_MIRRORS (space-separated base URLs, replacing the built-in list),
#              MNIST_CONNECT_TIMEOUT (seconds per connection attempt, default 10).
# Exit status: 0 when all four files are in DIR and verified, 1 otherwise.
set -euo pipefail

say() { printf 'download_mnist: %s\n' "$*"; }

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,13s/^# \{0,1\}//p' "$0"
  exit 0
fi
if (($# > 1)); then
  say "usage: $0 [DIR]"
  exit 1
fi

repo_root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo_root/data/mnist}

# The four files every copy of MNIST has: LeCun's originals, byte for byte.
files=(
  train-images-idx3-ubyte.gz
  train-labels-idx1-ubyte.gz
  t10k-images-idx3-ubyte.gz
  t10k-labels-idx1-ubyte.gz
)
declare -A sha256=(
  [train-images-idx3-ubyte.gz]=440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
  [train-labels-idx1-ubyte.gz]=3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
  [t10k-images-idx3-ubyte.gz]=8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
  [t10k-labels-idx1-ubyte.gz]=f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
  # The same files decompressed, which the reader takes as well.
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# In order: the copies PyTorch's torchvision and TensorFlow download, then the original site
# (which now often refuses scripted downloads).
if [[ -n "${MNIST_MIRRORS:-}" ]]; then
  read -r -a mirrors <<<"$MNIST_MIRRORS"
else
  mirrors=(
    https://ossci-datasets.s3.amazonaws.com/mnist/
    https://storage.googleapis.com/cvdf-datasets/mnist/
    http://yann.lecun.com/exdb/mnist/
  )
fi
connect_timeout=${MNIST_CONNECT_TIMEOUT:-10}

if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  say "neither sha256sum nor shasum found: cannot check the files"
  exit 1
fi

# fetch URL FILE: downloads URL into FILE; on failure prints the downloader's error and fails.
if command -v curl >/dev/null 2>&1; then
  fetch() {
    curl --fail --silent --show-error --location --connect-timeout "$connect_timeout" \
         --max-time 600 --output "$2" "$1" 2>&1 | tail -n 1
    return "${PIPESTATUS[0]}"
  }
elif command -v wget >/dev/null 2>&1; then
  fetch() {
    wget --no-verbose --tries=1 --connect-timeout="$connect_timeout" --dns-timeout="$connect_timeout" \
         --read-timeout=60 --output-document="$2" "$1" 2>&1 | tail -n 1
    return "${PIPESTATUS[0]}"
  }
else
  say "neither curl nor wget found: install one (scripts/install-deps.sh installs curl)"
  exit 1
fi

by_hand() {
  say "to place the files by hand, put these four files (from any MNIST mirror) into $dir:"
  printf '    %s\n' "${files[@]}"
  say "each may also be decompressed (the same name without .gz); the reader takes either."
  say "then run this script again to check them, and pass --data DIR or set MNIST_DIR when"
  say "they are somewhere other than data/mnist."
}

if [[ -e "$dir" && ! -d "$dir" ]]; then
  say "$dir exists and is not a directory"
  exit 1
fi
mkdir -p "$dir"

part=""
trap '[[ -z "$part" ]] || rm -f "$part"' EXIT

fetched=0
for name in "${files[@]}"; do
  target="$dir/$name"
  want=${sha256[$name]}
  raw="$dir/${name%.gz}"
  if [[ -f "$target" ]]; then
    if [[ $(sha256_of "$target") == "$want" ]]; then
      say "$name: already present, checksum OK"
      continue
    fi
    say "$name: present but its SHA-256 is wrong; downloading it again"
  elif [[ -f "$raw" ]]; then
    if [[ $(sha256_of "$raw") == "${sha256[${name%.gz}]}" ]]; then
      say "${name%.gz}: already present (decompressed), checksum OK"
      continue
    fi
    say "${name%.gz}: present but its SHA-256 is wrong; downloading $name, which the reader prefers"
  fi

  part=$(mktemp "$dir/.$name.XXXXXX")
  mismatches=0
  ok=0
  for mirror in "${mirrors[@]}"; do
    url="${mirror%/}/$name"
    say "$name: fetching $url"
    if ! err=$(fetch "$url" "$part"); then
      say "$name: failed: ${err:-download failed}"
      continue
    fi
    got=$(sha256_of "$part")
    if [[ "$got" != "$want" ]]; then
      say "$name: wrong file from this mirror: SHA-256 $got, expected $want"
      mismatches=$((mismatches + 1))
      continue
    fi
    chmod 644 "$part"
    mv -f "$part" "$target"
    ok=1
    break
  done
  rm -f "$part"
  part=""

  if ((ok == 0)); then
    if ((mismatches == 0)); then
      say "$name: none of the ${#mirrors[@]} mirrors answered: this machine seems to be offline, or the mirrors are unreachable."
    else
      say "$name: none of the ${#mirrors[@]} mirrors served it intact ($mismatches with the wrong checksum)."
    fi
    by_hand
    exit 1
  fi
  say "$name: downloaded, checksum OK"
  fetched=$((fetched + 1))
done

say "all 4 MNIST files are in $dir ($fetched downloaded now)"
