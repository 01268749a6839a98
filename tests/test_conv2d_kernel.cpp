// conv2d kernels (implicit GEMM on the 16x16 tiled kernel) against the double reference.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/conv2d.h>
#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels/conv2d.h>
#include <lenet/kernels/maxpool2d.h>
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

using lenet::Conv2dShape;
using lenet::test::all_close;
using lenet::test::bitwise_equal;
using lenet::test::cast_inputs;
using lenet::test::checks_shape_and_pointers;
using lenet::test::DeviceArray;
using lenet::test::float_sum_atol;
using lenet::test::kOptional;
using lenet::test::LayerInputs;
using lenet::test::poisoned;
using lenet::test::run_on_poisoned;
using lenet::test::throws_invalid_argument;

constexpr double kRtol = 1e-4;

// Reduction lengths of the three GEMMs and of db, for float_sum_atol.
std::int64_t forward_terms(const Conv2dShape& s) { return s.C * s.KH * s.KW; }
std::int64_t backward_data_terms(const Conv2dShape& s) { return s.OC * s.KH * s.KW; }
std::int64_t backward_filter_terms(const Conv2dShape& s) { return s.N * s.OH() * s.OW(); }

LayerInputs<float> conv_inputs(const Conv2dShape& s) {
  return lenet::test::random_layer_inputs(s, forward_terms(s), 11);
}

template <typename T>
struct FilterGrads {
  std::vector<T> dw, db;  // db empty when it was not asked for
};

// Each kernel on poisoned outputs, downloaded; with_bias false passes a null b or db.
std::vector<float> kernel_forward(const Conv2dShape& s, const LayerInputs<float>& in,
                                  bool with_bias) {
  const DeviceArray<float> x(in.x), w(in.w), b(in.b);
  return run_on_poisoned<float>(s.y_size(), [&](float* y) {
    lenet::kernels::conv2d_forward(s, x.get(), w.get(), with_bias ? b.get() : nullptr, y);
  });
}

std::vector<float> kernel_backward_data(const Conv2dShape& s, const LayerInputs<float>& in) {
  const DeviceArray<float> dy(in.dy), w(in.w);
  return run_on_poisoned<float>(s.x_size(), [&](float* dx) {
    lenet::kernels::conv2d_backward_data(s, dy.get(), w.get(), dx);
  });
}

// Scratch for a split reduction, NaN-filled so that a partial read before it is written shows
// up; empty (null) when the shape needs none.
DeviceArray<float> workspace_of(std::size_t bytes) {
  return bytes == 0 ? DeviceArray<float>() : poisoned<float>(bytes / sizeof(float));
}

// How many slices conv2d_backward_filter splits its reduction into, read off its workspace:
// S partial [OC, C*KH*KW + 1] tiles (the last column is db's), none when S = 1.
std::int64_t filter_slices(const Conv2dShape& s) {
  const std::size_t bytes = lenet::kernels::conv2d_backward_filter_workspace_bytes(s);
  const auto tile = static_cast<std::size_t>(s.OC * (s.C * s.KH * s.KW + 1)) * sizeof(float);
  EXPECT_EQ(bytes % tile, 0u);
  return bytes == 0 ? 1 : static_cast<std::int64_t>(bytes / tile);
}

FilterGrads<float> kernel_backward_filter(const Conv2dShape& s, const LayerInputs<float>& in,
                                          bool with_bias) {
  DeviceArray<float> x(in.x), dy(in.dy);
  DeviceArray<float> dw = poisoned<float>(s.w_size()), db = poisoned<float>(s.b_size());
  const std::size_t bytes = lenet::kernels::conv2d_backward_filter_workspace_bytes(s);
  DeviceArray<float> workspace = workspace_of(bytes);
  lenet::kernels::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(),
                                         with_bias ? db.get() : nullptr, workspace.get(), bytes);
  return {dw.download(), with_bias ? db.download() : std::vector<float>{}};
}

// The same calls on the double reference.
std::vector<double> reference_forward(const Conv2dShape& s, const LayerInputs<double>& in,
                                      bool with_bias) {
  std::vector<double> y(s.y_size());
  lenet::cpu_ref::conv2d_forward(s, in.x.data(), in.w.data(), with_bias ? in.b.data() : nullptr,
                                 y.data());
  return y;
}

