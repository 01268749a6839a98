// The cpu backend's ops at LeNet's shapes (batch 64), and a whole training step, with Google
// Benchmark: every instruction set level this CPU runs (LENET_CPU_ISA), 1 and 2 threads.
//   bench_cpu_ops [--benchmark_filter=conv] [--benchmark_repetitions=5]
// Names read <op>/<level>/threads:<n>; FLOP-counting ops report GFLOP/s ("flops" counter), the
// step images per second. Outputs are the backend's own buffers; inputs are fixed random data.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/lenet_model.h>

namespace le = lenet::engine;
namespace ref = lenet::cpu_ref;

namespace {

constexpr std::int64_t kBatch = 64;

// A backend at one level, built while LENET_CPU_ISA names it; null when the CPU lacks it.
std::unique_ptr<le::Backend> backend_at(const std::string& level, int threads) {
  const char* old = std::getenv("LENET_CPU_ISA");
  const std::string saved = old != nullptr ? old : "";
  setenv("LENET_CPU_ISA", level.c_str(), 1);
  std::unique_ptr<le::Backend> b;
  try {
    b = le::make_cpu_backend(threads);
  } catch (const std::exception&) {
  }
  if (old != nullptr) {
    setenv("LENET_CPU_ISA", saved.c_str(), 1);
  } else {
    unsetenv("LENET_CPU_ISA");
  }
  return b;
}

// Backend memory filled with uniform values in [-1, 1).
struct Tensor {
  le::Buffer buffer;
  Tensor(le::Backend& b, std::int64_t n, std::uint64_t seed) {
    buffer = b.allocate(static_cast<std::size_t>(n) * sizeof(float));
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> host(static_cast<std::size_t>(n));
    for (float& v : host) v = u(rng);
    b.upload(buffer.data(), host.data(), host.size() * sizeof(float));
  }
  float* f() const { return buffer.as<float>(); }
};

// One op: fn(backend, tensors) timed; flops per call (0: none reported).
using OpFn = std::function<void(le::Backend&, const std::vector<Tensor>&)>;
struct OpCase {
  std::string name;
  std::vector<std::int64_t> sizes;  // tensors to allocate
  double flops;
  OpFn run;
};

std::vector<OpCase> op_cases() {
  const ref::LenetShapes s = ref::lenet_shapes(kBatch);
  const auto conv_flops = [](const lenet::Conv2dShape& c) {
    return 2.0 * c.N * c.OC * c.OH() * c.OW() * c.C * c.KH * c.KW;
  };
  const auto linear_flops = [](const lenet::LinearShape& l) { return 2.0 * l.N * l.in * l.out; };
  std::vector<OpCase> cases;
  for (const auto& [name, c] : {std::pair{std::string("conv1"), s.conv1},
                                std::pair{std::string("conv2"), s.conv2}}) {
    cases.push_back({name + "_forward", {c.x_size(), c.w_size(), c.OC, c.y_size()}, conv_flops(c),
                     [c = c](le::Backend& b, const std::vector<Tensor>& t) {
                       b.conv2d_forward(c, t[0].f(), t[1].f(), t[2].f(), t[3].f());
                     }});
    cases.push_back({name + "_backward_data", {c.y_size(), c.w_size(), c.x_size()},
                     conv_flops(c), [c = c](le::Backend& b, const std::vector<Tensor>& t) {
                       b.conv2d_backward_data(c, t[0].f(), t[1].f(), t[2].f());
                     }});
    cases.push_back({name + "_backward_filter", {c.x_size(), c.y_size(), c.w_size(), c.OC},
                     conv_flops(c), [c = c](le::Backend& b, const std::vector<Tensor>& t) {
                       b.conv2d_backward_filter(c, t[0].f(), t[1].f(), t[2].f(), t[3].f());
                     }});
  }
  const lenet::Pool2dShape p = s.pool1;
  cases.push_back({"pool1_forward", {p.x_size(), p.y_size(), p.y_size()}, 0.0,
                   [p](le::Backend& b, const std::vector<Tensor>& t) {
                     b.maxpool2d_forward(p, t[0].f(), t[1].f(),
                                         t[2].buffer.as<std::int32_t>());
                   }});
  cases.push_back({"relu1_forward", {s.conv1.y_size()}, 0.0,
                   [n = s.conv1.y_size()](le::Backend& b, const std::vector<Tensor>& t) {
                     b.relu_forward(n, t[0].f(), t[0].f());
                   }});
  const lenet::LinearShape l = s.fc1;
  cases.push_back({"fc1_forward", {l.x_size(), l.w_size(), l.out, l.y_size()}, linear_flops(l),
                   [l](le::Backend& b, const std::vector<Tensor>& t) {
                     b.linear_forward(l, t[0].f(), t[1].f(), t[2].f(), t[3].f());
                   }});
  cases.push_back({"fc1_backward",
                   {l.y_size(), l.x_size(), l.w_size(), l.x_size(), l.w_size(), l.out},
                   2 * linear_flops(l), [l](le::Backend& b, const std::vector<Tensor>& t) {
                     b.linear_backward(l, t[0].f(), t[1].f(), t[2].f(), t[3].f(), t[4].f(),
                                       t[5].f());
                   }});
  return cases;
}

void bench_op(benchmark::State& state, const OpCase& op, const std::string& level, int threads) {
  const auto backend = backend_at(level, threads);
  if (!backend) {
    state.SkipWithError(("this CPU does not run " + level).c_str());
    return;
  }
  std::vector<Tensor> tensors;
  std::uint64_t seed = 1;
  for (const std::int64_t n : op.sizes) tensors.emplace_back(*backend, n, seed++);
  // Pool indices must be valid for a backward pass; a forward pass writes them itself.
  for (auto _ : state) op.run(*backend, tensors);
  if (op.flops > 0) {
    state.counters["flops"] = benchmark::Counter(op.flops, benchmark::Counter::kIsIterationInvariantRate);
  }
}

// forward, backward and SGD of the model on one batch, as a training step runs them.
void bench_step(benchmark::State& state, const std::string& level, int threads) {
  const auto backend = backend_at(level, threads);
  if (!backend) {
    state.SkipWithError(("this CPU does not run " + level).c_str());
    return;
  }
  std::vector<std::uint8_t> images(static_cast<std::size_t>(kBatch * 28 * 28));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(kBatch));
  std::mt19937 rng(3);
  for (auto& p : images) p = static_cast<std::uint8_t>(rng() % 256);
  for (auto& y : labels) y = static_cast<std::int32_t>(rng() % 10);
  le::LenetModel model(*backend, kBatch);
  model.set_parameters(ref::lenet_init<float>(1));
  for (auto _ : state) {
    model.load_batch(kBatch, images.data(), labels.data());
    model.forward();
    model.backward();
    model.sgd_step({0.001, 0.9, 0.0});
  }
  state.counters["images"] =
      benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<OpCase> cases = op_cases();
  for (const char* level : {"avx512", "avx2", "baseline"}) {
    if (!backend_at(level, 1)) continue;
    for (const int threads : {1, 2}) {
      const std::string suffix = std::string("/") + level + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("step" + suffix).c_str(), bench_step, std::string(level),
                                   threads)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
      for (const OpCase& op : cases) {
        benchmark::RegisterBenchmark((op.name + suffix).c_str(), bench_op, op, std::string(level),
                                     threads)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
