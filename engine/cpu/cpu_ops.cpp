// The cpu backend's hot ops for one chunk of a batch (contracts: cpu_ops.h). This file is
// compiled once per instruction set, with LENET_CPU_ISA naming the level (baseline, avx2,
// avx512) and that level's -m flags: Eigen then picks its SSE2, AVX2+FMA or AVX-512 packets,
// and the compiler vectorizes the plain loops for the same units.
//
// Convolution in general is batch-level work: the images of a chunk go through im2col
// together, in groups sized to stay in the L2 cache, and each group is one GEMM instead of one
// small GEMM per image. With P = OH*OW output positions and K = C*KH*KW patch values, for a
// group of G images
//   col  [K, G*P]    column g*P + p holds the patch that output position p of image g reads
//   y    [OC, G*P]   = w [OC, K] * col, scattered back to NCHW with the bias added
//   dcol [K, G*P]    = w^T * dy, then col2im adds each entry back where it came from
//   dw^T [K, OC]    += col * dy^T [G*P, OC],  db += row sums of dy
// where dy [OC, G*P] is the group's output gradient gathered from NCHW. LeNet's shapes (stride
// 1, no padding, small planes) take direct paths instead, each described where it is written:
// - one input channel (conv1): the forward pass and the filter gradient as multiply-adds of
//   whole 24-wide rows, no im2col matrix 25 times the image's size;
// - in the AVX-512 copy (see Float16), several channels (conv2): the forward pass from shifted
//   input rows, a fifth of im2col, with the sums of 4 channels x 64 positions in registers;
//   the data gradient as a "full" correlation of dy with the filters, one 16-lane register per
//   input row, no dcol matrix and no col2im.
//
// No op allocates once its workspace has grown: the GEMMs are cut into tiles whose packed
// panels fit under EIGEN_STACK_ALLOCATION_LIMIT, below which Eigen packs on the stack (above
// it, every product would malloc its panels).
#define EIGEN_STACK_ALLOCATION_LIMIT (512 * 1024)
#define EIGEN_DONT_PARALLELIZE

#include "cpu/cpu_ops.h"

#include <lenet/cpu_ref/formulas.h>
#include <lenet/error.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#ifndef LENET_CPU_ISA
#error "LENET_CPU_ISA must name the instruction set level this copy is built for"
#endif
#define LENET_CPU_CONCAT2(a, b) a##b
#define LENET_CPU_CONCAT(a, b) LENET_CPU_CONCAT2(a, b)

