// maxpool2d, K x K window moved by stride, no padding, NCHW.
//   forward:  y[n, c, oh, ow] = max of the window; idx = h*W + w of the winner inside the (n, c)
//             plane. The first maximum in row-major window order wins; a NaN wins over any
//             number (the first NaN), so NaN propagates (maxpool.cuh). One thread per output.
//   backward: dx[n, c, h, w] = sum of dy[n, c, oh, ow] over the windows that contain (h, w) and
//             chose it. One thread per input element gathers (no atomics, deterministic); dx
//             is overwritten, so elements no window chose get 0. idx values outside the plane
//             match no element and are ignored.
#include <lenet/kernels/maxpool2d.h>

#include <cstdint>

#include "launch.h"
#include "maxpool.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

__global__ void maxpool2d_forward_kernel(std::int64_t total, std::int64_t H, std::int64_t W,
                                         std::int64_t K, std::int64_t stride, std::int64_t OH,
                                         std::int64_t OW, const float* x, float* y,
                                         std::int32_t* idx) {
  for (const std::int64_t i : grid_stride(total)) {
    const std::int64_t plane = i / (OH * OW), oh = (i / OW) % OH, ow = i % OW;
    const float* xp = x + plane * H * W;
    std::int64_t best_at = (oh * stride) * W + ow * stride;
    float best = xp[best_at];
    for (std::int64_t kh = 0; kh < K; ++kh) {
      for (std::int64_t kw = 0; kw < K; ++kw) {
        const std::int64_t at = (oh * stride + kh) * W + ow * stride + kw;
        const float v = xp[at];
        if (pool_takes(v, best)) {
          best = v;
          best_at = at;
        }
      }
    }
    y[i] = best;
    idx[i] = static_cast<std::int32_t>(best_at);
  }
}

__global__ void maxpool2d_backward_kernel(std::int64_t total, std::int64_t H, std::int64_t W,
                                          std::int64_t K, std::int64_t stride, std::int64_t OH,
                                          std::int64_t OW, const float* dy,
                                          const std::int32_t* idx, float* dx) {
  for (const std::int64_t i : grid_stride(total)) {
    const std::int64_t plane = i / (H * W), h = (i / W) % H, w = i % W;
    // Windows containing row h start at oh*stride in (h - K, h]: oh in [oh_lo, oh_hi].
    const std::int64_t oh_lo = h - K + 1 > 0 ? (h - K + 1 + stride - 1) / stride : 0;
    const std::int64_t ow_lo = w - K + 1 > 0 ? (w - K + 1 + stride - 1) / stride : 0;
    const std::int64_t oh_hi = h / stride < OH - 1 ? h / stride : OH - 1;
    const std::int64_t ow_hi = w / stride < OW - 1 ? w / stride : OW - 1;
    const std::int32_t self = static_cast<std::int32_t>(h * W + w);
    float sum = 0.0f;
    for (std::int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      for (std::int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const std::int64_t o = (plane * OH + oh) * OW + ow;
        if (idx[o] == self) sum += dy[o];
      }
    }
    dx[i] = sum;
  }
}

}  // namespace

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, std::int32_t* idx,
                       cudaStream_t stream) {
  s.check("maxpool2d_forward");
  LENET_CHECK_NOT_NULL("maxpool2d_forward", x, y, idx);
  const std::int64_t total = s.y_size();
  LENET_LAUNCH(maxpool2d_forward_kernel, detail::grid_1d(total, kBlockSize), kBlockSize, 0, stream,
               total, s.H, s.W, s.K, s.stride, s.OH(), s.OW(), x, y, idx);
}

void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx, float* dx,
                        cudaStream_t stream) {
  s.check("maxpool2d_backward");
  LENET_CHECK_NOT_NULL("maxpool2d_backward", dy, idx, dx);
  const std::int64_t total = s.x_size();
  LENET_LAUNCH(maxpool2d_backward_kernel, detail::grid_1d(total, kBlockSize), kBlockSize, 0,
               stream, total, s.H, s.W, s.K, s.stride, s.OH(), s.OW(), dy, idx, dx);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
