// The shared-memory tiled GEMM that linear and conv2d run on, forward and backward, and its
// split-K form for the weight gradients.
//
// out(m, n) = sum_k a(m, k) * b(k, n) for 0 <= m < M, 0 <= n < N, 0 <= k < K, handed to
// store(m, n, sum). a, b and store are small functors: a linear layer reads plain strided
// matrices, a convolution gathers its operands from the NCHW tensors on the fly ("implicit
// GEMM": no im2col buffer). Each op's file says how it maps onto M, N and K.
//
// Mapping: a kTile x kTile block computes one kTile x kTile tile of out, one output per thread.
// For each step along K the block stages a kTile x kTile tile of a and of b in shared memory
// (one element of each per thread; outside the matrix it loads 0), waits, and every thread
// multiplies a row of the a tile by a column of the b tile. The sum over k runs in one fixed
// order, so results are bitwise reproducible run to run.
//
// Operands are read through cursors. Thread (ty, tx) loads a(m, k0 + tx) and b(k0 + ty, n) for
// k0 = 0, kTile, 2 kTile, ...: one index stays fixed (its row m of a, its column n of b) and the
// other moves kTile at a time. So an operand hands out a cursor once per thread and moves it:
//   Cursor row(m, k)       a cursor at a(m, k) that moves along k       (operand a)
//   Cursor column(k, n)    a cursor at b(k, n) that moves along k       (operand b)
//   float load(cursor)     the element under the cursor; called only inside the matrix
//   void advance(cursor)   k += kGemmTile
// An implicit-GEMM operand decomposes its fixed index once (an output position into
// (n, oh, ow), say) and steps the reduction index's digits with additions (conv2d.cu), so the
// loop over k holds no division. Row and column indices past the matrix are clamped to its last
// row or column before they reach row() and column(): a cursor always starts from a valid
// fixed index. The k a cursor starts at may lie past K (nothing is loaded there).
//
// Indices are 32-bit ints: the launchers check that M, N, K and every tensor's element count
// are at most kMaxIndex = 2^30 - 1 (check_32bit_indices), so an index a few tiles past any of
// them still fits, and refuse larger shapes (split the batch).
//
// Split-K, for the weight gradients (launch_weight_gradient): their outputs are small (a
// filter bank, a weight matrix) and their reductions long (over the batch and every output
// position), so one block per output tile leaves most of a GPU idle. The reduction is cut into
// S slices of whole tiles, grid z = S; block (x, y, s) computes its tile's partial sum over
// slice s into a workspace, and sum_slices_kernel adds the S partials of every output in the
// order slice 0, 1, ..., S-1. Deterministic, no atomics. split_k() says how S is chosen.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "launch.h"
#include "relu.cuh"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

constexpr int kGemmTile = 16;

// Whether an operand is loaded with its fixed index along threadIdx.x (SwappedLoads below).
template <typename Load, typename = void>
struct SwapsLoads {
  static constexpr bool value = false;
};
template <typename Load>
struct SwapsLoads<Load, decltype(void(Load::kSwapLoads))> {
  static constexpr bool value = Load::kSwapLoads;
};

