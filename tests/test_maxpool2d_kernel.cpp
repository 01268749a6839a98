// maxpool2d kernels against the double reference: values and indices exactly, ties and NaN.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/maxpool2d.h>
#include <lenet/kernels/maxpool2d.h>
#include <lenet/shapes.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/throws.h"

namespace {

using lenet::Pool2dShape;
using lenet::test::all_close;
using lenet::test::all_equal;
using lenet::test::cast_to;
using lenet::test::DeviceArray;

Pool2dShape pool_shape(std::int64_t N, std::int64_t C, std::int64_t H, std::int64_t W,
                       std::int64_t K, std::int64_t stride) {
  Pool2dShape s;
  s.N = N;
  s.C = C;
  s.H = H;
  s.W = W;
  s.K = K;
  s.stride = stride;
  return s;
}

struct PoolOutputs {
  std::vector<float> y;
  std::vector<std::int32_t> idx;
};

PoolOutputs kernel_forward(const Pool2dShape& s, const std::vector<float>& x_host) {
  DeviceArray<float> x(x_host), y(s.y_size());
  DeviceArray<std::int32_t> idx(s.y_size());
  y.poison();
  idx.poison();
  lenet::kernels::maxpool2d_forward(s, x.get(), y.get(), idx.get());
  return {y.download(), idx.download()};
}

struct RefOutputs {
  std::vector<double> y;
  std::vector<std::int32_t> idx;
};

RefOutputs reference_forward(const Pool2dShape& s, const std::vector<float>& x) {
  RefOutputs out{std::vector<double>(s.y_size()), std::vector<std::int32_t>(s.y_size())};
  lenet::cpu_ref::maxpool2d_forward(s, cast_to<double>(x).data(), out.y.data(), out.idx.data());
  return out;
}

// Same value bit for bit (a max is exact) or NaN in both.
::testing::AssertionResult same_or_both_nan(const std::vector<float>& out,
                                            const std::vector<double>& ref) {
  if (out.size() != ref.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool both_nan = std::isnan(out[i]) && std::isnan(ref[i]);
    if (!both_nan && static_cast<double>(out[i]) != ref[i]) {
      return ::testing::AssertionFailure()
             << "first difference at index " << i << ": out " << out[i] << ", ref " << ref[i];
    }
  }
  return ::testing::AssertionSuccess();
}

struct PoolCase {
  const char* name;
  Pool2dShape s;
};

void PrintTo(const PoolCase& c, std::ostream* os) {
  const Pool2dShape& s = c.s;
  *os << c.name << " {N " << s.N << ", C " << s.C << ", H " << s.H << ", W " << s.W << ", K "
      << s.K << ", stride " << s.stride << "}";
}

class MaxPool2dKernel : public ::testing::TestWithParam<PoolCase> {};

// Distinct values, so there is exactly one maximum per window.
TEST_P(MaxPool2dKernel, Forward) {
  const Pool2dShape& s = GetParam().s;
  const std::vector<float> x = lenet::test::random_distinct<float>(s.x_size(), -1.0, 1.0, 21);
  const PoolOutputs out = kernel_forward(s, x);
  const RefOutputs ref = reference_forward(s, x);
  EXPECT_TRUE(all_close(out.y, ref.y, 0.0, 0.0)) << "y";
  EXPECT_TRUE(all_equal(out.idx, ref.idx)) << "idx";
}

// Where windows overlap (stride < K) an input collects gradients from several outputs.
TEST_P(MaxPool2dKernel, Backward) {
  const Pool2dShape& s = GetParam().s;
  const std::vector<float> x = lenet::test::random_distinct<float>(s.x_size(), -1.0, 1.0, 22);
  const std::vector<float> dy_host =
      lenet::test::random_uniform<float>(s.y_size(), -1.0, 1.0, 23);
  const RefOutputs fwd = reference_forward(s, x);
  DeviceArray<float> dy(dy_host), dx(s.x_size());
  DeviceArray<std::int32_t> idx(fwd.idx);
  dx.poison();
  lenet::kernels::maxpool2d_backward(s, dy.get(), idx.get(), dx.get());
  std::vector<double> dx_ref(s.x_size());
  lenet::cpu_ref::maxpool2d_backward(s, cast_to<double>(dy_host).data(), fwd.idx.data(),
                                     dx_ref.data());
  EXPECT_TRUE(all_close(dx.download(), dx_ref, 1e-6, 1e-6));
}

std::string case_name(const ::testing::TestParamInfo<PoolCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Lenet, MaxPool2dKernel,
                         ::testing::Values(PoolCase{"pool1_n1", pool_shape(1, 6, 24, 24, 2, 2)},
                                           PoolCase{"pool1_n64", pool_shape(64, 6, 24, 24, 2, 2)},
                                           PoolCase{"pool1_n100", pool_shape(100, 6, 24, 24, 2, 2)},
                                           PoolCase{"pool2_n1", pool_shape(1, 16, 8, 8, 2, 2)},
                                           PoolCase{"pool2_n64", pool_shape(64, 16, 8, 8, 2, 2)},
                                           PoolCase{"pool2_n100", pool_shape(100, 16, 8, 8, 2, 2)}),
                         case_name);

// Overlapping windows, K = 1, stride > K (inputs no window sees), odd sizes that leave the
// last row and column out, and one window over (almost) the whole plane.
INSTANTIATE_TEST_SUITE_P(
    Shapes, MaxPool2dKernel,
    ::testing::Values(PoolCase{"overlap_k3_s2", pool_shape(2, 3, 9, 11, 3, 2)},
                      PoolCase{"overlap_k3_s1", pool_shape(1, 2, 7, 9, 3, 1)},
                      PoolCase{"overlap_k4_s3", pool_shape(2, 2, 13, 10, 4, 3)},
                      PoolCase{"k1_s1", pool_shape(2, 2, 5, 7, 1, 1)},
                      PoolCase{"k1_s2", pool_shape(1, 3, 6, 5, 1, 2)},
                      PoolCase{"stride3_k2", pool_shape(1, 2, 10, 11, 2, 3)},
                      PoolCase{"odd_13x13", pool_shape(3, 4, 13, 13, 2, 2)},
                      PoolCase{"window_5x5_on_6x5", pool_shape(2, 3, 6, 5, 5, 1)}),
    case_name);

// Values from {0, 1, 2}: most windows hold several maxima; the first in row-major window
// order must win, in y and in idx.
TEST(MaxPool2dKernel, ForwardTiesPickTheFirstMaximum) {
  for (const Pool2dShape& s : {pool_shape(4, 3, 12, 12, 2, 2), pool_shape(2, 2, 9, 11, 3, 2),
                               pool_shape(1, 2, 7, 9, 3, 1)}) {
    SCOPED_TRACE("H " + std::to_string(s.H) + ", W " + std::to_string(s.W) + ", K " +
                 std::to_string(s.K) + ", stride " + std::to_string(s.stride));
    std::vector<float> x(s.x_size());
    lenet::test::Rng rng(24);
    for (float& v : x) v = static_cast<float>(rng.below(3));
    const PoolOutputs out = kernel_forward(s, x);
    const RefOutputs ref = reference_forward(s, x);
    EXPECT_TRUE(all_close(out.y, ref.y, 0.0, 0.0)) << "y";
    EXPECT_TRUE(all_equal(out.idx, ref.idx)) << "idx";
  }
}

TEST(MaxPool2dKernel, ForwardConstantPlanePicksEachWindowsFirstElement) {
  const Pool2dShape s = pool_shape(1, 1, 5, 6, 2, 2);
  const PoolOutputs out = kernel_forward(s, std::vector<float>(s.x_size(), 0.5f));
  const std::vector<std::int32_t> expected = {0, 2, 4, 12, 14, 16};
  EXPECT_TRUE(all_equal(out.idx, expected));
  EXPECT_TRUE(all_close(out.y, std::vector<float>(expected.size(), 0.5f), 0.0, 0.0));
}

// A NaN beats every number and the first NaN of a window wins, whether it comes before or
// after the window's largest number; windows without NaN are unaffected.
TEST(MaxPool2dKernel, ForwardPropagatesNaN) {
  const Pool2dShape s = pool_shape(2, 2, 8, 9, 3, 2);
  std::vector<float> x = lenet::test::random_distinct<float>(s.x_size(), -1.0, 1.0, 25);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::int64_t at : {0, 4, 13, 22, 23, 40, 75, 76, 100, 143}) x[at] = nan;
  const PoolOutputs out = kernel_forward(s, x);
  const RefOutputs ref = reference_forward(s, x);
  std::int64_t nan_windows = 0;
  for (const double v : ref.y) nan_windows += std::isnan(v) ? 1 : 0;
  ASSERT_GT(nan_windows, 0);
  ASSERT_LT(nan_windows, s.y_size());
  EXPECT_TRUE(same_or_both_nan(out.y, ref.y)) << "y";
  EXPECT_TRUE(all_equal(out.idx, ref.idx)) << "idx";
}

