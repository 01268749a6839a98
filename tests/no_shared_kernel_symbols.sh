#!/usr/bin/env bash
# Proves that two static libraries define no common symbol of the kernel library:
#   no_shared_kernel_symbols.sh NM LIB_A LIB_B
# lenet_kernels (nvcc) and lenet_kernels_sim (g++ and the simulator) build the same op files.
# A symbol both define (a template instance or a type outside lenet::kernels::cuda / ::sim) is
# one the linker keeps only once, so a program linking both would run one backend on the
# other's code. Allowed in both: the C++ standard library's inline code and lenet::common's
# header-only entities (lenet::CudaError, lenet::check_not_null, the shape checks): anything in
# std::, __gnu_cxx::, or in lenet:: outside lenet::kernels and lenet::sim. Exit 0: none shared;
# 1: the shared symbols are listed; 2: usage or a library that cannot be read.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 NM LIB_A LIB_B" >&2
  exit 2
fi
nm_tool=$1
lib_a=$2
lib_b=$3

# Externally visible definitions (text, weak, data, bss, read-only, unique), demangled.
defined() {
  local out
  if ! out=$("$nm_tool" --defined-only --extern-only --demangle "$1" 2>/dev/null); then
    echo "no_shared_kernel_symbols: cannot read $1 with $nm_tool" >&2
    exit 2
  fi
  awk 'NF >= 3 && $2 ~ /^[TtWwVvDdBbRrGSu]$/ { $1 = ""; $2 = ""; sub(/^  /, ""); print }' \
    <<<"$out" | sort -u
}

syms_a=$(defined "$lib_a") || exit 2
syms_b=$(defined "$lib_b") || exit 2
common=$(comm -12 <(cat <<<"$syms_a") <(cat <<<"$syms_b"))
bad=$(
  sed -E 's/^(typeinfo name for|typeinfo for|vtable for|guard variable for|VTT for) //' \
    <<<"$common" |
    awk 'NF && !/^(std::|__gnu_cxx::|DW\.ref\.)/ &&
         (!/^lenet::/ || /^lenet::(kernels|sim)(::|$)/)' |
    sort -u
)

if [[ -n "$bad" ]]; then
  echo "FAILED: $(wc -l <<<"$bad") symbol(s) of the kernel library are defined by both" \
       "$(basename "$lib_a") and $(basename "$lib_b"); a program linking both would run" \
       "one backend on the other's code. Move them into lenet::kernels::LENET_KERNELS_ABI:"
  printf '  %s\n' "${bad}"
  exit 1
fi
echo "OK: $(basename "$lib_a") and $(basename "$lib_b") share $(grep -c . <<<"$common" || true)" \
     "symbols, all of the C++ standard library or lenet::common"
