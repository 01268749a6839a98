#include <lenet/cpu_ref/sgd_momentum.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

template <typename T>
void sgd_momentum_step(const SgdParams& h, std::int64_t n, T* p, const T* g, T* v) {
  constexpr const char* kOp = "sgd_momentum_step";
  h.check(kOp);
  ElementwiseShape{n}.check(kOp);
  if (n == 0) return;
  LENET_CHECK_NOT_NULL(kOp, p, g, v);
  const T lr = static_cast<T>(h.lr);
  const T momentum = static_cast<T>(h.momentum);
  const T weight_decay = static_cast<T>(h.weight_decay);
  for (std::int64_t i = 0; i < n; ++i) {
    const T g_decayed = g[i] + weight_decay * p[i];
    v[i] = momentum * v[i] + g_decayed;
    p[i] -= lr * v[i];
  }
}

template void sgd_momentum_step<float>(const SgdParams&, std::int64_t, float*, const float*,
                                       float*);
template void sgd_momentum_step<double>(const SgdParams&, std::int64_t, double*, const double*,
                                        double*);

}  // namespace lenet::cpu_ref
