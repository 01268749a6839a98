// The shape types' sizes and every rule of their check(), each tested here once; the op tests
// only show that their entry points call check() (support/arguments.h).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/shapes.h>

#include "support/throws.h"

namespace {

using lenet::ClassScoresShape;
using lenet::Conv2dShape;
using lenet::ElementwiseShape;
using lenet::LinearShape;
using lenet::Pool2dShape;
using lenet::SgdParams;
using lenet::test::throws_invalid_argument;

constexpr std::int64_t kHuge = std::int64_t{1} << 40;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A shape (or SgdParams) that breaks one rule, and the start of the message check() must give.
template <typename Shape>
struct Broken {
  Shape shape;
  const char* message;  // after "op: "
};

// check("op") must throw std::invalid_argument for every row, naming the op and the rule.
template <typename Shape>
void expect_each_rejected(const std::vector<Broken<Shape>>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string expected = std::string("op: ") + rows[i].message;
    EXPECT_TRUE(throws_invalid_argument([&] { rows[i].shape.check("op"); }, {expected.c_str()}))
        << "row " << i;
  }
}

TEST(Shapes, Conv2dOutputSizeFollowsPyTorch) {
  const Conv2dShape lenet_conv1{64, 1, 28, 28, 6, 5, 5};
  EXPECT_NO_THROW(lenet_conv1.check("test"));
  EXPECT_EQ(lenet_conv1.OH(), 24);
  EXPECT_EQ(lenet_conv1.OW(), 24);
  EXPECT_EQ(lenet_conv1.x_size(), 64 * 28 * 28);
  EXPECT_EQ(lenet_conv1.w_size(), 6 * 25);
  EXPECT_EQ(lenet_conv1.b_size(), 6);
  EXPECT_EQ(lenet_conv1.y_size(), 64 * 6 * 24 * 24);

  // (7 + 2 - 3) / 2 + 1 = 4 and (6 + 2 - 2) / 2 + 1 = 4: the division floors.
  const Conv2dShape strided{1, 1, 7, 6, 1, 3, 2, 2, 1};
  EXPECT_NO_THROW(strided.check("test"));
  EXPECT_EQ(strided.OH(), 4);
  EXPECT_EQ(strided.OW(), 4);
}

// Each row is a valid {2, 3, 8, 8, 4, 3, 3, 1, 1} with one field changed.
TEST(Shapes, Conv2dCheckRejectsEachBrokenRule) {
  // N, C, H, W, OC, KH, KW, stride, pad
  expect_each_rejected<Conv2dShape>({
      {{0, 3, 8, 8, 4, 3, 3, 1, 1}, "N must be >= 1, got 0"},
      {{2, -1, 8, 8, 4, 3, 3, 1, 1}, "C must be >= 1, got -1"},
      {{2, 3, 0, 8, 4, 3, 3, 1, 1}, "H must be >= 1, got 0"},
      {{2, 3, 8, 0, 4, 3, 3, 1, 1}, "W must be >= 1, got 0"},
      {{2, 3, 8, 8, 0, 3, 3, 1, 1}, "OC must be >= 1, got 0"},
      {{2, 3, 8, 8, 4, 0, 3, 1, 1}, "KH must be >= 1, got 0"},
      {{2, 3, 8, 8, 4, 3, 0, 1, 1}, "KW must be >= 1, got 0"},
      {{2, 3, 8, 8, 4, 3, 3, 0, 1}, "stride must be >= 1, got 0"},
      {{2, 3, 8, 8, 4, 3, 3, 1, -1}, "pad must be >= 0, got -1"},
      {{2, 3, 8, 8, 4, 3, 3, 1, 3}, "pad must be smaller than the window"},  // pad == KH
      {{2, 3, 8, 8, 4, 3, 2, 1, 2}, "pad must be smaller than the window"},  // pad == KW
      {{2, 3, 8, 8, 4, 11, 3, 1, 1}, "KH = 11 is larger than the padded height"},
      {{2, 3, 8, 8, 4, 3, 11, 1, 1}, "KW = 11 is larger than the padded width"},
      {{2, 3, kMax - 1, 8, 4, 3, 3, 1, 1}, "H + 2*pad or W + 2*pad overflows int64"},
      {{kHuge, kHuge, 1, 1, 1, 1, 1, 1, 0}, "x [N, C, H, W] has more than 2^63 - 1 elements"},
      {{1, kHuge, 1, 1, kHuge, 1, 1, 1, 0}, "w [OC, C, KH, KW] has more than 2^63 - 1 elements"},
      {{kHuge, 1, 1, 1, kHuge, 1, 1, 1, 0}, "y [N, OC, OH, OW] has more than 2^63 - 1 elements"},
  });
}

