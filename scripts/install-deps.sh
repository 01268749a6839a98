#!/usr/bin/env bash
# Installs, with apt-get, exactly what lenet-cuda needs to build and test.
#   scripts/install-deps.sh          what scripts/test.sh and scripts/train.sh need
#   scripts/install-deps.sh --fuzz   also clang and libFuzzer, for scripts/fuzz.sh
# Idempotent: when every package is present it only checks and returns.
# Runs as root or through sudo. It never installs CUDA; it reports what it finds.
set -euo pipefail

packages=(
  cmake                 # build system (3.25 or newer)
  ninja-build           # generator used by the presets
  g++                   # host compiler (C++17)
  pkg-config            # finds liblz4 and libzstd
  libeigen3-dev         # Eigen 3.4: the CPU reference and the cpu backend
  libgtest-dev          # GoogleTest
  libgmock-dev          # GoogleMock (ships with GoogleTest's CMake package)
  libboost-context-dev  # Boost.Context fibers: the CUDA simulator
  zlib1g-dev            # gzip-compressed MNIST files
  liblz4-dev            # LZ4-compressed fatbin entries
  libzstd-dev           # ZSTD-compressed fatbin entries
  libcli11-dev          # command-line parsing in the apps
  nlohmann-json3-dev    # JSON output (metrics, cuda_doctor --json)
  curl                  # scripts/download_mnist.sh fetches the MNIST files (and its test)
  ca-certificates       # certificates for the HTTPS mirrors of the download script
  python3-matplotlib    # scripts/plot_metrics.py draws the loss and accuracy curves
  libbenchmark-dev      # Google Benchmark: bench_cpu_ops (optional; the build skips it without)
)

case "${1:-}" in
  "") ;;
  --fuzz)
    packages+=(
      clang                 # scripts/fuzz.sh builds the libFuzzer target with clang
      libclang-rt-dev       # libFuzzer and the sanitizer runtimes for clang
    )
    ;;
  *)
    echo "install-deps: unknown option '$1' (the only option is --fuzz)" >&2
    exit 2
    ;;
esac

say() { printf 'install-deps: %s\n' "$*"; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  say "this script needs a Debian or Ubuntu system (dpkg and apt-get)."
  say "elsewhere, install the equivalents of: ${packages[*]}"
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  say "all ${#packages[@]} packages are present"
else
  say "installing: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    say "not root and no sudo: run as root:  apt-get install -y ${missing[*]}"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    say "apt-get install failed; refreshing the package lists and trying once more"
    if ! { "${sudo_cmd[@]}" apt-get update && \
           "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }; then
      say "could not install: ${missing[*]}"
      say "check the network and the apt sources, then run: apt-get install ${missing[*]}"
      exit 1
    fi
  fi
fi

# CUDA is optional: without it the project builds and tests everything that needs no GPU toolkit.
nvcc_bin=$(command -v nvcc || true)
if [[ -z "$nvcc_bin" && -x /usr/local/cuda/bin/nvcc ]]; then
  nvcc_bin=/usr/local/cuda/bin/nvcc
fi
if [[ -n "$nvcc_bin" ]]; then
  version=$("$nvcc_bin" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  say "CUDA toolkit ${version:-of unknown version} at $nvcc_bin"
  if [[ -n "$version" && ${version%%.*} -lt 13 ]]; then
    say "warning: lenet-cuda is built and tested with CUDA 13; ${version} may fail"
  fi
else
  say "no CUDA toolkit (nvcc) found: the build leaves out lenet_kernels and the cuda backend"
  say "to build them, install the CUDA 13 toolkit from NVIDIA and put nvcc on PATH"
fi
