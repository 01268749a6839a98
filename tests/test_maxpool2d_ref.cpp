#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/maxpool2d.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace {

using lenet::Pool2dShape;
using namespace lenet::cpu_ref;
using namespace lenet::test;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(MaxPool2dRef, ForwardHandComputedWithTies) {
  const Pool2dShape s{1, 1, 4, 4, 2, 2};
  const std::vector<double> x = {1, 3,  2,  2,   //
                                 3, 0,  2,  1,   //
                                 5, 5,  -1, -2,  //
                                 5, 4,  -3, -1};
  std::vector<double> y = nan_filled<double>(4);
  std::vector<std::int32_t> idx(4, -1);
  maxpool2d_forward(s, x.data(), y.data(), idx.data());
  EXPECT_TRUE(all_close(y, std::vector<double>{3, 2, 5, -1}, 0, 0));
  // Ties go to the first maximum in row-major window order: (0,1) before (1,0); (0,2) of
  // three 2s; (2,0) of three 5s; (2,2) before (3,3).
  EXPECT_TRUE(all_equal(idx, std::vector<std::int32_t>{1, 2, 8, 10}));
}

TEST(MaxPool2dRef, ForwardOddSizeDropsTheRemainder) {
  // 3x5 input, 2x2 window, stride 2: output 1x2; row 2 and column 4 are never read.
  const Pool2dShape s{1, 1, 3, 5, 2, 2};
  const std::vector<double> x = {0, 1, 2, 3, 9,  //
                                 4, 0, 0, 7, 9,  //
                                 9, 9, 9, 9, 9};
  std::vector<double> y = nan_filled<double>(2);
  std::vector<std::int32_t> idx(2, -1);
  maxpool2d_forward(s, x.data(), y.data(), idx.data());
  EXPECT_TRUE(all_close(y, std::vector<double>{4, 7}, 0, 0));
  EXPECT_TRUE(all_equal(idx, std::vector<std::int32_t>{5, 8}));
}

TEST(MaxPool2dRef, ForwardNaNPropagates) {
  const Pool2dShape s{1, 2, 2, 2, 2, 2};
  // Plane 0: a NaN after a larger number still wins. Plane 1: the first of two NaNs wins.
  const std::vector<double> x = {100, kNaN, 1, 2,  //
                                 1, 2, kNaN, kNaN};
  std::vector<double> y(2, 0.0);
  std::vector<std::int32_t> idx(2, -1);
  maxpool2d_forward(s, x.data(), y.data(), idx.data());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_TRUE(all_equal(idx, std::vector<std::int32_t>{1, 2}));
}

TEST(MaxPool2dRef, BackwardHandComputedAccumulatesOverlaps) {
  // 3x3 input, 2x2 window, stride 1: all four windows pick the centre, which receives the
  // sum of dy; every other input gets zero.
  const Pool2dShape s{1, 1, 3, 3, 2, 1};
  const std::vector<double> x = {0, 1, 0, 2, 9, 3, 0, 4, 0};
  std::vector<double> y(4);
  std::vector<std::int32_t> idx(4);
  maxpool2d_forward(s, x.data(), y.data(), idx.data());
  EXPECT_TRUE(all_equal(idx, std::vector<std::int32_t>{4, 4, 4, 4}));
  const std::vector<double> dy = {1, 2, 3, 4};
  std::vector<double> dx = nan_filled<double>(9);
  maxpool2d_backward(s, dy.data(), idx.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0}, 0, 0));
}

TEST(MaxPool2dRef, BackwardHandComputedScatter) {
  const Pool2dShape s{1, 1, 4, 4, 2, 2};
  const std::vector<std::int32_t> idx = {1, 2, 8, 15};
  const std::vector<double> dy = {0.5, -1, 2, 3};
  std::vector<double> dx = nan_filled<double>(16);
  maxpool2d_backward(s, dy.data(), idx.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0, 0.5, -1, 0, 0, 0, 0, 0,  //
                                                2, 0, 0, 0, 0, 0, 0, 3},
                        0, 0));
}

