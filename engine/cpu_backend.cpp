// The cpu backend: fast float ops of its own (engine/cpu/cpu_ops.cpp: direct convolutions at
// LeNet's shapes, batch-level im2col + Eigen GEMMs otherwise, vectorized loops), built for
// several instruction sets and picked at start-up; lenet::cpu_ref stays the specification the
// tests compare it with. The batch is split into one chunk per thread; chunks are fixed by the
// thread count alone and partial weight gradients are added in chunk order, so one thread
// count (and one instruction set) always gives bitwise equal results.
//
// Not fused yet: the Backend's fused calls that LenetModel makes (conv2d_relu_maxpool2d_forward,
// linear_forward_relu, conv2d_backward_data_relu, linear_backward_relu) take their defaults
// (engine/backend.cpp: the two calls each). The bias is added inside each convolution and
// linear op.
#include <lenet/engine/backend.h>
#include <lenet/error.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_ops.h"
#include "thread_pool.h"

namespace lenet::engine {

namespace {

void release_host(void* p) { std::free(p); }

// An instruction set level of the cpu ops: its LENET_CPU_ISA name, its name for people, whether
// this CPU (and its OS, which must save the wider registers) runs it, and its table.
struct IsaLevel {
  const char* name;
  const char* label;
  bool (*supported)();
  const cpu::Ops* (*ops)();
};

// Best first. __builtin_cpu_supports reads CPUID once, and for the AVX levels also asks XGETBV
// whether the OS saves the registers. The AVX-512 copy is built with F, BW, DQ and VL (every
// AVX-512 CPU since Skylake-SP has all four) and FMA.
const IsaLevel kLevels[] = {
#if defined(LENET_CPU_X86_ISAS)
    {"avx512", "AVX-512",
     [] {
       return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
              __builtin_cpu_supports("fma");
     },
     &lenet_cpu_ops_avx512},
    {"avx2", "AVX2", [] { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); },
     &lenet_cpu_ops_avx2},
    {"baseline", "baseline (SSE2)", [] { return true; }, &lenet_cpu_ops_baseline},
#else
    {"baseline", "baseline", [] { return true; }, &lenet_cpu_ops_baseline},
#endif
};

// The best level this CPU runs, or the one LENET_CPU_ISA names (for tests and comparisons);
// one this CPU lacks, or an unknown name, is an error that lists the choices.
const IsaLevel& choose_level() {
  const char* forced = std::getenv("LENET_CPU_ISA");
  std::string runnable;
  for (const IsaLevel& level : kLevels) {
    if (level.supported()) runnable += std::string(runnable.empty() ? "" : ", ") + level.name;
  }
  if (forced == nullptr || *forced == '\0') {
    for (const IsaLevel& level : kLevels) {
      if (level.supported()) return level;
    }
  }
  for (const IsaLevel& level : kLevels) {
    if (std::string(forced) != level.name) continue;
    LENET_CHECK(level.supported(), "LENET_CPU_ISA=" << forced << ": this CPU does not support "
                                                    << level.label << " (it runs: " << runnable
                                                    << ")");
    return level;
  }
  std::string known;
  for (const IsaLevel& level : kLevels)
    known += std::string(known.empty() ? "" : ", ") + level.name;
  LENET_CHECK(false, "LENET_CPU_ISA=" << forced
                                      << " is not a level of this build (one of: " << known << ")");
  return kLevels[0];  // not reached
}

// Elementwise ops below this many elements run on the calling thread: waking a worker costs
// more than the work (their results do not depend on the split either way).
constexpr std::int64_t kMinParallelElements = 16384;

// Every op checks its shape and pointers before it splits the batch: a chunk's offset from a
// null pointer is no longer null.
class CpuBackend final : public Backend {
 public:
  CpuBackend(int threads, const IsaLevel& level)
      : pool_(threads),
        level_(level),
        ops_(*level.ops()),
        workspaces_(static_cast<std::size_t>(pool_.size())) {}

  std::string name() const override { return "cpu"; }
  std::string device() const override {
    return "CPU, " + std::to_string(pool_.size()) +
           (pool_.size() == 1 ? " thread, " : " threads, ") + level_.label;
  }

  Buffer allocate(std::size_t bytes) override {
    if (bytes == 0) return Buffer();
    // 64-byte alignment for vector loads; aligned_alloc wants a multiple of it.
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    return Buffer(p, bytes, &release_host);
  }
  void upload(void* dst, const void* src, std::size_t bytes) override { copy(dst, src, bytes); }
  void download(void* dst, const void* src, std::size_t bytes) override { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (bytes != 0) std::memmove(dst, src, bytes);
  }
  void zero(void* dst, std::size_t bytes) override {
    if (bytes != 0) std::memset(dst, 0, bytes);
  }
  void synchronize() override {}

