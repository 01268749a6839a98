// linear kernels (the 16x16 tiled GEMM and column sums) against the double reference.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/linear.h>
#include <lenet/kernels/linear.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/layer_inputs.h"
#include "support/thread_order.h"

namespace {

using namespace lenet::test;
using lenet::LinearShape;

constexpr double kRtol = 1e-4;

LayerInputs<float> linear_inputs(const LinearShape& s) { return random_layer_inputs(s, s.in, 41); }

template <typename T>
struct LinearGrads {
  std::vector<T> dx, dw, db;  // dx and db empty when they were not asked for
};

// Each kernel on poisoned outputs, downloaded; with_bias false passes a null b, and
// with_dx_and_db false a null dx and db (a first layer without bias).
std::vector<float> kernel_forward(const LinearShape& s, const LayerInputs<float>& in,
                                  bool with_bias) {
  const DeviceArray<float> x(in.x), w(in.w), b(in.b);
  return run_on_poisoned<float>(s.y_size(), [&](float* y) {
    lenet::kernels::linear_forward(s, x.get(), w.get(), with_bias ? b.get() : nullptr, y);
  });
}

LinearGrads<float> kernel_backward(const LinearShape& s, const LayerInputs<float>& in,
                                   bool with_dx_and_db = true) {
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy);
  DeviceArray<float> dx = poisoned<float>(s.x_size()), dw = poisoned<float>(s.w_size()),
                     db = poisoned<float>(s.b_size());
  lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(),
                                  with_dx_and_db ? dx.get() : nullptr, dw.get(),
                                  with_dx_and_db ? db.get() : nullptr);
  if (!with_dx_and_db) return {{}, dw.download(), {}};
  return {dx.download(), dw.download(), db.download()};
}

// The same calls on the double reference.
std::vector<double> reference_forward(const LinearShape& s, const LayerInputs<float>& in,
                                      bool with_bias) {
  const LayerInputs<double> d = cast_inputs<double>(in);
  std::vector<double> y(s.y_size());
  lenet::cpu_ref::linear_forward(s, d.x.data(), d.w.data(), with_bias ? d.b.data() : nullptr,
                                 y.data());
  return y;
}

LinearGrads<double> reference_backward(const LinearShape& s, const LayerInputs<float>& in) {
  const LayerInputs<double> d = cast_inputs<double>(in);
  LinearGrads<double> g{std::vector<double>(s.x_size()), std::vector<double>(s.w_size()),
                        std::vector<double>(s.b_size())};
  lenet::cpu_ref::linear_backward(s, d.dy.data(), d.x.data(), d.w.data(), g.dx.data(), g.dw.data(),
                                  g.db.data());
  return g;
}

// Each kernel against the reference on the same inputs. y sums `in` products, dx `out`, dw and
// db `N`.
void expect_forward_matches(const LinearShape& s, bool with_bias) {
  const LayerInputs<float> in = linear_inputs(s);
  EXPECT_TRUE(all_close(kernel_forward(s, in, with_bias), reference_forward(s, in, with_bias),
                        float_sum_atol(s.in), kRtol))
      << "y";
}

void expect_backward_matches(const LinearShape& s, bool with_dx_and_db = true) {
  const LayerInputs<float> in = linear_inputs(s);
  const LinearGrads<float> out = kernel_backward(s, in, with_dx_and_db);
  const LinearGrads<double> ref = reference_backward(s, in);
  EXPECT_TRUE(all_close(out.dw, ref.dw, float_sum_atol(s.N), kRtol)) << "dw";
  if (with_dx_and_db) {
    EXPECT_TRUE(all_close(out.dx, ref.dx, float_sum_atol(s.out), kRtol)) << "dx";
    EXPECT_TRUE(all_close(out.db, ref.db, float_sum_atol(s.N), kRtol)) << "db";
  }
}

using LinearCase = ShapeCase<LinearShape>;

class LinearKernel : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearKernel, Forward) { expect_forward_matches(GetParam().s, true); }

TEST_P(LinearKernel, Backward) { expect_backward_matches(GetParam().s); }

// Shapes are {N, in, out}.
INSTANTIATE_TEST_SUITE_P(Lenet, LinearKernel,
                         ::testing::ValuesIn(at_lenet_batches<LinearShape>({{"fc1", {1, 256, 120}},
                                                                            {"fc2", {1, 120, 84}},
                                                                            {"fc3", {1, 84, 10}}})),
                         CaseName());

// Sizes that are not multiples of the 16x16 tile in every position, exactly one tile, and
// the degenerate 1 x 1 layer.
INSTANTIATE_TEST_SUITE_P(Shapes, LinearKernel,
                         ::testing::Values(LinearCase{"n3_in17_out33", {3, 17, 33}},
                                           LinearCase{"n37_in300_out5", {37, 300, 5}},
                                           LinearCase{"n16_in16_out16", {16, 16, 16}},
                                           LinearCase{"n33_in1_out40", {33, 1, 40}},
                                           LinearCase{"n1_in1_out1", {1, 1, 1}},
                                           LinearCase{"n200_in31_out17", {200, 31, 17}}),
                         CaseName());

TEST(LinearKernel, ForwardWithoutBias) { expect_forward_matches(LinearShape{5, 40, 19}, false); }

// The first layer needs no dx and a layer without bias no db: dw alone is still right.
TEST(LinearKernel, BackwardWithoutDxAndDb) {
  expect_backward_matches(LinearShape{21, 40, 19}, false);
}

// The tiled GEMM stages tiles in shared memory between two barriers: every thread order must
// give the same, correct answer.
TEST(LinearKernel, ForwardAndBackwardInEveryThreadOrder) {
  for (const LinearShape& s : {LinearShape{37, 300, 5}, LinearShape{20, 120, 84}}) {
    for_each_thread_order([&] {
      expect_forward_matches(s, true);
      expect_backward_matches(s);
    });
  }
}

TEST(LinearKernel, BackwardIsDeterministic) {
  const LinearShape s{64, 256, 120};
  const LayerInputs<float> in = linear_inputs(s);
  const LinearGrads<float> first = kernel_backward(s, in), second = kernel_backward(s, in);
  EXPECT_TRUE(bitwise_equal(first.dx, second.dx)) << "dx";
  EXPECT_TRUE(bitwise_equal(first.dw, second.dw)) << "dw";
  EXPECT_TRUE(bitwise_equal(first.db, second.db)) << "db";
}

// Each launcher applies LinearShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(LinearKernel, LaunchersCheckShapeAndPointers) {
  namespace k = lenet::kernels;
  const LinearShape s{2, 3, 4}, no_inputs{2, 0, 4};
  DeviceArray<float> x(s.x_size()), w(s.w_size()), b(s.b_size()), y(s.y_size()), dy(s.y_size()),
      dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  EXPECT_TRUE(checks_shape_and_pointers(
      "linear_forward", s, no_inputs, "in", {"x", "w", kOptional, "y"},
      [](auto... a) { k::linear_forward(a...); }, x.get(), w.get(), b.get(), y.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "linear_backward", s, no_inputs, "in", {"dy", "x", "w", kOptional, "dw", kOptional},
      [](auto... a) { k::linear_backward(a...); }, dy.get(), x.get(), w.get(), dx.get(), dw.get(),
      db.get()));
}

}  // namespace
