// atomicAdd from many blocks spread over two OS threads: exact for integers, within rounding
// for floats.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

#include "launch.h"
#include "sim/atomic_kernels.cuh"
#include "sim/device_vector.h"

namespace {

using lenet::sim::Options;
using lenet::sim::Order;
using lenet::sim::ScopedOptions;
using lenet::sim::testing::DeviceVector;

struct Sums {
  int int_sum;
  float float_sum;
  unsigned long long count;
  int max_value;
};

Sums run_sums(const std::vector<int>& xi, const std::vector<float>& xf) {
  const DeviceVector<int> dxi(xi);
  const DeviceVector<float> dxf(xf);
  DeviceVector<int> int_sum(1, 0);
  DeviceVector<float> float_sum(1, 0.0f);
  DeviceVector<unsigned long long> count(1, 0);
  DeviceVector<int> max_value(1, -1000000);
  LENET_LAUNCH(atomic_sums_kernel, 97, 128, 0, nullptr, dxi.get(), dxf.get(),
               static_cast<int>(xi.size()), int_sum.get(), float_sum.get(), count.get(),
               max_value.get());
  return Sums{int_sum.to_host()[0], float_sum.to_host()[0], count.to_host()[0],
              max_value.to_host()[0]};
}

TEST(SimAtomics, AtomicAddFromManyBlocksOnTwoThreads) {
  constexpr int kN = 200003;
  std::mt19937 gen(21);
  std::uniform_int_distribution<int> ints(-1000, 1000);
  std::uniform_real_distribution<float> floats(0.0f, 1.0f);
  std::vector<int> xi(kN);
  std::vector<float> x_exact(kN);  // multiples of 1/64: every partial sum is a float
  std::vector<float> x_random(kN);
  long long int_expected = 0;
  double exact_expected = 0.0;
  double random_expected = 0.0;
  int max_expected = -1000000;
  for (int i = 0; i < kN; ++i) {
    xi[i] = ints(gen);
    x_exact[i] = static_cast<float>((i * 37) % 64) / 64.0f;
    x_random[i] = floats(gen);
    int_expected += xi[i];
    exact_expected += x_exact[i];
    random_expected += x_random[i];
    max_expected = std::max(max_expected, xi[i]);
  }

  for (const Order order : {Order::kForward, Order::kRandom}) {
    Options o;
    o.order = order;
    o.threads = 2;
    const ScopedOptions scoped(o);
    const Sums exact = run_sums(xi, x_exact);
    EXPECT_EQ(exact.int_sum, int_expected);
    EXPECT_EQ(exact.count, static_cast<unsigned long long>(kN));
    EXPECT_EQ(exact.max_value, max_expected);
    EXPECT_EQ(static_cast<double>(exact.float_sum), exact_expected);
    // Each of the kN additions rounds by at most half an ulp of a partial sum <= the total.
    const Sums random = run_sums(xi, x_random);
    EXPECT_NEAR(random.float_sum, random_expected, kN * random_expected * std::ldexp(1.0, -24));
  }
}

// Host-only kernel: records which OS thread ran each block; block 0 lingers so that the
// second OS thread is sure to get work.
__global__ void record_os_thread_kernel(std::thread::id* ids) {
  if (threadIdx.x == 0) {
    if (blockIdx.x == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ids[blockIdx.x] = std::this_thread::get_id();
  }
}

TEST(SimAtomics, BlocksRunOnTheConfiguredNumberOfOsThreads) {
  constexpr unsigned kBlocks = 64;
  for (const int threads : {1, 2}) {
    Options o;
    o.threads = threads;
    const ScopedOptions scoped(o);
    std::vector<std::thread::id> ids(kBlocks);
    lenet::sim::launch("record_os_thread_kernel", record_os_thread_kernel, kBlocks, 32, 0,
                       nullptr, ids.data());
    const std::set<std::thread::id> distinct(ids.begin(), ids.end());
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(threads));
  }
}

}  // namespace
