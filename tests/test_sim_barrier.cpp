// The simulator stops kernels whose barriers not every thread reaches, with the kernel, block
// and thread in the message, instead of hanging; exceptions from kernel code reach the caller;
// launch configurations a GPU rejects are rejected.
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

#include "launch.h"
#include "sim/barrier_kernels.cuh"
#include "sim/device_vector.h"

namespace {

using lenet::sim::BarrierDivergence;
using lenet::sim::Options;
using lenet::sim::Order;
using lenet::sim::ScopedOptions;
using lenet::sim::testing::DeviceVector;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs launch, which must throw BarrierDivergence with every part in its message; returns the
// exception for further checks (nothing, after a failure, when the launch did not throw).
template <typename Launch>
std::optional<BarrierDivergence> divergence(Launch&& launch,
                                            std::initializer_list<const char*> parts) {
  try {
    launch();
  } catch (const BarrierDivergence& e) {
    const std::string what = e.what();
    for (const char* part : parts) EXPECT_TRUE(contains(what, part)) << what;
    return e;
  }
  ADD_FAILURE() << "no BarrierDivergence";
  return std::nullopt;
}

Options with_order(Order order, int threads = 1) {
  Options o;
  o.order = order;
  o.seed = 11;
  o.threads = threads;
  return o;
}

TEST(SimBarrier, DivergentSyncthreadsThrowsNamingKernelBlockAndThread) {
  const ScopedOptions scoped(with_order(Order::kForward));
  DeviceVector<int> out(3 * 64, -1);
  const auto e =
      divergence([&] { LENET_LAUNCH(divergent_barrier_kernel, 3, 64, 0, nullptr, 7, out.get()); },
                 {"kernel divergent_barrier_kernel", "block (0,0,0)", "thread (0,0,0)",
                  "__syncthreads()", "barrier_kernels.cuh:", "thread (7,0,0) has returned"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kernel(), "divergent_barrier_kernel");
  EXPECT_EQ(e->block().x, 0u);
  EXPECT_EQ(e->thread().x, 0u);
  EXPECT_EQ(e->code(), 719);  // cudaErrorLaunchFailure
}

TEST(SimBarrier, DivergenceIsCaughtInEveryOrderAndOnTwoThreads) {
  for (const Options& o : {with_order(Order::kForward), with_order(Order::kReverse),
                           with_order(Order::kRandom), with_order(Order::kRandom, 2)}) {
    const ScopedOptions scoped(o);
    DeviceVector<int> out(16 * 64, -1);
    EXPECT_THROW(LENET_LAUNCH(divergent_barrier_kernel, 16, 64, 0, nullptr, 63, out.get()),
                 BarrierDivergence)
        << lenet::sim::to_string(o.order, o.seed) << " threads " << o.threads;
  }
}

TEST(SimBarrier, EarlyReturnBeforeBarrierThrows) {
  const ScopedOptions scoped(with_order(Order::kReverse));
  DeviceVector<float> out(100, 0.0f);
  // 100 = 3 * 32 + 4: only the last block has threads that return early.
  const auto e =
      divergence([&] { LENET_LAUNCH(early_return_kernel, 4, 32, 0, nullptr, 100, out.get()); },
                 {"kernel early_return_kernel, block (3,0,0)", "has returned"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->block().x, 3u);
  EXPECT_LT(e->thread().x, 4u) << "the thread named is one left waiting";
}

TEST(SimBarrier, ThreadsAtDifferentBarriersThrow) {
  const ScopedOptions scoped(with_order(Order::kForward));
  DeviceVector<int> out(32, -1);
  divergence([&] { LENET_LAUNCH(split_barrier_kernel, 1, 32, 0, nullptr, out.get()); },
             {"thread (0,0,0) waits at __syncthreads()",
              "thread (1,0,0) waits at __syncthreads()"});
}

TEST(SimBarrier, UnevenBarrierCountsThrow) {
  const ScopedOptions scoped(with_order(Order::kRandom));
  DeviceVector<int> out(96, -1);
  EXPECT_THROW(LENET_LAUNCH(uneven_loop_kernel, 1, 96, 0, nullptr, out.get()), BarrierDivergence);
}

TEST(SimBarrier, LaneReturningBeforeWarpCollectiveThrows) {
  const ScopedOptions scoped(with_order(Order::kForward));
  DeviceVector<int> out(64, -1);
  divergence(
      [&] { LENET_LAUNCH(lane_returns_before_shuffle_kernel, 1, 64, 0, nullptr, 3u, out.get()); },
      {"__shfl_sync with mask 0xffffffff", "thread (3,0,0) has returned"});
}

TEST(SimBarrier, TheSimulatorStillWorksAfterADivergentLaunch) {
  const ScopedOptions scoped(with_order(Order::kForward));
  DeviceVector<int> bad(64, -1);
  EXPECT_THROW(LENET_LAUNCH(divergent_barrier_kernel, 1, 64, 0, nullptr, 5, bad.get()),
               BarrierDivergence);
  DeviceVector<int> out(4, -1);
  LENET_LAUNCH(barrier_ok_kernel, 4, 128, 0, nullptr, out.get());
  EXPECT_EQ(out.to_host(), std::vector<int>(4, 127 * 128 / 2));
}

// Host-only kernel code: throws from one thread while the others wait at a barrier.
__global__ void throwing_kernel(unsigned bad_block, unsigned bad_thread, int* out) {
  __syncthreads();
  if (blockIdx.x == bad_block && threadIdx.x == bad_thread) {
    throw std::runtime_error("device code failed in thread " + std::to_string(threadIdx.x));
  }
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

TEST(SimLaunch, ExceptionsFromKernelCodePropagate) {
  for (const Options& o : {with_order(Order::kForward), with_order(Order::kRandom, 2)}) {
    const ScopedOptions scoped(o);
    DeviceVector<int> out(8 * 32, 0);
    try {
      LENET_LAUNCH(throwing_kernel, 8, 32, 0, nullptr, 5u, 17u, out.get());
      FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "device code failed in thread 17");
    }
    LENET_LAUNCH(throwing_kernel, 8, 32, 0, nullptr, 99u, 0u, out.get());
    EXPECT_EQ(out.to_host(), std::vector<int>(8 * 32, 1));
  }
}

TEST(SimLaunch, InvalidConfigurationsThrowCudaError) {
  DeviceVector<int> out(1, 0);
  const auto expect_error = [&](dim3 grid, dim3 block, std::size_t shared, int code,
                                const std::string& part) {
    try {
      LENET_LAUNCH(barrier_ok_kernel, grid, block, shared, nullptr, out.get());
      ADD_FAILURE() << "no error for " << part;
    } catch (const lenet::CudaError& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.code(), code) << what;
      EXPECT_TRUE(contains(what, "barrier_ok_kernel")) << what;
      EXPECT_TRUE(contains(what, part)) << what;
    }
  };
  expect_error(1, 1025, 0, 9, "block (1025,1,1)");
  expect_error(1, dim3(32, 32, 2), 0, 9, "2048 threads");
  expect_error(1, dim3(1, 1, 65), 0, 9, "block (1,1,65)");
  expect_error(0, 32, 0, 9, "grid (0,1,1)");
  expect_error(dim3(1, 0, 1), 32, 0, 9, "grid (1,0,1)");
  expect_error(1, 32, 48 * 1024 + 1, 1, "49153 bytes of dynamic shared memory");
  {
    Options o = lenet::sim::options();
    o.shared_memory_limit = 16 * 1024;
    const ScopedOptions scoped(o);
    expect_error(1, 32, 16 * 1024 + 4, 1, "the limit of 16384");
  }
  out.to_host();  // nothing ran, nothing broke
}

TEST(SimLaunch, InvalidStreamThrowsCudaError) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  DeviceVector<int> out(2, 0);
  LENET_LAUNCH(barrier_ok_kernel, 2, 8, 0, stream, out.get());
  EXPECT_EQ(out.to_host(), std::vector<int>(2, 28));
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  try {
    LENET_LAUNCH(barrier_ok_kernel, 2, 8, 0, stream, out.get());
    FAIL() << "launch on a destroyed stream";
  } catch (const lenet::CudaError& e) {
    EXPECT_EQ(e.code(), 400) << e.what();
  }
}

}  // namespace
