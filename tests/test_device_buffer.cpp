// lenet::kernels::DeviceBuffer, the public owning device array: sizes, copies both ways, a
// launcher on its memory, moves, and that its destructor frees (seen in the simulator, which
// tracks live allocations).
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels/memory.h>
#include <lenet/kernels/relu.h>

#include "support/random.h"
#include "support/throws.h"

namespace {

namespace lk = lenet::kernels;
using lenet::kernels::DeviceBuffer;
using lenet::test::throws_invalid_argument;

std::vector<std::int32_t> iota(std::size_t n, std::int32_t first) {
  std::vector<std::int32_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<std::int32_t>(i);
  return v;
}

#if defined(LENET_SIM)
// Whether ptr is still a live allocation: the simulator rejects a copy into freed memory with
// cudaErrorInvalidValue. (A GPU may hand the same address out again, so only the simulator can
// tell.)
bool is_live(void* ptr) {
  const char byte = 0;
  try {
    lk::copy_to_device(ptr, &byte, 1);
    return true;
  } catch (const lenet::CudaError&) {
    return false;
  }
}
#endif

TEST(DeviceBuffer, SizeBytesAndData) {
  DeviceBuffer<double> b(37);
  EXPECT_EQ(b.size(), 37u);
  EXPECT_EQ(b.bytes(), 37 * sizeof(double));
  EXPECT_NE(b.data(), nullptr);
  EXPECT_FALSE(b.empty());
}

TEST(DeviceBuffer, EmptyBufferHoldsNothing) {
  DeviceBuffer<float> none;
  DeviceBuffer<float> zero(0);
  for (DeviceBuffer<float>* b : {&none, &zero}) {
    EXPECT_TRUE(b->empty());
    EXPECT_EQ(b->size(), 0u);
    EXPECT_EQ(b->bytes(), 0u);
    EXPECT_EQ(b->data(), nullptr);
    EXPECT_TRUE(b->to_vector().empty());
    EXPECT_NO_THROW(b->copy_from_host(nullptr, 0));
    EXPECT_NO_THROW(b->copy_to_host(nullptr, 0));
  }
}

// An odd size, not a multiple of any alignment or block.
TEST(DeviceBuffer, RoundTripThroughTheDevice) {
  const std::vector<std::int32_t> host = iota(1001, -500);
  const DeviceBuffer<std::int32_t> b(host);
  EXPECT_EQ(b.size(), host.size());
  EXPECT_EQ(b.to_vector(), host);
  std::vector<std::int32_t> out(host.size(), 0);
  b.copy_to_host(out.data(), out.size());
  EXPECT_EQ(out, host);
}

TEST(DeviceBuffer, CopiesAPrefix) {
  DeviceBuffer<std::int32_t> b(iota(10, 0));
  b.copy_from_host(iota(4, 100));
  EXPECT_EQ(b.to_vector(), (std::vector<std::int32_t>{100, 101, 102, 103, 4, 5, 6, 7, 8, 9}));
  std::vector<std::int32_t> head(3, -1);
  b.copy_to_host(head.data(), head.size());
  EXPECT_EQ(head, (std::vector<std::int32_t>{100, 101, 102}));
}

// The buffer as a caller uses it: copies and a launcher ordered on one stream of its own.
TEST(DeviceBuffer, FeedsALauncherOnAStream) {
  const std::vector<float> x_host = lenet::test::random_uniform<float>(257, -1.0, 1.0, 41);
  const auto n = static_cast<std::int64_t>(x_host.size());
  std::vector<float> want(x_host.size());
  lenet::cpu_ref::relu_forward(n, x_host.data(), want.data());

  cudaStream_t stream = nullptr;
  LENET_CUDA_CHECK(cudaStreamCreate(&stream));
  {
    DeviceBuffer<float> x(x_host, stream);
    DeviceBuffer<float> y(x.size());
    lk::relu_forward(n, x.data(), y.data(), stream);
    EXPECT_EQ(y.to_vector(stream), want);
  }
  LENET_CUDA_CHECK(cudaStreamDestroy(stream));
}

TEST(DeviceBuffer, MoveConstructionTransfersOwnership) {
  const std::vector<std::int32_t> host = iota(64, 7);
  DeviceBuffer<std::int32_t> a(host);
  std::int32_t* const memory = a.data();
  DeviceBuffer<std::int32_t> b(std::move(a));
  EXPECT_EQ(b.data(), memory);
  EXPECT_EQ(b.size(), host.size());
  EXPECT_EQ(b.to_vector(), host);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
}

TEST(DeviceBuffer, MoveAssignmentFreesTheOldMemory) {
  const std::vector<std::int32_t> host = iota(16, 1);
  DeviceBuffer<std::int32_t> a(host);
  DeviceBuffer<std::int32_t> b(iota(99, 0));
  void* const old = b.data();
  b = std::move(a);
  EXPECT_EQ(b.size(), host.size());
  EXPECT_EQ(b.to_vector(), host);
  EXPECT_TRUE(a.empty());
#if defined(LENET_SIM)
  EXPECT_FALSE(is_live(old));
#else
  static_cast<void>(old);
#endif
}

// Only the simulator can tell freed device memory from live memory, so only its binary has this
// test (a GPU build would hold a test that can only skip).
#if defined(LENET_SIM)
TEST(DeviceBuffer, DestructorAndResetFree) {
  void* memory = nullptr;
  {
    DeviceBuffer<float> b(128);
    memory = b.data();
    EXPECT_TRUE(is_live(memory));
  }
  EXPECT_FALSE(is_live(memory));

  DeviceBuffer<float> c(128);
  memory = c.data();
  c.reset();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.data(), nullptr);
  EXPECT_FALSE(is_live(memory));
}
#endif

TEST(DeviceBuffer, RejectsMoreElementsThanItHolds) {
  DeviceBuffer<float> b(10);
  std::vector<float> host(11, 1.0f);
  EXPECT_TRUE(throws_invalid_argument([&] { b.copy_from_host(host); },
                                      {"DeviceBuffer::copy_from_host", "11 elements", "holds 10"}));
  EXPECT_TRUE(throws_invalid_argument([&] { b.copy_to_host(host.data(), host.size()); },
                                      {"DeviceBuffer::copy_to_host", "11 elements", "holds 10"}));
}

TEST(DeviceBuffer, RejectsNullHostPointers) {
  DeviceBuffer<float> b(4);
  EXPECT_TRUE(throws_invalid_argument([&] { b.copy_from_host(nullptr, 4); },
                                      {"DeviceBuffer::copy_from_host", "src is null"}));
  EXPECT_TRUE(throws_invalid_argument([&] { b.copy_to_host(nullptr, 4); },
                                      {"DeviceBuffer::copy_to_host", "dst is null"}));
}

// The byte count would wrap around; the check comes before any allocation.
TEST(DeviceBuffer, RejectsASizeWhoseBytesOverflow) {
  const std::size_t n = std::numeric_limits<std::size_t>::max() / sizeof(double) + 1;
  EXPECT_TRUE(throws_invalid_argument([&] { DeviceBuffer<double> b(n); },
                                      {"DeviceBuffer", "do not fit in size_t"}));
}

}  // namespace
