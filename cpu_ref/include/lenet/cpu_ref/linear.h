// Fully connected layer, as PyTorch's Linear: y = x w^T + b.
//
//   y[n, o]  = b[o] + sum over i of x[n, i] * w[o, i]
//   dx[n, i] = sum over o of dy[n, o] * w[o, i]      (dx = dy w)
//   dw[o, i] = sum over n of dy[n, o] * x[n, i]      (dw = dy^T x)
//   db[o]    = sum over n of dy[n, o]
//
// T is float or double. Outputs are overwritten, never accumulated, and must not overlap the
// inputs. Each call validates s (LinearShape::check) and the pointers, throwing
// std::invalid_argument that names the function and the argument.
#pragma once

#include <lenet/cpu_ref/non_deduced.h>
#include <lenet/shapes.h>

namespace lenet::cpu_ref {

// x: [N, in]; w: [out, in]; b: [out] or null (no bias); y: [N, out].
template <typename T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const NonDeduced<T>* b, T* y);

// dy: [N, out]; x: [N, in]; w: [out, in]; dx: [N, in] or null (not wanted, e.g. the first
// layer); dw: [out, in]; db: [out] or null (not wanted).
template <typename T>
void linear_backward(const LinearShape& s, const T* dy, const T* x, const T* w,
                     NonDeduced<T>* dx, T* dw, NonDeduced<T>* db);

}  // namespace lenet::cpu_ref
