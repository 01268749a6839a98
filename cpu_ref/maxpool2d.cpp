// Max pooling by direct loops: each output scans its K x K window in row-major order, with the
// rule of formulas::pool_takes (first maximum wins, NaN wins and stays).
#include <lenet/cpu_ref/maxpool2d.h>

#include <lenet/cpu_ref/formulas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

template <typename T>
void maxpool2d_forward(const Pool2dShape& s, const T* x, T* y, std::int32_t* idx) {
  constexpr const char* kOp = "maxpool2d_forward";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, y, idx);
  const std::int64_t OH = s.OH(), OW = s.OW();
  for (std::int64_t plane = 0; plane < s.N * s.C; ++plane) {
    formulas::maxpool2d_plane(s, x + plane * s.H * s.W, y + plane * OH * OW, idx + plane * OH * OW);
  }
}

template <typename T>
void maxpool2d_backward(const Pool2dShape& s, const T* dy, const std::int32_t* idx, T* dx) {
  constexpr const char* kOp = "maxpool2d_backward";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, dy, idx, dx);
  const std::int64_t OH = s.OH(), OW = s.OW(), plane_size = s.H * s.W;
  const std::int64_t y_size = s.N * s.C * OH * OW;
  // Validate every index before writing, so a bad one leaves dx untouched.
  for (std::int64_t i = 0; i < y_size; ++i) {
    LENET_CHECK(idx[i] >= 0 && idx[i] < plane_size,
                kOp << ": idx[" << i << "] = " << idx[i] << " is outside the plane [0, H*W = "
                    << plane_size << ")");
  }
  std::fill(dx, dx + s.N * s.C * plane_size, T(0));
  for (std::int64_t plane = 0; plane < s.N * s.C; ++plane) {
    for (std::int64_t o = 0; o < OH * OW; ++o) {
      const std::int64_t i = plane * OH * OW + o;
      dx[plane * plane_size + idx[i]] += dy[i];
    }
  }
}

template void maxpool2d_forward<float>(const Pool2dShape&, const float*, float*, std::int32_t*);
template void maxpool2d_forward<double>(const Pool2dShape&, const double*, double*,
                                        std::int32_t*);
template void maxpool2d_backward<float>(const Pool2dShape&, const float*, const std::int32_t*,
                                        float*);
template void maxpool2d_backward<double>(const Pool2dShape&, const double*, const std::int32_t*,
                                         double*);

}  // namespace lenet::cpu_ref
