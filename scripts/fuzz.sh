#!/usr/bin/env bash
# Fuzzes the introspect reader (ELF, ar, fatbin, cubin, PTX) with libFuzzer for a bounded time.
#   scripts/fuzz.sh [seconds]      default 60
# Builds tests/fuzz/ with clang into build/fuzz/ (AddressSanitizer and UBSan on), seeds the
# corpus with small nvcc outputs of tests/fixtures/doctor_kernels.cu (or the fixtures a build
# directory already has), and runs. Exit status 0: no crash in that time. A crashing input is
# saved as build/fuzz/crash-*; rerun it with build/fuzz/fuzz_introspect FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: the time must be a whole number of seconds, got '$seconds'" >&2
  exit 2
fi
scripts/install-deps.sh --fuzz >/dev/null  # clang and libFuzzer

out=build/fuzz
cmake -S tests/fuzz -B "$out" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out"

seeds="$out/seeds"
corpus="$out/corpus"
mkdir -p "$seeds" "$corpus"
nvcc_bin=$(command -v nvcc || true)
[[ -z "$nvcc_bin" && -x /usr/local/cuda/bin/nvcc ]] && nvcc_bin=/usr/local/cuda/bin/nvcc
src=tests/fixtures/doctor_kernels.cu
if [[ -n "$nvcc_bin" ]]; then
  if [[ ! -s "$seeds/sm_86.fatbin" || "$src" -nt "$seeds/sm_86.fatbin" ]]; then
    echo "fuzz.sh: building seeds with $nvcc_bin"
    "$nvcc_bin" -fatbin -arch=sm_86 "$src" -o "$seeds/sm_86.fatbin"
    "$nvcc_bin" -fatbin -arch=sm_90a -compress-mode=speed -Xfatbin=-compress-all "$src" -o "$seeds/sm_90a_lz4.fatbin"
    "$nvcc_bin" -fatbin -arch=sm_100f -compress-mode=size "$src" -o "$seeds/sm_100f_zstd.fatbin"
    "$nvcc_bin" -cubin -arch=sm_75 "$src" -o "$seeds/sm_75.cubin"
    "$nvcc_bin" -ptx -arch=compute_75 "$src" -o "$seeds/compute_75.ptx"
    "$nvcc_bin" -c -arch=sm_80 "$src" -o "$seeds/sm_80.o"
    "$nvcc_bin" -c -rdc=true -arch=sm_80 "$src" -o "$seeds/rdc.o"
    rm -f "$seeds/librdc.a" && ar rcs "$seeds/librdc.a" "$seeds/rdc.o"
  fi
else
  found=$(ls -d build/*/tests/fixtures 2>/dev/null | head -1 || true)
  if [[ -n "$found" ]]; then
    echo "fuzz.sh: no nvcc; seeding with the fixtures in $found"
    cp "$found"/*.fatbin "$found"/*.cubin "$found"/*.ptx "$found"/*.o "$found"/*.a "$seeds"/ 2>/dev/null || true
  else
    echo "fuzz.sh: no nvcc and no built fixtures: fuzzing from an empty corpus"
  fi
fi

echo "fuzz.sh: fuzzing for $seconds s"
# -timeout: one input taking over 10 s is a hang; -rss_limit_mb: so is using 2 GiB.
exec "$out/fuzz_introspect" "$corpus" "$seeds" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/"
