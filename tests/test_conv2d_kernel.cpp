// conv2d kernels (implicit GEMM on the 16x16 tiled kernel) against the double reference.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/conv2d.h>
#include <lenet/kernels/conv2d.h>
#include <lenet/shapes.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/thread_order.h"
#include "support/throws.h"

namespace {

using lenet::Conv2dShape;
using lenet::test::all_close;
using lenet::test::cast_to;
using lenet::test::DeviceArray;
using lenet::test::random_uniform;

constexpr double kRtol = 1e-4;

Conv2dShape conv_shape(std::int64_t N, std::int64_t C, std::int64_t H, std::int64_t W,
                       std::int64_t OC, std::int64_t KH, std::int64_t KW, std::int64_t stride = 1,
                       std::int64_t pad = 0) {
  Conv2dShape s;
  s.N = N;
  s.C = C;
  s.H = H;
  s.W = W;
  s.OC = OC;
  s.KH = KH;
  s.KW = KW;
  s.stride = stride;
  s.pad = pad;
  return s;
}

// float32 sums of `terms` products in a different order than the double reference: the
// rounding error grows like sqrt(terms) with the O(1) values these tests use; a lost, doubled
// or misplaced term is orders of magnitude larger.
double sum_atol(std::int64_t terms) { return 2e-6 * std::sqrt(static_cast<double>(terms)); }

// Inputs as a training step sees them: x in [-1, 1), weights and bias at PyTorch's initial
// scale 1/sqrt(fan_in), dy in [-1, 1) / N as the gradient of a mean over the batch. Floats,
// so kernel and reference read the same numbers.
struct ConvInputs {
  std::vector<float> x, w, b, dy;
  explicit ConvInputs(const Conv2dShape& s) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(s.C * s.KH * s.KW));
    x = random_uniform<float>(s.x_size(), -1.0, 1.0, 11);
    w = random_uniform<float>(s.w_size(), -bound, bound, 12);
    b = random_uniform<float>(s.b_size(), -bound, bound, 13);
    const double dy_bound = 1.0 / static_cast<double>(s.N);
    dy = random_uniform<float>(s.y_size(), -dy_bound, dy_bound, 14);
  }
};

std::vector<double> reference_forward(const Conv2dShape& s, const ConvInputs& in, bool bias) {
  std::vector<double> y(s.y_size());
  const std::vector<double> b = cast_to<double>(in.b);
  lenet::cpu_ref::conv2d_forward(s, cast_to<double>(in.x).data(), cast_to<double>(in.w).data(),
                                 bias ? b.data() : nullptr, y.data());
  return y;
}

std::vector<double> reference_backward_data(const Conv2dShape& s, const ConvInputs& in) {
  std::vector<double> dx(s.x_size());
  lenet::cpu_ref::conv2d_backward_data(s, cast_to<double>(in.dy).data(),
                                       cast_to<double>(in.w).data(), dx.data());
  return dx;
}

struct FilterGrads {
  std::vector<double> dw, db;
};

FilterGrads reference_backward_filter(const Conv2dShape& s, const ConvInputs& in) {
  FilterGrads g{std::vector<double>(s.w_size()), std::vector<double>(s.b_size())};
  lenet::cpu_ref::conv2d_backward_filter(s, cast_to<double>(in.x).data(),
                                         cast_to<double>(in.dy).data(), g.dw.data(), g.db.data());
  return g;
}

// Reduction lengths of the three GEMMs and of db.
std::int64_t forward_terms(const Conv2dShape& s) { return s.C * s.KH * s.KW; }
std::int64_t backward_data_terms(const Conv2dShape& s) { return s.OC * s.KH * s.KW; }
std::int64_t backward_filter_terms(const Conv2dShape& s) { return s.N * s.OH() * s.OW(); }

// Runs all three kernels on one shape and compares each output with the reference.
void check_all_directions(const Conv2dShape& s) {
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), b(in.b), dy(in.dy);
  DeviceArray<float> y(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  y.poison();
  dx.poison();
  dw.poison();
  db.poison();
  lenet::kernels::conv2d_forward(s, x.get(), w.get(), b.get(), y.get());
  lenet::kernels::conv2d_backward_data(s, dy.get(), w.get(), dx.get());
  lenet::kernels::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), db.get());
  const FilterGrads g = reference_backward_filter(s, in);
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, true),
                        sum_atol(forward_terms(s)), kRtol))
      << "y";
  EXPECT_TRUE(all_close(dx.download(), reference_backward_data(s, in),
                        sum_atol(backward_data_terms(s)), kRtol))
      << "dx";
  EXPECT_TRUE(all_close(dw.download(), g.dw, sum_atol(backward_filter_terms(s)), kRtol)) << "dw";
  EXPECT_TRUE(all_close(db.download(), g.db, sum_atol(backward_filter_terms(s)), kRtol)) << "db";
}

