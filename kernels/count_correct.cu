#include <lenet/kernels/count_correct.h>

#include <limits>

#include "count_correct.cuh"
#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;
constexpr int kWarps = 8;

void check_logits(const char* op, std::int64_t N, std::int64_t K, const float* logits) {
  LENET_CHECK(N >= 1, op << ": N must be >= 1, got " << N);
  LENET_CHECK(K >= 1, op << ": K must be >= 1, got " << K);
  LENET_CHECK(K <= std::numeric_limits<std::int32_t>::max(),
              op << ": K must fit int32 class indices, got " << K);
  LENET_CHECK(N <= std::numeric_limits<std::int64_t>::max() / K,
              op << ": N*K overflows int64 (N = " << N << ", K = " << K << ")");
  check_not_null(op, "logits", logits);
}

}  // namespace

void argmax_rows(std::int64_t N, std::int64_t K, const float* logits, std::int32_t* pred,
                 cudaStream_t stream) {
  check_logits("argmax_rows", N, K, logits);
  check_not_null("argmax_rows", "pred", pred);
  LENET_LAUNCH(argmax_rows_kernel, detail::grid_1d(N, kBlockSize), kBlockSize, 0, stream, N, K,
               logits, pred);
}

void count_correct(std::int64_t N, std::int64_t K, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct, cudaStream_t stream) {
  check_logits("count_correct", N, K, logits);
  check_not_null("count_correct", "labels", labels);
  check_not_null("count_correct", "correct", correct);
  LENET_LAUNCH(count_correct_kernel<kWarps>, 1, kWarps * 32, 0, stream, N, K, logits, labels,
               correct);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
