// ReLU kernels against the double reference. ReLU is exact, so outputs must match bit for bit.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels/relu.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"

namespace {

using namespace lenet::test;

// Uniform in [-1, 1) with every 7th element an exact zero (alternating +0 and -0), so the
// x == 0 rule of the backward pass is exercised at every size.
std::vector<float> inputs_with_zeros(std::int64_t n, std::uint64_t seed) {
  std::vector<float> x = random_uniform<float>(n, -1.0, 1.0, seed);
  for (std::int64_t i = 0; i < n; i += 7) x[i] = (i / 7) % 2 == 0 ? 0.0f : -0.0f;
  return x;
}

std::vector<double> reference_forward(const std::vector<float>& x) {
  std::vector<double> y(x.size());
  lenet::cpu_ref::relu_forward(static_cast<std::int64_t>(x.size()), cast_to<double>(x).data(),
                               y.data());
  return y;
}

std::vector<double> reference_backward(const std::vector<float>& dy, const std::vector<float>& x) {
  std::vector<double> dx(x.size());
  lenet::cpu_ref::relu_backward(static_cast<std::int64_t>(x.size()), cast_to<double>(dy).data(),
                                cast_to<double>(x).data(), dx.data());
  return dx;
}

// The kernels on poisoned outputs, downloaded.
std::vector<float> kernel_forward(const std::vector<float>& x_host) {
  const std::int64_t n = static_cast<std::int64_t>(x_host.size());
  const DeviceArray<float> x(x_host);
  return run_on_poisoned<float>(n, [&](float* y) { lenet::kernels::relu_forward(n, x.get(), y); });
}

std::vector<float> kernel_backward(const std::vector<float>& dy_host,
                                   const std::vector<float>& x_host) {
  const std::int64_t n = static_cast<std::int64_t>(x_host.size());
  const DeviceArray<float> dy(dy_host), x(x_host);
  return run_on_poisoned<float>(
      n, [&](float* dx) { lenet::kernels::relu_backward(n, dy.get(), x.get(), dx); });
}

class ReluKernel : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(ReluKernel, Forward) {
  const std::vector<float> x = inputs_with_zeros(GetParam(), 31);
  EXPECT_TRUE(all_close(kernel_forward(x), reference_forward(x), 0.0, 0.0));
}

TEST_P(ReluKernel, Backward) {
  const std::vector<float> x = inputs_with_zeros(GetParam(), 32);
  const std::vector<float> dy = random_uniform<float>(GetParam(), -1.0, 1.0, 33);
  EXPECT_TRUE(all_close(kernel_backward(dy, x), reference_backward(dy, x), 0.0, 0.0));
}

// 1 and sizes around one 256-thread block; the LeNet activations (conv1 at batch 64, fc1 at
// batch 100).
INSTANTIATE_TEST_SUITE_P(Sizes, ReluKernel,
                         ::testing::Values<std::int64_t>(1, 255, 256, 257, 64 * 6 * 24 * 24,
                                                         100 * 120),
                         [](const ::testing::TestParamInfo<std::int64_t>& info) {
                           return "n" + std::to_string(info.param);
                         });

// More elements than the largest grid the launchers start (65535 blocks of 256 threads): the
// grid-stride loop must take a second lap. Every elementwise kernel shares that loop; one
// test of it keeps the simulator run short.
TEST(ReluKernel, ForwardBeyondOneGridPass) {
  const std::vector<float> x = inputs_with_zeros(std::int64_t{65535} * 256 + 1001, 38);
  EXPECT_TRUE(all_close(kernel_forward(x), reference_forward(x), 0.0, 0.0));
}

TEST(ReluKernel, ForwardPropagatesNaNAndKeepsInfinities) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {nan, -inf, inf, -2.0f, 0.0f, -0.0f, 3.0f, -nan};
  const std::vector<float> out = kernel_forward(x);
  const std::vector<double> ref = reference_forward(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(ref[i])) {
      EXPECT_TRUE(std::isnan(out[i])) << "index " << i << ": " << out[i];
    } else {
      EXPECT_EQ(static_cast<double>(out[i]), ref[i]) << "index " << i;
    }
  }
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[2], inf);
}

// The gradient is 0 where x == 0 (either sign) and where x is NaN, as PyTorch's.
TEST(ReluKernel, BackwardIsZeroAtZeroAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {0.0f, -0.0f, nan, 1e-30f, -1e-30f, 2.0f};
  const std::vector<float> dy = {5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f};
  const std::vector<float> dx = kernel_backward(dy, x);
  const std::vector<float> expected = {0.0f, 0.0f, 0.0f, 8.0f, 0.0f, 10.0f};
  EXPECT_TRUE(all_close(dx, expected, 0.0, 0.0));
  EXPECT_TRUE(all_close(dx, reference_backward(dy, x), 0.0, 0.0));
}

TEST(ReluKernel, ForwardAndBackwardInPlace) {
  const std::int64_t n = 1000;
  const std::vector<float> x_host = inputs_with_zeros(n, 34);
  const std::vector<float> dy_host = random_uniform<float>(n, -1.0, 1.0, 35);
  DeviceArray<float> x(x_host), y(x_host), dy(dy_host);
  lenet::kernels::relu_forward(n, y.get(), y.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(x_host), 0.0, 0.0)) << "y = relu(y)";
  lenet::kernels::relu_backward(n, dy.get(), x.get(), dy.get());
  EXPECT_TRUE(all_close(dy.download(), reference_backward(dy_host, x_host), 0.0, 0.0))
      << "dy = relu_backward(dy, x)";
}

TEST(ReluKernel, BackwardIsDeterministic) {
  const std::int64_t n = 64 * 6 * 24 * 24;
  const std::vector<float> x = inputs_with_zeros(n, 36);
  const std::vector<float> dy = random_uniform<float>(n, -1.0, 1.0, 37);
  EXPECT_TRUE(bitwise_equal(kernel_backward(dy, x), kernel_backward(dy, x)));
}

TEST(ReluKernel, EmptyInputIsANoOpEvenWithNullPointers) {
  EXPECT_NO_THROW(lenet::kernels::relu_forward(0, nullptr, nullptr));
  EXPECT_NO_THROW(lenet::kernels::relu_backward(0, nullptr, nullptr, nullptr));
}

// Each launcher applies ElementwiseShape::check (its rule: test_shapes.cpp) and checks its
// pointers.
TEST(ReluKernel, LaunchersCheckSizeAndPointers) {
  namespace k = lenet::kernels;
  const std::int64_t n = 4, negative = -1;
  DeviceArray<float> a(4), b(4), c(4);
  EXPECT_TRUE(checks_shape_and_pointers(
      "relu_forward", n, negative, "n", {"x", "y"}, [](auto... p) { k::relu_forward(p...); },
      a.get(), b.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "relu_backward", n, negative, "n", {"dy", "x", "dx"},
      [](auto... p) { k::relu_backward(p...); }, a.get(), b.get(), c.get()));
}

}  // namespace
