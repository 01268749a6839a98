// 2-D max-pooling (K x K window, stride, no padding) on device buffers, NCHW.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// x: [N, C, H, W] -> y: [N, C, OH, OW] and idx: [N, C, OH, OW], idx = h*W + w of the maximum
// inside its (n, c) plane, as PyTorch's return_indices. First maximum wins; NaN propagates.
void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, std::int32_t* idx,
                       cudaStream_t stream = nullptr);

// dx: [N, C, H, W] (overwritten) = dy: [N, C, OH, OW] routed back to the positions in idx.
void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx, float* dx,
                        cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