TEST(MaxPool2dRef, FloatAgreesWithDouble) {
  const Pool2dShape s{2, 3, 9, 7, 3, 2};
  const auto x = random_distinct(s.x_size(), -1, 1, 11);
  const auto dy = random_uniform(s.y_size(), -1, 1, 12);
  std::vector<double> y(s.y_size()), dx(s.x_size());
  std::vector<std::int32_t> idx(s.y_size());
  maxpool2d_forward(s, x.data(), y.data(), idx.data());
  maxpool2d_backward(s, dy.data(), idx.data(), dx.data());

  const auto xf = cast_to<float>(x), dyf = cast_to<float>(dy);
  auto yf = nan_filled<float>(s.y_size()), dxf = nan_filled<float>(s.x_size());
  std::vector<std::int32_t> idxf(s.y_size(), -1);
  maxpool2d_forward(s, xf.data(), yf.data(), idxf.data());
  maxpool2d_backward(s, dyf.data(), idxf.data(), dxf.data());
  EXPECT_TRUE(all_equal(idxf, idx));
  EXPECT_TRUE(all_close(yf, y, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(dxf, dx, 1e-7, 1e-6));
}

TEST(MaxPool2dRef, BackwardGradCheck) {
  // Distinct inputs at least 2/n apart: a step of 1e-6 never changes which input wins.
  const Pool2dShape shapes[] = {{2, 3, 6, 6, 2, 2}, {1, 2, 7, 5, 3, 2}, {2, 1, 5, 6, 2, 1}};
  std::uint64_t seed = 20;
  for (const Pool2dShape& s : shapes) {
    SCOPED_TRACE(describe(s));
    auto x = random_distinct(s.x_size(), -1, 1, ++seed);
    const auto r = random_uniform(s.y_size(), -1, 1, ++seed);
    std::vector<double> y(s.y_size()), dx(s.x_size());
    std::vector<std::int32_t> idx(s.y_size());
    auto loss = [&] {
      maxpool2d_forward(s, x.data(), y.data(), idx.data());
      return dot(r, y);
    };
    loss();
    maxpool2d_backward(s, r.data(), idx.data(), dx.data());
    EXPECT_TRUE(gradient_matches(loss, &x, dx));
  }
}

// Each function applies Pool2dShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(MaxPool2dRef, ChecksShapeAndPointers) {
  const Pool2dShape s{1, 1, 4, 4, 2, 2}, zero_stride{1, 1, 4, 4, 2, 0};
  const std::vector<double> x(16), dy(4);
  std::vector<double> y(4), dx(16);
  std::vector<std::int32_t> idx(4, 0);
  EXPECT_TRUE(checks_shape_and_pointers(
      "maxpool2d_forward", s, zero_stride, "stride", {"x", "y", "idx"},
      [](auto... a) { maxpool2d_forward(a...); }, x.data(), y.data(), idx.data()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "maxpool2d_backward", s, zero_stride, "stride", {"dy", "idx", "dx"},
      [](auto... a) { maxpool2d_backward(a...); }, dy.data(), idx.data(), dx.data()));
}

// idx comes from outside (a saved forward): each must lie inside its plane.
TEST(MaxPool2dRef, BackwardRejectsIndicesOutsideThePlane) {
  const Pool2dShape s{1, 1, 4, 4, 2, 2};
  const std::vector<double> dy(4);
  std::vector<double> dx(16);
  for (const std::int32_t bad : {16, -1}) {
    std::vector<std::int32_t> idx(4, 0);
    idx[2] = bad;
    EXPECT_TRUE(throws_invalid_argument(
        [&] { maxpool2d_backward(s, dy.data(), idx.data(), dx.data()); },
        {"maxpool2d_backward", ("idx[2] = " + std::to_string(bad)).c_str()}));
  }
}

}  // namespace
