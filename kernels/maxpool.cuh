// Max pooling's rule, written once for maxpool2d.cu and the fused conv2d_relu_maxpool2d.cu: a
// window's values are offered in row-major order, the first one is taken, and a later one
// takes over when it is larger, or when it is the first NaN (a NaN is never replaced). So the
// first maximum wins and NaN propagates, as in PyTorch.
#pragma once

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// Whether v, offered after the window's first value, replaces best.
__device__ inline bool pool_takes(float v, float best) {
  return best == best && (v > best || v != v);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
