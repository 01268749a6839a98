// 2-D convolution (cross-correlation, as PyTorch's Conv2d) with stride and zero padding.
//
//   y[n, oc, oh, ow] = b[oc] + sum over c, kh, kw of
//                      w[oc, c, kh, kw] * x[n, c, oh*stride - pad + kh, ow*stride - pad + kw]
// where x outside [0, H) x [0, W) reads as zero; OH = (H + 2*pad - KH) / stride + 1.
//
// T is float or double. Outputs are overwritten, never accumulated, and must not overlap the
// inputs. Each call validates s (Conv2dShape::check) and the pointers, throwing
// std::invalid_argument that names the function and the argument.
#pragma once

#include <lenet/cpu_ref/non_deduced.h>
#include <lenet/shapes.h>

namespace lenet::cpu_ref {

// x: [N, C, H, W]; w: [OC, C, KH, KW]; b: [OC] or null (no bias); y: [N, OC, OH, OW].
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const NonDeduced<T>* b, T* y);

// dx = dL/dx given dy = dL/dy. dy: [N, OC, OH, OW]; w: [OC, C, KH, KW]; dx: [N, C, H, W].
template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx);

// dw = dL/dw summed over the batch, db = dL/db (sums of dy per output channel).
// x: [N, C, H, W]; dy: [N, OC, OH, OW]; dw: [OC, C, KH, KW]; db: [OC] or null (not wanted).
template <typename T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                            NonDeduced<T>* db);

}  // namespace lenet::cpu_ref
