// 2-D convolution (cross-correlation, as PyTorch's Conv2d) on device buffers, NCHW.
#pragma once

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y = conv(x, w) + b.  x: [N, C, H, W], w: [OC, C, KH, KW], b: [OC] or null,
// y: [N, OC, OH, OW] (overwritten). Stride and zero padding come from s.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream = nullptr);

// dx = gradient of the loss with respect to x.  dy: [N, OC, OH, OW], w: [OC, C, KH, KW],
// dx: [N, C, H, W] (overwritten).
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          cudaStream_t stream = nullptr);

// dw and db, overwritten (not accumulated), deterministic.  x: [N, C, H, W],
// dy: [N, OC, OH, OW], dw: [OC, C, KH, KW], db: [OC] or null.
void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* db, cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
