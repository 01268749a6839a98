// The GEMM in stages, for learners: C[M, N] = A[M, K] B[K, N], row-major fp32, C overwritten.
// Each stage is one small kernel whose comment says what changed since the previous one and
// why, side by side as llm.c's dev/cuda/matmul_forward.cu sets its versions:
//   1 naive      one thread per output, threadIdx.x along M
//   2 coalesced  the same, threadIdx.x along N: a warp reads one stretch of a row of B
//   3 smem       16 x 16 tiles of A and B staged in shared memory, one output per thread
//   4 regtile    64 x 64 tiles, each thread 4 x 4 outputs held in registers
//   5 library    kernels/gemm.cuh, what linear and conv2d run (production keeps one version)
// docs/gemm-stages.md walks through them: global loads per multiply-add, what the simulator
// catches in each, and the GPU results table this program fills.
//
// One source, two programs (bench/CMakeLists.txt). bench_gemm_stages (nvcc, lenet_kernels)
// validates every stage, then times each with CUDA events. bench_gemm_stages_sim (g++,
// lenet_kernels_sim) validates every stage in three thread orders and times nothing: the
// simulator's timings say nothing about a GPU.
//
//   bench_gemm_stages [--validate] [--repetitions N]   validate (and on a GPU, time)
//   bench_gemm_stages --planted BUG                     run a stage with a planted bug
//   bench_gemm_stages --list-planted                    the bugs and what catches them
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <lenet/kernels/memory.h>

#include "gemm.cuh"
#include "launch.h"
#include "run_guarded.h"
#if !defined(LENET_SIM)
#include "cuda_events.h"
#endif

namespace {

namespace lk = lenet::kernels;

// A learner's typical mistakes, planted one at a time into stage 3 or 4 (--planted).
enum class Planted {
  kNone,
  kNoSecondSync,   // stage 3: no barrier after the tile product
  kEarlyReturn,    // stage 3: threads outside C return before the loop and its barriers
  kNoFirstSync,    // stage 4: no barrier between storing the tiles and reading them
  kUnguardedEdge,  // stage 4: tile loads without their bounds checks
};

// Stages 1 and 2: one thread per output, the dot product of row m of A and column n of B
// straight from global memory, 2 global loads per multiply-add (FMA). They differ only in the
// index threadIdx.x walks along:
//   1 naive (kNAlongX false): threadIdx.x along M, so a warp holds 32 consecutive m and one n.
//     Per k its A loads are 32 words K floats apart (32 memory sectors), its B load is one word
//     for all, and its stores are 32 words N apart.
//   2 coalesced (kNAlongX true): a warp holds one m and 32 consecutive n. Per k its A load is
//     one word (a broadcast) and its B loads are 32 consecutive words, 128 bytes in 4 sectors;
//     its stores are 32 consecutive words too: 5 sectors per warp and k instead of 33.
template <bool kNAlongX>
__global__ void gemm_simple_kernel(int M, int N, int K, const float* A, const float* B,
                                   float* C) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  const int m = kNAlongX ? y : x;
  const int n = kNAlongX ? x : y;
  if (m >= M || n >= N) return;
  float acc = 0.0f;
  for (int k = 0; k < K; ++k) acc += A[m * K + k] * B[k * N + n];
  C[m * N + n] = acc;
}

