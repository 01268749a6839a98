// Each handwritten op (the kernel launchers, lenet::kernels) against its cuDNN or cuBLAS
// counterpart (engine/cudnn_ops.h: what the cudnn backend runs, with the same fixed algorithms)
// at LeNet's shapes, for batches of 64 and 1024:
//   conv1, conv2    forward, backward data, backward filter (dw and db)
//   pool1, pool2    max pooling forward and backward (ours also writes the argmax indices
//                   that its backward reads; cuDNN's backward reads x and y instead)
//   relu1, relu2    ReLU forward and backward on conv1's and conv2's outputs
//   fc1, fc2, fc3   linear forward, and backward (dx, dw and db)
//   fused forms     conv1, conv2 forward_relu, layer_forward (convolution, bias, ReLU and
//                   max-pool in one kernel: what the training step runs) and
//                   backward_data_relu; fc1, fc2 forward_relu and backward_relu; each against
//                   cuDNN's or cuBLAS's op followed by cuDNN's activation (and pooling)
// Every case is validated first: both on the same random inputs in [-1, 1], each output within
// 1e-3 of the largest magnitude of cuDNN's (float32 sums in other orders; a wrong index or a
// lost term is off by far more). Then each side is timed with CUDA events around every launch
// on one stream, after 10 warm-up launches: the median of --repetitions (at least 100). The
// table gives microseconds, GFLOP/s (2 per multiply-add) or GB/s (the bytes an op must read and
// write, the same count for both sides), and ours / cuDNN's time.
//
//   bench_ops [--repetitions N] [--validate]   --validate: validate only, time nothing
// Exit status: 0; 1 when a case disagrees, or without a usable GPU (one line says why); 2: bad
// usage.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels.h>

#include "cuda_events.h"
#include "run_guarded.h"
#include "cudnn_ops.h"

namespace {

namespace lk = lenet::kernels;
namespace ref = lenet::cpu_ref;
using lenet::engine::CudnnOps;

// Device buffers that live as long as the benchmark.
class Arena {
 public:
  // n floats uniform in [-1, 1]; relu_output: then through a ReLU (about half of them 0), the
  // x of the fused backward ops.
  float* random(std::int64_t n, bool relu_output = false) {
    std::vector<float> host(static_cast<std::size_t>(n));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : host) v = u(rng_);
    if (relu_output) ref::relu_forward(n, host.data(), host.data());
    floats_.emplace_back(host);
    return floats_.back().data();
  }
  float* floats(std::int64_t n) {
    floats_.emplace_back(static_cast<std::size_t>(n));
    return floats_.back().data();
  }
  std::int32_t* ints(std::int64_t n) {
    ints_.emplace_back(static_cast<std::size_t>(n));
    return ints_.back().data();
  }

 private:
  std::mt19937 rng_{2024};
  std::vector<lk::DeviceBuffer<float>> floats_;
  std::vector<lk::DeviceBuffer<std::int32_t>> ints_;
};

struct Output {
  const char* name;
  const float* ours;
  const float* vendor;
  std::int64_t n;
};

struct Case {
  std::string op;  // "conv1.forward"
  std::int64_t batch = 0;
  double work = 0;     // floating-point operations, or bytes when bytes is set
  bool bytes = false;  // a memory-bound op: GB/s
  std::function<void()> ours, vendor;
  std::vector<Output> outputs;
};

double conv_flops(const lenet::Conv2dShape& s) {
  return 2.0 * static_cast<double>(s.y_size()) * static_cast<double>(s.C * s.KH * s.KW);
}