// A namespace per level keeps the copies' own names apart in the source and in a debugger;
// the linker never sees them (all but the entry are local symbols, see the CMake script).
namespace lenet::engine::cpu::LENET_CPU_ISA {

namespace {

namespace formulas = lenet::cpu_ref::formulas;
using Index = Eigen::Index;
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstMatrixMap = Eigen::Map<const Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// Row-major [rows, cols] views of raw buffers whose rows are ld floats apart.
MatrixMap mat(float* p, Index rows, Index cols, Index ld) {
  return MatrixMap(p, rows, cols, Eigen::OuterStride<>(ld));
}
ConstMatrixMap mat(const float* p, Index rows, Index cols, Index ld) {
  return ConstMatrixMap(p, rows, cols, Eigen::OuterStride<>(ld));
}

// GEMM tiles: Eigen packs at most a [kTileMN, kTileK] panel of each operand, 512 KiB of
// floats, within EIGEN_STACK_ALLOCATION_LIMIT.
constexpr Index kTileMN = 256;
constexpr Index kTileK = 512;

// c [M, N] = a [M, K] * b [K, N], or += with accumulate. a and b may be transposed views. Tiles
// over K are summed in order, so the result depends on the shapes alone.
template <typename A, typename B>
void gemm(const A& a, const B& b, MatrixMap c, bool accumulate) {
  const Index M = c.rows(), N = c.cols(), K = a.cols();
  for (Index m0 = 0; m0 < M; m0 += kTileMN) {
    const Index mn = std::min(kTileMN, M - m0);
    for (Index n0 = 0; n0 < N; n0 += kTileMN) {
      const Index nn = std::min(kTileMN, N - n0);
      auto c_tile = c.block(m0, n0, mn, nn);
      for (Index k0 = 0; k0 < K; k0 += kTileK) {
        const Index kn = std::min(kTileK, K - k0);
        const auto a_tile = a.block(m0, k0, mn, kn);
        const auto b_tile = b.block(k0, n0, kn, nn);
        if (k0 == 0 && !accumulate) {
          c_tile.noalias() = a_tile * b_tile;
        } else {
          c_tile.noalias() += a_tile * b_tile;
        }
      }
    }
  }
}

// The vector's storage, grown (never shrunk) to hold n floats.
float* grow(std::vector<float>& v, std::int64_t n) {
  if (v.size() < static_cast<std::size_t>(n)) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

// Images per im2col group: as many as fit a 1 MiB col (half the L2 of a current core), at
// least one. The group size depends on the shape alone, so results do too.
std::int64_t group_size(const Conv2dShape& s) {
  constexpr std::int64_t kColFloats = 256 * 1024;
  return std::max<std::int64_t>(1, kColFloats / (s.C * s.KH * s.KW * s.OH() * s.OW()));
}

// The output columns ow whose input column ow*stride - pad + kw lies inside [0, W): [lo, hi).
struct ColumnRange {
  std::int64_t lo, hi;
};
ColumnRange inside_columns(const Conv2dShape& s, std::int64_t kw) {
  const std::int64_t first = s.pad - kw;
  std::int64_t lo = first <= 0 ? 0 : (first + s.stride - 1) / s.stride;
  const std::int64_t last = s.W - 1 + s.pad - kw;
  const std::int64_t hi = last < 0 ? 0 : std::min(s.OW(), last / s.stride + 1);
  lo = std::min(lo, hi);
  return {lo, hi};
}

// x_n [C, H, W] -> columns [g*P, (g+1)*P) of col [K, ld]: row (c, kh, kw) holds the input pixel
// (oh*stride - pad + kh, ow*stride - pad + kw) of every output position, or 0 in the padding.
template <std::int64_t kOW>
void im2col_unpadded(const Conv2dShape& s, const float* x_n, float* col, std::int64_t ld);

void im2col(const Conv2dShape& s, const float* x_n, float* col, std::int64_t ld) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  // LeNet's convolutions (stride 1, no padding, rows of 24 and 8): copies of whole rows whose
  // length the compiler knows.
  if (s.stride == 1 && s.pad == 0) {
    if (OW == 24) return im2col_unpadded<24>(s, x_n, col, ld);
    if (OW == 8) return im2col_unpadded<8>(s, x_n, col, ld);
    return im2col_unpadded<0>(s, x_n, col, ld);
  }
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        float* row = col + ((c * s.KH + kh) * s.KW + kw) * ld;
        const ColumnRange cols = inside_columns(s, kw);
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          float* out = row + oh * OW;
          const std::int64_t ih = oh * s.stride - s.pad + kh;
          if (ih < 0 || ih >= s.H) {
            std::fill(out, out + OW, 0.0f);
            continue;
          }
          const float* in = x_n + (c * s.H + ih) * s.W - s.pad + kw;
          std::fill(out, out + cols.lo, 0.0f);
          if (s.stride == 1) {
            // A loop, not memcpy: rows are a few floats (8 for conv2), shorter than a call.
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow] = in[ow];
          } else {
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow] = in[ow * s.stride];
          }
          std::fill(out + cols.hi, out + OW, 0.0f);
        }
      }
    }
  }
}

template <std::int64_t kOW>
void im2col_unpadded(const Conv2dShape& s, const float* x_n, float* col, std::int64_t ld) {
  const std::int64_t OH = s.OH(), OW = kOW > 0 ? kOW : s.OW();
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        float* __restrict row = col + ((c * s.KH + kh) * s.KW + kw) * ld;
        const float* __restrict in = x_n + (c * s.H + kh) * s.W + kw;
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          for (std::int64_t ow = 0; ow < OW; ++ow) row[oh * OW + ow] = in[oh * s.W + ow];
        }
      }
    }
  }
}

// The adjoint of im2col: columns [g*P, (g+1)*P) of col [K, ld] -> dx_n [C, H, W], overwritten.
void col2im(const Conv2dShape& s, const float* col, std::int64_t ld, float* dx_n) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  std::fill(dx_n, dx_n + s.C * s.H * s.W, 0.0f);
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        const float* row = col + ((c * s.KH + kh) * s.KW + kw) * ld;
        const ColumnRange cols = inside_columns(s, kw);
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          const std::int64_t ih = oh * s.stride - s.pad + kh;
          if (ih < 0 || ih >= s.H) continue;
          const float* __restrict in = row + oh * OW;
          float* __restrict out = dx_n + (c * s.H + ih) * s.W - s.pad + kw;
          if (s.stride == 1) {
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow] += in[ow];
          } else {
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow * s.stride] += in[ow];
          }
        }
      }
    }
  }
}

