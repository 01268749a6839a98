// Softmax cross-entropy on device buffers: mean loss and gradient in one launch.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// logits: [N, K], labels: [N] in [0, K) -> *loss (one float, device memory) = mean over the rows
// of -log softmax(logits)[label]; dlogits: [N, K] = (softmax - onehot) / N, or null when only
// the loss is wanted. Numerically stable (the row max is subtracted). A label outside [0, K)
// makes *loss NaN. Deterministic.
void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels, float* loss, float* dlogits,
                           cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
