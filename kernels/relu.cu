// ReLU, elementwise (the rule: relu.cuh):
//   relu_forward:  y[i] = x[i] > 0 ? x[i] : 0            (y overwritten; y may alias x; NaN kept)
//   relu_backward: dx[i] = x[i] > 0 ? dy[i] : 0          (dx overwritten; zero at x == 0, as PyTorch)
// One thread per element in a grid-stride loop, so any n fits any grid: thread t of the grid
// handles t, t + (threads in the grid), t + 2 * (threads in the grid), ... The loop is spelled
// out here; the other elementwise kernels write it as `for (i : grid_stride(n))` (launch.h).
#include <lenet/kernels/relu.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "launch.h"
#include "relu.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

__global__ void relu_forward_kernel(const float* x, float* y, std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    y[i] = relu_value(x[i]);
  }
}

__global__ void relu_backward_kernel(const float* dy, const float* x, float* dx, std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    dx[i] = relu_gradient(dy[i], x[i]);
  }
}

}  // namespace

void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream) {
  ElementwiseShape{n}.check("relu_forward");
  if (n == 0) return;
  LENET_CHECK_NOT_NULL("relu_forward", x, y);
  LENET_LAUNCH(relu_forward_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, x, y,
               n);
}

void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx,
                   cudaStream_t stream) {
  ElementwiseShape{n}.check("relu_backward");
  if (n == 0) return;
  LENET_CHECK_NOT_NULL("relu_backward", dy, x, dx);
  LENET_LAUNCH(relu_backward_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, dy,
               x, dx, n);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