// Sum of n floats in a fixed order whatever their alignment: 16 lanes of partial sums (the
// loop the compiler vectorizes), then the lanes and the tail in order. Eigen's sum() would
// start its vectors at the first aligned address, so its order, and the rounding, would
// depend on where the buffer happens to lie: runs would no longer be bitwise equal.
float sum(const float* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
  float lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  }
  float total = 0.0f;
  for (std::int64_t j = 0; j < kLanes; ++j) total += lanes[j];
  for (; i < n; ++i) total += x[i];
  return total;
}

// Sixteen floats in GCC's portable vector type: one register in the AVX-512 copy. The AVX2 and
// SSE2 copies would split each into pieces that go through memory (measured 5 to 7 times slower
// than im2col + GEMM for conv2), so the paths written with it run in the AVX-512 copy only.
using Float16 = float __attribute__((vector_size(64)));
#if defined(__AVX512F__)
constexpr bool kFloat16InRegisters = true;
#else
constexpr bool kFloat16InRegisters = false;
#endif

// dy [G, OC, P] (NCHW) -> dyt [OC, G*P]: one row per output channel, as the GEMMs read it.
void gather_channels(const float* dy, std::int64_t G, std::int64_t OC, std::int64_t P, float* dyt) {
  for (std::int64_t g = 0; g < G; ++g) {
    for (std::int64_t oc = 0; oc < OC; ++oc) {
      std::memcpy(dyt + oc * G * P + g * P, dy + (g * OC + oc) * P, P * sizeof(float));
    }
  }
}

// One input channel, stride 1, no padding: each output row is a sum of KH*KW shifted input
// rows, one multiply-add per tap over the whole row. With the row width and the channel count
// constants (kOW = 24, kOC = 6 for LeNet's conv1), the rows of all channels stay in vector
// registers for all taps, and each shifted input row, loaded once, serves every channel; other
// sizes (0) take one channel at a time and accumulate in memory.
template <std::int64_t kOW, std::int64_t kOC>
void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* b,
                           float* y) {
  constexpr bool kFixed = kOW > 0 && kOC > 0;
  const std::int64_t OH = s.OH(), OW = kFixed ? kOW : s.OW(), block = kFixed ? kOC : 1;
  const std::int64_t taps = s.KH * s.KW;
  float acc[kFixed ? kOC : 1][kFixed ? kOW : 1];
  for (std::int64_t n = 0; n < s.N; ++n) {
    const float* x_n = x + n * s.H * s.W;
    for (std::int64_t oc0 = 0; oc0 < s.OC; oc0 += block) {
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        float* out = y + ((n * s.OC + oc0) * OH + oh) * OW;  // channel o's row at o*OH*OW
        for (std::int64_t o = 0; o < block; ++o) {
          float* __restrict sum = kFixed ? acc[o] : out + o * OH * OW;
          const float bias = b != nullptr ? b[oc0 + o] : 0.0f;
          for (std::int64_t ow = 0; ow < OW; ++ow) sum[ow] = bias;
        }
        for (std::int64_t kh = 0; kh < s.KH; ++kh) {
          for (std::int64_t kw = 0; kw < s.KW; ++kw) {
            const float* __restrict in = x_n + (oh + kh) * s.W + kw;
            for (std::int64_t o = 0; o < block; ++o) {
              float* __restrict sum = kFixed ? acc[o] : out + o * OH * OW;
              const float wv = w[(oc0 + o) * taps + kh * s.KW + kw];
              for (std::int64_t ow = 0; ow < OW; ++ow) sum[ow] += wv * in[ow];
            }
          }
        }
        if (kFixed) {
          for (std::int64_t o = 0; o < block; ++o) {
            for (std::int64_t ow = 0; ow < OW; ++ow) out[o * OH * OW + ow] = acc[o][ow];
          }
        }
      }
    }
  }
}

// Stride 1, no padding, several input channels (LeNet's conv2): a fifth of im2col. xs [C, KW,
// H, OW] holds, for each input channel c and filter column kw, the input rows from column kw
// on, cut to OW columns, one after the other. The pixels that tap (c, kh, kw) reads for the
// output positions p = oh*OW + ow are then xs[c, kw, kh*OW + p], contiguous in p:
//   y[oc, p] = b[oc] + sum over c, kh, kw of w[oc, c, kh, kw] * xs[c, kw, kh*OW + p]
// x_n [C, H, W] -> xs, followed by 16 floats that the last vector loads may read (lanes past P,
// never stored). Rows of a constant width (kOW = 8 for LeNet; 0 reads it from s) are a vector
// move each, where a loop of run-time length costs more than the move.
template <std::int64_t kOW>
void shifted_rows(const Conv2dShape& s, const float* x_n, float* xs) {
  const std::int64_t OW = kOW > 0 ? kOW : s.OW();
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kw = 0; kw < s.KW; ++kw) {
      float* __restrict out = xs + (c * s.KW + kw) * s.H * OW;
      const float* __restrict in = x_n + c * s.H * s.W + kw;
      for (std::int64_t ih = 0; ih < s.H; ++ih) {
        for (std::int64_t ow = 0; ow < OW; ++ow) out[ih * OW + ow] = in[ih * s.W + ow];
      }
    }
  }
}

