// conv2d as implicit GEMM: the operands of gemm.cuh's tiled kernel are gathered from the NCHW
// tensors on the fly, never materialized. With K_ = C*KH*KW and P = OH*OW:
//   forward:         y[n, oc, oh, ow]    M = OC, N = N*P,      K = K_
//                    a = w as [OC, K_],  b(k, j) = x patch element k at output position j
//   backward data:   dx[n, c, h, w]      M = C,  N = N*H*W,    K = OC*KH*KW
//                    a(c, (oc,kh,kw)) = w[oc, c, kh, kw], b = dy at the output position that
//                    input (h, w) reached through tap (kh, kw), 0 where there is none
//   backward filter: dw[oc, c, kh, kw]   M = OC, N = K_,       K = N*P
//                    a(oc, (n,p)) = dy[n, oc, p], b((n,p), k) = x patch element k at (n,p)
//   bias gradient:   db[oc] = sum of dy[:, oc, :, :], one block per channel (tree reduction)
// All outputs are overwritten and every sum runs in a fixed order (deterministic).
#include <lenet/kernels/conv2d.h>

#include <cstdint>

#include "gemm.cuh"
#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

// ---- GEMM operands ----

// Element k = (c, kh, kw) of the input patch under output position j = (n, oh, ow); zero
// padding reads as 0.
struct ConvInputPatch {
  const float* x;
  std::int64_t C, H, W, KH, KW, OH, OW, stride, pad;

  __device__ float at(std::int64_t k, std::int64_t j) const {
    const std::int64_t c = k / (KH * KW), kh = (k / KW) % KH, kw = k % KW;
    const std::int64_t n = j / (OH * OW), oh = (j / OW) % OH, ow = j % OW;
    const std::int64_t h = oh * stride - pad + kh, w = ow * stride - pad + kw;
    if (h < 0 || h >= H || w < 0 || w >= W) return 0.0f;
    return x[((n * C + c) * H + h) * W + w];
  }
};

// b of the forward GEMM: (k, j) -> patch element k at output position j.
struct ForwardPatch {
  ConvInputPatch patch;
  __device__ float operator()(std::int64_t k, std::int64_t j) const { return patch.at(k, j); }
};

// b of the backward-filter GEMM: the same patches, indexed (output position, patch element).
struct FilterPatch {
  ConvInputPatch patch;
  __device__ float operator()(std::int64_t j, std::int64_t k) const { return patch.at(k, j); }
};

// y[n, oc, oh, ow] = v + b[oc] for GEMM output (oc, j = (n, oh, ow)); b may be null.
struct StoreConvOutput {
  float* y;
  const float* b;
  std::int64_t OC, P;  // P = OH*OW
  __device__ void operator()(std::int64_t oc, std::int64_t j, float v) const {
    const std::int64_t n = j / P, p = j % P;
    y[(n * OC + oc) * P + p] = b != nullptr ? v + b[oc] : v;
  }
};

// a of the backward-data GEMM: (c, k = (oc, kh, kw)) -> w[oc, c, kh, kw].
struct FilterByInputChannel {
  const float* w;
  std::int64_t C, KHW;  // KHW = KH*KW
  __device__ float operator()(std::int64_t c, std::int64_t k) const {
    const std::int64_t oc = k / KHW, r = k % KHW;
    return w[(oc * C + c) * KHW + r];
  }
};

// b of the backward-data GEMM: (k = (oc, kh, kw), j = (n, h, w)) -> dy[n, oc, oh, ow] for the
// output position whose window put tap (kh, kw) on input (h, w), or 0 when none did (the tap
// falls between strides or outside the output).
struct OutputGradAtTap {
  const float* dy;
  std::int64_t OC, H, W, KH, KW, OH, OW, stride, pad;
  __device__ float operator()(std::int64_t k, std::int64_t j) const {
    const std::int64_t oc = k / (KH * KW), kh = (k / KW) % KH, kw = k % KW;
    const std::int64_t n = j / (H * W), h = (j / W) % H, w = j % W;
    const std::int64_t th = h + pad - kh, tw = w + pad - kw;
    if (th < 0 || tw < 0 || th % stride != 0 || tw % stride != 0) return 0.0f;
    const std::int64_t oh = th / stride, ow = tw / stride;
    if (oh >= OH || ow >= OW) return 0.0f;
    return dy[((n * OC + oc) * OH + oh) * OW + ow];
  }
};

// a of the backward-filter GEMM: (oc, j = (n, p)) -> dy[n, oc, p].
struct OutputGradByChannel {
  const float* dy;
  std::int64_t OC, P;
  __device__ float operator()(std::int64_t oc, std::int64_t j) const {
    return dy[((j / P) * OC + oc) * P + j % P];
  }
};

// dx[n, c, h, w] = v for GEMM output (c, j = (n, h, w)).
struct StoreInputGrad {
  float* dx;
  std::int64_t C, HW;
  __device__ void operator()(std::int64_t c, std::int64_t j, float v) const {
    dx[((j / HW) * C + c) * HW + j % HW] = v;
  }
};

// ---- bias gradient ----

constexpr int kChannelBlock = 256;

// db[oc] = sum over n and p of dy[n, oc, p]. One block per channel: each thread sums a fixed
// strided subset, then a tree reduction in shared memory; the order never changes.
template <int kBlock>
__global__ void channel_sums_kernel(std::int64_t N, std::int64_t OC, std::int64_t P,
                                    const float* dy, float* db) {
  __shared__ float partial[kBlock];
  const std::int64_t oc = blockIdx.x;
  float sum = 0.0f;
  for (std::int64_t i = threadIdx.x; i < N * P; i += kBlock) {
    sum += dy[((i / P) * OC + oc) * P + i % P];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[oc] = partial[0];
}

ConvInputPatch input_patch(const Conv2dShape& s, const float* x) {
  return ConvInputPatch{x, s.C, s.H, s.W, s.KH, s.KW, s.OH(), s.OW(), s.stride, s.pad};
}

}  // namespace

// ---- launchers ----

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream) {
  s.check("conv2d_forward");
  LENET_CHECK_NOT_NULL("conv2d_forward", x, w, y);
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW();
  detail::launch_gemm("conv2d_forward", s.OC, s.N * P, K, StridedMatrix{w, K, 1},
                      ForwardPatch{input_patch(s, x)}, StoreConvOutput{y, b, s.OC, P}, stream);
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          cudaStream_t stream) {
  s.check("conv2d_backward_data");
  LENET_CHECK_NOT_NULL("conv2d_backward_data", dy, w, dx);
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
  LENET_CHECK_NOT_NULL("conv2d_backward_filter", x, dy, dw);
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
