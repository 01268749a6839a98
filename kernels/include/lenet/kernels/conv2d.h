// 2-D convolution (cross-correlation, as PyTorch's Conv2d) on device buffers, NCHW.
// Every tensor must have at most 2^30 - 1 elements (the kernels index in 32 bits): the
// launchers throw std::invalid_argument beyond that.
#pragma once

#include <cstddef>
#include <cstdint>

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y = conv(x, w) + b.  x: [N, C, H, W], w: [OC, C, KH, KW], b: [OC] or null,
// y: [N, OC, OH, OW] (overwritten). Stride and zero padding come from s.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream = nullptr);

// dx = gradient of the loss with respect to x.  dy: [N, OC, OH, OW], w: [OC, C, KH, KW],
// dx: [N, C, H, W] (overwritten).
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          cudaStream_t stream = nullptr);

// The fused forms a training step runs, one launch each, bitwise what the two launches give:
// conv2d_forward then relu_forward on y; and conv2d_backward_data then relu_backward with x as
// the ReLU's output (dx = 0 where x <= 0), for an x [N, C, H, W] that a ReLU produced, directly
// or through a max-pool (which keeps the sign of what it selects, so the mask is the same).
void conv2d_forward_relu(const Conv2dShape& s, const float* x, const float* w, const float* b,
                         float* y, cudaStream_t stream = nullptr);
void conv2d_backward_data_relu(const Conv2dShape& s, const float* dy, const float* w,
                               const float* x, float* dx, cudaStream_t stream = nullptr);

// A convolution layer's forward pass in one launch, as the training step runs it: the y and idx
// of maxpool2d_forward(p, ...) on the output of conv2d_forward_relu(c, x, w, b, ...),
// bitwise, without storing that output. c is the convolution, p the pooling of its output:
// p.N == c.N, p.C == c.OC, p.H == c.OH(), p.W == c.OW(). x: [N, C, H, W], w: [OC, C, KH, KW],
// b: [OC] or null; y and idx: [N, OC, PH, PW] (overwritten), idx the position oh*OW + ow of each
// maximum in its (n, oc) plane of the convolution's output. Every tensor, the convolution's
// output included, must have at most 2^30 - 1 elements (32-bit indices).
void conv2d_relu_maxpool2d_forward(const Conv2dShape& c, const Pool2dShape& p, const float* x,
                                   const float* w, const float* b, float* y, std::int32_t* idx,
                                   cudaStream_t stream = nullptr);

// dw and db, overwritten (not accumulated), deterministic.  x: [N, C, H, W],
// dy: [N, OC, OH, OW], dw: [OC, C, KH, KW], db: [OC] or null.
//
// The sums run over N*OH*OW, far longer than the output is large, so the launcher splits them
// into slices computed by separate blocks and adds the slices' partial sums in a second launch,
// in a fixed order (docs/kernels.md, "Split-K"). The partials need scratch device memory, which
// the caller provides (a launcher never allocates): workspace, of workspace_bytes, at least
// conv2d_backward_filter_workspace_bytes(s). That is 0 when the shape is not split (workspace
// may then be null) and never more than kConv2dBackwardFilterMaxWorkspaceBytes, so one buffer
// of that size serves every shape, allocated once, before a CUDA graph capture for instance.
// A null or smaller workspace than the shape needs throws std::invalid_argument. The launches
// use the workspace in stream order: calls on one stream may share it, calls on concurrent
// streams need one each. The results depend on the shape only, not on the workspace's size.
// Why not a buffer the library keeps and grows: cudaMalloc is refused while a stream is being
// captured into a CUDA graph, a grown buffer would leave captured graphs pointing at freed
// memory, and concurrent streams would race on it.
void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* db, void* workspace, std::size_t workspace_bytes,
                            cudaStream_t stream = nullptr);

// The workspace conv2d_backward_filter needs for shape s, in bytes (0: none).
std::size_t conv2d_backward_filter_workspace_bytes(const Conv2dShape& s);

// No shape needs more workspace than this (512 KiB).
inline constexpr std::size_t kConv2dBackwardFilterMaxWorkspaceBytes = 512 * 1024;

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