template <int kTile, typename LoadA, typename LoadB, typename Store>
__global__ void implicit_gemm_kernel(int M, int N, int K, int slice_length, LoadA a, LoadB b,
                                     Store store) {
  // Which element of each tile this thread loads. Normally thread (ty, tx) loads a(m0 + ty,
  // k0 + tx) and b(k0 + ty, n0 + tx): consecutive threads read consecutive k of a and
  // consecutive n of b, adjacent words for a row-major a and b. An operand stored the other way
  // (a transposed view: w^T, dy^T) is adjacent along the other index, so it swaps the roles of
  // tx and ty (SwappedLoads) and a warp's loads stay 16-word stretches.
  constexpr bool kSwapA = SwapsLoads<LoadA>::value, kSwapB = SwapsLoads<LoadB>::value;
  // A swapped operand is stored into its tile down a column, tile[tx][ty]: without a padding
  // column the 16 threads of a half-warp would hit 2 banks (8-way conflicts); with it, 16. The
  // other tiles have none: a warp is two tile rows (ty, ty + 1) of 16 threads, its stores cover
  // 32 consecutive words, one per bank, and in the product a_tile[ty][k] is one broadcast per
  // half-warp and b_tile[k][tx] one row that both halves read; a padding column would only add
  // a two-way conflict to the stores.
  __shared__ float a_tile[kTile][kTile + (kSwapA ? 1 : 0)];
  __shared__ float b_tile[kTile][kTile + (kSwapB ? 1 : 0)];

  const int tx = threadIdx.x;  // column inside the tile
  const int ty = threadIdx.y;  // row inside the tile
  const int m = static_cast<int>(blockIdx.y) * kTile + ty;
  const int n = static_cast<int>(blockIdx.x) * kTile + tx;
  // This block's slice of the reduction, [k_begin, k_end): all of K unless split (grid z > 1).
  const int k_begin = static_cast<int>(blockIdx.z) * slice_length;
  const int k_end = K - k_begin < slice_length ? K : k_begin + slice_length;

  // This thread's loads: a_tile[ai][ak] = a(am, k0 + ak), b_tile[bk][bj] = b(k0 + bk, bn).
  const int ai = kSwapA ? tx : ty, ak = kSwapA ? ty : tx;
  const int bk = kSwapB ? tx : ty, bj = kSwapB ? ty : tx;
  const int am = static_cast<int>(blockIdx.y) * kTile + ai;
  const int bn = static_cast<int>(blockIdx.x) * kTile + bj;
  typename LoadA::Cursor a_at = a.row(am < M ? am : M - 1, k_begin + ak);
  typename LoadB::Cursor b_at = b.column(k_begin + bk, bn < N ? bn : N - 1);
  float acc = 0.0f;
  for (int k0 = k_begin; k0 < k_end; k0 += kTile) {
    a_tile[ai][ak] = (am < M && k0 + ak < k_end) ? a.load(a_at) : 0.0f;
    b_tile[bk][bj] = (k0 + bk < k_end && bn < N) ? b.load(b_at) : 0.0f;
    a.advance(a_at);
    b.advance(b_at);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) acc += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();  // the next step overwrites tiles that other threads may still be reading
  }
  if (m < M && n < N) store(m, n, acc);
}

// out(m, n) = partials[0][m][n] + partials[1][m][n] + ... + partials[S-1][m][n], added in that
// order, handed to store. One thread per output: consecutive threads read consecutive words of
// each slice. The unrolled loop lets a thread issue several slices' loads before it adds them
// (still in order).
template <typename Store>
__global__ void sum_slices_kernel(int slices, int M, int N, const float* partials, Store store) {
  const int size = M * N;
  for (const std::int64_t e : grid_stride(size)) {
    const int i = static_cast<int>(e);
    float sum = 0.0f;
#pragma unroll 8
    for (int s = 0; s < slices; ++s) sum += partials[s * size + i];
    store(i / N, i % N, sum);
  }
}

// Element (i, j) of a row-major matrix at p with row stride rs and column stride cs; a
// transposed view is the same data with the strides swapped. A cursor is a pointer and the
// step of kGemmTile columns (row cursor) or rows (column cursor).
struct StridedMatrix {
  const float* p;
  std::int64_t rs, cs;
  struct Cursor {
    const float* at;
    std::int64_t step;
  };
  __device__ Cursor row(int i, int j) const { return {p + i * rs + j * cs, kGemmTile * cs}; }
  __device__ Cursor column(int i, int j) const { return {p + i * rs + j * cs, kGemmTile * rs}; }
  __device__ float load(const Cursor& c) const { return *c.at; }
  __device__ void advance(Cursor& c) const { c.at += c.step; }
};

// An operand loaded with its fixed index (m of a, n of b) along threadIdx.x: for a transposed
// view, whose adjacent words lie along that index (implicit_gemm_kernel says why).
template <typename Load>
struct SwappedLoads : Load {
  static constexpr bool kSwapLoads = true;
};

// b with one more column, n = N, of ones: column N of the product a x b is then the row sums of
// a, added in the same order as every other column (a bias gradient beside its weights').
template <typename LoadB>
struct WithOnesColumn {
  LoadB b;
  int N;  // b's own columns
  struct Cursor {
    typename LoadB::Cursor inner;
    bool ones;
  };
  __device__ Cursor column(int k, int n) const { return {b.column(k, n < N ? n : N - 1), n == N}; }
  __device__ float load(const Cursor& c) const { return c.ones ? 1.0f : b.load(c.inner); }
  __device__ void advance(Cursor& c) const { b.advance(c.inner); }
};