// Stage 3, shared-memory tiles: a kTile x kTile block computes a kTile x kTile tile of C, one
// output per thread, threadIdx.x along N as in stage 2. Per step of kTile along K the block
// stages a tile of A and one of B in shared memory, one element of each per thread (0 outside
// the matrices, so any M, N, K work), and each thread reads its row of the A tile and its
// column of the B tile from there: an element loaded from global memory serves kTile FMAs,
// 2 / kTile global loads per FMA (1/8 for 16), but still 2 shared-memory loads per FMA.
// The first barrier keeps a thread from reading a tile before all have stored into it; the
// second keeps it from overwriting a tile, at the next step, that others still read.
// kernels/gemm.cuh is this kernel with operand functors (stage 5).
template <int kTile, Planted kBug = Planted::kNone>
__global__ void gemm_smem_kernel(int M, int N, int K, const float* A, const float* B,
                                 float* C) {
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile];
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int m = static_cast<int>(blockIdx.y) * kTile + ty;
  const int n = static_cast<int>(blockIdx.x) * kTile + tx;
  if constexpr (kBug == Planted::kEarlyReturn) {
    if (m >= M || n >= N) return;  // planted: stage 2's bounds check, now before barriers
  }
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += kTile) {
    a_tile[ty][tx] = (m < M && k0 + tx < K) ? A[m * K + k0 + tx] : 0.0f;
    b_tile[ty][tx] = (k0 + ty < K && n < N) ? B[(k0 + ty) * N + n] : 0.0f;
    __syncthreads();
    for (int k = 0; k < kTile; ++k) acc += a_tile[ty][k] * b_tile[k][tx];
    if constexpr (kBug != Planted::kNoSecondSync) __syncthreads();
  }
  if (m < M && n < N) C[m * N + n] = acc;
}

// Stage 4's tiles: a block of kThreads = 16 x 16 threads computes a kBM x kBN tile of C,
// stepping kBK along K; each thread owns kTM x kTN outputs.
constexpr int kBM = 64;
constexpr int kBN = 64;
constexpr int kBK = 16;
constexpr int kTM = 4;
constexpr int kTN = 4;
constexpr int kThreadsX = kBN / kTN;  // 16
constexpr int kThreadsY = kBM / kTM;  // 16
constexpr int kThreads = kThreadsX * kThreadsY;
constexpr std::size_t kRegtileSharedBytes = (kBM * kBK + kBK * kBN) * sizeof(float);
static_assert(kBM * kBK % kThreads == 0 && kBK * kBN % kThreads == 0, "whole loads per thread");

// Stage 4's loads: the kRows x kCols tile of the row-major X [R, C] whose corner is (r0, c0),
// stored row-major into tile by the block's kThreads threads. Thread t stores elements
// e = t + kThreads i: a warp stores 32 consecutive words and reads one stretch of a row of X
// per kCols words (two 64-byte stretches of A, one 128-byte stretch of B). Outside X it stores
// 0, unless kGuarded is false.
template <int kRows, int kCols, bool kGuarded>
__device__ void load_tile(const float* X, int R, int C, int r0, int c0, int t, float* tile) {
#pragma unroll
  for (int i = 0; i < kRows * kCols / kThreads; ++i) {
    const int e = t + i * kThreads;
    const int r = r0 + e / kCols;
    const int c = c0 + e % kCols;
    tile[e] = !kGuarded || (r < R && c < C) ? X[r * C + c] : 0.0f;
  }
}

