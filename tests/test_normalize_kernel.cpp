// normalize_u8 kernel against the double reference, over every byte value.
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/normalize.h>
#include <lenet/kernels/normalize.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/throws.h"

namespace {

using lenet::test::all_close;
using lenet::test::DeviceArray;

// One division and one subtraction in float: a few ulps of values of magnitude <= 1/stddev.
constexpr double kAtol = 1e-6;
constexpr double kRtol = 1e-6;

std::vector<float> run_kernel(const std::vector<std::uint8_t>& pixels_host, float mean,
                              float stddev) {
  const std::int64_t n = static_cast<std::int64_t>(pixels_host.size());
  DeviceArray<std::uint8_t> pixels(pixels_host);
  DeviceArray<float> y(n);
  y.poison();
  lenet::kernels::normalize_u8(n, pixels.get(), y.get(), mean, stddev);
  return y.download();
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

TEST(NormalizeKernel, EveryByteValueWithTheSeedRecipe) {
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

TEST(NormalizeKernel, RejectsBadParametersAndNullPointers) {
  using lenet::test::throws_invalid_argument;
  namespace k = lenet::kernels;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  DeviceArray<std::uint8_t> pixels(4);
  DeviceArray<float> y(4);
  const auto call = [](std::int64_t n, const std::uint8_t* p, float* out, float mean,
                        float stddev) { return [=] { k::normalize_u8(n, p, out, mean, stddev); }; };
  EXPECT_TRUE(throws_invalid_argument(call(-1, pixels.get(), y.get(), 0.5f, 0.5f),
                                      {"normalize_u8", "n must be"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, pixels.get(), y.get(), 0.5f, 0.0f),
                                      {"normalize_u8", "stddev must be"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, pixels.get(), y.get(), 0.5f, -1.0f),
                                      {"normalize_u8", "stddev must be"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, pixels.get(), y.get(), 0.5f, inf),
                                      {"normalize_u8", "stddev must be"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, pixels.get(), y.get(), nan, 0.5f),
                                      {"normalize_u8", "mean must be"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, nullptr, y.get(), 0.5f, 0.5f),
                                      {"normalize_u8", "pixels is null"}));
  EXPECT_TRUE(throws_invalid_argument(call(4, pixels.get(), nullptr, 0.5f, 0.5f),
                                      {"normalize_u8", "y is null"}));
}

}  // namespace
