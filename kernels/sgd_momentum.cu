// SGD with momentum, PyTorch's rule with dampening 0, one thread per parameter in a grid-stride
// loop:
//   g' = g + weight_decay * p;   v = momentum * v + g';   p -= lr * v       (p and v updated)
#include <lenet/kernels/sgd_momentum.h>

#include <cstdint>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

__global__ void sgd_momentum_step_kernel(std::int64_t n, float lr, float momentum,
                                         float weight_decay, float* p, const float* g, float* v) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
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
  LENET_CHECK(n >= 0, "sgd_momentum_step: n must be >= 0, got " << n);
  if (n == 0) return;
  check_not_null("sgd_momentum_step", "p", p);
  check_not_null("sgd_momentum_step", "g", g);
  check_not_null("sgd_momentum_step", "v", v);
  LENET_LAUNCH(sgd_momentum_step_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, n,
               static_cast<float>(h.lr), static_cast<float>(h.momentum),
               static_cast<float>(h.weight_decay), p, g, v);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
