// conv2d as implicit GEMM: the operands of gemm.cuh's tiled kernel are gathered from the NCHW
// tensors on the fly, never materialized. With K_ = C*KH*KW and P = OH*OW:
//   forward:         y[n, oc, oh, ow]    M = OC, N = N*P,      K = K_
//                    a = w as [OC, K_],  b(k, j) = x patch element k at output position j
//   backward data:   dx[n, c, h, w]      M = C,  N = N*H*W,    K = OC*KH*KW
//                    a(c, (oc,kh,kw)) = w[oc, c, kh, kw], b = dy at the output position that
//                    input (h, w) reached through tap (kh, kw), 0 where there is none
//   backward filter: dw[oc, c, kh, kw]   M = OC, N = K_ + 1,   K = N*P
//                    and db[oc]          a(oc, (n,p)) = dy[n, oc, p], b((n,p), k) = x patch
//                                        element k at (n,p) for k < K_; column K_ of b is ones,
//                                        so column K_ of the product is db (gemm.cuh's
//                                        WithOnesColumn). The long reduction is split over
//                                        slices and the partials summed in a second pass
//                                        (gemm.cuh's split-K).
// All outputs are overwritten and every sum runs in a fixed order (deterministic). The fused
// forms apply ReLU (conv2d_forward_relu) or ReLU's backward (conv2d_backward_data_relu) in the
// GEMM's store, with relu.cuh's rule.
//
// conv2d_relu_maxpool2d_forward, the whole forward pass of a convolution layer as the training
// step runs it, is a direct convolution instead: one thread per
// pooled output y[n, oc, ph, pw]. For each position (oh, ow) of its pooling window, in
// row-major order, it computes the convolution's output there as the GEMM does (the sum over
// (c, kh, kw) in that order, from 0, zero padding read as 0), adds the bias, applies ReLU and
// offers the value to the window's maximum (maxpool.cuh). So y and idx are bitwise those of
// conv2d_forward_relu followed by maxpool2d_forward, while the convolution's output, K*K times
// the pooled tensor's size, is never written nor read back, and the layer is one launch, not
// two. Work per thread: K*K*C*KH*KW multiply-adds (LeNet: 100 in conv1, 600 in conv2), inputs
// and weights read through the cache: neighbouring threads share most of their input windows,
// and a (n, oc) plane's threads the same weights.
//
// Index math is 32-bit (the launchers check the sizes: gemm.cuh). A GEMM thread keeps one
// index fixed (its row of a, its column of b) and walks the other, the reduction index k, a
// tile at a time. The fixed one is decomposed into its coordinates once per thread; k is kept
// as its digits, (c, kh, kw), (oc, kh, kw) or (n, oh, ow), and stepped by kGemmTile with carries
// (Radix below): no division inside the loop over k.
#include <lenet/kernels/conv2d.h>

#include <cstddef>
#include <cstdint>

#include "gemm.cuh"
#include "launch.h"
#include "maxpool.cuh"
#include "relu.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

// ---- index digits ----

// A flat index i = (hi * mid_radix + mid) * lo_radix + lo held as its digits, e.g. a patch
// element k = (c, kh, kw) with radices (KH, KW), or an output position j = (n, oh, ow) with
// radices (OH, OW).
struct Digits {
  int hi, mid, lo;
};

// The radices of one such index, and kGemmTile written in them (step), made on the host by
// radix(): a cursor splits its start index once and then advances by step with two carries.
struct Radix {
  int mid, lo;
  Digits step;

  __device__ Digits split(int i) const { return {i / (mid * lo), (i / lo) % mid, i % lo}; }
  // d += kGemmTile. A digit plus its step (plus a carry) stays below twice its radix, so one
  // subtraction carries it; the top digit grows freely (past the end no element is loaded).
  __device__ void advance(Digits& d) const {
    d.lo += step.lo;
    const int carry_lo = d.lo >= lo ? 1 : 0;
    d.lo -= carry_lo * lo;
    d.mid += step.mid + carry_lo;
    const int carry_mid = d.mid >= mid ? 1 : 0;
    d.mid -= carry_mid * mid;
    d.hi += step.hi + carry_mid;
  }
};

Radix radix(std::int64_t mid, std::int64_t lo) {
  const int m = static_cast<int>(mid), l = static_cast<int>(lo);
  return {m, l, {kGemmTile / (m * l), (kGemmTile / l) % m, kGemmTile % l}};
}