// Outputs oc0 .. oc0 + kOC - 1 at positions p0 .. p0 + 16*kNP - 1 (those below P stored) of one
// image, from its xs: kOC*kNP Float16 sums in registers, each tap one load per 16 positions and
// one weight per output channel.
template <std::int64_t kOC, std::int64_t kNP>
void conv2d_forward_block(const Conv2dShape& s, const float* xs, const float* w, const float* b,
                          std::int64_t oc0, std::int64_t p0, float* y_n) {
  const std::int64_t OW = s.OW(), P = s.OH() * OW, K = s.C * s.KH * s.KW;
  Float16 acc[kOC][kNP];
  for (std::int64_t o = 0; o < kOC; ++o) {
    const float bias = b != nullptr ? b[oc0 + o] : 0.0f;
    for (std::int64_t j = 0; j < kNP; ++j) acc[o][j] = Float16{} + bias;
  }
  for (std::int64_t c = 0; c < s.C; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        const float* src = xs + ((c * s.KW + kw) * s.H + kh) * OW + p0;
        Float16 v[kNP];
        for (std::int64_t j = 0; j < kNP; ++j) std::memcpy(&v[j], src + 16 * j, sizeof(Float16));
        const float* w_tap = w + oc0 * K + (c * s.KH + kh) * s.KW + kw;
        for (std::int64_t o = 0; o < kOC; ++o) {
          const float wv = w_tap[o * K];
          for (std::int64_t j = 0; j < kNP; ++j) acc[o][j] += wv * v[j];
        }
      }
    }
  }
  for (std::int64_t o = 0; o < kOC; ++o) {
    for (std::int64_t j = 0; j < kNP; ++j) {
      float* out = y_n + (oc0 + o) * P + p0 + 16 * j;
      const std::int64_t lanes = std::min<std::int64_t>(16, P - p0 - 16 * j);
      if (lanes == 16) {
        std::memcpy(out, &acc[o][j], sizeof(Float16));
      } else {
        for (std::int64_t l = 0; l < lanes; ++l) out[l] = acc[o][j][l];
      }
    }
  }
}

// All positions of outputs oc0 .. oc0 + kOC - 1: LeNet's conv2 (P = 64) in one block of four
// vectors, other sizes 16 positions at a time.
template <std::int64_t kOC>
void conv2d_forward_channels(const Conv2dShape& s, const float* xs, const float* w,
                             const float* b, std::int64_t oc0, float* y_n) {
  const std::int64_t P = s.OH() * s.OW();
  if (P == 64) return conv2d_forward_block<kOC, 4>(s, xs, w, b, oc0, 0, y_n);
  for (std::int64_t p0 = 0; p0 < P; p0 += 16) {
    conv2d_forward_block<kOC, 1>(s, xs, w, b, oc0, p0, y_n);
  }
}

void conv2d_forward_shifted(const Conv2dShape& s, const float* x, const float* w, const float* b,
                            float* y, Workspace& ws) {
  const std::int64_t P = s.OH() * s.OW();
  float* xs = grow(ws.col, s.C * s.KW * s.H * s.OW() + 16);
  for (std::int64_t n = 0; n < s.N; ++n) {
    if (s.OW() == 8) {
      shifted_rows<8>(s, x + n * s.C * s.H * s.W, xs);
    } else {
      shifted_rows<0>(s, x + n * s.C * s.H * s.W, xs);
    }
    float* y_n = y + n * s.OC * P;
    std::int64_t oc0 = 0;
    for (; oc0 + 4 <= s.OC; oc0 += 4) conv2d_forward_channels<4>(s, xs, w, b, oc0, y_n);
    for (; oc0 < s.OC; ++oc0) conv2d_forward_channels<1>(s, xs, w, b, oc0, y_n);
  }
}