TEST(Shapes, Pool2dOutputSize) {
  const Pool2dShape lenet_pool1{64, 6, 24, 24, 2, 2};
  EXPECT_NO_THROW(lenet_pool1.check("test"));
  EXPECT_EQ(lenet_pool1.OH(), 12);
  EXPECT_EQ(lenet_pool1.x_size(), 64 * 6 * 24 * 24);
  EXPECT_EQ(lenet_pool1.y_size(), 64 * 6 * 12 * 12);
  const Pool2dShape odd{1, 1, 5, 7, 3, 2};
  EXPECT_EQ(odd.OH(), 2);
  EXPECT_EQ(odd.OW(), 3);
}

// Each row is a valid {2, 3, 8, 8, 2, 2} with one or two fields changed.
TEST(Shapes, Pool2dCheckRejectsEachBrokenRule) {
  // N, C, H, W, K, stride
  expect_each_rejected<Pool2dShape>({
      {{0, 3, 8, 8, 2, 2}, "N must be >= 1, got 0"},
      {{2, 0, 8, 8, 2, 2}, "C must be >= 1, got 0"},
      {{2, 3, 0, 8, 2, 2}, "H must be >= 1, got 0"},
      {{2, 3, 8, -1, 2, 2}, "W must be >= 1, got -1"},
      {{2, 3, 8, 8, 0, 2}, "K must be >= 1, got 0"},
      {{2, 3, 8, 8, 2, 0}, "stride must be >= 1, got 0"},
      {{2, 3, 3, 8, 4, 2}, "K = 4 is larger than the input"},
      {{2, 3, 8, 3, 4, 2}, "K = 4 is larger than the input"},
      {{1, 1, 65536, 65536, 2, 2}, "H*W must fit the int32 indices"},
      {{kHuge, kHuge, 2, 2, 2, 2}, "x [N, C, H, W] has more than 2^63 - 1 elements"},
  });
}

// A pooling that reads a convolution's output matches it in every dimension but its window.
TEST(Shapes, PoolOfAConvolutionMustReadItsOutput) {
  const Conv2dShape conv{2, 3, 12, 12, 16, 5, 5};  // y [2, 16, 8, 8]
  EXPECT_NO_THROW(lenet::check_pools_output_of("op", Pool2dShape{2, 16, 8, 8, 2, 2}, conv));
  for (const Pool2dShape& p : {Pool2dShape{1, 16, 8, 8, 2, 2}, Pool2dShape{2, 6, 8, 8, 2, 2},
                               Pool2dShape{2, 16, 7, 8, 2, 2}, Pool2dShape{2, 16, 8, 9, 2, 2}}) {
    EXPECT_TRUE(lenet::test::throws_invalid_argument(
        [&] { lenet::check_pools_output_of("op", p, conv); },
        {"op: the pooling's input [", "] is not the convolution's output [2, 16, 8, 8]"}));
  }
}

TEST(Shapes, LinearSizes) {
  const LinearShape fc1{64, 256, 120};
  EXPECT_NO_THROW(fc1.check("test"));
  EXPECT_EQ(fc1.x_size(), 64 * 256);
  EXPECT_EQ(fc1.w_size(), 120 * 256);
  EXPECT_EQ(fc1.b_size(), 120);
  EXPECT_EQ(fc1.y_size(), 64 * 120);
}