// The cases of one batch size, on stream (ours) and through vendor (bound to the same stream).
std::vector<Case> make_cases(std::int64_t N, Arena& a, CudnnOps& vendor, cudaStream_t stream) {
  const ref::LenetShapes s = ref::lenet_shapes(N);
  std::vector<Case> cases;
  // A fused forward case: ours against vendor_op followed by cuDNN's ReLU on y1 [n].
  const auto add_forward_relu = [&](const std::string& op, double flops, std::function<void()> ours,
                                    std::function<void()> vendor_op, float* y0, float* y1,
                                    std::int64_t n) {
    cases.push_back({op, N, flops, false, std::move(ours),
                     [=, &vendor] {
                       vendor_op();
                       vendor.relu_forward(n, y1, y1);
                     },
                     {{"y", y0, y1, n}}});
  };
  // ps: the pooling after the convolution, for the fused layer.
  const auto add_conv = [&](const std::string& name, const lenet::Conv2dShape& cs,
                            const lenet::Pool2dShape& ps) {
    const float *x = a.random(cs.x_size()), *w = a.random(cs.w_size()), *b = a.random(cs.OC);
    const float* dy = a.random(cs.y_size());
    float *y0 = a.floats(cs.y_size()), *y1 = a.floats(cs.y_size());
    cases.push_back({name + ".forward", N, conv_flops(cs), false,
                     [=] { lk::conv2d_forward(cs, x, w, b, y0, stream); },
                     [=, &vendor] { vendor.conv2d_forward(cs, x, w, b, y1); },
                     {{"y", y0, y1, cs.y_size()}}});
    float *dx0 = a.floats(cs.x_size()), *dx1 = a.floats(cs.x_size());
    cases.push_back({name + ".backward_data", N, conv_flops(cs), false,
                     [=] { lk::conv2d_backward_data(cs, dy, w, dx0, stream); },
                     [=, &vendor] { vendor.conv2d_backward_data(cs, dy, w, dx1); },
                     {{"dx", dx0, dx1, cs.x_size()}}});
    // The fused forms the training step runs, against cuDNN's op and its activation.
    add_forward_relu(
        name + ".forward_relu", conv_flops(cs),
        [=] { lk::conv2d_forward_relu(cs, x, w, b, y0, stream); },
        [=, &vendor] { vendor.conv2d_forward(cs, x, w, b, y1); }, y0, y1, cs.y_size());
    float *p0 = a.floats(ps.y_size()), *p1 = a.floats(ps.y_size());
    std::int32_t* pooled_idx = a.ints(ps.y_size());
    cases.push_back({name + ".layer_forward", N, conv_flops(cs), false,
                     [=] {
                       lk::conv2d_relu_maxpool2d_forward(cs, ps, x, w, b, p0, pooled_idx, stream);
                     },
                     [=, &vendor] {
                       vendor.conv2d_forward(cs, x, w, b, y1);
                       vendor.relu_forward(cs.y_size(), y1, y1);
                       vendor.maxpool2d_forward(ps, y1, p1);
                     },
                     {{"y", p0, p1, ps.y_size()}}});
    const float* relu_x = a.random(cs.x_size(), true);
    cases.push_back({name + ".backward_data_relu", N, conv_flops(cs), false,
                     [=] { lk::conv2d_backward_data_relu(cs, dy, w, relu_x, dx0, stream); },
                     [=, &vendor] {
                       vendor.conv2d_backward_data(cs, dy, w, dx1);
                       vendor.relu_backward(cs.x_size(), dx1, relu_x, dx1);
                     },
                     {{"dx", dx0, dx1, cs.x_size()}}});
    float *dw0 = a.floats(cs.w_size()), *dw1 = a.floats(cs.w_size());
    float *db0 = a.floats(cs.OC), *db1 = a.floats(cs.OC);
    const std::size_t ws = lk::conv2d_backward_filter_workspace_bytes(cs);
    void* workspace = ws > 0 ? a.floats(static_cast<std::int64_t>(ws / sizeof(float)) + 1)
                             : nullptr;
    cases.push_back({name + ".backward_filter", N, conv_flops(cs), false,
                     [=] {
                       lk::conv2d_backward_filter(cs, x, dy, dw0, db0, workspace, ws, stream);
                     },
                     [=, &vendor] { vendor.conv2d_backward_filter(cs, x, dy, dw1, db1); },
                     {{"dw", dw0, dw1, cs.w_size()}, {"db", db0, db1, cs.OC}}});
  };
  add_conv("conv1", s.conv1, s.pool1);
  add_conv("conv2", s.conv2, s.pool2);

  const auto add_pool = [&](const std::string& name, const lenet::Pool2dShape& ps) {
    const float* x = a.random(ps.x_size());
    const float* dy = a.random(ps.y_size());
    float *y0 = a.floats(ps.y_size()), *y1 = a.floats(ps.y_size());
    std::int32_t* idx = a.ints(ps.y_size());
    const double moved = 4.0 * static_cast<double>(ps.x_size() + ps.y_size());
    cases.push_back({name + ".forward", N, moved, true,
                     [=] { lk::maxpool2d_forward(ps, x, y0, idx, stream); },
                     [=, &vendor] { vendor.maxpool2d_forward(ps, x, y1); },
                     {{"y", y0, y1, ps.y_size()}}});
    // The backward cases read what the forward cases wrote (validation runs them in order).
    float *dx0 = a.floats(ps.x_size()), *dx1 = a.floats(ps.x_size());
    cases.push_back({name + ".backward", N, moved, true,
                     [=] { lk::maxpool2d_backward(ps, dy, idx, dx0, stream); },
                     [=, &vendor] { vendor.maxpool2d_backward(ps, x, y1, dy, dx1); },
                     {{"dx", dx0, dx1, ps.x_size()}}});
  };
  add_pool("pool1", s.pool1);
  add_pool("pool2", s.pool2);

  const auto add_relu = [&](const std::string& name, std::int64_t n) {
    const float *x = a.random(n), *dy = a.random(n);
    float *y0 = a.floats(n), *y1 = a.floats(n), *dx0 = a.floats(n), *dx1 = a.floats(n);
    cases.push_back({name + ".forward", N, 8.0 * static_cast<double>(n), true,
                     [=] { lk::relu_forward(n, x, y0, stream); },
                     [=, &vendor] { vendor.relu_forward(n, x, y1); }, {{"y", y0, y1, n}}});
    cases.push_back({name + ".backward", N, 12.0 * static_cast<double>(n), true,
                     [=] { lk::relu_backward(n, dy, x, dx0, stream); },
                     [=, &vendor] { vendor.relu_backward(n, dy, x, dx1); },
                     {{"dx", dx0, dx1, n}}});
  };
  add_relu("relu1", s.conv1.y_size());
  add_relu("relu2", s.conv2.y_size());

  const auto add_linear = [&](const std::string& name, const lenet::LinearShape& ls, bool relu) {
    const double mads = static_cast<double>(ls.N * ls.in * ls.out);
    const float *x = a.random(ls.x_size()), *w = a.random(ls.w_size()), *b = a.random(ls.out);
    const float* dy = a.random(ls.y_size());
    float *y0 = a.floats(ls.y_size()), *y1 = a.floats(ls.y_size());
    cases.push_back({name + ".forward", N, 2.0 * mads, false,
                     [=] { lk::linear_forward(ls, x, w, b, y0, stream); },
                     [=, &vendor] { vendor.linear_forward(ls, x, w, b, y1); },
                     {{"y", y0, y1, ls.y_size()}}});
    float *dx0 = a.floats(ls.x_size()), *dx1 = a.floats(ls.x_size());
    float *dw0 = a.floats(ls.w_size()), *dw1 = a.floats(ls.w_size());
    float *db0 = a.floats(ls.out), *db1 = a.floats(ls.out);
    const std::size_t ws = lk::linear_backward_workspace_bytes(ls);
    void* workspace = ws > 0 ? a.floats(static_cast<std::int64_t>(ws / sizeof(float)) + 1)
                             : nullptr;
    cases.push_back({name + ".backward", N, 4.0 * mads, false,
                     [=] {
                       lk::linear_backward(ls, dy, x, w, dx0, dw0, db0, workspace, ws, stream);
                     },
                     [=, &vendor] { vendor.linear_backward(ls, dy, x, w, dx1, dw1, db1); },
                     {{"dx", dx0, dx1, ls.x_size()},
                      {"dw", dw0, dw1, ls.w_size()},
                      {"db", db0, db1, ls.out}}});
    if (!relu) return;  // fc3: no ReLU on either side
    add_forward_relu(
        name + ".forward_relu", 2.0 * mads,
        [=] { lk::linear_forward_relu(ls, x, w, b, y0, stream); },
        [=, &vendor] { vendor.linear_forward(ls, x, w, b, y1); }, y0, y1, ls.y_size());
    const float* relu_x = a.random(ls.x_size(), true);
    cases.push_back({name + ".backward_relu", N, 4.0 * mads, false,
                     [=] {
                       lk::linear_backward_relu(ls, dy, relu_x, w, dx0, dw0, db0, workspace, ws,
                                                stream);
                     },
                     [=, &vendor] {
                       vendor.linear_backward(ls, dy, relu_x, w, dx1, dw1, db1);
                       vendor.relu_backward(ls.x_size(), dx1, relu_x, dx1);
                     },
                     {{"dx", dx0, dx1, ls.x_size()},
                      {"dw", dw0, dw1, ls.w_size()},
                      {"db", db0, db1, ls.out}}});
  };
  // In the step, fc1 and fc2 run their fused forms (fc1's backward masks by pool2's output,
  // fc2's by fc1's ReLU); fc3 runs the plain ones.
  add_linear("fc1", s.fc1, true);
  add_linear("fc2", s.fc2, true);
  add_linear("fc3", s.fc3, false);
  return cases;
}

