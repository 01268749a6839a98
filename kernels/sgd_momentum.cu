// SGD with momentum, one thread per parameter in a grid-stride loop, p and v updated in place.
// The rule (PyTorch's, dampening 0) is written once, at SgdParams in <lenet/shapes.h>.
#include <lenet/kernels/sgd_momentum.h>

#include <cstdint>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

__global__ void sgd_momentum_step_kernel(std::int64_t n, float lr, float momentum,
                                         float weight_decay, float* p, const float* g, float* v) {
  for (const std::int64_t i : grid_stride(n)) {
    const float grad = g[i] + weight_decay * p[i];
    const float vel = momentum * v[i] + grad;
    v[i] = vel;
    p[i] -= lr * vel;
  }
}

}  // namespace

void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v,
                       cudaStream_t stream) {
  h.check("sgd_momentum_step");
  ElementwiseShape{n}.check("sgd_momentum_step");
  if (n == 0) return;
  LENET_CHECK_NOT_NULL("sgd_momentum_step", p, g, v);
  LENET_LAUNCH(sgd_momentum_step_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, n,
               static_cast<float>(h.lr), static_cast<float>(h.momentum),
               static_cast<float>(h.weight_decay), p, g, v);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
