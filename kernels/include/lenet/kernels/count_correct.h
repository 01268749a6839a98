// Predictions and accuracy on device buffers.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// pred[r] = argmax_k logits[r, k], the first maximum winning; a NaN wins over every number
// (the first NaN), as torch.argmax. logits: [N, K], pred: [N].
void argmax_rows(std::int64_t N, std::int64_t K, const float* logits, std::int32_t* pred,
                 cudaStream_t stream = nullptr);

// *correct (one int64, device memory) = number of rows r with argmax(logits[r]) == labels[r].
// A label outside [0, K) counts as wrong (device code cannot throw; the reference does).
void count_correct(std::int64_t N, std::int64_t K, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct, cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