// ---- GEMM operands (gemm.cuh says what row, column, load and advance mean) ----

// x[n, c, h, w], or 0 in the zero padding (h or w outside the input).
struct PaddedInput {
  const float* x;
  int C, H, W;
  __device__ float at(int n, int c, int h, int w) const {
    if (h < 0 || h >= H || w < 0 || w >= W) return 0.0f;
    return x[((n * C + c) * H + h) * W + w];
  }
};

// The input patches: element k = (c, kh, kw) of the patch under output position
// j = (n, oh, ow) is x[n, c, oh*stride - pad + kh, ow*stride - pad + kw]. The b operand of two
// GEMMs, which reduce over different indices:
//   forward:         b(k, j), k walked (kWalkOutput false)
//   backward filter: b(j, k), j walked (kWalkOutput true)
// A column cursor holds both indices as digits and steps the reduction's.
template <bool kWalkOutput>
struct Patches {
  PaddedInput x;
  Radix tap, output;  // k: radices (KH, KW); j: (OH, OW)
  int stride, pad;
  struct Cursor {
    Digits k, j;  // (c, kh, kw), (n, oh, ow)
  };
  __device__ Cursor column(int reduced, int fixed) const {
    return kWalkOutput ? Cursor{tap.split(fixed), output.split(reduced)}
                       : Cursor{tap.split(reduced), output.split(fixed)};
  }
  __device__ float load(const Cursor& c) const {
    return x.at(c.j.hi, c.k.hi, c.j.mid * stride - pad + c.k.mid,
                c.j.lo * stride - pad + c.k.lo);
  }
  __device__ void advance(Cursor& c) const {
    if (kWalkOutput) {
      output.advance(c.j);
    } else {
      tap.advance(c.k);
    }
  }
};

// A 4-D tensor t[D0, D1, D2, D3] read as the matrix [D1, D0*D2*D3]: row i1, column
// k = (i0, i2, i3) is t[i0, i1, i2, i3]. The a operand of two GEMMs:
//   backward filter: dy[N, OC, OH, OW] as [OC, N*OH*OW], row oc, k = (n, oh, ow)
//   backward data:   w[OC, C, KH, KW] as [C, OC*KH*KW],  row c,  k = (oc, kh, kw)
// A row cursor keeps i1 and walks k.
struct ChannelRows {
  const float* t;
  int D1;
  Radix k_radix;  // (D2, D3)
  struct Cursor {
    int i1;
    Digits k;  // (i0, i2, i3)
  };
  __device__ Cursor row(int i1, int k) const { return {i1, k_radix.split(k)}; }
  __device__ float load(const Cursor& c) const {
    return t[((c.k.hi * D1 + c.i1) * k_radix.mid + c.k.mid) * k_radix.lo + c.k.lo];
  }
  __device__ void advance(Cursor& c) const { k_radix.advance(c.k); }
};

// b of the backward-data GEMM: (k = (oc, kh, kw), j = (n, h, w)) -> dy[n, oc, oh, ow] for the
// output position whose window put tap (kh, kw) on input (h, w), or 0 when none did (the tap
// falls between strides or outside the output). A column cursor keeps (n, h + pad, w + pad)
// and walks k.
struct OutputGradAtTap {
  const float* dy;
  int OC, OH, OW, stride;
  Radix tap, input;  // k: (KH, KW); j: (H, W)
  int pad;
  struct Cursor {
    int n, hp, wp;  // h + pad, w + pad
    Digits k;       // (oc, kh, kw)
  };
  __device__ Cursor column(int k, int j) const {
    const Digits i = input.split(j);
    return {i.hi, i.mid + pad, i.lo + pad, tap.split(k)};
  }
  __device__ float load(const Cursor& c) const {
    int oh = c.hp - c.k.mid, ow = c.wp - c.k.lo;  // times stride, when a window put it there
    if (oh < 0 || ow < 0) return 0.0f;
    if (stride != 1) {  // stride 1 (LeNet's) needs no division
      if (oh % stride != 0 || ow % stride != 0) return 0.0f;
      oh /= stride;
      ow /= stride;
    }
    if (oh >= OH || ow >= OW) return 0.0f;
    return dy[((c.n * OC + c.k.hi) * OH + oh) * OW + ow];
  }
  __device__ void advance(Cursor& c) const { tap.advance(c.k); }
};