std::vector<double> reference_backward_data(const Conv2dShape& s, const LayerInputs<double>& in) {
  std::vector<double> dx(s.x_size());
  lenet::cpu_ref::conv2d_backward_data(s, in.dy.data(), in.w.data(), dx.data());
  return dx;
}

FilterGrads<double> reference_backward_filter(const Conv2dShape& s, const LayerInputs<double>& in) {
  FilterGrads<double> g{std::vector<double>(s.w_size()), std::vector<double>(s.b_size())};
  lenet::cpu_ref::conv2d_backward_filter(s, in.x.data(), in.dy.data(), g.dw.data(), g.db.data());
  return g;
}

// Each kernel against the reference on the same inputs.
void expect_forward_matches(const Conv2dShape& s, bool with_bias) {
  const LayerInputs<float> in = conv_inputs(s);
  EXPECT_TRUE(all_close(kernel_forward(s, in, with_bias),
                        reference_forward(s, cast_inputs<double>(in), with_bias),
                        float_sum_atol(forward_terms(s)), kRtol))
      << "y";
}

void expect_backward_data_matches(const Conv2dShape& s) {
  const LayerInputs<float> in = conv_inputs(s);
  EXPECT_TRUE(all_close(kernel_backward_data(s, in),
                        reference_backward_data(s, cast_inputs<double>(in)),
                        float_sum_atol(backward_data_terms(s)), kRtol))
      << "dx";
}

void expect_backward_filter_matches(const Conv2dShape& s, bool with_bias) {
  const LayerInputs<float> in = conv_inputs(s);
  const FilterGrads<float> out = kernel_backward_filter(s, in, with_bias);
  const FilterGrads<double> ref = reference_backward_filter(s, cast_inputs<double>(in));
  const double atol = float_sum_atol(backward_filter_terms(s));
  EXPECT_TRUE(all_close(out.dw, ref.dw, atol, kRtol)) << "dw";
  if (with_bias) {
    EXPECT_TRUE(all_close(out.db, ref.db, atol, kRtol)) << "db";
  }
}

using ConvCase = lenet::test::ShapeCase<Conv2dShape>;

class Conv2dKernel : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dKernel, Forward) { expect_forward_matches(GetParam().s, true); }

TEST_P(Conv2dKernel, BackwardData) { expect_backward_data_matches(GetParam().s); }

TEST_P(Conv2dKernel, BackwardFilter) { expect_backward_filter_matches(GetParam().s, true); }

// Shapes are {N, C, H, W, OC, KH, KW, stride, pad}.
INSTANTIATE_TEST_SUITE_P(Lenet, Conv2dKernel,
                         ::testing::ValuesIn(lenet::test::at_lenet_batches<Conv2dShape>(
                             {{"conv1", {1, 1, 28, 28, 6, 5, 5}},
                              {"conv2", {1, 6, 12, 12, 16, 5, 5}}})),
                         lenet::test::CaseName());

// Padding, strides that skip input or leave columns unused, C = 3, 1x1 filters, more output
// channels than a tile, non-square filters, and a single output pixel.
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dKernel,
    ::testing::Values(ConvCase{"pad2_c3", {2, 3, 11, 13, 4, 5, 5, 1, 2}},
                      ConvCase{"stride2_pad1", {3, 3, 17, 15, 5, 3, 3, 2, 1}},
                      ConvCase{"stride2_uneven", {2, 2, 10, 9, 3, 4, 4, 2, 0}},
                      ConvCase{"stride3_oc17_k3x2", {1, 2, 20, 19, 17, 3, 2, 3, 1}},
                      ConvCase{"k1x1", {2, 5, 7, 9, 7, 1, 1}},
                      ConvCase{"one_output_pixel", {1, 2, 5, 5, 3, 5, 5}},
                      ConvCase{"c3_n1_k5_pad2_stride2", {1, 3, 32, 32, 20, 5, 5, 2, 2}}),
    lenet::test::CaseName());