struct ConvCase {
  const char* name;
  Conv2dShape s;
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  const Conv2dShape& s = c.s;
  *os << c.name << " {N " << s.N << ", C " << s.C << ", H " << s.H << ", W " << s.W << ", OC "
      << s.OC << ", KH " << s.KH << ", KW " << s.KW << ", stride " << s.stride << ", pad "
      << s.pad << "}";
}

class Conv2dKernel : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dKernel, Forward) {
  const Conv2dShape& s = GetParam().s;
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), b(in.b), y(s.y_size());
  y.poison();
  lenet::kernels::conv2d_forward(s, x.get(), w.get(), b.get(), y.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, true),
                        sum_atol(forward_terms(s)), kRtol));
}

TEST_P(Conv2dKernel, BackwardData) {
  const Conv2dShape& s = GetParam().s;
  const ConvInputs in(s);
  DeviceArray<float> dy(in.dy), w(in.w), dx(s.x_size());
  dx.poison();
  lenet::kernels::conv2d_backward_data(s, dy.get(), w.get(), dx.get());
  EXPECT_TRUE(all_close(dx.download(), reference_backward_data(s, in),
                        sum_atol(backward_data_terms(s)), kRtol));
}

TEST_P(Conv2dKernel, BackwardFilter) {
  const Conv2dShape& s = GetParam().s;
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), dy(in.dy), dw(s.w_size()), db(s.b_size());
  dw.poison();
  db.poison();
  lenet::kernels::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), db.get());
  const FilterGrads g = reference_backward_filter(s, in);
  const double atol = sum_atol(backward_filter_terms(s));
  EXPECT_TRUE(all_close(dw.download(), g.dw, atol, kRtol)) << "dw";
  EXPECT_TRUE(all_close(db.download(), g.db, atol, kRtol)) << "db";
}

std::string case_name(const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Lenet, Conv2dKernel,
    ::testing::Values(ConvCase{"conv1_n1", conv_shape(1, 1, 28, 28, 6, 5, 5)},
                      ConvCase{"conv1_n64", conv_shape(64, 1, 28, 28, 6, 5, 5)},
                      ConvCase{"conv1_n100", conv_shape(100, 1, 28, 28, 6, 5, 5)},
                      ConvCase{"conv2_n1", conv_shape(1, 6, 12, 12, 16, 5, 5)},
                      ConvCase{"conv2_n64", conv_shape(64, 6, 12, 12, 16, 5, 5)},
                      ConvCase{"conv2_n100", conv_shape(100, 6, 12, 12, 16, 5, 5)}),
    case_name);

// Padding, strides that skip input or leave columns unused, C = 3, 1x1 filters, more output
// channels than a tile, non-square filters, and a single output pixel.
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dKernel,
    ::testing::Values(ConvCase{"pad2_c3", conv_shape(2, 3, 11, 13, 4, 5, 5, 1, 2)},
                      ConvCase{"stride2_pad1", conv_shape(3, 3, 17, 15, 5, 3, 3, 2, 1)},
                      ConvCase{"stride2_uneven", conv_shape(2, 2, 10, 9, 3, 4, 4, 2, 0)},
                      ConvCase{"stride3_oc17_k3x2", conv_shape(1, 2, 20, 19, 17, 3, 2, 3, 1)},
                      ConvCase{"k1x1", conv_shape(2, 5, 7, 9, 7, 1, 1)},
                      ConvCase{"one_output_pixel", conv_shape(1, 2, 5, 5, 3, 5, 5)},
                      ConvCase{"c3_n1_k5_pad2_stride2", conv_shape(1, 3, 32, 32, 20, 5, 5, 2, 2)}),
    case_name);

TEST(Conv2dKernel, ForwardWithoutBias) {
  const Conv2dShape s = conv_shape(2, 3, 9, 10, 5, 3, 3, 1, 1);
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), y(s.y_size());
  y.poison();
  lenet::kernels::conv2d_forward(s, x.get(), w.get(), nullptr, y.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, false),
                        sum_atol(forward_terms(s)), kRtol));
}

