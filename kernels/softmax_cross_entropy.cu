// Softmax cross-entropy, loss and gradient in one pass.
//   loss = mean over rows r of  log(sum_k exp(z[r,k] - max_r)) - (z[r, label_r] - max_r)
//   dlogits[r, k] = (softmax(z[r])[k] - (k == label_r)) / N        (overwritten; may be null)
// Mapping: one block of kWarps warps. Warp w handles rows w, w + kWarps, ...; its lanes stride
// over the K columns and combine the row max and the row sum with butterfly shuffles
// (warp.cuh), so every lane ends with the same value. Each warp adds its row losses in row
// order, then warp 0's lanes add the warps' totals in warp order: the same order every run.
// A label outside [0, K) makes the loss NaN (its row's gradients NaN too): device code cannot
// throw, and a NaN loss stops training with a message naming the step.
#include <lenet/kernels/softmax_cross_entropy.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "launch.h"
#include "warp.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kWarps = 8;

template <int kBlockWarps>
__global__ void softmax_cross_entropy_kernel(std::int64_t N, std::int64_t K, const float* logits,
                                             const std::int32_t* labels, float* loss,
                                             float* dlogits) {
  __shared__ float warp_loss[kBlockWarps];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const float inv_n = 1.0f / static_cast<float>(N);

  float my_loss = 0.0f;  // lane 0's running sum of this warp's rows
  for (std::int64_t r = warp; r < N; r += kBlockWarps) {
    const float* z = logits + r * K;
    const std::int32_t label = labels[r];
    const bool label_ok = label >= 0 && label < K;

    float row_max = -INFINITY;
    for (std::int64_t k = lane; k < K; k += 32) row_max = fmaxf(row_max, z[k]);
    row_max = warp_max(row_max);

    float sum = 0.0f;
    for (std::int64_t k = lane; k < K; k += 32) sum += expf(z[k] - row_max);
    sum = warp_sum(sum);

    if (dlogits != nullptr) {
      for (std::int64_t k = lane; k < K; k += 32) {
        const float p = expf(z[k] - row_max) / sum;
        dlogits[r * K + k] = label_ok ? (p - (k == label ? 1.0f : 0.0f)) * inv_n : NAN;
      }
    }
    if (lane == 0) my_loss += label_ok ? logf(sum) - (z[label] - row_max) : NAN;
  }
  if (lane == 0) warp_loss[warp] = my_loss;
  __syncthreads();
  if (warp == 0) {
    float total = lane < kBlockWarps ? warp_loss[lane] : 0.0f;
    total = warp_sum(total);
    if (lane == 0) *loss = total * inv_n;
  }
}

}  // namespace

void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels, float* loss, float* dlogits,
                           cudaStream_t stream) {
  ClassScoresShape{N, K}.check("softmax_cross_entropy");
  LENET_CHECK_NOT_NULL("softmax_cross_entropy", logits, labels, loss);
  LENET_LAUNCH(softmax_cross_entropy_kernel<kWarps>, 1, kWarps * 32, 0, stream, N, K, logits,
               labels, loss, dlogits);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