TEST(Conv2dKernel, ForwardWithoutBias) {
  expect_forward_matches(Conv2dShape{2, 3, 9, 10, 5, 3, 3, 1, 1}, false);
}

// dw is the same with or without db: the split does not depend on it.
TEST(Conv2dKernel, BackwardFilterWithoutBiasGradient) {
  const Conv2dShape s{2, 3, 9, 10, 5, 3, 3, 1, 1};
  expect_backward_filter_matches(s, false);
  const LayerInputs<float> in = conv_inputs(s);
  EXPECT_TRUE(bitwise_equal(kernel_backward_filter(s, in, false).dw,
                            kernel_backward_filter(s, in, true).dw));
}

// The split rule (docs/kernels.md, "Split-K") at LeNet's shapes: conv1's 6 x 26 output is 2
// tiles, so it takes the 128 slices the rule allows; conv2's 16 x 151 is 10 tiles, 26 slices of
// 160 of the 4,096 terms (the last has 96). One image: conv1's 576 terms give 9 slices of 64,
// conv2's 64 terms are not split. The workspace is never above the header's bound.
TEST(Conv2dKernel, BackwardFilterSplitsItsReduction) {
  const Conv2dShape conv1{64, 1, 28, 28, 6, 5, 5}, conv2{64, 6, 12, 12, 16, 5, 5};
  EXPECT_EQ(filter_slices(conv1), 128);
  EXPECT_EQ(filter_slices(conv2), 26);
  Conv2dShape one = conv1;
  one.N = 1;
  EXPECT_EQ(filter_slices(one), 9);
  one = conv2;
  one.N = 1;
  EXPECT_EQ(filter_slices(one), 1);
  EXPECT_EQ(lenet::kernels::conv2d_backward_filter_workspace_bytes(one), 0u);
  for (const Conv2dShape& s :
       {conv1, conv2, Conv2dShape{100000, 1, 28, 28, 6, 5, 5}, Conv2dShape{64, 3, 32, 32, 8, 3, 3},
        Conv2dShape{1, 1, 9, 9, 1, 1, 1}}) {
    EXPECT_LE(lenet::kernels::conv2d_backward_filter_workspace_bytes(s),
              lenet::kernels::kConv2dBackwardFilterMaxWorkspaceBytes)
        << lenet::test::describe(s);
  }
}

// One slice (no workspace: null is accepted) and several, with a reduction length that is
// neither a multiple of the slice count nor of the tile.
TEST(Conv2dKernel, BackwardFilterSplitOrNot) {
  const Conv2dShape unsplit{2, 5, 7, 9, 7, 1, 1};  // 126 terms
  ASSERT_EQ(filter_slices(unsplit), 1);
  expect_backward_filter_matches(unsplit, true);
  const Conv2dShape split{2, 3, 11, 13, 4, 5, 5, 1, 2};  // 286 terms
  const std::int64_t terms = backward_filter_terms(split);
  ASSERT_EQ(filter_slices(split), 4);
  ASSERT_NE(terms % 4, 0);
  ASSERT_NE(terms % 16, 0);
  expect_backward_filter_matches(split, true);
}

// The tiled GEMM stages tiles in shared memory between two barriers: every thread order must
// give the same, correct answer (the second shape splits its reduction, the first does not).
TEST(Conv2dKernel, ForwardBackwardDataBackwardFilterInEveryThreadOrder) {
  for (const Conv2dShape& s :
       {Conv2dShape{2, 3, 11, 13, 20, 5, 5, 2, 2}, Conv2dShape{3, 6, 12, 12, 16, 5, 5}}) {
    lenet::test::for_each_thread_order([&] {
      expect_forward_matches(s, true);
      expect_backward_data_matches(s);
      expect_backward_filter_matches(s, true);
    });
  }
}

// The same bits on every run and in every thread order, at conv2's training shape (26 slices).
TEST(Conv2dKernel, BackwardDataAndFilterAreDeterministic) {
  const Conv2dShape s{64, 6, 12, 12, 16, 5, 5};
  const LayerInputs<float> in = conv_inputs(s);
  const std::vector<float> dx = kernel_backward_data(s, in);
  const FilterGrads<float> first = kernel_backward_filter(s, in, true);
  lenet::test::for_each_thread_order([&] {
    EXPECT_TRUE(bitwise_equal(kernel_backward_data(s, in), dx)) << "dx";
    const FilterGrads<float> again = kernel_backward_filter(s, in, true);
    EXPECT_TRUE(bitwise_equal(again.dw, first.dw)) << "dw";
    EXPECT_TRUE(bitwise_equal(again.db, first.db)) << "db";
  });
}