TEST(MaxPool2dKernel, BackwardIsDeterministic) {
  for (const Pool2dShape& s : {pool_shape(64, 6, 24, 24, 2, 2), pool_shape(3, 4, 15, 17, 3, 1)}) {
    const std::vector<float> x = lenet::test::random_distinct<float>(s.x_size(), -1.0, 1.0, 26);
    const RefOutputs fwd = reference_forward(s, x);
    DeviceArray<float> dy(lenet::test::random_uniform<float>(s.y_size(), -1.0, 1.0, 27));
    DeviceArray<std::int32_t> idx(fwd.idx);
    DeviceArray<float> dx(s.x_size());
    const auto run = [&] {
      dx.poison();
      lenet::kernels::maxpool2d_backward(s, dy.get(), idx.get(), dx.get());
      return dx.download();
    };
    const std::vector<float> first = run();
    const std::vector<float> second = run();
    EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0)
        << "dx differs between two runs (H " << s.H << ", K " << s.K << ")";
  }
}

TEST(MaxPool2dKernel, RejectsBadShapesAndNullPointers) {
  using lenet::test::throws_invalid_argument;
  namespace k = lenet::kernels;
  const Pool2dShape s = pool_shape(1, 2, 6, 6, 2, 2);
  DeviceArray<float> x(s.x_size()), y(s.y_size()), dy(s.y_size()), dx(s.x_size());
  DeviceArray<std::int32_t> idx(s.y_size());

  Pool2dShape zero_stride = s;
  zero_stride.stride = 0;
  Pool2dShape big_window = s;
  big_window.K = 7;
  Pool2dShape no_batch = s;
  no_batch.N = 0;

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_forward(zero_stride, x.get(), y.get(), idx.get()); },
      {"maxpool2d_forward", "stride must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_forward(big_window, x.get(), y.get(), idx.get()); },
      {"maxpool2d_forward", "K = 7"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_forward(s, nullptr, y.get(), idx.get()); },
      {"maxpool2d_forward", "x is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_forward(s, x.get(), nullptr, idx.get()); },
      {"maxpool2d_forward", "y is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_forward(s, x.get(), y.get(), nullptr); },
      {"maxpool2d_forward", "idx is null"}));

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_backward(no_batch, dy.get(), idx.get(), dx.get()); },
      {"maxpool2d_backward", "N must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_backward(s, nullptr, idx.get(), dx.get()); },
      {"maxpool2d_backward", "dy is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_backward(s, dy.get(), nullptr, dx.get()); },
      {"maxpool2d_backward", "idx is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::maxpool2d_backward(s, dy.get(), idx.get(), nullptr); },
      {"maxpool2d_backward", "dx is null"}));
}

}  // namespace
