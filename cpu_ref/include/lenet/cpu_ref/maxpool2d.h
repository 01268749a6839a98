// 2-D max pooling over a K x K window moved by stride, no padding, with argmax indices
// (as PyTorch's MaxPool2d with return_indices=True).
//
//   y[n, c, oh, ow]   = max of x[n, c, oh*stride + i, ow*stride + j] for 0 <= i, j < K
//   idx[n, c, oh, ow] = h*W + w of that maximum, its position inside the (n, c) plane
// Ties: the first maximum in row-major window order wins. NaN propagates: the first NaN in
// the window wins over every number.
//
// T is float or double. Outputs are overwritten and must not overlap the inputs. Each call
// validates s (Pool2dShape::check) and the pointers, throwing std::invalid_argument that
// names the function and the argument.
#pragma once

#include <cstdint>

#include <lenet/shapes.h>

namespace lenet::cpu_ref {

// x: [N, C, H, W]; y, idx: [N, C, OH, OW].
template <typename T>
void maxpool2d_forward(const Pool2dShape& s, const T* x, T* y, std::int32_t* idx);

// dx zeroed, then dx[n, c, idx[n, c, oh, ow]] += dy[n, c, oh, ow]: a sum where windows
// overlap (stride < K). dy, idx: [N, C, OH, OW]; dx: [N, C, H, W]. An index outside
// [0, H*W) throws.
template <typename T>
void maxpool2d_backward(const Pool2dShape& s, const T* dy, const std::int32_t* idx, T* dx);

}  // namespace lenet::cpu_ref