TEST(Shapes, LinearCheckRejectsEachBrokenRule) {
  // N, in, out
  expect_each_rejected<LinearShape>({
      {{0, 2, 3}, "N must be >= 1, got 0"},
      {{1, 0, 3}, "in must be >= 1, got 0"},
      {{1, 2, -4}, "out must be >= 1, got -4"},
      {{kHuge, kHuge, 1}, "x [N, in] has more than 2^63 - 1 elements"},
      {{1, kHuge, kHuge}, "w [out, in] has more than 2^63 - 1 elements"},
      {{kHuge, 1, kHuge}, "y [N, out] has more than 2^63 - 1 elements"},
  });
}

TEST(Shapes, ClassScoresSizes) {
  EXPECT_NO_THROW((ClassScoresShape{1, 1}.check("op")));
  EXPECT_NO_THROW((ClassScoresShape{64, 10}.check("op")));
  EXPECT_EQ((ClassScoresShape{64, 10}.logits_size()), 640);
}

TEST(Shapes, ClassScoresCheckRejectsEachBrokenRule) {
  const std::int64_t too_many_classes = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
  // N, K
  expect_each_rejected<ClassScoresShape>({
      {{0, 10}, "N must be >= 1, got 0"},
      {{3, 0}, "K must be >= 1, got 0"},
      {{1, too_many_classes}, "K must fit the int32 class indices"},
      {{kHuge, kHuge >> 10}, "logits [N, K] has more than 2^63 - 1 elements"},
  });
}

TEST(Shapes, ElementwiseAcceptsZeroAndRejectsNegativeCounts) {
  EXPECT_NO_THROW((ElementwiseShape{0}.check("op")));
  EXPECT_NO_THROW((ElementwiseShape{kHuge}.check("op")));
  expect_each_rejected<ElementwiseShape>({{{-1}, "n must be >= 0, got -1"}});
}

// Each of lr, momentum and weight_decay must be finite and >= 0, as PyTorch requires.
TEST(Shapes, SgdParamsCheckRejectsEachBrokenRule) {
  EXPECT_NO_THROW((SgdParams{0.001, 0.9, 0.0}.check("test")));
  EXPECT_NO_THROW((SgdParams{0.0, 0.0, 0.0}.check("test")));
  // lr, momentum, weight_decay
  expect_each_rejected<SgdParams>({
      {{-0.1, 0.9, 0.0}, "lr must be finite and >= 0"},
      {{kNaN, 0.9, 0.0}, "lr must be finite and >= 0"},
      {{kInf, 0.9, 0.0}, "lr must be finite and >= 0"},
      {{0.1, -0.9, 0.0}, "momentum must be finite and >= 0"},
      {{0.1, kNaN, 0.0}, "momentum must be finite and >= 0"},
      {{0.1, kInf, 0.0}, "momentum must be finite and >= 0"},
      {{0.1, 0.9, -1e-4}, "weight_decay must be finite and >= 0"},
      {{0.1, 0.9, kNaN}, "weight_decay must be finite and >= 0"},
      {{0.1, 0.9, kInf}, "weight_decay must be finite and >= 0"},
  });
}

// The size functions check on their own, for a shape whose check() was never called.
TEST(Shapes, SizesRejectCountsThatOverflow) {
  const Conv2dShape conv{kHuge, kHuge, 1, 1, 1, 1, 1};
  EXPECT_TRUE(throws_invalid_argument([&] { (void)conv.x_size(); },
                                      {"Conv2dShape: x has more than 2^63 - 1 elements"}));
  const LinearShape linear{1, kHuge, kHuge};
  EXPECT_TRUE(throws_invalid_argument([&] { (void)linear.w_size(); }, {"LinearShape: w"}));
}

}  // namespace
