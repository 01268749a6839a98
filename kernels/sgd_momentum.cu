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
  check_not_null("sgd_momentum_step", "p", p);
  check_not_null("sgd_momentum_step", "g", g);
  check_not_null("sgd_momentum_step", "v", v);
  LENET_LAUNCH(sgd_momentum_step_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, n,
               static_cast<float>(h.lr), static_cast<float>(h.momentum),
               static_cast<float>(h.weight_decay), p, g, v);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
