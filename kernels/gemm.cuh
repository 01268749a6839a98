// The shared-memory tiled GEMM that linear and conv2d run on, forward and backward.
//
// out(m, n) = sum_k a(m, k) * b(k, n) for 0 <= m < M, 0 <= n < N, 0 <= k < K, handed to
// store(m, n, sum). a, b and store are small functors: a linear layer reads plain strided
// matrices, a convolution gathers its operands from the NCHW tensors on the fly ("implicit
// GEMM": no im2col buffer). Each op's file says how it maps onto M, N and K.
//
// Mapping: a kTile x kTile block computes one kTile x kTile tile of out, one output per thread.
// For each step along K the block stages a kTile x kTile tile of a and of b in shared memory
// (one element of each per thread; outside the matrix it loads 0), waits, and every thread
// multiplies a row of the a tile by a column of the b tile. The sum over k runs in one fixed
// order, so results are bitwise reproducible run to run.
#pragma once

#include <cstdint>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

constexpr int kGemmTile = 16;

template <int kTile, typename LoadA, typename LoadB, typename Store>
__global__ void implicit_gemm_kernel(std::int64_t M, std::int64_t N, std::int64_t K, LoadA a,
                                     LoadB b, Store store) {
  // No padding column. With kTile = 16 a warp is two tile rows (ty, ty + 1) of 16 threads:
  // its stores cover 32 consecutive words, one per bank; in the product a_tile[ty][k] is one
  // broadcast per half-warp (two banks apart) and b_tile[k][tx] is one row that both halves
  // read. A +1 padding would only add a two-way conflict to the stores.
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile];

  const int tx = threadIdx.x;  // column inside the tile
  const int ty = threadIdx.y;  // row inside the tile
  const std::int64_t m = static_cast<std::int64_t>(blockIdx.y) * kTile + ty;
  const std::int64_t n = static_cast<std::int64_t>(blockIdx.x) * kTile + tx;

  float acc = 0.0f;
  for (std::int64_t k0 = 0; k0 < K; k0 += kTile) {
    a_tile[ty][tx] = (m < M && k0 + tx < K) ? a(m, k0 + tx) : 0.0f;
    b_tile[ty][tx] = (k0 + ty < K && n < N) ? b(k0 + ty, n) : 0.0f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) acc += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();  // the next step overwrites tiles that other threads may still be reading
  }
  if (m < M && n < N) store(m, n, acc);
}

// Element (i, j) of a row-major matrix at p with row stride rs and column stride cs; a
// transposed view is the same data with the strides swapped.
struct StridedMatrix {
  const float* p;
  std::int64_t rs, cs;
  __device__ float operator()(std::int64_t i, std::int64_t j) const { return p[i * rs + j * cs]; }
};

// out(m, n) + bias[n] (bias may be null) into a row-major [M, N] matrix.
struct StoreRowMajor {
  float* out;
  std::int64_t N;
  const float* bias;
  __device__ void operator()(std::int64_t m, std::int64_t n, float v) const {
    out[m * N + n] = bias != nullptr ? v + bias[n] : v;
  }
};

namespace detail {

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

}  // namespace detail
}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
