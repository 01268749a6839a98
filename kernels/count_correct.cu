// Predictions and accuracy.
//   argmax_rows:   pred[r] = the first k with the largest logits[r, k] (the first NaN if the
//                  row has one, as torch.argmax); one thread per row.
//   count_correct: *correct = number of rows whose argmax equals labels[r]. One block: threads
//                  take rows r = tid, tid + blockDim.x, ..., then warp sums and a sum over the
//                  warps (integers: exact in any order).
#include <lenet/kernels/count_correct.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "launch.h"
#include "warp.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;
constexpr int kWarps = 8;

// The first maximum of z[K]. As torch.argmax (and the reference), a NaN wins over every
// number and the first NaN of the row wins: nothing compares greater than NaN, so once best
// holds one the scan can stop.
__device__ inline std::int32_t row_argmax(const float* z, std::int64_t K) {
  std::int32_t best = 0;
  float best_value = z[0];
  for (std::int64_t k = 1; k < K && best_value == best_value; ++k) {
    const float v = z[k];
    if (v > best_value || v != v) {
      best = static_cast<std::int32_t>(k);
      best_value = v;
    }
  }
  return best;
}

__global__ void argmax_rows_kernel(std::int64_t N, std::int64_t K, const float* logits,
                                   std::int32_t* pred) {
  for (const std::int64_t r : grid_stride(N)) {
    pred[r] = row_argmax(logits + r * K, K);
  }
}

template <int kBlockWarps>
__global__ void count_correct_kernel(std::int64_t N, std::int64_t K, const float* logits,
                                     const std::int32_t* labels, std::int64_t* correct) {
  __shared__ std::int64_t warp_count[kBlockWarps];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  std::int64_t count = 0;
  for (std::int64_t r = threadIdx.x; r < N; r += kBlockWarps * 32) {
    count += row_argmax(logits + r * K, K) == labels[r] ? 1 : 0;
  }
  count = warp_sum(count);
  if (lane == 0) warp_count[warp] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    std::int64_t total = 0;
    for (int w = 0; w < kBlockWarps; ++w) total += warp_count[w];
    *correct = total;
  }
}

}  // namespace

void argmax_rows(std::int64_t N, std::int64_t K, const float* logits, std::int32_t* pred,
                 cudaStream_t stream) {
  ClassScoresShape{N, K}.check("argmax_rows");
  LENET_CHECK_NOT_NULL("argmax_rows", logits, pred);
  LENET_LAUNCH(argmax_rows_kernel, detail::grid_1d(N, kBlockSize), kBlockSize, 0, stream, N, K,
               logits, pred);
}

void count_correct(std::int64_t N, std::int64_t K, const float* logits, const std::int32_t* labels,
                   std::int64_t* correct, cudaStream_t stream) {
  ClassScoresShape{N, K}.check("count_correct");
  LENET_CHECK_NOT_NULL("count_correct", logits, labels, correct);
  LENET_LAUNCH(count_correct_kernel<kWarps>, 1, kWarps * 32, 0, stream, N, K, logits, labels,
               correct);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