// Images n0 .. n0 + gn - 1 of x side by side in col [K, gn*P]: image g in columns g*P onwards.
void im2col_group(const Conv2dShape& s, const float* x, std::int64_t n0, std::int64_t gn,
                  float* col) {
  const std::int64_t P = s.OH() * s.OW();
  for (std::int64_t g = 0; g < gn; ++g) {
    im2col(s, x + (n0 + g) * s.C * s.H * s.W, col + g * P, gn * P);
  }
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
                    Workspace& ws) {
  if (s.C == 1 && s.stride == 1 && s.pad == 0) {
    if (s.OW() == 24 && s.OC == 6) {
      conv2d_forward_direct<24, 6>(s, x, w, b, y);
    } else {
      conv2d_forward_direct<0, 0>(s, x, w, b, y);
    }
    return;
  }
  if (kFloat16InRegisters && s.stride == 1 && s.pad == 0) {
    return conv2d_forward_shifted(s, x, w, b, y, ws);
  }
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW(), G = group_size(s);
  float* col = grow(ws.col, K * G * P);
  float* tmp = grow(ws.tmp, s.OC * G * P);
  for (std::int64_t n0 = 0; n0 < s.N; n0 += G) {
    const std::int64_t gn = std::min(G, s.N - n0), ld = gn * P;
    im2col_group(s, x, n0, gn, col);
    gemm(mat(w, s.OC, K, K), mat(col, K, ld, ld), mat(tmp, s.OC, ld, ld), false);
    // Back to NCHW, the bias added on the way (a copy when there is none, so -0 stays -0).
    for (std::int64_t g = 0; g < gn; ++g) {
      for (std::int64_t oc = 0; oc < s.OC; ++oc) {
        const float* __restrict src = tmp + oc * ld + g * P;
        float* __restrict dst = y + ((n0 + g) * s.OC + oc) * P;
        if (b == nullptr) {
          std::memcpy(dst, src, P * sizeof(float));
        } else {
          const float bias = b[oc];
          for (std::int64_t p = 0; p < P; ++p) dst[p] = src[p] + bias;
        }
      }
    }
  }
}

// Rows of the direct backward-data path: an input row and the filter's overhang fit 16 lanes.
constexpr std::int64_t kRowLanes = 16;

// Stride 1, no padding, W + KW - 1 <= 16 and H <= 16 (LeNet's conv2: 12 x 12 inputs, 5 x 5
// filters): dx as the "full" correlation of dy with the filters, without a dcol matrix or
// col2im. Input row ih of channel c is one Float16 of partial sums (lanes iw < W used):
//   dx[c, ih, iw] = sum over oc, kw, kh of w[oc, c, kh, kw] * dy[oc, ih - kh, iw - kw]
// where dy outside [0, OH) x [0, OW) is zero. Each of the chunk's images is first copied into
// dyp [OC, OH, 16], every row shifted right by KW - 1 lanes with zeros around it, so the row
// that tap kw reads, shifted by kw, is one unaligned load at KW - 1 - kw (lanes past W read
// the next row or the tail; they are never stored). A load of dy serves the KH taps of its
// kw: with the sizes constants (kH, kW, kK: 12, 12, 5 for LeNet; 0 reads them from s), the
// OH loaded rows and the H sums of a channel stay in vector registers.
template <std::int64_t kH, std::int64_t kW, std::int64_t kK>
void conv2d_backward_data_full(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                               Workspace& ws) {
  const std::int64_t H = kH > 0 ? kH : s.H, W = kW > 0 ? kW : s.W;
  const std::int64_t KH = kK > 0 ? kK : s.KH, KW = kK > 0 ? kK : s.KW;
  const std::int64_t OH = H - KH + 1, OW = W - KW + 1, P = OH * OW;
  const std::int64_t dyp_size = s.OC * OH * kRowLanes + kRowLanes;
  float* dyp = grow(ws.col, dyp_size);
  std::fill(dyp, dyp + dyp_size, 0.0f);  // the zeros around the rows, for the whole chunk
  for (std::int64_t n = 0; n < s.N; ++n) {
    const float* dy_n = dy + n * s.OC * P;
    for (std::int64_t r = 0; r < s.OC * OH; ++r) {
      for (std::int64_t ow = 0; ow < OW; ++ow) dyp[r * kRowLanes + KW - 1 + ow] = dy_n[r * OW + ow];
    }
    for (std::int64_t c = 0; c < s.C; ++c) {
      Float16 acc[kH > 0 ? kH : kRowLanes] = {};
      for (std::int64_t oc = 0; oc < s.OC; ++oc) {
        const float* w_c = w + (oc * s.C + c) * KH * KW;
        for (std::int64_t kw = 0; kw < KW; ++kw) {
          Float16 rows[kH > 0 ? kH - kK + 1 : kRowLanes];
          for (std::int64_t oh = 0; oh < OH; ++oh) {
            std::memcpy(&rows[oh], dyp + (oc * OH + oh) * kRowLanes + KW - 1 - kw, sizeof(Float16));
          }
          for (std::int64_t kh = 0; kh < KH; ++kh) {
            const float wv = w_c[kh * KW + kw];
            for (std::int64_t oh = 0; oh < OH; ++oh) acc[oh + kh] += wv * rows[oh];
          }
        }
      }
      float* dx_c = dx + (n * s.C + c) * H * W;
      for (std::int64_t ih = 0; ih < H; ++ih) {
        for (std::int64_t iw = 0; iw < W; ++iw) dx_c[ih * W + iw] = acc[ih][iw];
      }
    }
  }
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          Workspace& ws) {
  if (kFloat16InRegisters && s.stride == 1 && s.pad == 0 && s.W + s.KW - 1 <= kRowLanes &&
      s.H <= kRowLanes) {
    if (s.H == 12 && s.W == 12 && s.KH == 5 && s.KW == 5) {
      conv2d_backward_data_full<12, 12, 5>(s, dy, w, dx, ws);
    } else {
      conv2d_backward_data_full<0, 0, 0>(s, dy, w, dx, ws);
    }
    return;
  }
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW(), G = group_size(s);
  float* dcol = grow(ws.col, K * G * P);
  float* dyt = grow(ws.tmp, s.OC * G * P);
  for (std::int64_t n0 = 0; n0 < s.N; n0 += G) {
    const std::int64_t gn = std::min(G, s.N - n0), ld = gn * P;
    gather_channels(dy + n0 * s.OC * P, gn, s.OC, P, dyt);
    gemm(mat(w, s.OC, K, K).transpose(), mat(dyt, s.OC, ld, ld), mat(dcol, K, ld, ld), false);
    for (std::int64_t g = 0; g < gn; ++g) {
      col2im(s, dcol + g * P, ld, dx + (n0 + g) * s.C * s.H * s.W);
    }
  }
}

