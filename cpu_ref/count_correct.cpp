#include <lenet/cpu_ref/count_correct.h>

#include <cmath>
#include <cstdint>

#include <lenet/shapes.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

namespace {

// The first maximum of row [K]; the first NaN if there is one.
template <typename T>
std::int32_t argmax_row(std::int64_t K, const T* row) {
  std::int64_t best = 0;
  for (std::int64_t k = 1; k < K && !std::isnan(row[best]); ++k) {
    if (row[k] > row[best] || std::isnan(row[k])) best = k;
  }
  return static_cast<std::int32_t>(best);
}

}  // namespace

template <typename T>
void argmax_rows(std::int64_t N, std::int64_t K, const T* logits, std::int32_t* pred) {
  constexpr const char* kOp = "argmax_rows";
  ClassScoresShape{N, K}.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, logits, pred);
  for (std::int64_t n = 0; n < N; ++n) pred[n] = argmax_row(K, logits + n * K);
}

template <typename T>
void count_correct(std::int64_t N, std::int64_t K, const T* logits, const std::int32_t* labels,
                   std::int64_t* correct) {
  constexpr const char* kOp = "count_correct";
  ClassScoresShape{N, K}.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, logits, labels, correct);
  std::int64_t count = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    LENET_CHECK(labels[n] >= 0 && labels[n] < K,
                kOp << ": labels[" << n << "] = " << labels[n] << " is outside [0, K = " << K
                    << ")");
    if (argmax_row(K, logits + n * K) == labels[n]) ++count;
  }
  *correct = count;
}

template void argmax_rows<float>(std::int64_t, std::int64_t, const float*, std::int32_t*);
template void argmax_rows<double>(std::int64_t, std::int64_t, const double*, std::int32_t*);
template void count_correct<float>(std::int64_t, std::int64_t, const float*, const std::int32_t*,
                                   std::int64_t*);
template void count_correct<double>(std::int64_t, std::int64_t, const double*,
                                    const std::int32_t*, std::int64_t*);

}  // namespace lenet::cpu_ref
