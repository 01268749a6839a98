// maxpool2d kernels against the double reference: values and indices exactly, ties and NaN.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/maxpool2d.h>
#include <lenet/kernels/maxpool2d.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"

namespace {

using namespace lenet::test;
using lenet::Pool2dShape;

struct PoolOutputs {
  std::vector<float> y;
  std::vector<std::int32_t> idx;
};

// The forward kernel on poisoned outputs, downloaded.
PoolOutputs kernel_forward(const Pool2dShape& s, const std::vector<float>& x_host) {
  DeviceArray<float> x(x_host), y = poisoned<float>(s.y_size());
  DeviceArray<std::int32_t> idx = poisoned<std::int32_t>(s.y_size());
  lenet::kernels::maxpool2d_forward(s, x.get(), y.get(), idx.get());
  return {y.download(), idx.download()};
}

// The backward kernel on a poisoned dx, downloaded.
std::vector<float> kernel_backward(const Pool2dShape& s, const std::vector<float>& dy_host,
                                   const std::vector<std::int32_t>& idx_host) {
  DeviceArray<float> dy(dy_host), dx = poisoned<float>(s.x_size());
  DeviceArray<std::int32_t> idx(idx_host);
  lenet::kernels::maxpool2d_backward(s, dy.get(), idx.get(), dx.get());
  return dx.download();
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

// The forward kernel gives the reference's y and idx exactly (no NaN in x).
void expect_forward_matches(const Pool2dShape& s, const std::vector<float>& x) {
  const PoolOutputs out = kernel_forward(s, x);
  const RefOutputs ref = reference_forward(s, x);
  EXPECT_TRUE(all_close(out.y, ref.y, 0.0, 0.0)) << "y";
  EXPECT_TRUE(all_equal(out.idx, ref.idx)) << "idx";
}

using PoolCase = ShapeCase<Pool2dShape>;

class MaxPool2dKernel : public ::testing::TestWithParam<PoolCase> {};

// Distinct values, so there is exactly one maximum per window.
TEST_P(MaxPool2dKernel, Forward) {
  const Pool2dShape& s = GetParam().s;
  expect_forward_matches(s, random_distinct<float>(s.x_size(), -1.0, 1.0, 21));
}

// Where windows overlap (stride < K) an input collects gradients from several outputs.
TEST_P(MaxPool2dKernel, Backward) {
  const Pool2dShape& s = GetParam().s;
  const std::vector<float> x = random_distinct<float>(s.x_size(), -1.0, 1.0, 22);
  const std::vector<float> dy = random_uniform<float>(s.y_size(), -1.0, 1.0, 23);
  const RefOutputs fwd = reference_forward(s, x);
  std::vector<double> dx_ref(s.x_size());
  lenet::cpu_ref::maxpool2d_backward(s, cast_to<double>(dy).data(), fwd.idx.data(), dx_ref.data());
  EXPECT_TRUE(all_close(kernel_backward(s, dy, fwd.idx), dx_ref, 1e-6, 1e-6));
}

// Shapes are {N, C, H, W, K, stride}.
INSTANTIATE_TEST_SUITE_P(Lenet, MaxPool2dKernel,
                         ::testing::ValuesIn(at_lenet_batches<Pool2dShape>(
                             {{"pool1", {1, 6, 24, 24, 2, 2}}, {"pool2", {1, 16, 8, 8, 2, 2}}})),
                         CaseName());

// Overlapping windows, K = 1, stride > K (inputs no window sees), odd sizes that leave the
// last row and column out, and one window over (almost) the whole plane.
INSTANTIATE_TEST_SUITE_P(Shapes, MaxPool2dKernel,
                         ::testing::Values(PoolCase{"overlap_k3_s2", {2, 3, 9, 11, 3, 2}},
                                           PoolCase{"overlap_k3_s1", {1, 2, 7, 9, 3, 1}},
                                           PoolCase{"overlap_k4_s3", {2, 2, 13, 10, 4, 3}},
                                           PoolCase{"k1_s1", {2, 2, 5, 7, 1, 1}},
                                           PoolCase{"k1_s2", {1, 3, 6, 5, 1, 2}},
                                           PoolCase{"stride3_k2", {1, 2, 10, 11, 2, 3}},
                                           PoolCase{"odd_13x13", {3, 4, 13, 13, 2, 2}},
                                           PoolCase{"window_5x5_on_6x5", {2, 3, 6, 5, 5, 1}}),
                         CaseName());

// Values from {0, 1, 2}: most windows hold several maxima; the first in row-major window
// order must win, in y and in idx.
TEST(MaxPool2dKernel, ForwardTiesPickTheFirstMaximum) {
  for (const Pool2dShape& s : {Pool2dShape{4, 3, 12, 12, 2, 2}, Pool2dShape{2, 2, 9, 11, 3, 2},
                               Pool2dShape{1, 2, 7, 9, 3, 1}}) {
    SCOPED_TRACE(describe(s));
    std::vector<float> x(s.x_size());
    Rng rng(24);
    for (float& v : x) v = static_cast<float>(rng.below(3));
    expect_forward_matches(s, x);
  }
}

TEST(MaxPool2dKernel, ForwardConstantPlanePicksEachWindowsFirstElement) {
  const Pool2dShape s{1, 1, 5, 6, 2, 2};
  const PoolOutputs out = kernel_forward(s, std::vector<float>(s.x_size(), 0.5f));
  const std::vector<std::int32_t> expected = {0, 2, 4, 12, 14, 16};
  EXPECT_TRUE(all_equal(out.idx, expected));
  EXPECT_TRUE(all_close(out.y, std::vector<float>(expected.size(), 0.5f), 0.0, 0.0));
}

// A NaN beats every number and the first NaN of a window wins, whether it comes before or
// after the window's largest number; windows without NaN are unaffected.
TEST(MaxPool2dKernel, ForwardPropagatesNaN) {
  const Pool2dShape s{2, 2, 8, 9, 3, 2};
  std::vector<float> x = random_distinct<float>(s.x_size(), -1.0, 1.0, 25);
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
  for (const Pool2dShape& s : {Pool2dShape{64, 6, 24, 24, 2, 2}, Pool2dShape{3, 4, 15, 17, 3, 1}}) {
    const std::vector<float> x = random_distinct<float>(s.x_size(), -1.0, 1.0, 26);
    const std::vector<std::int32_t> idx = reference_forward(s, x).idx;
    const std::vector<float> dy = random_uniform<float>(s.y_size(), -1.0, 1.0, 27);
    EXPECT_TRUE(bitwise_equal(kernel_backward(s, dy, idx), kernel_backward(s, dy, idx)))
        << "dx differs between two runs, " << describe(s);
  }
}

// Each launcher applies Pool2dShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(MaxPool2dKernel, LaunchersCheckShapeAndPointers) {
  namespace k = lenet::kernels;
  const Pool2dShape s{1, 2, 6, 6, 2, 2}, big_window{1, 2, 6, 6, 7, 2};
  DeviceArray<float> x(s.x_size()), y(s.y_size()), dy(s.y_size()), dx(s.x_size());
  DeviceArray<std::int32_t> idx(s.y_size());
  EXPECT_TRUE(checks_shape_and_pointers(
      "maxpool2d_forward", s, big_window, "K = 7", {"x", "y", "idx"},
      [](auto... a) { k::maxpool2d_forward(a...); }, x.get(), y.get(), idx.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "maxpool2d_backward", s, big_window, "K = 7", {"dy", "idx", "dx"},
      [](auto... a) { k::maxpool2d_backward(a...); }, dy.get(), idx.get(), dx.get()));
}

}  // namespace
