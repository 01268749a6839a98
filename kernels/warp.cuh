// Warp-wide reductions with butterfly shuffles: after log2(32) = 5 exchanges every lane of the
// warp holds the result. All 32 lanes must call them together (full mask).
#pragma once

#include <cstdint>

constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

__device__ inline std::int64_t warp_sum(std::int64_t v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