// y[n, oc, oh, ow] = v + b[oc] for GEMM output (oc, j = (n, oh, ow)), through ReLU when relu
// is set; b may be null.
struct StoreConvOutput {
  float* y;
  const float* b;
  int OC, P;  // P = OH*OW
  bool relu;
  __device__ void operator()(int oc, int j, float v) const {
    const int n = j / P, p = j % P;
    if (b != nullptr) v += b[oc];
    y[(n * OC + oc) * P + p] = relu ? relu_value(v) : v;
  }
};

// dx[n, c, h, w] = v for GEMM output (c, j = (n, h, w)), or when x is not null, the gradient
// through the ReLU whose output x [N, C, H, W] is (relu_gradient(v, x[n, c, h, w])).
struct StoreInputGrad {
  float* dx;
  int C, HW;
  const float* x;
  __device__ void operator()(int c, int j, float v) const {
    const int i = ((j / HW) * C + c) * HW + j % HW;
    dx[i] = x != nullptr ? relu_gradient(v, x[i]) : v;
  }
};

// The shape's sizes as ints, after checking that they fit (gemm.cuh).
struct ConvSizes {
  int N, C, H, W, OC, KH, KW, OH, OW, stride, pad;
};

ConvSizes conv_sizes(const char* op, const Conv2dShape& s) {
  s.check(op);
  detail::check_32bit_indices(op, {{"x", s.x_size()}, {"w", s.w_size()}, {"y", s.y_size()}});
  const auto i = [](std::int64_t v) { return static_cast<int>(v); };
  return {i(s.N),  i(s.C),    i(s.H),    i(s.W),      i(s.OC), i(s.KH),
          i(s.KW), i(s.OH()), i(s.OW()), i(s.stride), i(s.pad)};
}

PaddedInput padded_input(const ConvSizes& z, const float* x) { return {x, z.C, z.H, z.W}; }

// ---- conv2d + bias + ReLU + max-pool in one kernel ----

constexpr int kConvPoolBlockSize = 256;

struct ConvPoolSizes {
  int N, C, H, W, OC, KH, KW, OH, OW, stride, pad;  // the convolution
  int K, pool_stride, PH, PW;                        // the pooling of its output
};

__global__ void conv2d_relu_maxpool2d_kernel(ConvPoolSizes z, const float* x, const float* w,
                                             const float* b, float* y, std::int32_t* idx) {
  const int total = z.N * z.OC * z.PH * z.PW;
  for (const std::int64_t e : grid_stride(total)) {
    const int i = static_cast<int>(e);
    const int pw = i % z.PW, ph = (i / z.PW) % z.PH;
    const int oc = (i / (z.PW * z.PH)) % z.OC, n = i / (z.PW * z.PH * z.OC);
    const float* filter = w + oc * z.C * z.KH * z.KW;
    const float* image = x + n * z.C * z.H * z.W;
    float best = 0.0f;
    int best_at = -1;
    for (int wi = 0; wi < z.K; ++wi) {
      for (int wj = 0; wj < z.K; ++wj) {
        const int oh = ph * z.pool_stride + wi, ow = pw * z.pool_stride + wj;
        const int h0 = oh * z.stride - z.pad, w0 = ow * z.stride - z.pad;
        float acc = 0.0f;
        for (int c = 0; c < z.C; ++c) {
          for (int kh = 0; kh < z.KH; ++kh) {
            for (int kw = 0; kw < z.KW; ++kw) {
              const int h = h0 + kh, col = w0 + kw;
              const bool inside = h >= 0 && h < z.H && col >= 0 && col < z.W;
              const float v = inside ? image[(c * z.H + h) * z.W + col] : 0.0f;
              acc += filter[(c * z.KH + kh) * z.KW + kw] * v;
            }
          }
        }
        if (b != nullptr) acc += b[oc];
        const float v = relu_value(acc);
        if (best_at < 0 || pool_takes(v, best)) {
          best = v;
          best_at = oh * z.OW + ow;
        }
      }
    }
    y[i] = best;
    idx[i] = best_at;
  }
}

}  // namespace

// ---- launchers ----

