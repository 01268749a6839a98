#include <lenet/kernels/relu.h>

#include "launch.h"
#include "relu.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {
constexpr int kBlockSize = 256;
}

void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream) {
  LENET_CHECK(n >= 0, "relu_forward: n must be >= 0, got " << n);
  if (n == 0) return;
  check_not_null("relu_forward", "x", x);
  check_not_null("relu_forward", "y", y);
  LENET_LAUNCH(relu_forward_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, x, y,
               n);
}

void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx,
                   cudaStream_t stream) {
  LENET_CHECK(n >= 0, "relu_backward: n must be >= 0, got " << n);
  if (n == 0) return;
  check_not_null("relu_backward", "dy", dy);
  check_not_null("relu_backward", "x", x);
  check_not_null("relu_backward", "dx", dx);
  LENET_LAUNCH(relu_backward_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, dy,
               x, dx, n);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
