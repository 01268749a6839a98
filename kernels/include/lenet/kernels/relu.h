// ReLU forward and backward on device buffers.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y[i] = max(x[i], 0), NaN propagated. x, y: [n], device memory; y may equal x (in place).
void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream = nullptr);

// dx[i] = x[i] > 0 ? dy[i] : 0. dy, x, dx: [n], device memory; dx may equal dy.
void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx,
                   cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
