// ReLU kernel bodies, shared by the nvcc build and the simulator.
//
// relu_forward:  y[i] = x[i] > 0 ? x[i] : 0            (y overwritten; y may alias x)
// relu_backward: dx[i] = x[i] > 0 ? dy[i] : 0          (dx overwritten; zero at x == 0, as PyTorch)
// One thread per element in a grid-stride loop, so any n fits any grid.
#pragma once

#include <cstdint>

static __global__ void relu_forward_kernel(const float* x, float* y, std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float v = x[i];
    // v > 0 is false for NaN, so write v itself then: NaN propagates as in PyTorch.
    y[i] = (v > 0.0f || v != v) ? v : 0.0f;
  }
}

static __global__ void relu_backward_kernel(const float* dy, const float* x, float* dx,
                                            std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
  }
}
