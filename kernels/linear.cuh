// Linear layer kernel bodies beyond the shared tiled GEMM (gemm.cuh).
#pragma once

#include <cstdint>

// db[n] = sum_m dy[m, n]: one thread per column, rows in a fixed order (deterministic).
static __global__ void column_sums_kernel(std::int64_t M, std::int64_t N, const float* dy,
                                          float* db) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; n < N;
       n += stride) {
    float sum = 0.0f;
    for (std::int64_t m = 0; m < M; ++m) sum += dy[m * N + n];
    db[n] = sum;
  }
}
