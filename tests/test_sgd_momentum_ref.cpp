#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/sgd_momentum.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/random.h"

namespace {

using lenet::SgdParams;
using namespace lenet::cpu_ref;
using namespace lenet::test;

TEST(SgdMomentumRef, StepHandComputed) {
  // p = 1, g = 0.5 both steps, lr 0.1, momentum 0.9, weight decay 0.01.
  //   step 1: g' = 0.5 + 0.01*1 = 0.51;        v = 0.51;                 p = 1 - 0.051 = 0.949
  //   step 2: g' = 0.5 + 0.01*0.949 = 0.50949; v = 0.9*0.51 + g' = 0.96849; p = 0.852151
  const SgdParams h{0.1, 0.9, 0.01};
  std::vector<double> p = {1.0}, v = {0.0};
  const std::vector<double> g = {0.5};
  sgd_momentum_step(h, 1, p.data(), g.data(), v.data());
  // PyTorch's first step sets v = g' directly; momentum * 0 + g' is the same number.
  EXPECT_NEAR(v[0], 0.51, 1e-15);
  EXPECT_NEAR(p[0], 0.949, 1e-15);
  sgd_momentum_step(h, 1, p.data(), g.data(), v.data());
  EXPECT_NEAR(v[0], 0.96849, 1e-15);
  EXPECT_NEAR(p[0], 0.852151, 1e-15);
}

// Takes `steps` steps from p0 with the constant gradient g, and after step t compares p and v
// with their closed forms p_at(t, i) and v_at(t, i).
template <typename PAt, typename VAt>
void expect_closed_form(const SgdParams& h, const std::vector<double>& p0,
                        const std::vector<double>& g, int steps, PAt p_at, VAt v_at) {
  const std::int64_t n = static_cast<std::int64_t>(p0.size());
  std::vector<double> p = p0, v(n, 0.0);
  for (int t = 1; t <= steps; ++t) {
    sgd_momentum_step(h, n, p.data(), g.data(), v.data());
    std::vector<double> p_closed(n), v_closed(n);
    for (std::int64_t i = 0; i < n; ++i) {
      p_closed[i] = p_at(t, i);
      v_closed[i] = v_at(t, i);
    }
    EXPECT_TRUE(all_close(v, v_closed, 1e-14, 1e-13)) << "v after step " << t;
    EXPECT_TRUE(all_close(p, p_closed, 1e-14, 1e-13)) << "p after step " << t;
  }
}

TEST(SgdMomentumRef, ConstantGradientMatchesClosedForm) {
  // Without weight decay and with a constant g, after t steps
  //   v_t = g (1 - m^t) / (1 - m)
  //   p_t = p_0 - lr g / (1 - m) * (t - m (1 - m^t) / (1 - m)).
  const double lr = 0.05, m = 0.9;
  const auto p0 = random_uniform(37, -1, 1, 1);
  const auto g = random_uniform(37, -1, 1, 2);
  expect_closed_form(
      SgdParams{lr, m, 0.0}, p0, g, 10,
      [&](int t, std::int64_t i) {
        return p0[i] - lr * g[i] / (1 - m) * (t - m * (1 - std::pow(m, t)) / (1 - m));
      },
      [&](int t, std::int64_t i) { return g[i] * (1 - std::pow(m, t)) / (1 - m); });
}

TEST(SgdMomentumRef, WeightDecayWithoutMomentumMatchesClosedForm) {
  // momentum 0: v_t = g + wd p_{t-1} and p_t = c p_{t-1} - lr g with c = 1 - lr wd, so
  //   p_t = c^t p_0 - lr g (1 - c^t) / (1 - c).
  const double lr = 0.1, wd = 0.5, c = 1 - lr * wd;
  const auto p0 = random_uniform(19, -1, 1, 3);
  const auto g = random_uniform(19, -1, 1, 4);
  const auto p_at = [&](int t, std::int64_t i) {
    return std::pow(c, t) * p0[i] - lr * g[i] * (1 - std::pow(c, t)) / (1 - c);
  };
  expect_closed_form(SgdParams{lr, 0.0, wd}, p0, g, 8, p_at,
                     [&](int t, std::int64_t i) { return g[i] + wd * p_at(t - 1, i); });
}

TEST(SgdMomentumRef, FloatAgreesWithDouble) {
  const SgdParams h{0.01, 0.9, 5e-4};
  const std::int64_t n = 101;
  auto p = random_uniform(n, -1, 1, 5);
  std::vector<double> v(n, 0.0);
  auto pf = cast_to<float>(p);
  std::vector<float> vf(n, 0.0f);
  for (int t = 0; t < 5; ++t) {
    const auto g = random_uniform(n, -1, 1, 10 + t);
    const auto gf = cast_to<float>(g);
    sgd_momentum_step(h, n, p.data(), g.data(), v.data());
    sgd_momentum_step(h, n, pf.data(), gf.data(), vf.data());
  }
  EXPECT_TRUE(all_close(pf, p, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(vf, v, 1e-6, 1e-6));
}

TEST(SgdMomentumRef, EmptyIsANoOp) {
  EXPECT_NO_THROW(sgd_momentum_step<float>(SgdParams{0.1, 0.9, 0.0}, 0, nullptr, nullptr, nullptr));
}

// The function applies SgdParams::check and ElementwiseShape::check (their rules:
// test_shapes.cpp) and checks its pointers.
TEST(SgdMomentumRef, ChecksParametersAndPointers) {
  std::vector<float> p(3), g(3), v(3);
  EXPECT_TRUE(checks_shape_and_pointers(
      "sgd_momentum_step", SgdParams{0.1, 0.9, 0.0}, SgdParams{0.1, 0.9, -1e-4}, "weight_decay",
      {"p", "g", "v"}, [](const SgdParams& h, auto... a) { sgd_momentum_step(h, 3, a...); },
      p.data(), g.data(), v.data()));
}

}  // namespace