// The adjoint of conv2d_forward_direct for the filter: one input channel, stride 1, no padding.
// dw[oc, kh, kw] sums dy's rows times the input rows shifted by (kh, kw), over the chunk's images
// and output rows. Each tap keeps one partial sum per output column (lanes [OC, KH, KW, OW] in
// the workspace, and [OC, OW] for db), added to image after image; the lanes are summed last,
// by sum(). With the row and filter widths constants (kOW = 24, kKW = 5 for LeNet's conv1), an
// (oc, kh)'s KW rows of lanes stay in vector registers over an image's rows.
template <std::int64_t kOW, std::int64_t kKW>
void conv2d_backward_filter_direct(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                   float* db, Workspace& ws) {
  const std::int64_t OH = s.OH(), OW = kOW > 0 ? kOW : s.OW(), KW = kKW > 0 ? kKW : s.KW;
  const std::int64_t P = OH * OW, taps = s.OC * s.KH * KW;
  float* lanes = grow(ws.col, (taps + s.OC) * OW);
  float* db_lanes = lanes + taps * OW;
  std::fill(lanes, lanes + (taps + s.OC) * OW, 0.0f);
  float acc[kOW > 0 && kKW > 0 ? kKW * kOW : 1];
  for (std::int64_t n = 0; n < s.N; ++n) {
    const float* x_n = x + n * s.H * s.W;
    for (std::int64_t oc = 0; oc < s.OC; ++oc) {
      const float* dy_c = dy + (n * s.OC + oc) * P;
      for (std::int64_t kh = 0; kh < s.KH; ++kh) {
        float* part = lanes + (oc * s.KH + kh) * KW * OW;
        float* __restrict a = kOW > 0 && kKW > 0 ? acc : part;
        if (kOW > 0 && kKW > 0) {
          for (std::int64_t i = 0; i < KW * OW; ++i) a[i] = part[i];
        }
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          const float* __restrict d = dy_c + oh * OW;
          const float* __restrict in = x_n + (oh + kh) * s.W;
          for (std::int64_t kw = 0; kw < KW; ++kw) {
            for (std::int64_t ow = 0; ow < OW; ++ow) a[kw * OW + ow] += d[ow] * in[kw + ow];
          }
        }
        if (kOW > 0 && kKW > 0) {
          for (std::int64_t i = 0; i < KW * OW; ++i) part[i] = a[i];
        }
      }
      if (db != nullptr) {
        float* __restrict db_c = db_lanes + oc * OW;
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          for (std::int64_t ow = 0; ow < OW; ++ow) db_c[ow] += dy_c[oh * OW + ow];
        }
      }
    }
  }
  for (std::int64_t t = 0; t < taps; ++t) dw[t] = sum(lanes + t * OW, OW);
  if (db != nullptr) {
    for (std::int64_t oc = 0; oc < s.OC; ++oc) db[oc] = sum(db_lanes + oc * OW, OW);
  }
}