// Runs both sides once and compares every output; prints one line per case.
bool validate(const Case& c, cudaStream_t stream) {
  c.ours();
  c.vendor();
  lk::synchronize(stream);
  bool ok = true;
  std::string worst;
  for (const Output& o : c.outputs) {
    std::vector<float> ours(static_cast<std::size_t>(o.n)), vendor(ours.size());
    lk::copy_to_host(ours.data(), o.ours, ours.size() * sizeof(float), stream);
    lk::copy_to_host(vendor.data(), o.vendor, vendor.size() * sizeof(float), stream);
    double scale = 0.0, error = 0.0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      scale = std::max(scale, static_cast<double>(std::fabs(vendor[i])));
      const double e = std::fabs(static_cast<double>(ours[i]) - vendor[i]);
      if (!(e <= error)) {  // NaN counts as the worst
        error = e;
        at = i;
      }
    }
    const double relative = scale > 0.0 ? error / scale : error;
    char line[160];
    std::snprintf(line, sizeof line, " %s %.1e", o.name, relative);
    worst += line;
    if (!(relative <= 1e-3)) {
      std::printf("MISMATCH %s batch %lld: %s[%zu] ours %.7g, cuDNN/cuBLAS %.7g (largest |value| "
                  "%.7g)\n",
                  c.op.c_str(), static_cast<long long>(c.batch), o.name, at, ours[at],
                  vendor[at], scale);
      ok = false;
    }
  }
  std::printf("validated %-22s batch %-5lld max |ours - vendor| / max |vendor|:%s\n",
              c.op.c_str(), static_cast<long long>(c.batch), worst.c_str());
  return ok;
}

