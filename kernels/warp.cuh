// Warp-wide reductions with butterfly shuffles: after log2(32) = 5 exchanges every lane of the
// warp holds the result. All 32 lanes must call them together (full mask).
#pragma once

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

constexpr unsigned kFullMask = 0xffffffffu;

// The sum over the warp of v (float, int64, ...). For floats the order is fixed, so the result
// is bitwise reproducible; every lane gets the same value.
template <typename T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// The maximum over the warp of v; a NaN in any lane does not propagate (fmaxf ignores NaN).
__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
