#!/usr/bin/env bash
# Gathers, on this Debian or Ubuntu machine, everything scripts/gpu-check.sh needs on a GPU
# machine that has CUDA, CMake and ninja but no network and none of our distribution packages:
# the headers, static libraries and CMake package files of Eigen, GoogleTest, Boost.Context,
# zlib, lz4, zstd, CLI11 and nlohmann_json, a pkg-config, and the four MNIST files.
#
#   scripts/gpu-bundle.sh [DIR]        write the bundle to DIR (default build/gpu-bundle)
#   scripts/gpu-bundle.sh --configure-check [DIR]
#                                      then configure the project (without CUDA, seconds) in
#                                      DIR-check against it and prove that CMake found every
#                                      package in the bundle (ctest gpu_scripts.bundle)
#   scripts/gpu-bundle.sh --check [DIR]
#                                      the same with CUDA (sm_75), then build everything and
#                                      prove that no header or library came from the system
#
# DIR/prefix is a small /usr: `cmake -C DIR/bundle.cmake` points find_package (CMAKE_PREFIX_PATH)
# and pkg_check_modules (PKG_CONFIG_EXECUTABLE) at it. Libraries are static, so the programs
# need nothing from this machine at run time. DIR/mnist holds the MNIST files from $MNIST_DIR
# (default ../shared/data/mnist beside the repository), checked against the SHA256SUMS there.
# Needs what scripts/install-deps.sh installs. docs/building.md has the whole procedure.
# cuDNN is not bundled (its libraries are hundreds of MiB): scripts/gpu-check.sh builds the cudnn
# backend against the GPU machine's own, the toolkit's or the one PyTorch's wheels bring.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
check=none
case "${1:-}" in
  --configure-check) check=configure; shift ;;
  --check) check=build; shift ;;
esac
case "${1:-}" in
  -*) echo "gpu-bundle: unknown option '$1' (usage: scripts/gpu-bundle.sh [--configure-check|--check] [DIR])" >&2
      exit 2 ;;
esac
bundle=$(realpath -m "${1:-$root/build/gpu-bundle}")
mnist=$(realpath -m "${MNIST_DIR:-$root/../shared/data/mnist}")
max_mib=60  # the device tool carries at most 64 MiB, the working tree included

die() { printf 'gpu-bundle: %s\n' "$*" >&2; exit 1; }

multiarch=$(gcc -print-multiarch 2>/dev/null) || die "gcc is missing: run scripts/install-deps.sh"
lib=/usr/lib/$multiarch
prefix=$bundle/prefix
mnist_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
             t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

