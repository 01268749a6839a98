// normalize_u8 kernel against the double reference, over every byte value.
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/normalize.h>
#include <lenet/kernels/normalize.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"

namespace {

using lenet::test::all_close;
using lenet::test::DeviceArray;

// One division and one subtraction in float: a few ulps of values of magnitude <= 1/stddev.
constexpr double kAtol = 1e-6;
constexpr double kRtol = 1e-6;

std::vector<float> run_kernel(const std::vector<std::uint8_t>& pixels_host, float mean,
                              float stddev) {
  const std::int64_t n = static_cast<std::int64_t>(pixels_host.size());
  const DeviceArray<std::uint8_t> pixels(pixels_host);
  return lenet::test::run_on_poisoned<float>(
      n, [&](float* y) { lenet::kernels::normalize_u8(n, pixels.get(), y, mean, stddev); });
}

std::vector<double> reference(const std::vector<std::uint8_t>& pixels, float mean, float stddev) {
  std::vector<double> y(pixels.size());
  lenet::cpu_ref::normalize_u8(static_cast<std::int64_t>(pixels.size()), pixels.data(), y.data(),
                               static_cast<double>(mean), static_cast<double>(stddev));
  return y;
}

// 0..255 in order, repeated: every value at many positions of a block.
std::vector<std::uint8_t> every_byte(std::int64_t repeats) {
  std::vector<std::uint8_t> pixels(256 * repeats);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i % 256);
  return pixels;
}

TEST(NormalizeKernel, EveryByteValueWithTheClassicRecipe) {
  const std::vector<std::uint8_t> pixels = every_byte(1);
  const std::vector<float> y = run_kernel(pixels, 0.5f, 0.5f);
  EXPECT_TRUE(all_close(y, reference(pixels, 0.5f, 0.5f), kAtol, kRtol));
  EXPECT_EQ(y.front(), -1.0f);
  EXPECT_EQ(y.back(), 1.0f);
}

// MNIST's usual statistics, and a plain 0..1 scaling.
TEST(NormalizeKernel, EveryByteValueWithOtherStatistics) {
  const std::vector<std::uint8_t> pixels = every_byte(3);
  for (const auto& [mean, stddev] : {std::pair<float, float>{0.1307f, 0.3081f}, {0.0f, 1.0f}}) {
    SCOPED_TRACE(testing::Message() << "mean " << mean << ", stddev " << stddev);
    EXPECT_TRUE(all_close(run_kernel(pixels, mean, stddev), reference(pixels, mean, stddev), 1e-5,
                          kRtol));
  }
}

// A batch of 64 MNIST-sized images (random bytes) and a size that is no multiple of the block.
TEST(NormalizeKernel, MnistBatchAndOddSize) {
  for (const std::int64_t n : {std::int64_t{64} * 28 * 28, std::int64_t{1001}}) {
    const std::vector<std::uint8_t> pixels = lenet::test::random_bytes(n, 81);
    EXPECT_TRUE(all_close(run_kernel(pixels, 0.5f, 0.5f), reference(pixels, 0.5f, 0.5f), kAtol,
                          kRtol))
        << "n " << n;
  }
}

TEST(NormalizeKernel, EmptyInputIsANoOpEvenWithNullPointers) {
  EXPECT_NO_THROW(lenet::kernels::normalize_u8(0, nullptr, nullptr, 0.5f, 0.5f));
}

// The launcher applies ElementwiseShape::check (its rule: test_shapes.cpp) and checks its
// pointers.
TEST(NormalizeKernel, LauncherChecksSizeAndPointers) {
  DeviceArray<std::uint8_t> pixels(4);
  DeviceArray<float> y(4);
  EXPECT_TRUE(lenet::test::checks_shape_and_pointers(
      "normalize_u8", std::int64_t{4}, std::int64_t{-1}, "n", {"pixels", "y"},
      [](std::int64_t n, auto... p) { lenet::kernels::normalize_u8(n, p..., 0.5f, 0.5f); },
      pixels.get(), y.get()));
}

// mean and stddev are normalize's own rules: mean finite, stddev finite and > 0.
TEST(NormalizeKernel, RejectsBadMeanAndStddev) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  DeviceArray<std::uint8_t> pixels(4);
  DeviceArray<float> y(4);
  for (const float stddev : {0.0f, -1.0f, inf, nan}) {
    EXPECT_TRUE(lenet::test::throws_invalid_argument(
        [&] { lenet::kernels::normalize_u8(4, pixels.get(), y.get(), 0.5f, stddev); },
        {"normalize_u8: stddev must be"}))
        << "stddev " << stddev;
  }
  for (const float mean : {nan, inf, -inf}) {
    EXPECT_TRUE(lenet::test::throws_invalid_argument(
        [&] { lenet::kernels::normalize_u8(4, pixels.get(), y.get(), mean, 0.5f); },
        {"normalize_u8: mean must be"}))
        << "mean " << mean;
  }
}

}  // namespace
