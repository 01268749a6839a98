// Predictions and accuracy.
//   argmax_rows:   pred[r] = the first k with the largest logits[r, k] (the first NaN if the
//                  row has one, as torch.argmax); one thread per row.
//   count_correct: *correct = number of rows whose argmax equals labels[r]. One block: threads
//                  take rows r = tid, tid + blockDim.x, ..., then warp sums and a sum over the
//                  warps (integers: exact in any order).
#pragma once

#include <cstdint>

#include "warp.cuh"

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

static __global__ void argmax_rows_kernel(std::int64_t N, std::int64_t K, const float* logits,
                                          std::int32_t* pred) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < N;
       r += stride) {
    pred[r] = row_argmax(logits + r * K, K);
  }
}

template <int kWarps>
static __global__ void count_correct_kernel(std::int64_t N, std::int64_t K, const float* logits,
                                            const std::int32_t* labels, std::int64_t* correct) {
  __shared__ std::int64_t warp_count[kWarps];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  std::int64_t count = 0;
  for (std::int64_t r = threadIdx.x; r < N; r += kWarps * 32) {
    count += row_argmax(logits + r * K, K) == labels[r] ? 1 : 0;
  }
  count = warp_sum(count);
  if (lane == 0) warp_count[warp] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    std::int64_t total = 0;
    for (int w = 0; w < kWarps; ++w) total += warp_count[w];
    *correct = total;
  }
}
