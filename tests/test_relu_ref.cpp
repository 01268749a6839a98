#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/relu.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ReluRef, ForwardHandComputed) {
  const std::vector<double> x = {-2, -0.0, 0, 0.5, 3, kInf, -kInf, kNaN};
  std::vector<double> y = nan_filled<double>(x.size());
  relu_forward<double>(x.size(), x.data(), y.data());
  EXPECT_TRUE(all_close(y.data(), std::vector<double>{0, 0, 0, 0.5, 3, kInf, 0}.data(), 7, 0, 0));
  EXPECT_TRUE(std::isnan(y[7])) << "relu(NaN) must stay NaN";
}

TEST(ReluRef, BackwardHandComputed) {
  // Zero gradient at x == 0 and at NaN, as PyTorch.
  const std::vector<double> x = {-2, 0, 0.5, 3, kNaN};
  const std::vector<double> dy = {10, 20, 30, 40, 50};
  std::vector<double> dx = nan_filled<double>(x.size());
  relu_backward<double>(x.size(), dy.data(), x.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0, 0, 30, 40, 0}, 0, 0));
}

TEST(ReluRef, InPlace) {
  std::vector<float> v = {-1.0f, 2.0f, -3.0f, 4.0f};
  relu_forward<float>(v.size(), v.data(), v.data());
  EXPECT_TRUE(all_close(v, std::vector<double>{0, 2, 0, 4}, 0, 0));
  const std::vector<float> x = {-1.0f, 2.0f, 3.0f, -4.0f};
  std::vector<float> d = {1.0f, 2.0f, 3.0f, 4.0f};
  relu_backward<float>(d.size(), d.data(), x.data(), d.data());
  EXPECT_TRUE(all_close(d, std::vector<double>{0, 2, 3, 0}, 0, 0));
}

TEST(ReluRef, FloatAgreesWithDouble) {
  const auto x = random_uniform(1001, -1, 1, 3);
  const auto dy = random_uniform(1001, -1, 1, 4);
  std::vector<double> y(x.size()), dx(x.size());
  relu_forward<double>(x.size(), x.data(), y.data());
  relu_backward<double>(x.size(), dy.data(), x.data(), dx.data());
  const auto xf = cast_to<float>(x), dyf = cast_to<float>(dy);
  auto yf = nan_filled<float>(x.size()), dxf = nan_filled<float>(x.size());
  relu_forward<float>(x.size(), xf.data(), yf.data());
  relu_backward<float>(x.size(), dyf.data(), xf.data(), dxf.data());
  EXPECT_TRUE(all_close(yf, y, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(dxf, dx, 1e-7, 1e-6));
}

TEST(ReluRef, BackwardGradCheck) {
  // |x| >= 0.01, far from the kink compared with the step.
  auto x = random_away_from_zero(257, 0.01, 2.0, 5);
  const auto r = random_uniform(x.size(), -1, 1, 6);
  std::vector<double> y(x.size()), dx(x.size());
  auto loss = [&] {
    relu_forward<double>(x.size(), x.data(), y.data());
    return dot(r, y);
  };
  relu_backward<double>(x.size(), r.data(), x.data(), dx.data());
  EXPECT_TRUE(gradient_matches(loss, &x, dx));
}

TEST(ReluRef, EmptyIsANoOp) {
  EXPECT_NO_THROW(relu_forward<float>(0, nullptr, nullptr));
  EXPECT_NO_THROW(relu_backward<float>(0, nullptr, nullptr, nullptr));
}

// Each function applies ElementwiseShape::check (its rule: test_shapes.cpp) and checks its
// pointers.
TEST(ReluRef, ChecksSizeAndPointers) {
  std::vector<float> v(4);
  const std::int64_t n = 4, negative = -1;
  EXPECT_TRUE(checks_shape_and_pointers("relu_forward", n, negative, "n", {"x", "y"},
                                        [](auto... a) { relu_forward(a...); }, v.data(),
                                        v.data()));
  EXPECT_TRUE(checks_shape_and_pointers("relu_backward", n, negative, "n", {"dy", "x", "dx"},
                                        [](auto... a) { relu_backward(a...); }, v.data(),
                                        v.data(), v.data()));
}

}  // namespace
