#include <lenet/cpu_ref/sgd_momentum.h>

#include <lenet/cpu_ref/formulas.h>

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
  formulas::sgd_momentum_step(h, n, p, g, v);
}

template void sgd_momentum_step<float>(const SgdParams&, std::int64_t, float*, const float*,
                                       float*);
template void sgd_momentum_step<double>(const SgdParams&, std::int64_t, double*, const double*,
                                        double*);

}  // namespace lenet::cpu_ref
