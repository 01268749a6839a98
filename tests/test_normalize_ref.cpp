#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/normalize.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/random.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

TEST(NormalizeRef, ForwardHandComputed) {
  // The classic recipe, mean = stddev = 0.5: 0 -> -1, 255 -> 1, 51 = 0.2*255 -> (0.2 - 0.5)/0.5.
  const std::vector<std::uint8_t> pixels = {0, 255, 51, 102};
  std::vector<double> y = nan_filled<double>(4);
  normalize_u8(4, pixels.data(), y.data(), 0.5, 0.5);
  EXPECT_TRUE(all_close(y, std::vector<double>{-1, 1, -0.6, -0.2}, 1e-15, 1e-15));

  // MNIST's usual statistics.
  normalize_u8(4, pixels.data(), y.data(), 0.1307, 0.3081);
  EXPECT_TRUE(all_close(y,
                        std::vector<double>{-0.1307 / 0.3081, 0.8693 / 0.3081,
                                            0.0693 / 0.3081, 0.2693 / 0.3081},
                        1e-15, 1e-14));
}

TEST(NormalizeRef, FloatAgreesWithDouble) {
  const auto pixels = random_bytes(1000, 7);
  std::vector<double> y(pixels.size());
  normalize_u8(1000, pixels.data(), y.data(), 0.5, 0.5);
  auto yf = nan_filled<float>(pixels.size());
  normalize_u8(1000, pixels.data(), yf.data(), 0.5, 0.5);
  EXPECT_TRUE(all_close(yf, y, 1e-7, 1e-6));
}

TEST(NormalizeRef, EmptyIsANoOp) {
  EXPECT_NO_THROW(normalize_u8<float>(0, nullptr, nullptr, 0.5f, 0.5f));
}

// The function applies ElementwiseShape::check (its rule: test_shapes.cpp) and checks its
// pointers.
TEST(NormalizeRef, ChecksSizeAndPointers) {
  const std::vector<std::uint8_t> pixels(3);
  std::vector<float> y(3);
  EXPECT_TRUE(checks_shape_and_pointers(
      "normalize_u8", std::int64_t{3}, std::int64_t{-1}, "n", {"pixels", "y"},
      [](std::int64_t n, auto... a) { normalize_u8(n, a..., 0.5f, 0.5f); }, pixels.data(),
      y.data()));
}

// mean and stddev are normalize's own rules: mean finite, stddev finite and > 0.
TEST(NormalizeRef, RejectsBadMeanAndStddev) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::uint8_t> pixels(3);
  std::vector<double> y(3);
  for (const double stddev : {0.0, -1.0, inf, nan}) {
    EXPECT_TRUE(throws_invalid_argument(
        [&] { normalize_u8(3, pixels.data(), y.data(), 0.5, stddev); }, {"normalize_u8: stddev"}))
        << "stddev " << stddev;
  }
  for (const double mean : {nan, inf}) {
    EXPECT_TRUE(throws_invalid_argument(
        [&] { normalize_u8(3, pixels.data(), y.data(), mean, 1.0); }, {"normalize_u8: mean"}))
        << "mean " << mean;
  }
}

}  // namespace
