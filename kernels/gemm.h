// Host side of kernels/gemm.cuh: the grid for an M x N output and the launch.
#pragma once

#include <cstdint>

#include "gemm.cuh"
#include "launch.h"

namespace lenet::kernels::detail {

constexpr int kGemmTile = 16;

// Runs implicit_gemm_kernel over an M x N output with reduction length K; throws naming op when
// the output needs more tiles than a grid holds.
template <typename LoadA, typename LoadB, typename Store>
void launch_gemm(const char* op, std::int64_t M, std::int64_t N, std::int64_t K, LoadA a, LoadB b,
                 Store store, cudaStream_t stream) {
  const std::int64_t grid_x = (N + kGemmTile - 1) / kGemmTile;
  const std::int64_t grid_y = (M + kGemmTile - 1) / kGemmTile;
  LENET_CHECK(grid_x <= 2147483647 && grid_y <= 65535,
              op << ": a " << M << " x " << N << " GEMM output needs more tiles than a grid holds");
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y));
  const dim3 block(kGemmTile, kGemmTile);
  LENET_LAUNCH((implicit_gemm_kernel<kGemmTile, LoadA, LoadB, Store>), grid, block, 0, stream, M,
               N, K, a, b, store);
}

}  // namespace lenet::kernels::detail