std::string rate(const Case& c, double us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", c.work / (us * 1e3), c.bytes ? "GB/s" : "GFLOP/s");
  return text;
}

int usage(const char* argv0, int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: %s [--repetitions N] [--validate]\n"
               "  --repetitions N  timed launches per op and side, median reported (>= 100, "
               "default 200)\n"
               "  --validate       compare ours with cuDNN/cuBLAS only; time nothing\n",
               argv0);
  return status;
}

int run(int argc, char** argv) {
  int repetitions = 200;
  bool validate_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repetitions" && i + 1 < argc) {
      repetitions = std::atoi(argv[++i]);
      if (repetitions < 100) {
        std::fprintf(stderr, "%s: --repetitions must be at least 100\n", argv[0]);
        return 2;
      }
    } else if (arg == "--validate") {
      validate_only = true;
    } else if (arg == "--help" || arg == "-h") {
      return usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], arg.c_str());
      return usage(argv[0], 2);
    }
  }
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::fprintf(stderr, "bench_ops: no usable CUDA device: %s\n",
                 err != cudaSuccess ? cudaGetErrorString(err) : "the driver sees no GPU");
    return 1;
  }
  cudaDeviceProp prop{};
  LENET_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream = nullptr;
  LENET_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  bool ok = true;
  {
    CudnnOps vendor(stream);
    std::printf("bench_ops: %s (sm_%d%d), %s\n", prop.name, prop.major, prop.minor,
                CudnnOps::versions().c_str());
    Arena arena;
    std::vector<Case> cases;
    for (const std::int64_t batch : {64, 1024}) {
      std::vector<Case> more = make_cases(batch, arena, vendor, stream);
      cases.insert(cases.end(), more.begin(), more.end());
    }
    for (const Case& c : cases) ok = validate(c, stream) && ok;
    if (!ok) std::printf("FAILED: an op disagrees with cuDNN/cuBLAS; nothing timed\n");
    if (ok && !validate_only) {
      std::printf("\nmedian of %d launches after 10 warm-up launches, CUDA events, one stream\n",
                  repetitions);
      std::printf("| op | batch | ours us | ours rate | cuDNN/cuBLAS us | cuDNN/cuBLAS rate |"
                  " ours / vendor |\n|---|---|---|---|---|---|---|\n");
      for (const Case& c : cases) {
        const double ours = lenet::bench::median_us(c.ours, repetitions, stream);
        const double vendor_us = lenet::bench::median_us(c.vendor, repetitions, stream);
        std::printf("| %s | %lld | %.2f | %s | %.2f | %s | %.2f |\n", c.op.c_str(),
                    static_cast<long long>(c.batch), ours, rate(c, ours).c_str(), vendor_us,
                    rate(c, vendor_us).c_str(), ours / vendor_us);
        std::fflush(stdout);
      }
    }
    lk::synchronize(stream);
  }
  LENET_CUDA_CHECK(cudaStreamDestroy(stream));
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return lenet::bench::run_guarded("bench_ops", run, argc, argv);
}
