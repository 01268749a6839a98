// linear kernels (the 16x16 tiled GEMM and column sums) against the double reference.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/linear.h>
#include <lenet/kernels/linear.h>
#include <lenet/shapes.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/thread_order.h"
#include "support/throws.h"

namespace {

using lenet::LinearShape;
using lenet::test::all_close;
using lenet::test::cast_to;
using lenet::test::DeviceArray;
using lenet::test::random_uniform;

constexpr double kRtol = 1e-4;

LinearShape linear_shape(std::int64_t N, std::int64_t in, std::int64_t out) {
  LinearShape s;
  s.N = N;
  s.in = in;
  s.out = out;
  return s;
}

// float32 sums of `terms` O(1) products in another order than the double reference: rounding
// error grows like sqrt(terms); a lost, doubled or misplaced term is far larger.
double sum_atol(std::int64_t terms) { return 2e-6 * std::sqrt(static_cast<double>(terms)); }

// x in [-1, 1), w and b at PyTorch's initial scale 1/sqrt(in), dy in [-1, 1) / N as the
// gradient of a mean over the batch.
struct LinearInputs {
  std::vector<float> x, w, b, dy;
  explicit LinearInputs(const LinearShape& s) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(s.in));
    const double dy_bound = 1.0 / static_cast<double>(s.N);
    x = random_uniform<float>(s.x_size(), -1.0, 1.0, 41);
    w = random_uniform<float>(s.w_size(), -bound, bound, 42);
    b = random_uniform<float>(s.b_size(), -bound, bound, 43);
    dy = random_uniform<float>(s.y_size(), -dy_bound, dy_bound, 44);
  }
};

std::vector<double> reference_forward(const LinearShape& s, const LinearInputs& in, bool bias) {
  std::vector<double> y(s.y_size());
  const std::vector<double> b = cast_to<double>(in.b);
  lenet::cpu_ref::linear_forward(s, cast_to<double>(in.x).data(), cast_to<double>(in.w).data(),
                                 bias ? b.data() : nullptr, y.data());
  return y;
}

struct LinearGrads {
  std::vector<double> dx, dw, db;
};

LinearGrads reference_backward(const LinearShape& s, const LinearInputs& in) {
  LinearGrads g{std::vector<double>(s.x_size()), std::vector<double>(s.w_size()),
                std::vector<double>(s.b_size())};
  lenet::cpu_ref::linear_backward(s, cast_to<double>(in.dy).data(), cast_to<double>(in.x).data(),
                                  cast_to<double>(in.w).data(), g.dx.data(), g.dw.data(),
                                  g.db.data());
  return g;
}

void expect_backward_matches(const LinearShape& s, const LinearGrads& ref,
                             const std::vector<float>& dx, const std::vector<float>& dw,
                             const std::vector<float>& db) {
  EXPECT_TRUE(all_close(dx, ref.dx, sum_atol(s.out), kRtol)) << "dx";
  EXPECT_TRUE(all_close(dw, ref.dw, sum_atol(s.N), kRtol)) << "dw";
  EXPECT_TRUE(all_close(db, ref.db, sum_atol(s.N), kRtol)) << "db";
}

// Forward and full backward on one shape, each compared with the reference.
void check_forward_and_backward(const LinearShape& s) {
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), b(in.b), dy(in.dy);
  DeviceArray<float> y(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  y.poison();
  dx.poison();
  dw.poison();
  db.poison();
  lenet::kernels::linear_forward(s, x.get(), w.get(), b.get(), y.get());
  lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(), dx.get(), dw.get(), db.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, true), sum_atol(s.in), kRtol))
      << "y";
  expect_backward_matches(s, reference_backward(s, in), dx.download(), dw.download(),
                          db.download());
}

struct LinearCase {
  const char* name;
  LinearShape s;
};

void PrintTo(const LinearCase& c, std::ostream* os) {
  *os << c.name << " {N " << c.s.N << ", in " << c.s.in << ", out " << c.s.out << "}";
}

class LinearKernel : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearKernel, Forward) {
  const LinearShape& s = GetParam().s;
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), b(in.b), y(s.y_size());
  y.poison();
  lenet::kernels::linear_forward(s, x.get(), w.get(), b.get(), y.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, true), sum_atol(s.in), kRtol));
}

TEST_P(LinearKernel, Backward) {
  const LinearShape& s = GetParam().s;
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy);
  DeviceArray<float> dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  dx.poison();
  dw.poison();
  db.poison();
  lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(), dx.get(), dw.get(), db.get());
  expect_backward_matches(s, reference_backward(s, in), dx.download(), dw.download(),
                          db.download());
}