namespace {

void launch_conv2d_forward(const char* op, const Conv2dShape& s, const float* x, const float* w,
                           const float* b, float* y, bool relu, cudaStream_t stream) {
  const ConvSizes z = conv_sizes(op, s);
  LENET_CHECK_NOT_NULL(op, x, w, y);
  const int K = z.C * z.KH * z.KW, P = z.OH * z.OW;
  detail::launch_gemm(
      op, z.OC, z.N * P, K, StridedMatrix{w, K, 1},
      Patches<false>{padded_input(z, x), radix(z.KH, z.KW), radix(z.OH, z.OW), z.stride, z.pad},
      StoreConvOutput{y, b, z.OC, P, relu}, stream);
}

// relu: dx through the ReLU whose output is x (x unused otherwise).
void launch_conv2d_backward_data(const char* op, const Conv2dShape& s, const float* dy,
                                 const float* w, const float* x, float* dx, bool relu,
                                 cudaStream_t stream) {
  const ConvSizes z = conv_sizes(op, s);
  LENET_CHECK_NOT_NULL(op, dy, w, dx);
  if (relu) LENET_CHECK_NOT_NULL(op, x);
  const Radix tap = radix(z.KH, z.KW);
  detail::launch_gemm(op, z.C, z.N * z.H * z.W, z.OC * z.KH * z.KW, ChannelRows{w, z.C, tap},
                      OutputGradAtTap{dy, z.OC, z.OH, z.OW, z.stride, tap, radix(z.H, z.W), z.pad},
                      StoreInputGrad{dx, z.C, z.H * z.W, relu ? x : nullptr}, stream);
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream) {
  launch_conv2d_forward("conv2d_forward", s, x, w, b, y, false, stream);
}

void conv2d_forward_relu(const Conv2dShape& s, const float* x, const float* w, const float* b,
                         float* y, cudaStream_t stream) {
  launch_conv2d_forward("conv2d_forward_relu", s, x, w, b, y, true, stream);
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          cudaStream_t stream) {
  launch_conv2d_backward_data("conv2d_backward_data", s, dy, w, nullptr, dx, false, stream);
}

void conv2d_backward_data_relu(const Conv2dShape& s, const float* dy, const float* w,
                               const float* x, float* dx, cudaStream_t stream) {
  launch_conv2d_backward_data("conv2d_backward_data_relu", s, dy, w, x, dx, true, stream);
}

void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* db, void* workspace, std::size_t workspace_bytes,
                            cudaStream_t stream) {
  const ConvSizes z = conv_sizes("conv2d_backward_filter", s);
  LENET_CHECK_NOT_NULL("conv2d_backward_filter", x, dy, dw);
  const Radix tap = radix(z.KH, z.KW), output = radix(z.OH, z.OW);
  detail::launch_weight_gradient(
      "conv2d_backward_filter", z.OC, z.C * z.KH * z.KW, z.N * z.OH * z.OW,
      ChannelRows{dy, z.OC, output},
      Patches<true>{padded_input(z, x), tap, output, z.stride, z.pad}, dw, db, workspace,
      workspace_bytes, stream);
}

std::size_t conv2d_backward_filter_workspace_bytes(const Conv2dShape& s) {
  s.check("conv2d_backward_filter_workspace_bytes");
  return detail::weight_gradient_split(s.OC, s.C * s.KH * s.KW, s.N * s.OH() * s.OW())
      .workspace_bytes;
}

static_assert(kConv2dBackwardFilterMaxWorkspaceBytes == detail::kSplitWorkspaceBound,
              "conv2d.h's workspace bound is gemm.cuh's");

void conv2d_relu_maxpool2d_forward(const Conv2dShape& c, const Pool2dShape& p, const float* x,
                                   const float* w, const float* b, float* y, std::int32_t* idx,
                                   cudaStream_t stream) {
  constexpr const char* kOp = "conv2d_relu_maxpool2d_forward";
  c.check(kOp);
  p.check(kOp);
  check_pools_output_of(kOp, p, c);
  detail::check_32bit_indices(kOp, {{"x", c.x_size()},
                                    {"w", c.w_size()},
                                    {"the convolution's output", c.y_size()},
                                    {"y", p.y_size()}});
  LENET_CHECK_NOT_NULL(kOp, x, w, y, idx);
  const auto i = [](std::int64_t v) { return static_cast<int>(v); };
  const ConvPoolSizes z{i(c.N),  i(c.C),   i(c.H),  i(c.W),        i(c.OC),   i(c.KH),
                        i(c.KW), i(c.OH()), i(c.OW()), i(c.stride), i(c.pad), i(p.K),
                        i(p.stride), i(p.OH()), i(p.OW())};
  LENET_LAUNCH(conv2d_relu_maxpool2d_kernel, detail::grid_1d(p.y_size(), kConvPoolBlockSize),
               kConvPoolBlockSize, 0, stream, z, x, w, b, y, idx);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
