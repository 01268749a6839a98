// linear kernels (the 16x16 tiled GEMM and column sums) against the double reference.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/linear.h>
#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels/linear.h>
#include <lenet/kernels/relu.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/fused.h"
#include "support/layer_inputs.h"
#include "support/thread_order.h"
#include "support/throws.h"

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

// Scratch for a split reduction, NaN-filled so that a partial read before it is written shows
// up; empty (null) when the shape needs none.
DeviceArray<float> workspace_of(std::size_t bytes) {
  return bytes == 0 ? DeviceArray<float>() : poisoned<float>(bytes / sizeof(float));
}

// How many slices linear_backward splits the batch into, read off its workspace: S partial
// [out, in + 1] tiles (the last column is db's), none when S = 1.
std::int64_t batch_slices(const LinearShape& s) {
  const std::size_t bytes = lenet::kernels::linear_backward_workspace_bytes(s);
  const auto tile = static_cast<std::size_t>(s.out * (s.in + 1)) * sizeof(float);
  EXPECT_EQ(bytes % tile, 0u);
  return bytes == 0 ? 1 : static_cast<std::int64_t>(bytes / tile);
}

LinearGrads<float> kernel_backward(const LinearShape& s, const LayerInputs<float>& in,
                                   bool with_dx_and_db = true) {
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy);
  DeviceArray<float> dx = poisoned<float>(s.x_size()), dw = poisoned<float>(s.w_size()),
                     db = poisoned<float>(s.b_size());
  const std::size_t bytes = lenet::kernels::linear_backward_workspace_bytes(s);
  DeviceArray<float> workspace = workspace_of(bytes);
  lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(),
                                  with_dx_and_db ? dx.get() : nullptr, dw.get(),
                                  with_dx_and_db ? db.get() : nullptr, workspace.get(), bytes);
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

// A batch long enough to split dw and db over slices (16, 6 and 2 slices: see
// BackwardSplitsTheBatch).
INSTANTIATE_TEST_SUITE_P(LenetLargeBatch, LinearKernel,
                         ::testing::Values(LinearCase{"fc1_n1024", {1024, 256, 120}},
                                           LinearCase{"fc2_n1024", {1024, 120, 84}},
                                           LinearCase{"fc3_n1024", {1024, 84, 10}}),
                         CaseName());

// Sizes that are not multiples of the 16x16 tile in every position, exactly one tile, and
// the degenerate 1 x 1 layer; n200_in31_out17 splits its batch into 3 slices (80, 80, 40).
TEST(LinearKernel, ForwardWithoutBias) { expect_forward_matches(LinearShape{5, 40, 19}, false); }

// The first layer needs no dx and a layer without bias no db: dw alone is still right.
TEST(LinearKernel, BackwardWithoutDxAndDb) {
  expect_backward_matches(LinearShape{21, 40, 19}, false);
}

// The split rule (docs/kernels.md, "Split-K"): at the training batch of 64 no fc layer splits
// (64 terms are below the 4 tiles a slice needs); at 1024, fc1's 120 x 257 output is 136 tiles
// (2 slices), fc2's 84 x 121 is 48 (6 slices), fc3's 10 x 85 is 6 (16 slices of 64, the most
// 1024 terms allow). The workspace is never above the header's bound.
TEST(LinearKernel, BackwardSplitsTheBatch) {
  for (const LinearShape& s : {LinearShape{64, 256, 120}, LinearShape{64, 120, 84},
                               LinearShape{64, 84, 10}}) {
    EXPECT_EQ(lenet::kernels::linear_backward_workspace_bytes(s), 0u) << describe(s);
  }
  EXPECT_EQ(batch_slices(LinearShape{1024, 256, 120}), 2);
  EXPECT_EQ(batch_slices(LinearShape{1024, 120, 84}), 6);
  EXPECT_EQ(batch_slices(LinearShape{1024, 84, 10}), 16);
  EXPECT_EQ(batch_slices(LinearShape{200, 31, 17}), 3);
  for (const LinearShape& s : {LinearShape{1 << 20, 1, 1}, LinearShape{1 << 20, 15, 15},
                               LinearShape{5000, 300, 200}, LinearShape{1 << 20, 4000, 1}}) {
    EXPECT_LE(lenet::kernels::linear_backward_workspace_bytes(s),
              lenet::kernels::kLinearBackwardMaxWorkspaceBytes)
        << describe(s);
  }
}

// The tiled GEMM stages tiles in shared memory between two barriers: every thread order must
// give the same, correct answer (the second shape splits its batch into 5 slices, 333 rows not
// being a multiple of 5 or of the tile; the first does not split).
TEST(LinearKernel, ForwardAndBackwardInEveryThreadOrder) {
  ASSERT_EQ(batch_slices(LinearShape{333, 120, 84}), 5);
  for (const LinearShape& s : {LinearShape{37, 300, 5}, LinearShape{333, 120, 84}}) {
    for_each_thread_order([&] {
      expect_forward_matches(s, true);
      expect_backward_matches(s);
    });
  }
}

