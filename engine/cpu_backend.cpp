// The cpu backend: the reference ops (lenet::cpu_ref, Eigen) in float, with the batch split
// into one chunk per thread. Chunks are fixed by the thread count alone and partial weight
// gradients are added in chunk order, so one thread count always gives bitwise equal results.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <lenet/cpu_ref.h>
#include <lenet/engine/backend.h>
#include <lenet/error.h>

#include "thread_pool.h"

namespace lenet::engine {

namespace {

namespace ref = lenet::cpu_ref;

void release_host(void* p) { std::free(p); }

// Every op checks its shape and pointers before it splits the batch: the reference checks them
// too, but a chunk's offset from a null pointer is no longer null.
class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}

  std::string name() const override { return "cpu"; }
  std::string device() const override {
    return "CPU, " + std::to_string(pool_.size()) + (pool_.size() == 1 ? " thread" : " threads");
  }

  Buffer allocate(std::size_t bytes) override {
    if (bytes == 0) return Buffer();
    // 64-byte alignment for Eigen's vectorized loads; aligned_alloc wants a multiple of it.
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
    split(n, [&](std::int64_t i0, std::int64_t i1) {
      ref::normalize_u8(i1 - i0, pixels + i0, y + i0, mean, stddev);
    });
  }

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    s.check("conv2d_forward");
    LENET_CHECK_NOT_NULL("conv2d_forward", x, w, y);
    split(s.N, [&](std::int64_t n0, std::int64_t n1) {
      ref::conv2d_forward(sub(s, n0, n1), x + n0 * s.C * s.H * s.W, w, b,
                          y + n0 * s.OC * s.OH() * s.OW());
    });
  }

  void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                            float* dx) override {
    s.check("conv2d_backward_data");
    LENET_CHECK_NOT_NULL("conv2d_backward_data", dy, w, dx);
    split(s.N, [&](std::int64_t n0, std::int64_t n1) {
      ref::conv2d_backward_data(sub(s, n0, n1), dy + n0 * s.OC * s.OH() * s.OW(), w,
                                dx + n0 * s.C * s.H * s.W);
    });
  }

  void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* db) override {
    s.check("conv2d_backward_filter");
    LENET_CHECK_NOT_NULL("conv2d_backward_filter", x, dy, dw);
    const std::int64_t w_size = s.w_size();
    sum_over_chunks(s.N, w_size, s.OC, dw, db,
                    [&](std::int64_t n0, std::int64_t n1, float* dw_part, float* db_part) {
                      ref::conv2d_backward_filter(sub(s, n0, n1), x + n0 * s.C * s.H * s.W,
                                                  dy + n0 * s.OC * s.OH() * s.OW(), dw_part,
                                                  db != nullptr ? db_part : nullptr);
                    });
  }

  void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y,
                         std::int32_t* idx) override {
    s.check("maxpool2d_forward");
    LENET_CHECK_NOT_NULL("maxpool2d_forward", x, y, idx);
    split(s.N, [&](std::int64_t n0, std::int64_t n1) {
      const std::int64_t out = n0 * s.C * s.OH() * s.OW();
      ref::maxpool2d_forward(sub(s, n0, n1), x + n0 * s.C * s.H * s.W, y + out, idx + out);
    });
  }

  void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx,
                          float* dx) override {
    s.check("maxpool2d_backward");
    LENET_CHECK_NOT_NULL("maxpool2d_backward", dy, idx, dx);
    split(s.N, [&](std::int64_t n0, std::int64_t n1) {
      const std::int64_t out = n0 * s.C * s.OH() * s.OW();
      ref::maxpool2d_backward(sub(s, n0, n1), dy + out, idx + out, dx + n0 * s.C * s.H * s.W);
    });
  }

  void relu_forward(std::int64_t n, const float* x, float* y) override {
    ElementwiseShape{n}.check("relu_forward");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("relu_forward", x, y);
    }
    split(n, [&](std::int64_t i0, std::int64_t i1) {
      ref::relu_forward(i1 - i0, x + i0, y + i0);
    });
  }

  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) override {
    ElementwiseShape{n}.check("relu_backward");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("relu_backward", dy, x, dx);
    }
    split(n, [&](std::int64_t i0, std::int64_t i1) {
      ref::relu_backward(i1 - i0, dy + i0, x + i0, dx + i0);
    });
  }

  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    s.check("linear_forward");
    LENET_CHECK_NOT_NULL("linear_forward", x, w, y);
    split(s.N, [&](std::int64_t n0, std::int64_t n1) {
      ref::linear_forward(LinearShape{n1 - n0, s.in, s.out}, x + n0 * s.in, w, b, y + n0 * s.out);
    });
  }

  void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                       float* dx, float* dw, float* db) override {
    s.check("linear_backward");
    LENET_CHECK_NOT_NULL("linear_backward", dy, x, w, dw);
    sum_over_chunks(s.N, s.w_size(), s.out, dw, db,
                    [&](std::int64_t n0, std::int64_t n1, float* dw_part, float* db_part) {
                      ref::linear_backward(LinearShape{n1 - n0, s.in, s.out}, dy + n0 * s.out,
                                           x + n0 * s.in, w,
                                           dx != nullptr ? dx + n0 * s.in : nullptr, dw_part,
                                           db != nullptr ? db_part : nullptr);
                    });
  }

  void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                             const std::int32_t* labels, float* loss, float* dlogits) override {
    ref::softmax_cross_entropy(N, K, logits, labels, loss, dlogits);
  }

  void count_correct(std::int64_t N, std::int64_t K, const float* logits,
                     const std::int32_t* labels, std::int64_t* correct) override {
    ref::count_correct(N, K, logits, labels, correct);
  }

  void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g,
                         float* v) override {
    h.check("sgd_momentum_step");
    ElementwiseShape{n}.check("sgd_momentum_step");
    if (n > 0) {
      LENET_CHECK_NOT_NULL("sgd_momentum_step", p, g, v);
    }
    split(n, [&](std::int64_t i0, std::int64_t i1) {
      ref::sgd_momentum_step(h, i1 - i0, p + i0, g + i0, v + i0);
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

  // Calls fn(begin, end) for consecutive ranges covering [0, n), one per thread at most.
  template <typename Fn>
  void split(std::int64_t n, Fn fn) {
    if (n <= 0) return;
    const std::int64_t chunks = std::min<std::int64_t>(pool_.size(), n);
    pool_.parallel_for(chunks,
                       [&](std::int64_t c) { fn(n * c / chunks, n * (c + 1) / chunks); });
  }

  // Weight gradients summed over the batch: each chunk writes its own partial dw/db, then the
  // partials are added in chunk order (deterministic for a given thread count).
  template <typename Fn>
  void sum_over_chunks(std::int64_t n, std::int64_t w_size, std::int64_t b_size, float* dw,
                       float* db, Fn fn) {
    const std::int64_t chunks = std::min<std::int64_t>(pool_.size(), n);
    if (chunks <= 1) {
      fn(0, n, dw, db);
      return;
    }
    partial_w_.resize(static_cast<std::size_t>(chunks * w_size));
    partial_b_.resize(static_cast<std::size_t>(chunks * b_size));
    pool_.parallel_for(chunks, [&](std::int64_t c) {
      fn(n * c / chunks, n * (c + 1) / chunks, partial_w_.data() + c * w_size,
         partial_b_.data() + c * b_size);
    });
    add_chunks(partial_w_.data(), chunks, w_size, dw);
    if (db != nullptr) add_chunks(partial_b_.data(), chunks, b_size, db);
  }

  static void add_chunks(const float* parts, std::int64_t chunks, std::int64_t size, float* out) {
    std::copy(parts, parts + size, out);
    for (std::int64_t c = 1; c < chunks; ++c) {
      const float* part = parts + c * size;
      for (std::int64_t i = 0; i < size; ++i) out[i] += part[i];
    }
  }

  ThreadPool pool_;
  std::vector<float> partial_w_, partial_b_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace lenet::engine