void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* db, Workspace& ws) {
  if (s.C == 1 && s.stride == 1 && s.pad == 0) {
    if (s.OW() == 24 && s.KW == 5) {
      conv2d_backward_filter_direct<24, 5>(s, x, dy, dw, db, ws);
    } else {
      conv2d_backward_filter_direct<0, 0>(s, x, dy, dw, db, ws);
    }
    return;
  }
  // dw^T [K, OC] = col * dy^T, K (150 for LeNet's conv2) the rows that fill Eigen's panels
  // of 48 where OC (16) would leave most of one empty; transposed into dw at the end.
  const std::int64_t K = s.C * s.KH * s.KW, P = s.OH() * s.OW(), G = group_size(s);
  float* col = grow(ws.col, K * G * P);
  float* dyt = grow(ws.tmp, s.OC * G * P + K * s.OC);
  float* dwt = dyt + s.OC * G * P;
  for (std::int64_t n0 = 0; n0 < s.N; n0 += G) {
    const std::int64_t gn = std::min(G, s.N - n0), ld = gn * P;
    im2col_group(s, x, n0, gn, col);
    gather_channels(dy + n0 * s.OC * P, gn, s.OC, P, dyt);
    gemm(mat(col, K, ld, ld), mat(dyt, s.OC, ld, ld).transpose(), mat(dwt, K, s.OC, s.OC), n0 > 0);
    if (db != nullptr) {
      for (std::int64_t oc = 0; oc < s.OC; ++oc) {
        const float row_sum = sum(dyt + oc * ld, ld);
        db[oc] = n0 == 0 ? row_sum : db[oc] + row_sum;
      }
    }
  }
  mat(dw, s.OC, K, K) = mat(dwt, K, s.OC, s.OC).transpose();
}

// Max pooling's rule is formulas::pool_takes (the reference's, in <lenet/cpu_ref/formulas.h>).
using formulas::pool_takes;

// One output row of a 2x2, stride-2 pool: rows r0 and r1 of the input, at_row the plane index
// of r0[0]. Four candidates in window order, with selects instead of branches (a branch per
// compare would be mispredicted half the time). Four outputs at a time in GCC's portable vector
// types (SSE registers at every level): the compiler does not vectorize the stride-2 reads by
// itself. The scalar loop finishes the row with the same rule.
using Float4 = float __attribute__((vector_size(16)));
using Int4 = std::int32_t __attribute__((vector_size(16)));

// pool_takes on four lanes at once.
inline Int4 takes4(Float4 candidate, Float4 best) {
  return (candidate > best) | ((candidate != candidate) & (best == best));
}

void pool_rows_2x2(const float* r0, const float* r1, std::int64_t OW, std::int32_t at_row,
                   std::int32_t W, float* y, std::int32_t* idx) {
  std::int64_t ow = 0;
  const Int4 even = {0, 2, 4, 6}, odd = {1, 3, 5, 7};
  for (; ow + 4 <= OW; ow += 4) {
    Float4 a0, b0, a1, b1;
    std::memcpy(&a0, r0 + 2 * ow, sizeof a0);
    std::memcpy(&b0, r0 + 2 * ow + 4, sizeof b0);
    std::memcpy(&a1, r1 + 2 * ow, sizeof a1);
    std::memcpy(&b1, r1 + 2 * ow + 4, sizeof b1);
    const Float4 v0 = __builtin_shuffle(a0, b0, even), v1 = __builtin_shuffle(a0, b0, odd);
    const Float4 v2 = __builtin_shuffle(a1, b1, even), v3 = __builtin_shuffle(a1, b1, odd);
    const std::int32_t o = at_row + 2 * static_cast<std::int32_t>(ow);
    const Int4 at0 = {o, o + 2, o + 4, o + 6};
    Float4 best = v0;
    Int4 at = at0;
    Int4 t = takes4(v1, best);
    at = t ? at0 + 1 : at;
    best = t ? v1 : best;
    t = takes4(v2, best);
    at = t ? at0 + W : at;
    best = t ? v2 : best;
    t = takes4(v3, best);
    at = t ? at0 + W + 1 : at;
    best = t ? v3 : best;
    std::memcpy(y + ow, &best, sizeof best);
    std::memcpy(idx + ow, &at, sizeof at);
  }
  for (; ow < OW; ++ow) {
    const std::int32_t at0 = at_row + 2 * static_cast<std::int32_t>(ow);
    const float v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
    float best = v0;
    std::int32_t at = at0;
    at = pool_takes(v1, best) ? at0 + 1 : at;
    best = pool_takes(v1, best) ? v1 : best;
    at = pool_takes(v2, best) ? at0 + W : at;
    best = pool_takes(v2, best) ? v2 : best;
    at = pool_takes(v3, best) ? at0 + W + 1 : at;
    best = pool_takes(v3, best) ? v3 : best;
    y[ow] = best;
    idx[ow] = at;
  }
}

