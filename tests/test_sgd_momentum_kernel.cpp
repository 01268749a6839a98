// sgd_momentum_step kernel over several steps against the double reference.
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/sgd_momentum.h>
#include <lenet/kernels/sgd_momentum.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"

namespace {

using lenet::SgdParams;
using lenet::test::all_close;
using lenet::test::cast_to;
using lenet::test::DeviceArray;

SgdParams sgd_params(double lr, double momentum, double weight_decay) {
  SgdParams h;
  h.lr = lr;
  h.momentum = momentum;
  h.weight_decay = weight_decay;
  return h;
}

struct SgdCase {
  const char* name;
  std::int64_t n;
  SgdParams h;
};

void PrintTo(const SgdCase& c, std::ostream* os) {
  *os << c.name << " {n " << c.n << ", lr " << c.h.lr << ", momentum " << c.h.momentum
      << ", weight_decay " << c.h.weight_decay << "}";
}

class SgdMomentumKernel : public ::testing::TestWithParam<SgdCase> {};

// Five steps with fresh gradients; the kernel keeps p and v in float, the reference in
// double, both from the same float start. The velocity feeds back, so a wrong momentum or
// weight-decay term grows step by step while float rounding stays near 1e-7.
TEST_P(SgdMomentumKernel, FiveStepsMatchReference) {
  const SgdCase& c = GetParam();
  const std::vector<float> p0 = lenet::test::random_uniform<float>(c.n, -1.0, 1.0, 71);
  DeviceArray<float> p(p0), v(std::vector<float>(c.n, 0.0f)), g(c.n);
  std::vector<double> p_ref = cast_to<double>(p0), v_ref(c.n, 0.0);
  for (int step = 0; step < 5; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const std::vector<float> g_host =
        lenet::test::random_uniform<float>(c.n, -1.0, 1.0, 72 + static_cast<std::uint64_t>(step));
    g.upload(g_host);
    lenet::kernels::sgd_momentum_step(c.h, c.n, p.get(), g.get(), v.get());
    lenet::cpu_ref::sgd_momentum_step(c.h, c.n, p_ref.data(), cast_to<double>(g_host).data(),
                                      v_ref.data());
    ASSERT_TRUE(all_close(v.download(), v_ref, 1e-6, 1e-5)) << "v";
    ASSERT_TRUE(all_close(p.download(), p_ref, 1e-6, 1e-5)) << "p";
    ASSERT_TRUE(all_close(g.download(), g_host, 0.0, 0.0)) << "g must stay untouched";
  }
}

// The classic recipe (lr 0.001, momentum 0.9, no weight decay) on all 44426 LeNet parameters;
// weight decay with momentum; plain SGD (momentum 0); sizes around one 256-thread block.
INSTANTIATE_TEST_SUITE_P(
    Cases, SgdMomentumKernel,
    ::testing::Values(SgdCase{"lenet_recipe", 44426, sgd_params(0.001, 0.9, 0.0)},
                      SgdCase{"weight_decay", 44426, sgd_params(0.01, 0.9, 5e-4)},
                      SgdCase{"strong_weight_decay", 1000, sgd_params(0.1, 0.5, 0.05)},
                      SgdCase{"no_momentum", 1000, sgd_params(0.1, 0.0, 1e-2)},
                      SgdCase{"n1", 1, sgd_params(0.05, 0.9, 1e-3)},
                      SgdCase{"n257", 257, sgd_params(0.05, 0.9, 1e-3)}),
    [](const ::testing::TestParamInfo<SgdCase>& info) { return std::string(info.param.name); });

// One step by hand: g' = 1 + 0.5*2 = 2; v = 0.9*1 + 2 = 2.9; p = 2 - 0.1*2.9 = 1.71.
TEST(SgdMomentumKernel, OneStepByHand) {
  DeviceArray<float> p(std::vector<float>{2.0f}), g(std::vector<float>{1.0f});
  DeviceArray<float> v(std::vector<float>{1.0f});
  lenet::kernels::sgd_momentum_step(sgd_params(0.1, 0.9, 0.5), 1, p.get(), g.get(), v.get());
  EXPECT_NEAR(v.download()[0], 2.9f, 1e-6);
  EXPECT_NEAR(p.download()[0], 1.71f, 1e-6);
}

TEST(SgdMomentumKernel, EmptyInputIsANoOpEvenWithNullPointers) {
  EXPECT_NO_THROW(
      lenet::kernels::sgd_momentum_step(sgd_params(0.1, 0.9, 0.0), 0, nullptr, nullptr, nullptr));
}

// The launcher applies SgdParams::check and ElementwiseShape::check (their rules:
// test_shapes.cpp) and checks its pointers.
TEST(SgdMomentumKernel, LauncherChecksParametersAndPointers) {
  DeviceArray<float> p(4), g(4), v(4);
  EXPECT_TRUE(lenet::test::checks_shape_and_pointers(
      "sgd_momentum_step", sgd_params(0.1, 0.9, 0.0), sgd_params(-0.1, 0.9, 0.0), "lr",
      {"p", "g", "v"},
      [](const SgdParams& h, auto... a) { lenet::kernels::sgd_momentum_step(h, 4, a...); },
      p.get(), g.get(), v.get()));
}

}  // namespace