// Stage 4, register tiles: thread (ty, tx) owns the outputs at rows ty + 16 i and columns
// tx + 16 j of the block's 64 x 64 tile (i, j < 4; a warp's stores stay 16 consecutive words).
// Per step of 16 along K the block stages a 64 x 16 tile of A and a 16 x 64 tile of B, 4
// elements of each per thread; then for each k a thread reads 4 values of the A tile and 4 of
// the B tile into registers and does 16 FMAs with them. Per FMA: (64 + 64) x 16 global loads
// per 64 x 64 x 16 FMAs = 1/32 (stage 3: 1/8), and 8 shared-memory loads per 16 FMAs = 1/2
// (stage 3: 2). The loops over i and j unroll, so acc stays in registers. The tiles live in
// dynamic shared memory, which the simulator fills with NaN for every block: a read of a slot
// no thread wrote turns outputs NaN.
template <Planted kBug = Planted::kNone>
__global__ void gemm_regtile_kernel(int M, int N, int K, const float* A, const float* B,
                                    float* C) {
  LENET_DYNAMIC_SHARED(float, tiles);
  float* a_tile = tiles;              // [kBM][kBK]
  float* b_tile = tiles + kBM * kBK;  // [kBK][kBN]
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int t = ty * kThreadsX + tx;
  const int m0 = static_cast<int>(blockIdx.y) * kBM;
  const int n0 = static_cast<int>(blockIdx.x) * kBN;
  float acc[kTM][kTN] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    // (The planted kUnguardedEdge skips the bounds checks and trusts every load to be inside.)
    constexpr bool kGuarded = kBug != Planted::kUnguardedEdge;
    load_tile<kBM, kBK, kGuarded>(A, M, K, m0, k0, t, a_tile);
    load_tile<kBK, kBN, kGuarded>(B, K, N, k0, n0, t, b_tile);
    if constexpr (kBug != Planted::kNoFirstSync) __syncthreads();
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      float a[kTM];
      float b[kTN];
#pragma unroll
      for (int i = 0; i < kTM; ++i) a[i] = a_tile[(ty + i * kThreadsY) * kBK + k];
#pragma unroll
      for (int j = 0; j < kTN; ++j) b[j] = b_tile[k * kBN + tx + j * kThreadsX];
#pragma unroll
      for (int i = 0; i < kTM; ++i) {
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] += a[i] * b[j];
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kTM; ++i) {
#pragma unroll
    for (int j = 0; j < kTN; ++j) {
      const int m = m0 + ty + i * kThreadsY;
      const int n = n0 + tx + j * kThreadsX;
      if (m < M && n < N) C[m * N + n] = acc[i][j];
    }
  }
}

// Device pointers of one product.
struct Gemm {
  int M, N, K;
  const float* A;  // [M, K]
  const float* B;  // [K, N]
  float* C;        // [M, N]
};

