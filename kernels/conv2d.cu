#include <lenet/kernels/conv2d.h>

#include "conv2d.cuh"
#include "gemm.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kChannelBlock = 256;

ConvInputPatch input_patch(const Conv2dShape& s, const float* x) {
  return ConvInputPatch{x, s.C, s.H, s.W, s.KH, s.KW, s.OH(), s.OW(), s.stride, s.pad};
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream) {
  s.check("conv2d_forward");
  check_not_null("conv2d_forward", "x", x);
  check_not_null("conv2d_forward", "w", w);
  check_not_null("conv2d_forward", "y", y);
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW();
  detail::launch_gemm("conv2d_forward", s.OC, s.N * P, K, StridedMatrix{w, K, 1},
                      ForwardPatch{input_patch(s, x)}, StoreConvOutput{y, b, s.OC, P}, stream);
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          cudaStream_t stream) {
  s.check("conv2d_backward_data");
  check_not_null("conv2d_backward_data", "dy", dy);
  check_not_null("conv2d_backward_data", "w", w);
  check_not_null("conv2d_backward_data", "dx", dx);
  const std::int64_t HW = s.H * s.W;
  detail::launch_gemm(
      "conv2d_backward_data", s.C, s.N * HW, s.OC * s.KH * s.KW,
      FilterByInputChannel{w, s.C, s.KH * s.KW},
      OutputGradAtTap{dy, s.OC, s.H, s.W, s.KH, s.KW, s.OH(), s.OW(), s.stride, s.pad},
      StoreInputGrad{dx, s.C, HW}, stream);
}

void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* db, cudaStream_t stream) {
  s.check("conv2d_backward_filter");
  check_not_null("conv2d_backward_filter", "x", x);
  check_not_null("conv2d_backward_filter", "dy", dy);
  check_not_null("conv2d_backward_filter", "dw", dw);
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW();
  detail::launch_gemm("conv2d_backward_filter", s.OC, K, s.N * P, OutputGradByChannel{dy, s.OC, P},
                      FilterPatch{input_patch(s, x)}, StoreRowMajor{dw, K, nullptr}, stream);
  if (db != nullptr) {
    LENET_CHECK(s.OC <= 2147483647, "conv2d_backward_filter: OC = " << s.OC << " exceeds a grid");
    LENET_LAUNCH(channel_sums_kernel<kChannelBlock>, static_cast<unsigned>(s.OC), kChannelBlock, 0,
                 stream, s.N, s.OC, P, dy, db);
  }
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
