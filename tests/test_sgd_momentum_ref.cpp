#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/sgd_momentum.h>

#include "support/compare.h"
#include "support/random.h"
#include "support/throws.h"

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

TEST(SgdMomentumRef, ConstantGradientMatchesClosedForm) {
  // Without weight decay and with a constant g, after t steps
  //   v_t = g (1 - m^t) / (1 - m)
  //   p_t = p_0 - lr g / (1 - m) * (t - m (1 - m^t) / (1 - m)).
  const double lr = 0.05, m = 0.9;
  const SgdParams h{lr, m, 0.0};
  const std::int64_t n = 37;
  const auto p0 = random_uniform(n, -1, 1, 1);
  const auto g = random_uniform(n, -1, 1, 2);
  std::vector<double> p = p0, v(n, 0.0);
  for (int t = 1; t <= 10; ++t) {
    sgd_momentum_step(h, n, p.data(), g.data(), v.data());
    std::vector<double> p_closed(n), v_closed(n);
    for (std::int64_t i = 0; i < n; ++i) {
      v_closed[i] = g[i] * (1 - std::pow(m, t)) / (1 - m);
      p_closed[i] = p0[i] - lr * g[i] / (1 - m) * (t - m * (1 - std::pow(m, t)) / (1 - m));
    }
    EXPECT_TRUE(all_close(v, v_closed, 1e-14, 1e-13)) << "step " << t;
    EXPECT_TRUE(all_close(p, p_closed, 1e-14, 1e-13)) << "step " << t;
  }
}

TEST(SgdMomentumRef, WeightDecayWithoutMomentumMatchesClosedForm) {
  // momentum 0: p_{t+1} = c p_t - lr g with c = 1 - lr wd, so
  //   p_t = c^t p_0 - lr g (1 - c^t) / (1 - c).
  const double lr = 0.1, wd = 0.5, c = 1 - lr * wd;
  const SgdParams h{lr, 0.0, wd};
  const std::int64_t n = 19;
  const auto p0 = random_uniform(n, -1, 1, 3);
  const auto g = random_uniform(n, -1, 1, 4);
  std::vector<double> p = p0, v(n, 0.0);
  for (int t = 1; t <= 8; ++t) {
    sgd_momentum_step(h, n, p.data(), g.data(), v.data());
    std::vector<double> p_closed(n);
    for (std::int64_t i = 0; i < n; ++i) {
      p_closed[i] = std::pow(c, t) * p0[i] - lr * g[i] * (1 - std::pow(c, t)) / (1 - c);
    }
    EXPECT_TRUE(all_close(p, p_closed, 1e-14, 1e-13)) << "step " << t;
  }
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

TEST(SgdMomentumRef, EmptyIsANoOpAndBadArgumentsThrow) {
  const SgdParams h{0.1, 0.9, 0.0};
  EXPECT_NO_THROW(sgd_momentum_step<float>(h, 0, nullptr, nullptr, nullptr));
  std::vector<float> p(3), g(3), v(3);
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step(SgdParams{-1.0, 0.9, 0.0}, 3, p.data(), g.data(), v.data()); },
      {"sgd_momentum_step: lr"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        sgd_momentum_step(SgdParams{0.1, std::numeric_limits<double>::quiet_NaN(), 0.0}, 3,
                          p.data(), g.data(), v.data());
      },
      {"sgd_momentum_step: momentum"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step(SgdParams{0.1, 0.9, -1e-4}, 3, p.data(), g.data(), v.data()); },
      {"sgd_momentum_step: weight_decay"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step(h, -3, p.data(), g.data(), v.data()); },
      {"sgd_momentum_step: n"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step<float>(h, 3, nullptr, g.data(), v.data()); },
      {"sgd_momentum_step: p is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step<float>(h, 3, p.data(), nullptr, v.data()); },
      {"sgd_momentum_step: g is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { sgd_momentum_step<float>(h, 3, p.data(), g.data(), nullptr); },
      {"sgd_momentum_step: v is null"}));
}

}  // namespace
