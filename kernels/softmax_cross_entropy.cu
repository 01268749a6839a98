#include <lenet/kernels/softmax_cross_entropy.h>

#include <limits>

#include "launch.h"
#include "softmax_cross_entropy.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {
constexpr int kWarps = 8;
}

void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels, float* loss, float* dlogits,
                           cudaStream_t stream) {
  LENET_CHECK(N >= 1, "softmax_cross_entropy: N must be >= 1, got " << N);
  LENET_CHECK(K >= 1, "softmax_cross_entropy: K must be >= 1, got " << K);
  LENET_CHECK(K <= std::numeric_limits<std::int32_t>::max(),
              "softmax_cross_entropy: K must fit the int32 labels, got " << K);
  LENET_CHECK(N <= std::numeric_limits<std::int64_t>::max() / K,
              "softmax_cross_entropy: N*K overflows int64 (N = " << N << ", K = " << K << ")");
  check_not_null("softmax_cross_entropy", "logits", logits);
  check_not_null("softmax_cross_entropy", "labels", labels);
  check_not_null("softmax_cross_entropy", "loss", loss);
  LENET_LAUNCH(softmax_cross_entropy_kernel<kWarps>, 1, kWarps * 32, 0, stream, N, K, logits,
               labels, loss, dlogits);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
