// ReLU's rule, forward and backward, written once for the kernels that apply it: relu.cu's
// elementwise kernels, and the GEMM stores of the fused launchers (conv2d_forward_relu,
// conv2d_backward_data_relu, linear_forward_relu, linear_backward_relu), which give bitwise
// what the op followed by relu_forward or relu_backward gives.
#pragma once

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// max(v, 0) with NaN propagated as in PyTorch: v > 0 is false for NaN, so v itself is kept then.
__device__ inline float relu_value(float v) { return (v > 0.0f || v != v) ? v : 0.0f; }

// The gradient through a ReLU whose output is y: dy where y > 0, else 0 (0 at y == 0, as
// PyTorch; the output and the input of a ReLU are positive at the same places).
__device__ inline float relu_gradient(float dy, float y) { return y > 0.0f ? dy : 0.0f; }

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