# put PATH...: copies /usr/X (files or whole directories, links followed) to $prefix/X.
put() {
  local src dst
  for src in "$@"; do
    [[ -e "$src" ]] || die "$src is missing: run scripts/install-deps.sh"
    dst=$prefix/${src#/usr/}
    mkdir -p "$(dirname "$dst")"
    # A directory merges with one copied before; timestamps stay, so a rebuilt bundle does not
    # make ninja recompile what includes it.
    cp -RL --preserve=timestamps "$src" "$(dirname "$dst")/"
  done
}

# The Boost headers the project includes, and everything they include (with the project's C++
# standard and the define Boost::context adds), plus all of boost/config and boost/context,
# whose headers are chosen per compiler and CPU: a few hundred KiB instead of all of Boost.
boost_headers() {
  local tu=$bundle/boost_includes.cpp
  { grep -rhoE '#include <boost/[^>]+>' "$root"/{common,cpu_ref,kernels,engine,introspect,apps,tests} \
      || true; } | sort -u >"$tu"
  [[ -s "$tu" ]] || die "no #include <boost/...> found in the sources"
  g++ -std=c++17 -DBOOST_ALL_NO_LIB -M "$tu" >"$tu.d" || die "g++ cannot preprocess the Boost headers"
  sed 's/\\$//' "$tu.d" | tr ' ' '\n' | { grep '^/usr/include/boost/' || true; } | sort -u
  rm -f "$tu" "$tu.d"
  printf '%s\n' /usr/include/boost/config /usr/include/boost/context
}

# pc_file NAME LIBRARY: a .pc file for a static library of the bundle, relative to itself.
pc_file() {
  local version
  version=$(pkg-config --modversion "$1") || die "pkg-config does not know $1: run scripts/install-deps.sh"
  mkdir -p "$prefix/lib/$multiarch/pkgconfig"
  cat >"$prefix/lib/$multiarch/pkgconfig/$1.pc" <<EOF
prefix=\${pcfiledir}/../../..
libdir=\${prefix}/lib/$multiarch
includedir=\${prefix}/include

Name: $1
Description: $1 from scripts/gpu-bundle.sh (static)
Version: $version
Libs: -L\${libdir} -l$2
Cflags: -I\${includedir}
EOF
}

# DIR is replaced: only an earlier bundle, or an empty directory, lest a typo wipe something.
if [[ -e "$bundle" && ! -f "$bundle/bundle.cmake" && -n "$(ls -A "$bundle" 2>/dev/null)" ]]; then
  die "$bundle exists and is not a bundle: remove it, or name another DIR"
fi
rm -rf "$bundle"
mkdir -p "$prefix"

# Eigen3 (find_package(Eigen3 NO_MODULE)): headers only. unsupported/ is not used.
put /usr/include/eigen3/Eigen /usr/share/eigen3/cmake
# GoogleTest (find_package(GTest)): its package file also names the gmock libraries.
put /usr/include/gtest /usr/include/gmock "$lib"/lib{gtest,gtest_main,gmock,gmock_main}.a \
    "$lib/cmake/GTest"
# Boost.Context (find_package(Boost COMPONENTS context)): the static variant only, so CMake
# picks it without Boost_USE_STATIC_LIBS.
boost_list=$(boost_headers)
mapfile -t boost <<<"$boost_list"
put "${boost[@]}" "$lib/libboost_context.a" "$lib"/cmake/Boost-[0-9]* \
    "$lib"/cmake/BoostDetectToolset-[0-9]*.cmake "$lib"/cmake/boost_headers-[0-9]* \
    "$lib"/cmake/boost_context-[0-9]*
rm -f "$prefix"/lib/"$multiarch"/cmake/boost_context-*/libboost_context-variant-shared.cmake
# zlib (find_package(ZLIB)), lz4 and zstd (pkg_check_modules: liblz4 libzstd).
put /usr/include/{zlib,zconf}.h "$lib/libz.a"
put /usr/include/lz4{,hc,frame,frame_static}.h "$lib/liblz4.a"
put /usr/include/{zstd,zdict,zstd_errors}.h "$lib/libzstd.a"
pc_file liblz4 lz4
pc_file libzstd zstd
# CLI11 and nlohmann_json (find_package(CLI11), find_package(nlohmann_json)): headers only.
put /usr/include/CLI /usr/share/cmake/CLI11 /usr/include/nlohmann /usr/share/cmake/nlohmann_json
# pkg-config itself, which the GPU machine may lack: Debian's pkgconf and its library, behind a
# wrapper that finds the library and reads only the bundle's .pc files.
put /usr/bin/pkgconf "$lib/libpkgconf.so.3"
mkdir -p "$prefix/lib/pkgconf"
mv "$prefix/bin/pkgconf" "$prefix/lib/$multiarch/libpkgconf.so.3" "$prefix/lib/pkgconf/"
cat >"$prefix/bin/pkg-config" <<EOF
#!/bin/sh
# pkg-config of the gpu bundle (scripts/gpu-bundle.sh): Debian's pkgconf, reading only the
# bundle's .pc files (CMake adds the bundle's own directories through PKG_CONFIG_PATH).
here=\$(CDPATH= cd -- "\$(dirname -- "\$0")" && pwd)
PKG_CONFIG_LIBDIR="\$here/../lib/$multiarch/pkgconfig" \\
LD_LIBRARY_PATH="\$here/../lib/pkgconf\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
  exec "\$here/../lib/pkgconf/pkgconf" "\$@"
EOF
chmod +x "$prefix/bin/pkg-config"
"$prefix/bin/pkg-config" --exists liblz4 libzstd || die "the bundled pkg-config does not work"

cat >"$bundle/bundle.cmake" <<'EOF'
# Initial cache of scripts/gpu-bundle.sh: cmake -C <bundle>/bundle.cmake ... finds the
# bundle's packages before any of the system's, and uses the bundle's pkg-config.
set(CMAKE_PREFIX_PATH "${CMAKE_CURRENT_LIST_DIR}/prefix" CACHE PATH "lenet gpu bundle")
set(PKG_CONFIG_EXECUTABLE "${CMAKE_CURRENT_LIST_DIR}/prefix/bin/pkg-config" CACHE FILEPATH
    "pkg-config of the lenet gpu bundle")
EOF

# MNIST, checked against the SHA256SUMS beside the files when there is one.
mkdir -p "$bundle/mnist"
for f in "${mnist_files[@]}"; do
  [[ -f "$mnist/$f" ]] || die "$mnist/$f is missing: set MNIST_DIR to the MNIST files"
  cp "$mnist/$f" "$bundle/mnist/"
done
if [[ -f "$mnist/SHA256SUMS" ]]; then
  grep -E "  ($(IFS='|'; echo "${mnist_files[*]}"))\$" "$mnist/SHA256SUMS" >"$bundle/mnist/SHA256SUMS" \
    || true
  [[ $(wc -l <"$bundle/mnist/SHA256SUMS") -eq ${#mnist_files[@]} ]] \
    || die "$mnist/SHA256SUMS does not list the four MNIST files"
  (cd "$bundle/mnist" && sha256sum --check --quiet SHA256SUMS) \
    || die "the MNIST files in $mnist do not match their SHA256SUMS"
fi

{
  echo "lenet gpu bundle, made by scripts/gpu-bundle.sh on $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "from $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release) ($multiarch)," \
       "g++ $(g++ -dumpfullversion)"
  dpkg-query -W -f '  ${Package} ${Version}\n' libeigen3-dev libgtest-dev libboost-context-dev \
    zlib1g-dev liblz4-dev libzstd-dev libcli11-dev nlohmann-json3-dev pkgconf 2>/dev/null || true
  echo "MNIST from $mnist"
} >"$bundle/MANIFEST.txt"

mib=$(du -sm "$bundle" | cut -f1)
((mib < max_mib)) || die "$bundle is $mib MiB, over the $max_mib MiB the device tool can carry"
echo "gpu-bundle: wrote $bundle ($mib MiB)"

[[ $check != none ]] || exit 0

# The checks: CMake searches CMAKE_PREFIX_PATH first, so a package missing from the bundle, or
# broken there, shows up as one found in the system, or as a header or library read from /usr.
build=$bundle-check
# Cache entries naming what CMake found of each package of the bundle.
found_entries=(Eigen3_DIR GTest_DIR Boost_DIR Boost_INCLUDE_DIR boost_context_DIR boost_headers_DIR
               CLI11_DIR nlohmann_json_DIR ZLIB_INCLUDE_DIR ZLIB_LIBRARY_RELEASE
               pkgcfg_lib_LENET_COMPRESSION_lz4 pkgcfg_lib_LENET_COMPRESSION_zstd)
configure=(cmake -S "$root" -B "$build" -G Ninja -C "$bundle/bundle.cmake" -DCMAKE_BUILD_TYPE=Release)
if [[ $check == configure ]]; then
  configure+=(-DLENET_WITH_CUDA=OFF -DLENET_FIXTURE_NVCC=OFF)
else
  configure+=(-DLENET_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=75-real -DLENET_WERROR=ON)
fi
echo "gpu-bundle: configuring against the bundle in $build"
if [[ -e "$build" && ! -f "$build/CMakeCache.txt" ]]; then
  die "$build exists and is not a build directory: remove it"
fi
rm -rf "$build"  # a cache from before would keep what it found then
"${configure[@]}" >"$build.log" 2>&1 || die "configure failed: $(tail -5 "$build.log")"
echo "gpu-bundle: found"
for entry in "${found_entries[@]}"; do
  value=$(sed -n "s/^$entry:[A-Z]*=//p" "$build/CMakeCache.txt")
  echo "  $entry = ${value:-(not set)}"
  [[ "$value" == "$prefix"/* ]] || die "$entry is not in the bundle: ${value:-not set}"
done
[[ $check == build ]] || { echo "gpu-bundle: CMake finds every package in $bundle"; exit 0; }

echo "gpu-bundle: building in $build (log: $build.log)"
cmake --build "$build" -j "$(nproc)" >>"$build.log" 2>&1 || die "build failed: $(tail -20 "$build.log")"
system='/usr/(include/(boost|eigen3|gtest|gmock|CLI|nlohmann|zlib\.h|zconf\.h|lz4|zstd|zdict)|lib/[^ ]*/lib(gtest|gmock|boost_context|z|lz4|zstd)\.)[^ ]*'
leaked=$({ ninja -C "$build" -t deps; cat "$build/build.ninja"; } | grep -oE "$system" | sort -u || true)
[[ -z "$leaked" ]] || die "taken from the system, not the bundle: $leaked"
echo "gpu-bundle: the project builds against $bundle, with nothing of the system's packages"