unsigned blocks(int n, int per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

// Stages 1 and 2: 32 x 8 threads a block, x along M (naive) or along N (coalesced).
template <bool kNAlongX>
void launch_simple(const Gemm& g, cudaStream_t stream) {
  const dim3 block(32, 8);
  const dim3 grid = kNAlongX ? dim3(blocks(g.N, 32), blocks(g.M, 8))
                             : dim3(blocks(g.M, 32), blocks(g.N, 8));
  LENET_LAUNCH(gemm_simple_kernel<kNAlongX>, grid, block, 0, stream, g.M, g.N, g.K, g.A, g.B,
               g.C);
}

constexpr int kSmemTile = 16;

template <Planted kBug>
void launch_smem(const Gemm& g, cudaStream_t stream) {
  const dim3 block(kSmemTile, kSmemTile);
  LENET_LAUNCH((gemm_smem_kernel<kSmemTile, kBug>),
               dim3(blocks(g.N, kSmemTile), blocks(g.M, kSmemTile)), block, 0, stream, g.M, g.N,
               g.K, g.A, g.B, g.C);
}

template <Planted kBug>
void launch_regtile(const Gemm& g, cudaStream_t stream) {
  const dim3 block(kThreadsX, kThreadsY);
  LENET_LAUNCH(gemm_regtile_kernel<kBug>, dim3(blocks(g.N, kBN), blocks(g.M, kBM)), block,
               kRegtileSharedBytes, stream, g.M, g.N, g.K, g.A, g.B, g.C);
}

// The library's GEMM, as linear_forward runs it on row-major operands.
void launch_library(const Gemm& g, cudaStream_t stream) {
  lk::detail::launch_gemm("bench_gemm_stages", g.M, g.N, g.K, lk::StridedMatrix{g.A, g.K, 1},
                          lk::StridedMatrix{g.B, g.N, 1}, lk::StoreRowMajor{g.C, g.N, nullptr},
                          stream);
}

using Launch = void (*)(const Gemm&, cudaStream_t);

struct Stage {
  const char* name;
  Launch launch;
};

const Stage kStages[] = {
    {"1 naive", launch_simple<false>},
    {"2 coalesced", launch_simple<true>},
    {"3 smem 16x16", launch_smem<Planted::kNone>},
    {"4 regtile 64x64, 4x4", launch_regtile<Planted::kNone>},
    {"5 library gemm.cuh", launch_library},
};

struct PlantedBug {
  const char* name;
  const char* stage;
  const char* mistake;
  const char* expect;  // what the simulator reports
  Launch launch;
};

const PlantedBug kPlantedBugs[] = {
    {"smem-no-second-sync", "3 smem", "no __syncthreads() after the tile product",
     "wrong values in C in at least one thread order", launch_smem<Planted::kNoSecondSync>},
    {"smem-early-return", "3 smem", "threads outside C return before the loop's barriers",
     "lenet::sim::BarrierDivergence naming kernel, block and threads",
     launch_smem<Planted::kEarlyReturn>},
    {"regtile-no-first-sync", "4 regtile",
     "no __syncthreads() between storing the tiles and reading them",
     "NaN in C: reads of shared memory no thread wrote yet", launch_regtile<Planted::kNoFirstSync>},
    {"regtile-unguarded-edge", "4 regtile", "tile loads without their bounds checks",
     "NaN in C: loads past the inputs read their NaN guard cells",
     launch_regtile<Planted::kUnguardedEdge>},
};

struct Shape {
  const char* name;
  int M, N, K;
};

// Not multiples of any tile: edges, partial steps along K, a single output.
const Shape kOddShapes[] = {{"odd", 37, 29, 53}, {"odd, 1 output", 1, 1, 17},
                            {"odd, 6 regtiles", 67, 131, 70}};
// LeNet's (docs/kernels.md): fc1 forward is y[64, 120] = x[64, 256] w^T; conv2 forward is an
// implicit GEMM of M = 16 channels, N = 64 x 8 x 8 positions, K = 6 x 5 x 5 (here its shape
// only: plain matrices, no gather).
const Shape kLenetShapes[] = {{"fc1 fwd, batch 64", 64, 120, 256},
                              {"conv2 fwd, batch 64", 16, 4096, 150}};
const Shape kLargeShape = {"large", 1024, 1024, 1024};
// What --planted runs: several blocks of both stages, edges, a partial last step along K.
const Shape kPlantedShape = {"odd, 6 regtiles", 67, 131, 70};

// Floats after each input, all NaN, at least as many as a stage-4 tile reaches past it: an
// unguarded load at the edge reads NaN instead of whatever lies beyond.
std::size_t guard_cells(int cols) { return static_cast<std::size_t>(kBM) * cols + kBM; }

// A product on the host and its double reference. bound[i] is the error any order of float
// sums may make: |c - ref| <= gamma_K sum_k |a(m, k) b(k, n)|, gamma_K = K u / (1 - K u),
// u = 2^-24 (fused multiply-adds only make it smaller).
struct Problem {
  Shape shape;
  std::vector<float> A, B;
  std::vector<double> ref, bound;
};

Problem make_problem(const Shape& s, unsigned seed) {
  Problem p{s, {}, {}, {}, {}};
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  p.A.resize(static_cast<std::size_t>(s.M) * s.K);
  p.B.resize(static_cast<std::size_t>(s.K) * s.N);
  for (float& v : p.A) v = dist(gen);
  for (float& v : p.B) v = dist(gen);
  const std::size_t MN = static_cast<std::size_t>(s.M) * s.N;
  p.ref.assign(MN, 0.0);
  std::vector<double> abs_sum(MN, 0.0);
  for (int m = 0; m < s.M; ++m) {
    double* ref = &p.ref[static_cast<std::size_t>(m) * s.N];
    double* sum = &abs_sum[static_cast<std::size_t>(m) * s.N];
    for (int k = 0; k < s.K; ++k) {
      const double a = p.A[static_cast<std::size_t>(m) * s.K + k];
      const float* b = &p.B[static_cast<std::size_t>(k) * s.N];
      for (int n = 0; n < s.N; ++n) {
        ref[n] += a * b[n];
        sum[n] += std::abs(a * b[n]);
      }
    }
  }
  const double Ku = s.K * std::ldexp(1.0, -24);
  p.bound.resize(MN);
  for (std::size_t i = 0; i < MN; ++i) p.bound[i] = Ku / (1.0 - Ku) * abs_sum[i] * 1.001;
  return p;
}

// The problem's operands in device memory, each followed by its guard cells; C as NaN.
struct DeviceProblem {
  lk::DeviceBuffer<float> A, B, C;
  explicit DeviceProblem(const Problem& p)
      : A(with_guard(p.A, p.shape.K)), B(with_guard(p.B, p.shape.N)), C(p.ref.size()) {}
  Gemm gemm(const Problem& p) {
    return {p.shape.M, p.shape.N, p.shape.K, A.data(), B.data(), C.data()};
  }
  static std::vector<float> with_guard(std::vector<float> v, int cols) {
    v.resize(v.size() + guard_cells(cols), std::numeric_limits<float>::quiet_NaN());
    return v;
  }
};

// How a run's C compares with the reference.
struct Outcome {
  std::string error;  // the exception the launch threw; empty when it ran
  bool barrier_divergence = false;
  std::int64_t wrong = 0;  // outputs outside the bound, NaN included
  std::int64_t nans = 0;
  std::int64_t first = -1;
  float got = 0.0f;
  double max_error = 0.0;
  bool ok() const { return error.empty() && wrong == 0; }
};

Outcome compare(const Problem& p, const std::vector<float>& C) {
  Outcome o;
  for (std::size_t i = 0; i < C.size(); ++i) {
    const double err = std::abs(static_cast<double>(C[i]) - p.ref[i]);
    if (std::isnan(C[i])) ++o.nans;
    if (!(err <= p.bound[i])) {
      if (o.first < 0) {
        o.first = static_cast<std::int64_t>(i);
        o.got = C[i];
      }
      ++o.wrong;
    }
    if (!(err <= o.max_error)) o.max_error = err;
  }
  return o;
}

// Fills C with NaN (so an output never written shows), runs the stage, compares.
Outcome run(Launch launch, const Problem& p, DeviceProblem& d) {
  Outcome o;
  try {
    lk::device_memset(d.C.data(), 0xFF, d.C.bytes());
    launch(d.gemm(p), nullptr);
    lk::synchronize();
    return compare(p, d.C.to_vector());
#if defined(LENET_SIM)
  } catch (const lenet::sim::BarrierDivergence& e) {
    o.error = e.what();
    o.barrier_divergence = true;
#endif
  } catch (const std::exception& e) {
    o.error = e.what();
  }
  return o;
}

std::string describe(const Problem& p, const Outcome& o) {
  if (!o.error.empty()) return o.error;
  const std::int64_t total = static_cast<std::int64_t>(p.ref.size());
  char line[320];
  if (o.wrong == 0) {
    std::snprintf(line, sizeof line, "all %lld outputs within the error bound (max error %.2g)",
                  static_cast<long long>(total), o.max_error);
  } else {
    const std::int64_t m = o.first / p.shape.N;
    const std::int64_t n = o.first % p.shape.N;
    std::snprintf(line, sizeof line,
                  "%lld of %lld outputs wrong, %lld of them NaN; first C[%lld, %lld] = %g, "
                  "expected %.6g (bound %.2g)",
                  static_cast<long long>(o.wrong), static_cast<long long>(total),
                  static_cast<long long>(o.nans), static_cast<long long>(m),
                  static_cast<long long>(n), static_cast<double>(o.got),
                  p.ref[static_cast<std::size_t>(o.first)],
                  p.bound[static_cast<std::size_t>(o.first)]);
  }
  return line;
}

// Calls body(order name) once per thread order: forward, reverse and seeded random in the
// simulator (a missing barrier gives a wrong answer in at least one), once on a GPU.
template <typename Body>
void for_each_order(Body body) {
#if defined(LENET_SIM)
  const lenet::sim::Order orders[] = {lenet::sim::Order::kForward, lenet::sim::Order::kReverse,
                                      lenet::sim::Order::kRandom};
  for (const lenet::sim::Order order : orders) {
    lenet::sim::Options o = lenet::sim::options();
    o.order = order;
    o.seed = 7;
    const lenet::sim::ScopedOptions scoped(o);
    body(lenet::sim::to_string(order, o.seed));
  }
#else
  body(std::string("gpu"));
#endif
}

// Every stage on every shape, in every order; prints one line per run. True when all pass.
bool validate(const std::vector<Shape>& shapes) {
  bool all_ok = true;
  unsigned seed = 1;
  for (const Shape& s : shapes) {
    const Problem p = make_problem(s, seed++);
    DeviceProblem d(p);
    for (const Stage& stage : kStages) {
      for_each_order([&](const std::string& order) {
        const Outcome o = run(stage.launch, p, d);
        all_ok = all_ok && o.ok();
        std::printf("%-4s %-22s %-20s M=%-4d N=%-4d K=%-4d %-10s %s\n", o.ok() ? "ok" : "FAIL",
                    stage.name, s.name, s.M, s.N, s.K, order.c_str(), describe(p, o).c_str());
      });
    }
  }
  return all_ok;
}

// Runs one planted bug in every order and says whether anything exposed it. True when caught.
bool run_planted(const PlantedBug& bug) {
  std::printf("planted %s in stage %s: %s\n", bug.name, bug.stage, bug.mistake);
  const Problem p = make_problem(kPlantedShape, 11);
  DeviceProblem d(p);
  bool divergence = false;
  bool nan = false;
  bool wrong = false;
  bool other_error = false;
  std::string exposed_in;
  for_each_order([&](const std::string& order) {
    const Outcome o = run(bug.launch, p, d);
    std::printf("  %-10s %s\n", order.c_str(), describe(p, o).c_str());
    divergence = divergence || o.barrier_divergence;
    other_error = other_error || (!o.error.empty() && !o.barrier_divergence);
    nan = nan || o.nans > 0;
    wrong = wrong || o.wrong > 0;
    if (!o.ok()) exposed_in += (exposed_in.empty() ? "" : ", ") + order;
  });
  const char* verdict = divergence    ? "caught (barrier divergence)"
                        : other_error ? "caught (launch error)"
                        : nan         ? "caught (NaN in C)"
                        : wrong       ? "caught (wrong values in C)"
                                      : "NOT caught";
  std::printf("verdict: %s%s%s\n", verdict, exposed_in.empty() ? "" : "; exposed in order(s) ",
              exposed_in.c_str());
#if !defined(LENET_SIM)
  std::printf("on a GPU the scheduler picks one order; compute-sanitizer --tool racecheck, "
              "synccheck and memcheck look for what the simulator reports\n");
#endif
  return !exposed_in.empty();
}

#if !defined(LENET_SIM)
void print_device() {
  int device = 0;
  cudaDeviceProp prop{};
  int driver = 0;
  int runtime = 0;
  LENET_CUDA_CHECK(cudaGetDevice(&device));
  LENET_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  LENET_CUDA_CHECK(cudaDriverGetVersion(&driver));
  LENET_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  std::printf("device: %s, compute capability %d.%d, %d SMs; driver CUDA %d.%d, runtime %d.%d\n",
              prop.name, prop.major, prop.minor, prop.multiProcessorCount, driver / 1000,
              driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
}

// One Markdown table row per stage and shape: median time, GFLOP/s, speed-up on the stage
// before (docs/gemm-stages.md takes these rows).
void time_stages(const std::vector<Shape>& shapes, int repetitions) {
  std::printf("\nmedian of %d launches after 10 warm-up launches, CUDA events\n", repetitions);
  std::printf("| shape | M x N x K | stage | median us | GFLOP/s | vs previous |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    const Problem p{s, std::vector<float>(static_cast<std::size_t>(s.M) * s.K, 0.5f),
                    std::vector<float>(static_cast<std::size_t>(s.K) * s.N, 0.25f),
                    std::vector<double>(static_cast<std::size_t>(s.M) * s.N), {}};
    DeviceProblem d(p);
    const double flop = 2.0 * s.M * s.N * s.K;
    double previous = 0.0;
    for (const Stage& stage : kStages) {
      const Gemm g = d.gemm(p);
      const double us =
          lenet::bench::median_us([&] { stage.launch(g, nullptr); }, repetitions, nullptr);
      char ratio[32] = "";
      if (previous > 0.0) std::snprintf(ratio, sizeof ratio, "%.2fx", previous / us);
      std::printf("| %s | %d x %d x %d | %s | %.2f | %.1f | %s |\n", s.name, s.M, s.N, s.K,
                  stage.name, us, flop / (us * 1e3), ratio);
      previous = us;
    }
  }
}
#endif

int usage(const char* program, int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: %s [--validate] [--repetitions N]   validate every stage%s\n"
               "       %s --planted BUG                     run a stage with a planted bug\n"
               "       %s --list-planted                    the bugs --planted knows\n",
               program,
#if defined(LENET_SIM)
               " (simulator: no timing)",
#else
               ", then time it",
#endif
               program, program);
  return status;
}

