#include <lenet/cpu_ref/softmax_cross_entropy.h>

#include <lenet/cpu_ref/formulas.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

template <typename T>
void softmax_cross_entropy(std::int64_t N, std::int64_t K, const T* logits,
                           const std::int32_t* labels, T* loss, NonDeduced<T>* dlogits) {
  constexpr const char* kOp = "softmax_cross_entropy";
  ClassScoresShape{N, K}.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, logits, labels, loss);
  for (std::int64_t n = 0; n < N; ++n) {
    LENET_CHECK(labels[n] >= 0 && labels[n] < K,
                kOp << ": labels[" << n << "] = " << labels[n] << " is outside [0, K = " << K
                    << ")");
  }
  formulas::softmax_cross_entropy(N, K, logits, labels, loss, dlogits);
}

template void softmax_cross_entropy<float>(std::int64_t, std::int64_t, const float*,
                                           const std::int32_t*, float*, float*);
template void softmax_cross_entropy<double>(std::int64_t, std::int64_t, const double*,
                                            const std::int32_t*, double*, double*);

}  // namespace lenet::cpu_ref
