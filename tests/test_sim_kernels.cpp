// Block reductions (shared memory and barriers, warp shuffles) give the right answer in the
// simulator in every thread order; dynamic shared memory starts as NaN in every block; the ReLU
// launchers of lenet_kernels_sim run. The tiled GEMM and its planted missing barrier are
// bench_gemm_stages_sim's tests (bench.gemm_stages.validate and .planted.*).
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

#include "launch.h"
#include "sim/device_vector.h"
#include "sim/block_kernels.cuh"

namespace {

using lenet::sim::Options;
using lenet::sim::Order;
using lenet::sim::ScopedOptions;
using lenet::sim::testing::DeviceVector;

Options with_order(Order order, std::uint64_t seed = 1, int threads = 1) {
  Options o;
  o.order = order;
  o.seed = seed;
  o.threads = threads;
  return o;
}

std::string order_name(const ::testing::TestParamInfo<Options>& info) {
  std::string name = lenet::sim::to_string(info.param.order, info.param.seed);
  for (char& c : name) {
    if (c == ':') c = '_';
  }
  return name + "_threads" + std::to_string(info.param.threads);
}

const auto kOrders =
    ::testing::Values(with_order(Order::kForward), with_order(Order::kReverse),
                      with_order(Order::kRandom, 7), with_order(Order::kRandom, 12345, 2));

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

class SimReduction : public ::testing::TestWithParam<Options> {};

TEST_P(SimReduction, TreeAndShuffleBlockSumsMatchTheReference) {
  const ScopedOptions scoped(GetParam());
  constexpr int kN = 1000;  // not a multiple of any block or grid size below
  const std::vector<float> x = random_floats(kN, 5);
  double expected = 0.0;
  for (const float v : x) expected += v;
  const DeviceVector<float> dx(x);

  struct Case {
    const char* name;
    unsigned blocks, threads;
  };
  for (const Case c : {Case{"tree", 3, 128}, Case{"tree", 1, 1}, Case{"shuffle", 3, 96},
                       Case{"shuffle", 5, 1024}}) {
    DeviceVector<float> partial(c.blocks, NAN);
    if (std::string(c.name) == "tree") {
      LENET_LAUNCH(block_sum_tree_kernel, c.blocks, c.threads, c.threads * sizeof(float), nullptr,
                   dx.get(), kN, partial.get());
    } else {
      LENET_LAUNCH(block_sum_shuffle_kernel, c.blocks, c.threads, 0, nullptr, dx.get(), kN,
                   partial.get());
    }
    double sum = 0.0;
    for (const float p : partial.to_host()) sum += p;
    EXPECT_NEAR(sum, expected, 1e-4) << c.name << " with " << c.blocks << " x " << c.threads;
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, SimReduction, kOrders, order_name);

TEST(SimDynamicShared, IsNaNInEveryBlockUntilWritten) {
  for (const Order order : {Order::kForward, Order::kReverse}) {
    const ScopedOptions scoped(with_order(order));
    constexpr unsigned kBlocks = 3;
    constexpr unsigned kThreads = 40;
    DeviceVector<float> out(kBlocks * kThreads, 0.0f);
    LENET_LAUNCH(dynamic_shared_probe_kernel, kBlocks, kThreads, kThreads * sizeof(float),
                 nullptr, out.get());
    const std::vector<float> host = out.to_host();
    for (unsigned i = 0; i < kThreads; ++i) EXPECT_EQ(host[i], 1.0f) << i;
    for (unsigned i = kThreads; i < kBlocks * kThreads; ++i) {
      EXPECT_TRUE(std::isnan(host[i])) << "block " << i / kThreads << " thread " << i % kThreads
                                       << " read " << host[i];
    }
  }
}

TEST(SimKernelsLibrary, ReluForwardAndBackwardRun) {
  const std::vector<float> x = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f, NAN, -1e-30f};
  const std::vector<float> dy = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};
  const auto n = static_cast<std::int64_t>(x.size());
  for (const Order order : {Order::kForward, Order::kReverse, Order::kRandom}) {
    const ScopedOptions scoped(with_order(order));
    const DeviceVector<float> dx_in(x);
    const DeviceVector<float> ddy(dy);
    DeviceVector<float> y(x.size(), 42.0f);
    DeviceVector<float> dx(x.size(), 42.0f);
    lenet::kernels::relu_forward(n, dx_in.get(), y.get());
    lenet::kernels::relu_backward(n, ddy.get(), dx_in.get(), dx.get());
    const std::vector<float> hy = y.to_host();
    const std::vector<float> hdx = dx.to_host();
    EXPECT_EQ(hy[0], 0.0f);
    EXPECT_EQ(hy[3], 0.5f);
    EXPECT_EQ(hy[4], 3.0f);
    EXPECT_TRUE(std::isnan(hy[5]));
    EXPECT_EQ(hy[6], 0.0f);
    const std::vector<float> expected_dx = {0.0f, 0.0f, 0.0f, 4.0f, 5.0f, 0.0f, 0.0f};
    EXPECT_EQ(hdx, expected_dx);
  }
}

TEST(SimKernelsLibrary, ReluCoversALargeGridOnTwoThreads) {
  const ScopedOptions scoped(with_order(Order::kRandom, 3, 2));
  constexpr std::int64_t kN = 100003;
  std::vector<float> x = random_floats(kN, 9);
  const DeviceVector<float> dx(x);
  DeviceVector<float> y(kN, NAN);
  lenet::kernels::relu_forward(kN, dx.get(), y.get());
  const std::vector<float> hy = y.to_host();
  for (std::int64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(hy[i], x[i] > 0.0f ? x[i] : 0.0f) << "index " << i;
  }
}

}  // namespace
