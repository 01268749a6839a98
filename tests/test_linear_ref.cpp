#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/linear.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/layer_inputs.h"
#include "support/random.h"

namespace {

using lenet::LinearShape;
using namespace lenet::cpu_ref;
using namespace lenet::test;

const LinearShape kHand{2, 3, 2};
const std::vector<double> kX = {1, 2, 3, 4, 5, 6};   // [2, 3]
const std::vector<double> kW = {1, 0, -1, 2, 1, 0};  // [2, 3]
const std::vector<double> kB = {0.5, -1};

TEST(LinearRef, ForwardHandComputed) {
  std::vector<double> y = nan_filled<double>(4);
  linear_forward(kHand, kX.data(), kW.data(), kB.data(), y.data());
  // Row 0: [1 - 3 + 0.5, 2 + 2 - 1]; row 1: [4 - 6 + 0.5, 8 + 5 - 1].
  EXPECT_TRUE(all_close(y, std::vector<double>{-1.5, 3, -1.5, 12}, 0, 0));
  linear_forward(kHand, kX.data(), kW.data(), nullptr, y.data());
  EXPECT_TRUE(all_close(y, std::vector<double>{-2, 4, -2, 13}, 0, 0));
}

TEST(LinearRef, BackwardHandComputed) {
  const std::vector<double> dy = {1, 2, 3, -1};
  std::vector<double> dx = nan_filled<double>(6), dw = nan_filled<double>(6),
                      db = nan_filled<double>(2);
  linear_backward(kHand, dy.data(), kX.data(), kW.data(), dx.data(), dw.data(), db.data());
  // dx = dy W: [1*(1,0,-1) + 2*(2,1,0), 3*(1,0,-1) - (2,1,0)].
  EXPECT_TRUE(all_close(dx, std::vector<double>{5, 2, -1, 1, -1, -3}, 0, 0));
  // dw = dy^T x: [(1,2,3) + 3*(4,5,6), 2*(1,2,3) - (4,5,6)].
  EXPECT_TRUE(all_close(dw, std::vector<double>{13, 17, 21, -2, -1, 0}, 0, 0));
  EXPECT_TRUE(all_close(db, std::vector<double>{4, 1}, 0, 0));

  // The first layer wants no dx, and a layer without bias no db.
  std::vector<double> dw2 = nan_filled<double>(6);
  linear_backward(kHand, dy.data(), kX.data(), kW.data(), nullptr, dw2.data(), nullptr);
  EXPECT_TRUE(all_close(dw2, dw, 0, 0));
}

TEST(LinearRef, FloatAgreesWithDouble) {
  const LinearShape s{7, 33, 10};
  EXPECT_TRUE(float_agrees_with_double(s, [&](const auto& in, auto& out) {
    linear_forward(s, in.x.data(), in.w.data(), in.b.data(), out.y.data());
    linear_backward(s, in.dy.data(), in.x.data(), in.w.data(), out.dx.data(), out.dw.data(),
                    out.db.data());
  }));
}

TEST(LinearRef, BackwardGradCheck) {
  const LinearShape shapes[] = {{1, 1, 1}, {2, 5, 3}, {5, 17, 11}};
  std::uint64_t seed = 30;
  for (const LinearShape& s : shapes) {
    SCOPED_TRACE(describe(s));
    auto x = random_uniform(s.x_size(), -1, 1, ++seed);
    auto w = random_uniform(s.w_size(), -1, 1, ++seed);
    auto b = random_uniform(s.out, -1, 1, ++seed);
    const auto r = random_uniform(s.y_size(), -1, 1, ++seed);
    std::vector<double> y(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.out);
    auto loss = [&] {
      linear_forward(s, x.data(), w.data(), b.data(), y.data());
      return dot(r, y);
    };
    linear_backward(s, r.data(), x.data(), w.data(), dx.data(), dw.data(), db.data());
    EXPECT_TRUE(gradient_matches(loss, &x, dx));
    EXPECT_TRUE(gradient_matches(loss, &w, dw));
    EXPECT_TRUE(gradient_matches(loss, &b, db));
  }
}

// Each function applies LinearShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(LinearRef, ChecksShapeAndPointers) {
  const LinearShape negative_out{2, 3, -2};
  const std::vector<double> dy(4);
  std::vector<double> y(4), dx(6), dw(6), db(2);
  EXPECT_TRUE(checks_shape_and_pointers("linear_forward", kHand, negative_out, "out",
                                        {"x", "w", kOptional, "y"},
                                        [](auto... a) { linear_forward(a...); }, kX.data(),
                                        kW.data(), kB.data(), y.data()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "linear_backward", kHand, negative_out, "out", {"dy", "x", "w", kOptional, "dw", kOptional},
      [](auto... a) { linear_backward(a...); }, dy.data(), kX.data(), kW.data(), dx.data(),
      dw.data(), db.data()));
}

}  // namespace