// What a store does to a value before it writes it (relu.cuh): nothing, ReLU (a fused forward),
// or ReLU's backward through the ReLU whose output is the same-shaped `relu_output` (a fused
// input gradient).
enum class Epilogue { kNone, kRelu, kReluGradient };

// out(m, n) + bias[n] (bias may be null) into a row-major [M, N] matrix, through epilogue.
struct StoreRowMajor {
  float* out;
  std::int64_t N;
  const float* bias;
  Epilogue epilogue = Epilogue::kNone;
  const float* relu_output = nullptr;  // [M, N], for kReluGradient
  __device__ void operator()(int m, int n, float v) const {
    const std::int64_t i = m * N + n;
    if (bias != nullptr) v += bias[n];
    if (epilogue == Epilogue::kRelu) v = relu_value(v);
    if (epilogue == Epilogue::kReluGradient) v = relu_gradient(v, relu_output[i]);
    out[i] = v;
  }
};

// A weight gradient from the [M, N + 1] product: column n < N is dw[m, n], column N is db[m]
// (dropped when db is null).
struct StoreWeightGradient {
  float* dw;
  float* db;
  int N;
  __device__ void operator()(int m, int n, float v) const {
    if (n < N) {
      dw[m * N + n] = v;
    } else if (db != nullptr) {
      db[m] = v;
    }
  }
};

// out(m, n) of slice s = blockIdx.z (the split GEMM's grid has one z per slice) into
// partials[s][m][n], partials being [S, M, N].
struct StorePartial {
  float* partials;
  int M, N;
  __device__ void operator()(int m, int n, float v) const {
    partials[(static_cast<int>(blockIdx.z) * M + m) * N + n] = v;
  }
};

namespace detail {

constexpr std::int64_t kMaxIndex = (std::int64_t{1} << 30) - 1;

// Throws naming op and the count unless every count is at most kMaxIndex (see the top).
inline void check_32bit_indices(
    const char* op, std::initializer_list<std::pair<const char*, std::int64_t>> counts) {
  for (const auto& [what, count] : counts) {
    LENET_CHECK(count <= kMaxIndex, op << ": " << what << " has " << count
                                       << " elements; the kernels index in 32 bits and take "
                                          "at most 2^30 - 1 (split the batch)");
  }
}

// How split-K cuts a reduction of length K for an M x N output (docs/kernels.md):
// - enough blocks: S = ceil(kSplitTargetBlocks / tiles) for the output's tiles, so the grid
//   has about kSplitTargetBlocks blocks (twice an H100's 132 SMs); S = 1 once the tiles alone
//   reach it;
// - slices of at least kMinSliceLength (4 tiles) of k: a shorter one saves less than the
//   second launch costs;
// - at most kMaxSlices, which bounds the second pass's serial sum per output;
// - slices of whole tiles, S recounted so that none is empty (the last may be shorter).
constexpr std::int64_t kSplitTargetBlocks = 256;
constexpr std::int64_t kMinSliceLength = 4 * kGemmTile;
constexpr std::int64_t kMaxSlices = 128;

// S > 1 only when tiles < kSplitTargetBlocks, and then S * tiles < 2 * kSplitTargetBlocks; a
// tile's partials are at most kGemmTile^2 floats. So no shape needs more workspace than this
// (512 KiB), which the public headers promise.
constexpr std::size_t kSplitWorkspaceBound =
    2 * kSplitTargetBlocks * kGemmTile * kGemmTile * sizeof(float);

struct SplitK {
  std::int64_t slices;        // S; slice s covers k in [s * slice_length, (s + 1) * slice_length)
  std::int64_t slice_length;  // a multiple of kGemmTile
  std::size_t workspace_bytes;  // S x M x N partials; 0 when S = 1 (the GEMM stores directly)
};

inline SplitK split_k(std::int64_t M, std::int64_t N, std::int64_t K) {
  const auto ceil_div = [](std::int64_t a, std::int64_t b) { return (a + b - 1) / b; };
  const std::int64_t tiles = ceil_div(M, kGemmTile) * ceil_div(N, kGemmTile);
  std::int64_t slices =
      std::min({ceil_div(kSplitTargetBlocks, tiles), K / kMinSliceLength, kMaxSlices});
  if (slices < 1) slices = 1;
  const std::int64_t slice_length = ceil_div(ceil_div(K, slices), kGemmTile) * kGemmTile;
  slices = ceil_div(K, slice_length);
  const std::size_t bytes = slices > 1 ? static_cast<std::size_t>(slices * M * N) * sizeof(float)
                                       : 0;
  return {slices, slice_length, bytes};
}

// The split of a weight gradient's GEMM: M x N weights plus the bias column (WithOnesColumn),
// whether or not db is asked for, so dw is the same bits either way.
inline SplitK weight_gradient_split(std::int64_t M, std::int64_t N, std::int64_t K) {
  return split_k(M, N + 1, K);
}

// Runs implicit_gemm_kernel over an M x N output, with reduction length K cut into slices of
// slice_length (grid z); throws naming op when the output needs more tiles than a grid holds.
template <typename LoadA, typename LoadB, typename Store>
void launch_gemm_slices(const char* op, std::int64_t M, std::int64_t N, std::int64_t K,
                        std::int64_t slice_length, LoadA a, LoadB b, Store store,
                        cudaStream_t stream) {
  check_32bit_indices(op, {{"the GEMM's M", M}, {"the GEMM's N", N}, {"the GEMM's K", K}});
  const std::int64_t grid_x = (N + kGemmTile - 1) / kGemmTile;
  const std::int64_t grid_y = (M + kGemmTile - 1) / kGemmTile;
  const std::int64_t grid_z = (K + slice_length - 1) / slice_length;
  LENET_CHECK(grid_y <= 65535 && grid_z <= 65535,
              op << ": a " << M << " x " << N << " GEMM output needs more tiles than a grid holds");
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y),
                  static_cast<unsigned>(grid_z));
  const dim3 block(kGemmTile, kGemmTile);
  LENET_LAUNCH((implicit_gemm_kernel<kGemmTile, LoadA, LoadB, Store>), grid, block, 0, stream,
               static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
               static_cast<int>(slice_length), a, b, store);
}

