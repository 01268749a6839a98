// Convolution as im2col + GEMM, one image at a time. For image n, im2col gathers every input
// patch an output position reads into one column of col [C*KH*KW, OH*OW], so
//   y_n [OC, OH*OW]           = w [OC, C*KH*KW] * col_n
//   dcol_n [C*KH*KW, OH*OW]   = w^T * dy_n, then col2im adds each entry back where it came from
//   dw [OC, C*KH*KW]         += dy_n * col_n^T
// The padding is the zeros im2col writes for positions outside the image.
#include <lenet/cpu_ref/conv2d.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

namespace {

using detail::ConstColVectorMap;
using detail::ConstMatrixMap;
using detail::MatrixMap;

// Rows of col: C*KH*KW, in w's (c, kh, kw) order. Columns: OH*OW.
std::int64_t col_rows(const Conv2dShape& s) { return s.C * s.KH * s.KW; }
std::int64_t col_cols(const Conv2dShape& s) { return s.OH() * s.OW(); }

// The im2col buffer can be larger than x, w and y (each input pixel appears up to KH*KW
// times), so its size gets its own overflow check.
std::int64_t col_size(const Conv2dShape& s, const char* op) {
  return lenet::detail::checked_product(op, "im2col buffer [C*KH*KW, OH*OW]",
                                        {s.C, s.KH, s.KW, s.OH(), s.OW()});
}

// One image's im2col matrix, allocated once per call and refilled for each image.
template <typename T>
struct ColBuffer {
  std::int64_t K, P;  // col_rows, col_cols
  std::vector<T> data;
  ColBuffer(const Conv2dShape& s, const char* op)
      : K(col_rows(s)), P(col_cols(s)), data(col_size(s, op)) {}
  MatrixMap<T> mat() { return MatrixMap<T>(data.data(), K, P); }
};

// The output columns ow whose input column ow*stride - pad + kw lies inside [0, W): [lo, hi).
// Everything outside reads the zero padding.
struct ColumnRange {
  std::int64_t lo, hi;
};
ColumnRange inside_columns(const Conv2dShape& s, std::int64_t kw) {
  const std::int64_t OW = s.OW();
  // iw >= 0 <=> ow >= (pad - kw) / stride rounded up; iw < W <=> ow <= (W - 1 + pad - kw) / stride.
  const std::int64_t first = s.pad - kw;
  std::int64_t lo = first <= 0 ? 0 : (first + s.stride - 1) / s.stride;
  const std::int64_t last = s.W - 1 + s.pad - kw;
  std::int64_t hi = last < 0 ? 0 : std::min(OW, last / s.stride + 1);
  lo = std::min(lo, hi);
  return {lo, hi};
}

// x_n: [C, H, W] -> col: [C*KH*KW, OH*OW]. Row (c, kh, kw) holds, for every output position
// (oh, ow), the input pixel (oh*stride - pad + kh, ow*stride - pad + kw), or 0 in the padding.
template <typename T>
void im2col(const Conv2dShape& s, const T* x_n, T* col) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        T* row = col + ((c * s.KH + kh) * s.KW + kw) * OH * OW;
        const ColumnRange cols = inside_columns(s, kw);
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          T* out = row + oh * OW;
          const std::int64_t ih = oh * s.stride - s.pad + kh;
          if (ih < 0 || ih >= s.H) {
            std::fill(out, out + OW, T(0));
            continue;
          }
          const T* in = x_n + (c * s.H + ih) * s.W;
          std::fill(out, out + cols.lo, T(0));
          for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) {
            out[ow] = in[ow * s.stride - s.pad + kw];
          }
          std::fill(out + cols.hi, out + OW, T(0));
        }
      }
    }
  }
}

// The adjoint of im2col: col: [C*KH*KW, OH*OW] -> dx_n: [C, H, W], overwritten. An input
// pixel read by several patches receives the sum; padding positions are dropped.
template <typename T>
void col2im(const Conv2dShape& s, const T* col, T* dx_n) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  std::fill(dx_n, dx_n + s.C * s.H * s.W, T(0));
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        const T* row = col + ((c * s.KH + kh) * s.KW + kw) * OH * OW;
        const ColumnRange cols = inside_columns(s, kw);
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          const std::int64_t ih = oh * s.stride - s.pad + kh;
          if (ih < 0 || ih >= s.H) continue;
          const T* in = row + oh * OW;
          T* out = dx_n + (c * s.H + ih) * s.W;
          for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) {
            out[ow * s.stride - s.pad + kw] += in[ow];
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const NonDeduced<T>* b, T* y) {
  constexpr const char* kOp = "conv2d_forward";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, w, y);
  ColBuffer<T> col(s, kOp);
  for (std::int64_t n = 0; n < s.N; ++n) {
    im2col(s, x + n * s.C * s.H * s.W, col.data.data());
    MatrixMap<T> y_n(y + n * s.OC * col.P, s.OC, col.P);
    y_n.noalias() = ConstMatrixMap<T>(w, s.OC, col.K) * col.mat();
    if (b != nullptr) y_n.colwise() += ConstColVectorMap<T>(b, s.OC);
  }
}

template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  constexpr const char* kOp = "conv2d_backward_data";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, dy, w, dx);
  ColBuffer<T> dcol(s, kOp);
  for (std::int64_t n = 0; n < s.N; ++n) {
    const ConstMatrixMap<T> dy_n(dy + n * s.OC * dcol.P, s.OC, dcol.P);
    dcol.mat().noalias() = ConstMatrixMap<T>(w, s.OC, dcol.K).transpose() * dy_n;
    col2im(s, dcol.data.data(), dx + n * s.C * s.H * s.W);
  }
}

template <typename T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                            NonDeduced<T>* db) {
  constexpr const char* kOp = "conv2d_backward_filter";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, dy, dw);
  ColBuffer<T> col(s, kOp);
  const std::int64_t P = col.P;
  MatrixMap<T> dw_mat(dw, s.OC, col.K);
  dw_mat.setZero();
  for (std::int64_t n = 0; n < s.N; ++n) {
    im2col(s, x + n * s.C * s.H * s.W, col.data.data());
    const ConstMatrixMap<T> dy_n(dy + n * s.OC * P, s.OC, P);
    dw_mat.noalias() += dy_n * col.mat().transpose();
  }
  if (db != nullptr) {
    detail::ColVectorMap<T> db_vec(db, s.OC);
    db_vec.setZero();
    for (std::int64_t n = 0; n < s.N; ++n) {
      db_vec += ConstMatrixMap<T>(dy + n * s.OC * P, s.OC, P).rowwise().sum();
    }
  }
}

template void conv2d_forward<float>(const Conv2dShape&, const float*, const float*, const float*,
                                    float*);
template void conv2d_forward<double>(const Conv2dShape&, const double*, const double*,
                                     const double*, double*);
template void conv2d_backward_data<float>(const Conv2dShape&, const float*, const float*, float*);
template void conv2d_backward_data<double>(const Conv2dShape&, const double*, const double*,
                                           double*);
template void conv2d_backward_filter<float>(const Conv2dShape&, const float*, const float*,
                                            float*, float*);
template void conv2d_backward_filter<double>(const Conv2dShape&, const double*, const double*,
                                             double*, double*);

}  // namespace lenet::cpu_ref