int run_main(int argc, char** argv) {
  bool validate_only = false;
  int repetitions = 200;
  const char* planted = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--validate") {
      validate_only = true;
    } else if (arg == "--repetitions" && i + 1 < argc) {
      repetitions = std::atoi(argv[++i]);
      if (repetitions < 100) {
        std::fprintf(stderr, "%s: --repetitions takes at least 100\n", argv[0]);
        return 2;
      }
    } else if (arg == "--planted" && i + 1 < argc) {
      planted = argv[++i];
    } else if (arg == "--list-planted") {
      for (const PlantedBug& bug : kPlantedBugs) {
        std::printf("%-24s stage %-10s %s\n%-24s expect: %s\n", bug.name, bug.stage, bug.mistake,
                    "", bug.expect);
      }
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      return usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], arg.c_str());
      return usage(argv[0], 2);
    }
  }
  if (lk::device_count() == 0) {
    std::fprintf(stderr, "%s: no usable CUDA device; bench_gemm_stages_sim runs the stages in "
                 "the simulator\n", argv[0]);
    return 1;
  }
  if (planted != nullptr) {
    for (const PlantedBug& bug : kPlantedBugs) {
      if (bug.name == std::string(planted)) return run_planted(bug) ? 0 : 1;
    }
    std::fprintf(stderr, "%s: no planted bug '%s' (--list-planted)\n", argv[0], planted);
    return 2;
  }

  std::vector<Shape> shapes(std::begin(kOddShapes), std::end(kOddShapes));
  shapes.insert(shapes.end(), std::begin(kLenetShapes), std::end(kLenetShapes));
#if !defined(LENET_SIM)
  shapes.push_back(kLargeShape);  // a few seconds of reference on the host; too slow to simulate
  print_device();
#endif
  const bool ok = validate(shapes);
  if (!ok) {
    std::printf("FAILED: a stage disagrees with the double reference\n");
    return 1;
  }
#if defined(LENET_SIM)
  (void)repetitions;
  (void)validate_only;
  std::printf("validated every stage in the simulator; no timing here (the simulator's timings "
              "say nothing about a GPU): run bench_gemm_stages on a GPU\n");
#else
  if (!validate_only) {
    std::vector<Shape> timed(std::begin(kLenetShapes), std::end(kLenetShapes));
    timed.push_back(kLargeShape);
    time_stages(timed, repetitions);
  }
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lenet::bench::run_guarded("bench_gemm_stages", run_main, argc, argv);
}
