// The cpu backend's hot ops, as a table of functions that one instruction set's copy of
// cpu_ops.cpp fills in. engine/CMakeLists.txt compiles cpu_ops.cpp once per level (baseline,
// AVX2+FMA, AVX-512) with that level's flags, and cpu_backend.cpp picks one table at start-up
// from what the CPU reports (or LENET_CPU_ISA). Each copy exports exactly one symbol, its
// entry function below; everything else in it, Eigen's templates included, is local to it
// (engine/cpu/localize_isa_object.cmake says why and checks it).
//
// Every op works on one chunk of a batch (s.N = the chunk's images or rows) and is called by
// one thread at a time per Workspace. Outputs are overwritten, never accumulated. The callers
// have checked shapes and pointers.
#pragma once

#include <lenet/shapes.h>

#include <cstdint>
#include <vector>

namespace lenet::engine::cpu {

// Scratch memory of one chunk: the im2col matrix (or a direct path's shifted or padded rows,
// or its partial sums) and a GEMM output or gathered gradient. The vectors only grow (the first step of a shape allocates, later steps reuse), so a training
// step allocates nothing once the first has run.
struct Workspace {
  std::vector<float> col;
  std::vector<float> tmp;
};

struct Ops {
  // x [N, C, H, W], w [OC, C, KH, KW], b [OC] or null -> y [N, OC, OH, OW].
  void (*conv2d_forward)(const Conv2dShape& s, const float* x, const float* w, const float* b,
                         float* y, Workspace& ws);
  // dy [N, OC, OH, OW], w -> dx [N, C, H, W].
  void (*conv2d_backward_data)(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                               Workspace& ws);
  // x, dy -> dw [OC, C, KH, KW] summed over the chunk's images, db [OC] (or null).
  void (*conv2d_backward_filter)(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                 float* db, Workspace& ws);
  // x [N, C, H, W] -> y, idx [N, C, OH, OW]; backward: the caller has checked that every idx
  // lies inside its plane (cpu_backend.cpp checks the whole batch before any chunk writes).
  void (*maxpool2d_forward)(const Pool2dShape& s, const float* x, float* y, std::int32_t* idx);
  void (*maxpool2d_backward)(const Pool2dShape& s, const float* dy, const std::int32_t* idx,
                             float* dx);
  void (*relu_forward)(std::int64_t n, const float* x, float* y);
  void (*relu_backward)(std::int64_t n, const float* dy, const float* x, float* dx);
  // x [N, in], w [out, in], b [out] or null -> y [N, out].
  void (*linear_forward)(const LinearShape& s, const float* x, const float* w, const float* b,
                         float* y);
  // dy [N, out], x, w -> dx [N, in] (or null), dw [out, in] summed over the chunk's rows,
  // db [out] (or null).
  void (*linear_backward)(const LinearShape& s, const float* dy, const float* x, const float* w,
                          float* dx, float* dw, float* db);
  void (*sgd_momentum_step)(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v);
  // The small ops, here so that the backend never runs the reference: y = (p/255 - mean)/std;
  // the mean loss and dlogits [N, K] (or null) of labels already checked to lie in [0, K); the
  // count of rows whose first maximum (or first NaN) is the label.
  void (*normalize_u8)(std::int64_t n, const std::uint8_t* pixels, float* y, float mean,
                       float stddev);
  void (*softmax_cross_entropy)(std::int64_t N, std::int64_t K, const float* logits,
                                const std::int32_t* labels, float* loss, float* dlogits);
  std::int64_t (*count_correct)(std::int64_t N, std::int64_t K, const float* logits,
                                const std::int32_t* labels);
};

}  // namespace lenet::engine::cpu

// The entry of each copy (C names: one plain symbol each, easy to keep and to check with nm).
// The x86 levels exist in x86-64 builds only (LENET_CPU_X86_ISAS).
extern "C" {
const lenet::engine::cpu::Ops* lenet_cpu_ops_baseline();
const lenet::engine::cpu::Ops* lenet_cpu_ops_avx2();
const lenet::engine::cpu::Ops* lenet_cpu_ops_avx512();
}
