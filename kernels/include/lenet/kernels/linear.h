// Fully connected layer, forward and backward, on device buffers.
#pragma once

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y = x w^T + b.  x: [N, in], w: [out, in], b: [out] or null (no bias), y: [N, out] (overwritten).
void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream = nullptr);

// dx = dy w; dw = dy^T x; db = column sums of dy. All overwritten, deterministic.
// dy: [N, out], x: [N, in], w: [out, in]; dx: [N, in] or null (not needed for a first layer),
// dw: [out, in], db: [out] or null.
void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
