#include <lenet/kernels/maxpool2d.h>

#include "launch.h"
#include "maxpool2d.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {
constexpr int kBlockSize = 256;
}

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, std::int32_t* idx,
                       cudaStream_t stream) {
  s.check("maxpool2d_forward");
  check_not_null("maxpool2d_forward", "x", x);
  check_not_null("maxpool2d_forward", "y", y);
  check_not_null("maxpool2d_forward", "idx", idx);
  const std::int64_t total = s.y_size();
  LENET_LAUNCH(maxpool2d_forward_kernel, detail::grid_1d(total, kBlockSize), kBlockSize, 0, stream,
               total, s.H, s.W, s.K, s.stride, s.OH(), s.OW(), x, y, idx);
}

void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx, float* dx,
                        cudaStream_t stream) {
  s.check("maxpool2d_backward");
  check_not_null("maxpool2d_backward", "dy", dy);
  check_not_null("maxpool2d_backward", "idx", idx);
  check_not_null("maxpool2d_backward", "dx", dx);
  const std::int64_t total = s.x_size();
  LENET_LAUNCH(maxpool2d_backward_kernel, detail::grid_1d(total, kBlockSize), kBlockSize, 0,
               stream, total, s.H, s.W, s.K, s.stride, s.OH(), s.OW(), dy, idx, dx);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