void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y, std::int32_t* idx) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  for (std::int64_t plane = 0; plane < s.N * s.C; ++plane) {
    const float* x_p = x + plane * s.H * s.W;
    float* y_p = y + plane * OH * OW;
    std::int32_t* idx_p = idx + plane * OH * OW;
    if (s.K == 2 && s.stride == 2) {
      // LeNet's pools: one call per pair of input rows.
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        pool_rows_2x2(x_p + 2 * oh * s.W, x_p + (2 * oh + 1) * s.W, OW,
                      static_cast<std::int32_t>(2 * oh * s.W), static_cast<std::int32_t>(s.W),
                      y_p + oh * OW, idx_p + oh * OW);
      }
      continue;
    }
    formulas::maxpool2d_plane(s, x_p, y_p, idx_p);
  }
}

void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx, float* dx) {
  const std::int64_t P = s.OH() * s.OW(), plane_size = s.H * s.W;
  std::fill(dx, dx + s.N * s.C * plane_size, 0.0f);
  for (std::int64_t plane = 0; plane < s.N * s.C; ++plane) {
    float* dx_p = dx + plane * plane_size;
    for (std::int64_t o = 0; o < P; ++o) dx_p[idx[plane * P + o]] += dy[plane * P + o];
  }
}

void relu_forward(std::int64_t n, const float* x, float* y) {
  // v > 0 is false for NaN: keep v itself then, so NaN propagates (the reference's rule).
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = (v > 0.0f || v != v) ? v : 0.0f;
  }
}

void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                    float* y) {
  MatrixMap y_mat = mat(y, s.N, s.out, s.out);
  gemm(mat(x, s.N, s.in, s.in), mat(w, s.out, s.in, s.in).transpose(), y_mat, false);
  if (b != nullptr) {
    y_mat.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b, s.out);
  }
}

void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db) {
  const ConstMatrixMap dy_mat = mat(dy, s.N, s.out, s.out);
  if (dx != nullptr) gemm(dy_mat, mat(w, s.out, s.in, s.in), mat(dx, s.N, s.in, s.in), false);
  gemm(dy_mat.transpose(), mat(x, s.N, s.in, s.in), mat(dw, s.out, s.in, s.in), false);
  if (db != nullptr) {
    // Row after row, each a vector add: the order is the rows', whatever the alignment.
    std::copy(dy, dy + s.out, db);
    for (std::int64_t n = 1; n < s.N; ++n) {
      for (std::int64_t o = 0; o < s.out; ++o) db[o] += dy[n * s.out + o];
    }
  }
}

void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v) {
  formulas::sgd_momentum_step(h, n, p, g, v);
}

void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean, float stddev) {
  for (std::int64_t i = 0; i < n; ++i)
    y[i] = (static_cast<float>(pixels[i]) / 255.0f - mean) / stddev;
}

void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels, float* loss, float* dlogits) {
  formulas::softmax_cross_entropy(N, K, logits, labels, loss, dlogits);
}

std::int64_t count_correct(std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels) {
  std::int64_t correct = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * K;
    std::int64_t best = 0;
    for (std::int64_t k = 1; k < K && !std::isnan(row[best]); ++k) {
      if (row[k] > row[best] || std::isnan(row[k])) best = k;
    }
    correct += best == labels[n] ? 1 : 0;
  }
  return correct;
}

constexpr Ops kOps = {
    conv2d_forward,     conv2d_backward_data, conv2d_backward_filter, maxpool2d_forward,
    maxpool2d_backward, relu_forward,         relu_backward,          linear_forward,
    linear_backward,    sgd_momentum_step,    normalize_u8,           softmax_cross_entropy,
    count_correct,
};

}  // namespace

}  // namespace lenet::engine::cpu::LENET_CPU_ISA

extern "C" const lenet::engine::cpu::Ops* LENET_CPU_CONCAT(lenet_cpu_ops_, LENET_CPU_ISA)() {
  return &lenet::engine::cpu::LENET_CPU_ISA::kOps;
}