// The fused launchers give bitwise what the plain launcher followed by the ReLU launcher gives,
// the backward's x being a ReLU's output (about half of it 0).
TEST(Conv2dKernel, FusedReluFormsAreBitwiseTheOpThenItsRelu) {
  namespace k = lenet::kernels;
  for (const Conv2dShape& s :
       {Conv2dShape{2, 3, 11, 13, 20, 5, 5, 2, 2}, Conv2dShape{3, 6, 12, 12, 16, 5, 5}}) {
    LayerInputs<float> in = conv_inputs(s);
    lenet::cpu_ref::relu_forward(s.x_size(), in.x.data(), in.x.data());
    const DeviceArray<float> x(in.x), w(in.w), b(in.b), dy(in.dy);
    EXPECT_TRUE(lenet::test::fused_forward_matches(
        s.y_size(), [&](float* y) { k::conv2d_forward(s, x.get(), w.get(), b.get(), y); },
        [&](float* y) { k::conv2d_forward_relu(s, x.get(), w.get(), b.get(), y); }))
        << "y";
    EXPECT_TRUE(lenet::test::fused_gradient_matches(
        s.x_size(), x.get(), [&](float* dx) { k::conv2d_backward_data(s, dy.get(), w.get(), dx); },
        [&](float* dx) { k::conv2d_backward_data_relu(s, dy.get(), w.get(), x.get(), dx); }))
        << "dx";
  }
}

// The pooled output of conv2d_relu_maxpool2d_forward: y and idx, downloaded.
struct Pooled {
  std::vector<float> y;
  std::vector<std::int32_t> idx;
};

// The fused convolution layer gives bitwise the y and idx of conv2d_forward_relu followed by
// maxpool2d_forward: LeNet's two layers, and an odd one with stride, padding and overlapping
// pooling windows (K 3, stride 2), in every thread order.
TEST(Conv2dKernel, FusedLayerIsBitwiseConvReluThenMaxPool) {
  namespace k = lenet::kernels;
  struct Layer {
    Conv2dShape c;
    lenet::Pool2dShape p;
  };
  for (const Layer& l : {Layer{{5, 1, 28, 28, 6, 5, 5}, {5, 6, 24, 24, 2, 2}},
                         Layer{{5, 6, 12, 12, 16, 5, 5}, {5, 16, 8, 8, 2, 2}},
                         Layer{{2, 3, 11, 13, 7, 3, 4, 2, 1}, {2, 7, 6, 6, 3, 2}}}) {
    ASSERT_EQ(l.p.H, l.c.OH());
    ASSERT_EQ(l.p.W, l.c.OW());
    const LayerInputs<float> in = conv_inputs(l.c);
    const DeviceArray<float> x(in.x), w(in.w), b(in.b);
    const auto run = [&](bool fused) {
      DeviceArray<float> a = poisoned<float>(l.c.y_size()), y = poisoned<float>(l.p.y_size());
      DeviceArray<std::int32_t> idx = poisoned<std::int32_t>(l.p.y_size());
      if (fused) {
        k::conv2d_relu_maxpool2d_forward(l.c, l.p, x.get(), w.get(), b.get(), y.get(), idx.get());
      } else {
        k::conv2d_forward_relu(l.c, x.get(), w.get(), b.get(), a.get());
        k::maxpool2d_forward(l.p, a.get(), y.get(), idx.get());
      }
      return Pooled{y.download(), idx.download()};
    };
    const Pooled want = run(false);
    ASSERT_GT(std::count(want.y.begin(), want.y.end(), 0.0f), 0) << "the ReLU cut nothing";
    lenet::test::for_each_thread_order([&] {
      const Pooled got = run(true);
      EXPECT_TRUE(bitwise_equal(got.y, want.y)) << "y";
      EXPECT_TRUE(bitwise_equal(got.idx, want.idx)) << "idx";
    });
  }
}

