// Linear layer on the tiled GEMM (gemm.cuh):
//   forward:  y[N, out]  = x[N, in] w[out, in]^T + b   (M = N,   N = out, K = in)
//   backward: dx[N, in]  = dy[N, out] w[out, in]       (M = N,   N = in,  K = out)
//             dw[out, in] = dy[N, out]^T x[N, in]      (M = out, N = in,  K = N)
//             db[out]    = column sums of dy           (one thread per column)
// Every output is overwritten; sums run in a fixed order, so gradients are deterministic.
#include <lenet/kernels/linear.h>

#include <cstdint>

#include "gemm.cuh"
#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kColumnBlock = 128;

// db[n] = sum_m dy[m, n]: one thread per column, rows in a fixed order (deterministic).
__global__ void column_sums_kernel(std::int64_t M, std::int64_t N, const float* dy, float* db) {
  for (const std::int64_t n : grid_stride(N)) {
    float sum = 0.0f;
    for (std::int64_t m = 0; m < M; ++m) sum += dy[m * N + n];
    db[n] = sum;
  }
}

}  // namespace

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream) {
  s.check("linear_forward");
  LENET_CHECK_NOT_NULL("linear_forward", x, w, y);
  detail::launch_gemm("linear_forward", s.N, s.out, s.in, StridedMatrix{x, s.in, 1},
                      StridedMatrix{w, 1, s.in},  // w^T: element (k, n) is w[n, k]
                      StoreRowMajor{y, s.out, b}, stream);
}

void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, cudaStream_t stream) {
  s.check("linear_backward");
  LENET_CHECK_NOT_NULL("linear_backward", dy, x, w, dw);
  if (dx != nullptr) {
    detail::launch_gemm("linear_backward", s.N, s.in, s.out, StridedMatrix{dy, s.out, 1},
                        StridedMatrix{w, s.in, 1}, StoreRowMajor{dx, s.in, nullptr}, stream);
  }
  detail::launch_gemm("linear_backward", s.out, s.in, s.N,
                      StridedMatrix{dy, 1, s.out},  // dy^T: element (m, k) is dy[k, m]
                      StridedMatrix{x, s.in, 1}, StoreRowMajor{dw, s.in, nullptr}, stream);
  if (db != nullptr) {
    LENET_LAUNCH(column_sums_kernel, detail::grid_1d(s.out, kColumnBlock), kColumnBlock, 0, stream,
                 s.N, s.out, dy, db);
  }
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
