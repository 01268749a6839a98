// Linear layer on the tiled GEMM (gemm.cuh):
//   forward:  y[N, out]  = x[N, in] w[out, in]^T + b   (M = N,   N = out,    K = in)
//   backward: dx[N, in]  = dy[N, out] w[out, in]       (M = N,   N = in,     K = out)
//             dw[out, in] = dy[N, out]^T x[N, in]      (M = out, N = in + 1, K = N)
//             and db[out] = column sums of dy: column `in` of b is ones (WithOnesColumn), so
//             column `in` of the product is db. The sum over the batch is split over slices
//             when it is long enough, the partials summed in a second pass (split-K).
// Every output is overwritten; sums run in a fixed order, so gradients are deterministic.
// The fused forms apply ReLU to y (linear_forward_relu) or ReLU's backward to dx, through the
// ReLU whose output is x (linear_backward_relu), in the GEMM's store (gemm.cuh's Epilogue).
#include <lenet/kernels/linear.h>

#include <cstddef>
#include <cstdint>

#include "gemm.cuh"
#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

// Shape check and 32-bit index check (gemm.cuh) of every launcher.
void check_linear(const char* op, const LinearShape& s) {
  s.check(op);
  detail::check_32bit_indices(op, {{"x", s.x_size()}, {"w", s.w_size()}, {"y", s.y_size()}});
}

}  // namespace

namespace {

void launch_linear_forward(const char* op, const LinearShape& s, const float* x, const float* w,
                           const float* b, float* y, Epilogue epilogue, cudaStream_t stream) {
  check_linear(op, s);
  LENET_CHECK_NOT_NULL(op, x, w, y);
  detail::launch_gemm(op, s.N, s.out, s.in, StridedMatrix{x, s.in, 1},
                      SwappedLoads<StridedMatrix>{{w, 1, s.in}},  // w^T: (k, n) is w[n, k]
                      StoreRowMajor{y, s.out, b, epilogue}, stream);
}

// epilogue kReluGradient: dx through the ReLU whose output is x.
void launch_linear_backward(const char* op, const LinearShape& s, const float* dy, const float* x,
                            const float* w, float* dx, float* dw, float* db, void* workspace,
                            std::size_t workspace_bytes, Epilogue epilogue, cudaStream_t stream) {
  check_linear(op, s);
  LENET_CHECK_NOT_NULL(op, dy, x, w, dw);
  if (epilogue == Epilogue::kReluGradient) LENET_CHECK_NOT_NULL(op, dx);
  if (dx != nullptr) {
    detail::launch_gemm(op, s.N, s.in, s.out, StridedMatrix{dy, s.out, 1},
                        StridedMatrix{w, s.in, 1}, StoreRowMajor{dx, s.in, nullptr, epilogue, x},
                        stream);
  }
  // dw = dy^T x: a(m, k) is dy[k, m].
  detail::launch_weight_gradient(op, s.out, s.in, s.N, SwappedLoads<StridedMatrix>{{dy, 1, s.out}},
                                 StridedMatrix{x, s.in, 1}, dw, db, workspace, workspace_bytes,
                                 stream);
}

}  // namespace

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream) {
  launch_linear_forward("linear_forward", s, x, w, b, y, Epilogue::kNone, stream);
}

void linear_forward_relu(const LinearShape& s, const float* x, const float* w, const float* b,
                         float* y, cudaStream_t stream) {
  launch_linear_forward("linear_forward_relu", s, x, w, b, y, Epilogue::kRelu, stream);
}

void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream) {
  launch_linear_backward("linear_backward", s, dy, x, w, dx, dw, db, workspace, workspace_bytes,
                         Epilogue::kNone, stream);
}

void linear_backward_relu(const LinearShape& s, const float* dy, const float* x, const float* w,
                          float* dx, float* dw, float* db, void* workspace,
                          std::size_t workspace_bytes, cudaStream_t stream) {
  launch_linear_backward("linear_backward_relu", s, dy, x, w, dx, dw, db, workspace,
                         workspace_bytes, Epilogue::kReluGradient, stream);
}

std::size_t linear_backward_workspace_bytes(const LinearShape& s) {
  s.check("linear_backward_workspace_bytes");
  return detail::weight_gradient_split(s.out, s.in, s.N).workspace_bytes;
}

static_assert(kLinearBackwardMaxWorkspaceBytes == detail::kSplitWorkspaceBound,
              "linear.h's workspace bound is gemm.cuh's");

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
