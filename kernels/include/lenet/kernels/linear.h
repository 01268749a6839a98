// Fully connected layer, forward and backward, on device buffers.
#pragma once

#include <cstddef>

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y = x w^T + b.  x: [N, in], w: [out, in], b: [out] or null (no bias), y: [N, out] (overwritten).
void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream = nullptr);

// dx = dy w; dw = dy^T x; db = column sums of dy. All overwritten, deterministic.
// dy: [N, out], x: [N, in], w: [out, in]; dx: [N, in] or null (not needed for a first layer),
// dw: [out, in], db: [out] or null.
//
// dw and db sum over the batch; a long batch is split into slices computed by separate blocks
// and summed in a second launch in a fixed order, with partials in the caller's workspace, as
// conv2d_backward_filter does (conv2d.h says how): workspace_bytes at least
// linear_backward_workspace_bytes(s) (0 for a batch too short to split, workspace may then be
// null), never more than kLinearBackwardMaxWorkspaceBytes. Every tensor must have at most
// 2^30 - 1 elements (32-bit indices); beyond that, and for a too small workspace, the launchers
// throw std::invalid_argument.
void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream = nullptr);

// The fused forms a training step runs, bitwise what the op followed by relu_forward or
// relu_backward gives: linear_forward with ReLU on y; linear_backward with dx (not null here)
// through the ReLU whose output is x (dx = 0 where x <= 0), x being a ReLU's output, directly or
// through a max-pool (conv2d.h).
void linear_forward_relu(const LinearShape& s, const float* x, const float* w, const float* b,
                         float* y, cudaStream_t stream = nullptr);
void linear_backward_relu(const LinearShape& s, const float* dy, const float* x, const float* w,
                          float* dx, float* dw, float* db, void* workspace,
                          std::size_t workspace_bytes, cudaStream_t stream = nullptr);

// The workspace linear_backward needs for shape s, in bytes (0: none).
std::size_t linear_backward_workspace_bytes(const LinearShape& s);

// No shape needs more workspace than this (512 KiB).
inline constexpr std::size_t kLinearBackwardMaxWorkspaceBytes = 512 * 1024;

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