// Each launcher applies Conv2dShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(Conv2dKernel, LaunchersCheckShapeAndPointers) {
  namespace k = lenet::kernels;
  const Conv2dShape s{1, 1, 6, 6, 2, 3, 3};
  Conv2dShape zero_stride = s;
  zero_stride.stride = 0;
  DeviceArray<float> x(s.x_size()), w(s.w_size()), b(s.b_size()), y(s.y_size());
  DeviceArray<float> dy(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_forward", s, zero_stride, "stride", {"x", "w", kOptional, "y"},
      [](auto... a) { k::conv2d_forward(a...); }, x.get(), w.get(), b.get(), y.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_backward_data", s, zero_stride, "stride", {"dy", "w", "dx"},
      [](auto... a) { k::conv2d_backward_data(a...); }, dy.get(), w.get(), dx.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_forward_relu", s, zero_stride, "stride", {"x", "w", kOptional, "y"},
      [](auto... a) { k::conv2d_forward_relu(a...); }, x.get(), w.get(), b.get(), y.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_backward_data_relu", s, zero_stride, "stride", {"dy", "w", "x", "dx"},
      [](auto... a) { k::conv2d_backward_data_relu(a...); }, dy.get(), w.get(), x.get(),
      dx.get()));
  const lenet::Pool2dShape pool{1, 2, 4, 4, 2, 2};  // of y [1, 2, 4, 4]
  DeviceArray<float> pooled(pool.y_size());
  DeviceArray<std::int32_t> idx(pool.y_size());
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_relu_maxpool2d_forward", s, zero_stride, "stride", {"x", "w", kOptional, "y", "idx"},
      [&](const Conv2dShape& c, auto... a) { k::conv2d_relu_maxpool2d_forward(c, pool, a...); },
      x.get(), w.get(), b.get(), pooled.get(), idx.get()));
  const lenet::Pool2dShape other{1, 2, 5, 4, 2, 2};  // not the convolution's output
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::conv2d_relu_maxpool2d_forward(s, other, x.get(), w.get(), b.get(), pooled.get(),
                                         idx.get());
      },
      {"conv2d_relu_maxpool2d_forward: the pooling's input [1, 2, 5, 4] is not the "
       "convolution's output [1, 2, 4, 4]"}));
  EXPECT_TRUE(checks_shape_and_pointers(
      "conv2d_backward_filter", s, zero_stride, "stride", {"x", "dy", "dw", kOptional},
      [](auto... a) { k::conv2d_backward_filter(a..., nullptr, 0); }, x.get(), dy.get(),
      dw.get(), db.get()));
}

// A split reduction refuses a missing or short workspace, and every launcher a tensor beyond
// the kernels' 32-bit indices.
TEST(Conv2dKernel, LaunchersRefuseAShortWorkspaceAndHugeTensors) {
  namespace k = lenet::kernels;
  const Conv2dShape s{3, 6, 12, 12, 16, 5, 5};
  const std::size_t bytes = k::conv2d_backward_filter_workspace_bytes(s);
  ASSERT_GT(bytes, 0u);
  DeviceArray<float> x(s.x_size()), dy(s.y_size()), dw(s.w_size()), db(s.b_size());
  DeviceArray<float> workspace(bytes / sizeof(float));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), db.get(), nullptr, bytes); },
      {"conv2d_backward_filter: workspace is null", "conv2d_backward_filter_workspace_bytes"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), db.get(), workspace.get(),
                                  bytes - 1);
      },
      {"conv2d_backward_filter: workspace_bytes is", std::to_string(bytes).c_str()}));
  const Conv2dShape huge{1 << 15, 1, 256, 128, 1, 1, 1};  // x and y: 2^30 elements
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(huge, x.get(), dw.get(), nullptr, dy.get()); },
      {"conv2d_forward: x has 1073741824 elements", "32 bits"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::conv2d_backward_filter(huge, x.get(), dy.get(), dw.get(), nullptr, workspace.get(),
                                  bytes);
      },
      {"conv2d_backward_filter: x has", "32 bits"}));
}

}  // namespace