std::string case_name(const ::testing::TestParamInfo<LinearCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Lenet, LinearKernel,
                         ::testing::Values(LinearCase{"fc1_n1", linear_shape(1, 256, 120)},
                                           LinearCase{"fc1_n64", linear_shape(64, 256, 120)},
                                           LinearCase{"fc1_n100", linear_shape(100, 256, 120)},
                                           LinearCase{"fc2_n1", linear_shape(1, 120, 84)},
                                           LinearCase{"fc2_n64", linear_shape(64, 120, 84)},
                                           LinearCase{"fc2_n100", linear_shape(100, 120, 84)},
                                           LinearCase{"fc3_n1", linear_shape(1, 84, 10)},
                                           LinearCase{"fc3_n64", linear_shape(64, 84, 10)},
                                           LinearCase{"fc3_n100", linear_shape(100, 84, 10)}),
                         case_name);

// Sizes that are not multiples of the 16x16 tile in every position, exactly one tile, and
// the degenerate 1 x 1 layer.
INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearKernel,
    ::testing::Values(LinearCase{"n3_in17_out33", linear_shape(3, 17, 33)},
                      LinearCase{"n37_in300_out5", linear_shape(37, 300, 5)},
                      LinearCase{"n16_in16_out16", linear_shape(16, 16, 16)},
                      LinearCase{"n33_in1_out40", linear_shape(33, 1, 40)},
                      LinearCase{"n1_in1_out1", linear_shape(1, 1, 1)},
                      LinearCase{"n200_in31_out17", linear_shape(200, 31, 17)}),
    case_name);

TEST(LinearKernel, ForwardWithoutBias) {
  const LinearShape s = linear_shape(5, 40, 19);
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), y(s.y_size());
  y.poison();
  lenet::kernels::linear_forward(s, x.get(), w.get(), nullptr, y.get());
  EXPECT_TRUE(all_close(y.download(), reference_forward(s, in, false), sum_atol(s.in), kRtol));
}

// The first layer needs no dx and a layer without bias no db: dw alone is still right.
TEST(LinearKernel, BackwardWithoutDxAndDb) {
  const LinearShape s = linear_shape(21, 40, 19);
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy), dw(s.w_size());
  dw.poison();
  lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(), nullptr, dw.get(), nullptr);
  EXPECT_TRUE(all_close(dw.download(), reference_backward(s, in).dw, sum_atol(s.N), kRtol));
}

// The tiled GEMM stages tiles in shared memory between two barriers: every thread order must
// give the same, correct answer.
TEST(LinearKernel, ForwardAndBackwardInEveryThreadOrder) {
  for (const LinearShape& s : {linear_shape(37, 300, 5), linear_shape(20, 120, 84)}) {
    lenet::test::for_each_thread_order([&] { check_forward_and_backward(s); });
  }
}

TEST(LinearKernel, BackwardIsDeterministic) {
  const LinearShape s = linear_shape(64, 256, 120);
  const LinearInputs in(s);
  DeviceArray<float> x(in.x), w(in.w), dy(in.dy);
  DeviceArray<float> dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  const auto run = [&] {
    dx.poison();
    dw.poison();
    db.poison();
    lenet::kernels::linear_backward(s, dy.get(), x.get(), w.get(), dx.get(), dw.get(), db.get());
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

TEST(LinearKernel, RejectsBadShapesAndNullPointers) {
  using lenet::test::throws_invalid_argument;
  namespace k = lenet::kernels;
  const LinearShape s = linear_shape(2, 3, 4);
  DeviceArray<float> x(s.x_size()), w(s.w_size()), b(s.b_size()), y(s.y_size());
  DeviceArray<float> dy(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.b_size());
  LinearShape no_inputs = s;
  no_inputs.in = 0;
  LinearShape negative_outputs = s;
  negative_outputs.out = -4;
  LinearShape no_batch = s;
  no_batch.N = 0;

  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(no_inputs, x.get(), w.get(), b.get(), y.get()); },
      {"linear_forward", "in must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(negative_outputs, x.get(), w.get(), b.get(), y.get()); },
      {"linear_forward", "out must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(s, nullptr, w.get(), b.get(), y.get()); },
      {"linear_forward", "x is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(s, x.get(), nullptr, b.get(), y.get()); },
      {"linear_forward", "w is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_forward(s, x.get(), w.get(), b.get(), nullptr); },
      {"linear_forward", "y is null"}));

  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        k::linear_backward(no_batch, dy.get(), x.get(), w.get(), dx.get(), dw.get(), db.get());
      },
      {"linear_backward", "N must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_backward(s, nullptr, x.get(), w.get(), dx.get(), dw.get(), db.get()); },
      {"linear_backward", "dy is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_backward(s, dy.get(), nullptr, w.get(), dx.get(), dw.get(), db.get()); },
      {"linear_backward", "x is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_backward(s, dy.get(), x.get(), nullptr, dx.get(), dw.get(), db.get()); },
      {"linear_backward", "w is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { k::linear_backward(s, dy.get(), x.get(), w.get(), dx.get(), nullptr, db.get()); },
      {"linear_backward", "dw is null"}));
}

}  // namespace
