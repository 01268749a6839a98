#include <lenet/cpu_ref/softmax_cross_entropy.h>

#include <cmath>
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

  T total = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const T* row = logits + n * K;
    // Subtracting the row maximum keeps every exp in (0, 1]: the sum cannot overflow and
    // at least one term is 1, so the log is finite.
    T row_max = row[0];
    for (std::int64_t k = 1; k < K; ++k) {
      if (row[k] > row_max) row_max = row[k];
    }
    T sum = 0;
    for (std::int64_t k = 0; k < K; ++k) sum += std::exp(row[k] - row_max);
    // -log softmax[label] = log_sum_exp - row[label], grouped so that two huge, equal
    // logits cancel exactly before the small log(sum) is added.
    total += (row_max - row[labels[n]]) + std::log(sum);
    if (dlogits != nullptr) {
      T* d = dlogits + n * K;
      for (std::int64_t k = 0; k < K; ++k) {
        const T p = std::exp(row[k] - row_max) / sum;
        d[k] = (p - (k == labels[n] ? T(1) : T(0))) / static_cast<T>(N);
      }
    }
  }
  *loss = total / static_cast<T>(N);
}

template void softmax_cross_entropy<float>(std::int64_t, std::int64_t, const float*,
                                           const std::int32_t*, float*, float*);
template void softmax_cross_entropy<double>(std::int64_t, std::int64_t, const double*,
                                            const std::int32_t*, double*, double*);

}  // namespace lenet::cpu_ref