// The same bits on every run and in every thread order, unsplit (the training batch) and split.
TEST(LinearKernel, BackwardIsDeterministic) {
  for (const LinearShape& s : {LinearShape{64, 256, 120}, LinearShape{333, 120, 84}}) {
    const LayerInputs<float> in = linear_inputs(s);
    const LinearGrads<float> first = kernel_backward(s, in);
    for_each_thread_order([&] {
      const LinearGrads<float> again = kernel_backward(s, in);
      EXPECT_TRUE(bitwise_equal(again.dx, first.dx)) << "dx";
      EXPECT_TRUE(bitwise_equal(again.dw, first.dw)) << "dw";
      EXPECT_TRUE(bitwise_equal(again.db, first.db)) << "db";
    });
  }
}

// The fused launchers give bitwise what the plain launcher followed by the ReLU launcher gives,
// x being a ReLU's output (about half of it 0); the second shape splits the batch.
TEST(LinearKernel, FusedReluFormsAreBitwiseTheOpThenItsRelu) {
  namespace k = lenet::kernels;
  for (const LinearShape& s : {LinearShape{5, 40, 19}, LinearShape{200, 31, 17}}) {
    LayerInputs<float> in = linear_inputs(s);
    lenet::cpu_ref::relu_forward(s.x_size(), in.x.data(), in.x.data());
    const DeviceArray<float> x(in.x), w(in.w), b(in.b), dy(in.dy);
    EXPECT_TRUE(fused_forward_matches(
        s.y_size(), [&](float* y) { k::linear_forward(s, x.get(), w.get(), b.get(), y); },
        [&](float* y) { k::linear_forward_relu(s, x.get(), w.get(), b.get(), y); }))
        << "y";

    const LinearGrads<float> plain = kernel_backward(s, in);
    std::vector<float> dx = plain.dx;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = in.x[i] > 0.0f ? dx[i] : 0.0f;
    ASSERT_NE(dx, plain.dx) << "the mask cut nothing";
    const std::size_t bytes = k::linear_backward_workspace_bytes(s);
    DeviceArray<float> workspace = workspace_of(bytes);
    DeviceArray<float> fused_dx = poisoned<float>(s.x_size()), dw = poisoned<float>(s.w_size()),
                       db = poisoned<float>(s.b_size());
    k::linear_backward_relu(s, dy.get(), x.get(), w.get(), fused_dx.get(), dw.get(), db.get(),
                            workspace.get(), bytes);
    EXPECT_TRUE(bitwise_equal(fused_dx.download(), dx)) << "dx";
    EXPECT_TRUE(bitwise_equal(dw.download(), plain.dw)) << "dw";
    EXPECT_TRUE(bitwise_equal(db.download(), plain.db)) << "db";
  }
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
      [](auto... a) { k::linear_backward(a..., nullptr, 0); }, dy.get(), x.get(), w.get(),
      dx.get(), dw.get(), db.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "linear_forward_relu", s, no_inputs, "in", {"x", "w", kOptional, "y"},
      [](auto... a) { k::linear_forward_relu(a...); }, x.get(), w.get(), b.get(), y.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "linear_backward_relu", s, no_inputs, "in", {"dy", "x", "w", "dx", "dw", kOptional},
      [](auto... a) { k::linear_backward_relu(a..., nullptr, 0); }, dy.get(), x.get(), w.get(),
      dx.get(), dw.get(), db.get()));
}

// A split batch refuses a missing or short workspace, and the launchers a tensor beyond the
// kernels' 32-bit indices.
TEST(LinearKernel, LaunchersRefuseAShortWorkspaceAndHugeTensors) {
  namespace k = lenet::kernels;
  const LinearShape s{200, 31, 17};
  const std::size_t bytes = k::linear_backward_workspace_bytes(s);
  ASSERT_GT(bytes, 0u);
  DeviceArray<float> x(s.x_size()), w(s.w_size()), dy(s.y_size()), dw(s.w_size());
  DeviceArray<float> workspace(bytes / sizeof(float));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::linear_backward(s, dy.get(), x.get(), w.get(), nullptr, dw.get(), nullptr, nullptr,
                           bytes);
      },
      {"linear_backward: workspace is null", "linear_backward_workspace_bytes"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::linear_backward(s, dy.get(), x.get(), w.get(), nullptr, dw.get(), nullptr,
                           workspace.get(), bytes - 4);
      },
      {"linear_backward: workspace_bytes is", std::to_string(bytes).c_str()}));
  const LinearShape huge{1 << 20, 1 << 10, 1};  // x: 2^30 elements
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(huge, x.get(), w.get(), nullptr, dy.get()); },
      {"linear_forward: x has 1073741824 elements", "32 bits"}));
}

}  // namespace
