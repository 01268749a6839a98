#include <lenet/kernels/sgd_momentum.h>

#include "launch.h"
#include "sgd_momentum.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {
constexpr int kBlockSize = 256;
}

void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v,
                       cudaStream_t stream) {
  h.check("sgd_momentum_step");
  LENET_CHECK(n >= 0, "sgd_momentum_step: n must be >= 0, got " << n);
  if (n == 0) return;
  LENET_CHECK(p != nullptr, "sgd_momentum_step: p is null");
  LENET_CHECK(g != nullptr, "sgd_momentum_step: g is null");
  LENET_CHECK(v != nullptr, "sgd_momentum_step: v is null");
  LENET_LAUNCH(sgd_momentum_step_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, n,
               static_cast<float>(h.lr), static_cast<float>(h.momentum),
               static_cast<float>(h.weight_decay), p, g, v);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