TEST(Conv2dKernel, BackwardFilterWithoutBiasGradient) {
  const Conv2dShape s = conv_shape(2, 3, 9, 10, 5, 3, 3, 1, 1);
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), dy(in.dy), dw(s.w_size());
  dw.poison();
  lenet::kernels::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), nullptr);
  EXPECT_TRUE(all_close(dw.download(), reference_backward_filter(s, in).dw,
                        sum_atol(backward_filter_terms(s)), kRtol));
}

// The tiled GEMM stages tiles in shared memory between two barriers and db is a tree
// reduction: every thread order must give the same, correct answer.
TEST(Conv2dKernel, ForwardBackwardDataBackwardFilterInEveryThreadOrder) {
  for (const Conv2dShape& s : {conv_shape(2, 3, 11, 13, 20, 5, 5, 2, 2),
                               conv_shape(3, 6, 12, 12, 16, 5, 5)}) {
    lenet::test::for_each_thread_order([&] { check_all_directions(s); });
  }
}

TEST(Conv2dKernel, BackwardDataAndFilterAreDeterministic) {
  const Conv2dShape s = conv_shape(64, 6, 12, 12, 16, 5, 5);
  const ConvInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy);
  DeviceArray<float> dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  const auto run = [&] {
    dx.poison();
    dw.poison();
    db.poison();
    lenet::kernels::conv2d_backward_data(s, dy.get(), w.get(), dx.get());
    lenet::kernels::conv2d_backward_filter(s, x.get(), dy.get(), dw.get(), db.get());
    return std::vector<std::vector<float>>{dx.download(), dw.download(), db.download()};
  };
  const auto first = run();
  const auto second = run();
  const char* names[] = {"dx", "dw", "db"};
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].size(), second[i].size());
    EXPECT_EQ(std::memcmp(first[i].data(), second[i].data(), first[i].size() * sizeof(float)), 0)
        << names[i] << " differs between two runs";
  }
}

TEST(Conv2dKernel, RejectsBadShapesAndNullPointers) {
  using lenet::test::throws_invalid_argument;
  namespace k = lenet::kernels;
  const Conv2dShape s = conv_shape(1, 1, 6, 6, 2, 3, 3);
  DeviceArray<float> x(s.x_size()), w(s.w_size()), b(s.b_size()), y(s.y_size());
  DeviceArray<float> dy(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.b_size());

  Conv2dShape zero_stride = s;
  zero_stride.stride = 0;
  Conv2dShape big_pad = s;
  big_pad.pad = 3;
  Conv2dShape big_filter = s;
  big_filter.KH = 7;
  Conv2dShape no_channels = s;
  no_channels.C = 0;

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(zero_stride, x.get(), w.get(), b.get(), y.get()); },
      {"conv2d_forward", "stride must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(big_pad, x.get(), w.get(), b.get(), y.get()); },
      {"conv2d_forward", "pad must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(big_filter, x.get(), w.get(), b.get(), y.get()); },
      {"conv2d_forward", "KH = 7"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(s, nullptr, w.get(), b.get(), y.get()); },
      {"conv2d_forward", "x is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(s, x.get(), nullptr, b.get(), y.get()); },
      {"conv2d_forward", "w is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_forward(s, x.get(), w.get(), b.get(), nullptr); },
      {"conv2d_forward", "y is null"}));

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_data(no_channels, dy.get(), w.get(), dx.get()); },
      {"conv2d_backward_data", "C must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_data(s, nullptr, w.get(), dx.get()); },
      {"conv2d_backward_data", "dy is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_data(s, dy.get(), nullptr, dx.get()); },
      {"conv2d_backward_data", "w is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_data(s, dy.get(), w.get(), nullptr); },
      {"conv2d_backward_data", "dx is null"}));

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_filter(zero_stride, x.get(), dy.get(), dw.get(), db.get()); },
      {"conv2d_backward_filter", "stride must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_filter(s, nullptr, dy.get(), dw.get(), db.get()); },
      {"conv2d_backward_filter", "x is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_filter(s, x.get(), nullptr, dw.get(), db.get()); },
      {"conv2d_backward_filter", "dy is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::conv2d_backward_filter(s, x.get(), dy.get(), nullptr, db.get()); },
      {"conv2d_backward_filter", "dw is null"}));
}

}  // namespace
