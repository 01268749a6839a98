// ReLU forward and backward, elementwise.
//
//   relu_forward:  y[i]  = x[i] > 0 ? x[i] : 0, and NaN stays NaN (as PyTorch)
//   relu_backward: dx[i] = x[i] > 0 ? dy[i] : 0 (zero at x == 0 and at NaN, as PyTorch)
//
// T is float or double. Outputs are overwritten; y may equal x and dx may equal dy (in place).
// n == 0 is a no-op and then null pointers are fine.
#pragma once

#include <cstdint>

namespace lenet::cpu_ref {

// x, y: [n].
template <typename T>
void relu_forward(std::int64_t n, const T* x, T* y);

// dy, x, dx: [n].
template <typename T>
void relu_backward(std::int64_t n, const T* dy, const T* x, T* dx);

}  // namespace lenet::cpu_ref