  void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean,
                    float stddev) override {
    ElementwiseShape{n}.check("normalize_u8");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("normalize_u8", pixels, y);
    }
    LENET_CHECK(std::isfinite(mean), "normalize_u8: mean must be finite, got " << mean);
    LENET_CHECK(std::isfinite(stddev) && stddev > 0.0f,
                "normalize_u8: stddev must be finite and > 0, got " << stddev);
    split_elements(n, [&](std::int64_t i0, std::int64_t i1) {
      ops_.normalize_u8(i1 - i0, pixels + i0, y + i0, mean, stddev);
    });
  }

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    s.check("conv2d_forward");
    LENET_CHECK_NOT_NULL("conv2d_forward", x, w, y);
    split(s.N, [&](std::int64_t c, std::int64_t n0, std::int64_t n1) {
      ops_.conv2d_forward(sub(s, n0, n1), x + n0 * s.C * s.H * s.W, w, b,
                          y + n0 * s.OC * s.OH() * s.OW(), workspaces_[c]);
    });
  }

  void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                            float* dx) override {
    s.check("conv2d_backward_data");
    LENET_CHECK_NOT_NULL("conv2d_backward_data", dy, w, dx);
    split(s.N, [&](std::int64_t c, std::int64_t n0, std::int64_t n1) {
      ops_.conv2d_backward_data(sub(s, n0, n1), dy + n0 * s.OC * s.OH() * s.OW(), w,
                                dx + n0 * s.C * s.H * s.W, workspaces_[c]);
    });
  }

  void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* db) override {
    s.check("conv2d_backward_filter");
    LENET_CHECK_NOT_NULL("conv2d_backward_filter", x, dy, dw);
    sum_over_chunks(
        s.N, s.w_size(), s.OC, dw, db,
        [&](std::int64_t c, std::int64_t n0, std::int64_t n1, float* dw_part, float* db_part) {
          ops_.conv2d_backward_filter(sub(s, n0, n1), x + n0 * s.C * s.H * s.W,
                                      dy + n0 * s.OC * s.OH() * s.OW(), dw_part, db_part,
                                      workspaces_[c]);
        });
  }

  void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y,
                         std::int32_t* idx) override {
    s.check("maxpool2d_forward");
    LENET_CHECK_NOT_NULL("maxpool2d_forward", x, y, idx);
    split(s.N, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
      const std::int64_t out = n0 * s.C * s.OH() * s.OW();
      ops_.maxpool2d_forward(sub(s, n0, n1), x + n0 * s.C * s.H * s.W, y + out, idx + out);
    });
  }

  void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx,
                          float* dx) override {
    s.check("maxpool2d_backward");
    LENET_CHECK_NOT_NULL("maxpool2d_backward", dy, idx, dx);
    // All indices are checked before any is used, so a bad one leaves dx untouched.
    const std::int64_t plane_size = s.H * s.W, y_size = s.y_size();
    for (std::int64_t i = 0; i < y_size; ++i) {
      LENET_CHECK(idx[i] >= 0 && idx[i] < plane_size,
                  "maxpool2d_backward: idx[" << i << "] = " << idx[i]
                                             << " is outside the plane [0, H*W = " << plane_size
                                             << ")");
    }
    split(s.N, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
      const std::int64_t out = n0 * s.C * s.OH() * s.OW();
      ops_.maxpool2d_backward(sub(s, n0, n1), dy + out, idx + out, dx + n0 * s.C * s.H * s.W);
    });
  }

  void relu_forward(std::int64_t n, const float* x, float* y) override {
    ElementwiseShape{n}.check("relu_forward");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("relu_forward", x, y);
    }
    split_elements(
        n, [&](std::int64_t i0, std::int64_t i1) { ops_.relu_forward(i1 - i0, x + i0, y + i0); });
  }

  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) override {
    ElementwiseShape{n}.check("relu_backward");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("relu_backward", dy, x, dx);
    }
    split_elements(n, [&](std::int64_t i0, std::int64_t i1) {
      ops_.relu_backward(i1 - i0, dy + i0, x + i0, dx + i0);
    });
  }

  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    s.check("linear_forward");
    LENET_CHECK_NOT_NULL("linear_forward", x, w, y);
    split(s.N, [&](std::int64_t, std::int64_t n0, std::int64_t n1) {
      ops_.linear_forward(LinearShape{n1 - n0, s.in, s.out}, x + n0 * s.in, w, b, y + n0 * s.out);
    });
  }

  void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                       float* dx, float* dw, float* db) override {
    s.check("linear_backward");
    LENET_CHECK_NOT_NULL("linear_backward", dy, x, w, dw);
    sum_over_chunks(
        s.N, s.w_size(), s.out, dw, db,
        [&](std::int64_t, std::int64_t n0, std::int64_t n1, float* dw_part, float* db_part) {
          ops_.linear_backward(LinearShape{n1 - n0, s.in, s.out}, dy + n0 * s.out, x + n0 * s.in, w,
                               dx != nullptr ? dx + n0 * s.in : nullptr, dw_part, db_part);
        });
  }

  // One pointer per check: a list of names longer than std::string's inline buffer would
  // make check_not_null allocate in every step.
  void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                             const std::int32_t* labels, float* loss, float* dlogits) override {
    constexpr const char* kOp = "softmax_cross_entropy";
    check_labels(kOp, N, K, logits, labels);
    LENET_CHECK_NOT_NULL(kOp, loss);
    ops_.softmax_cross_entropy(N, K, logits, labels, loss, dlogits);
  }

  void count_correct(std::int64_t N, std::int64_t K, const float* logits,
                     const std::int32_t* labels, std::int64_t* correct) override {
    constexpr const char* kOp = "count_correct";
    check_labels(kOp, N, K, logits, labels);
    LENET_CHECK_NOT_NULL(kOp, correct);
    *correct = ops_.count_correct(N, K, logits, labels);
  }

  void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g,
                         float* v) override {
    h.check("sgd_momentum_step");
    ElementwiseShape{n}.check("sgd_momentum_step");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("sgd_momentum_step", p, g, v);
    }
    split_elements(n, [&](std::int64_t i0, std::int64_t i1) {
      ops_.sgd_momentum_step(h, i1 - i0, p + i0, g + i0, v + i0);
    });
  }

 private:
  static Conv2dShape sub(Conv2dShape s, std::int64_t n0, std::int64_t n1) {
    s.N = n1 - n0;
    return s;
  }
  static Pool2dShape sub(Pool2dShape s, std::int64_t n0, std::int64_t n1) {
    s.N = n1 - n0;
    return s;
  }

  // The reference's checks of class scores and labels, before anything is written.
  static void check_labels(const char* op, std::int64_t N, std::int64_t K, const float* logits,
                           const std::int32_t* labels) {
    ClassScoresShape{N, K}.check(op);
    LENET_CHECK_NOT_NULL(op, logits);
    LENET_CHECK_NOT_NULL(op, labels);
    for (std::int64_t n = 0; n < N; ++n) {
      LENET_CHECK(labels[n] >= 0 && labels[n] < K, op << ": labels[" << n << "] = " << labels[n]
                                                      << " is outside [0, K = " << K << ")");
    }
  }

  std::int64_t chunks_for(std::int64_t n) const { return std::min<std::int64_t>(pool_.size(), n); }

  // Calls fn(chunk, begin, end) for consecutive ranges covering [0, n), one per thread at
  // most. The pool takes a std::function: a reference_wrapper fits in its small buffer, where
  // a lambda with several captures would be copied to the heap on every call.
  template <typename Fn>
  void split(std::int64_t n, Fn fn) {
    if (n <= 0) return;
    const std::int64_t chunks = chunks_for(n);
    auto body = [&](std::int64_t c) { fn(c, n * c / chunks, n * (c + 1) / chunks); };
    pool_.parallel_for(chunks, std::ref(body));
  }

  // The same for elementwise ops, on the calling thread when n is small.
  template <typename Fn>
  void split_elements(std::int64_t n, Fn fn) {
    if (n <= 0) return;
    if (n < kMinParallelElements) {
      fn(0, n);
      return;
    }
    split(n, [&](std::int64_t, std::int64_t i0, std::int64_t i1) { fn(i0, i1); });
  }

  // Weight gradients summed over the batch: chunk 0 writes dw/db, every other chunk its own
  // partial, then the partials are added in chunk order (deterministic for a thread count).
  template <typename Fn>
  void sum_over_chunks(std::int64_t n, std::int64_t w_size, std::int64_t b_size, float* dw,
                       float* db, Fn fn) {
    const std::int64_t chunks = chunks_for(n);
    // Grown once for the largest layer, then reused.
    if (partial_w_.size() < static_cast<std::size_t>((chunks - 1) * w_size)) {
      partial_w_.resize(static_cast<std::size_t>((chunks - 1) * w_size));
    }
    if (partial_b_.size() < static_cast<std::size_t>((chunks - 1) * b_size)) {
      partial_b_.resize(static_cast<std::size_t>((chunks - 1) * b_size));
    }
    split(n, [&](std::int64_t c, std::int64_t n0, std::int64_t n1) {
      float* dw_part = c == 0 ? dw : partial_w_.data() + (c - 1) * w_size;
      float* db_part = db == nullptr ? nullptr : c == 0 ? db : partial_b_.data() + (c - 1) * b_size;
      fn(c, n0, n1, dw_part, db_part);
    });
    add_chunks(partial_w_.data(), chunks - 1, w_size, dw);
    if (db != nullptr) add_chunks(partial_b_.data(), chunks - 1, b_size, db);
  }

  static void add_chunks(const float* parts, std::int64_t count, std::int64_t size, float* out) {
    for (std::int64_t c = 0; c < count; ++c) {
      const float* part = parts + c * size;
      for (std::int64_t i = 0; i < size; ++i) out[i] += part[i];
    }
  }

  ThreadPool pool_;
  const IsaLevel& level_;
  const cpu::Ops& ops_;
  std::vector<cpu::Workspace> workspaces_;  // one per chunk
  std::vector<float> partial_w_, partial_b_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  const IsaLevel& level = choose_level();
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(threads, level);
}

}  // namespace lenet::engine