// The whole reduction in one block per output tile.
template <typename LoadA, typename LoadB, typename Store>
void launch_gemm(const char* op, std::int64_t M, std::int64_t N, std::int64_t K, LoadA a, LoadB b,
                 Store store, cudaStream_t stream) {
  launch_gemm_slices(op, M, N, K, K, a, b, store, stream);
}

// dw[M, N] = a x b over reduction length K, and db[M] = the row sums of a (db null: not
// wanted), split per weight_gradient_split: with S = 1 one launch stores them directly; with
// S > 1 the partials go to workspace (at least workspace_bytes of the split, else this throws)
// and a second launch sums them.
template <typename LoadA, typename LoadB>
void launch_weight_gradient(const char* op, std::int64_t M, std::int64_t N, std::int64_t K,
                            LoadA a, LoadB b, float* dw, float* db, void* workspace,
                            std::size_t workspace_bytes, cudaStream_t stream) {
  const SplitK split = weight_gradient_split(M, N, K);
  const WithOnesColumn<LoadB> b_ones{b, static_cast<int>(N)};
  const StoreWeightGradient store{dw, db, static_cast<int>(N)};
  if (split.slices == 1) {
    launch_gemm(op, M, N + 1, K, a, b_ones, store, stream);
    return;
  }
  LENET_CHECK(workspace != nullptr, op << ": workspace is null, but this shape's split reduction "
                                          "needs "
                                       << split.workspace_bytes << " bytes (" << op
                                       << "_workspace_bytes)");
  LENET_CHECK(workspace_bytes >= split.workspace_bytes,
              op << ": workspace_bytes is " << workspace_bytes << ", but this shape's split "
                 << "reduction needs " << split.workspace_bytes << " (" << op
                 << "_workspace_bytes)");
  LENET_CHECK(reinterpret_cast<std::uintptr_t>(workspace) % alignof(float) == 0,
              op << ": workspace is not aligned for floats");
  float* partials = static_cast<float*>(workspace);
  launch_gemm_slices(op, M, N + 1, K, split.slice_length, a, b_ones,
                     StorePartial{partials, static_cast<int>(M), static_cast<int>(N + 1)},
                     stream);
  constexpr int kBlock = 256;
  LENET_LAUNCH(sum_slices_kernel<StoreWeightGradient>, grid_1d(M * (N + 1), kBlock), kBlock, 0,
               stream, static_cast<int>(split.slices), static_cast<int>(M),
               static_cast<int>(N + 1), partials, store);
}

}  // namespace detail
}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
