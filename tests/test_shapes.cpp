#include <cstdint>
#include <limits>

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

TEST(Shapes, ClassScoresCheckNamesOpAndField) {
  EXPECT_NO_THROW((ClassScoresShape{1, 1}.check("op")));
  EXPECT_NO_THROW((ClassScoresShape{64, 10}.check("op")));
  EXPECT_EQ((ClassScoresShape{64, 10}.logits_size()), 640);
  EXPECT_TRUE(throws_invalid_argument([] { ClassScoresShape{0, 10}.check("softmax"); },
                                      {"softmax: N must be >= 1, got 0"}));
  EXPECT_TRUE(throws_invalid_argument([] { ClassScoresShape{3, 0}.check("argmax_rows"); },
                                      {"argmax_rows: K must be >= 1, got 0"}));
  const std::int64_t too_many_classes = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { ClassScoresShape{1, too_many_classes}.check("count_correct"); },
      {"count_correct: K must fit the int32 class indices"}));
  EXPECT_TRUE(throws_invalid_argument([] { ClassScoresShape{kHuge, kHuge >> 10}.check("op"); },
                                      {"op: logits [N, K] has more than 2^63 - 1 elements"}));
}

TEST(Shapes, ElementwiseAcceptsZeroAndRejectsNegativeCounts) {
  EXPECT_NO_THROW((ElementwiseShape{0}.check("op")));
  EXPECT_NO_THROW((ElementwiseShape{kHuge}.check("op")));
  EXPECT_TRUE(throws_invalid_argument([] { ElementwiseShape{-1}.check("relu_forward"); },
                                      {"relu_forward: n must be >= 0, got -1"}));
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

TEST(Shapes, Conv2dCheckNamesOpAndField) {
  const Conv2dShape good{2, 3, 8, 8, 4, 3, 3, 1, 1};
  Conv2dShape s = good;
  s.N = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("conv2d_forward"); }, {"conv2d_forward", "N"}));
  s = good;
  s.C = -1;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: C"}));
  s = good;
  s.OC = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: OC"}));
  s = good;
  s.KW = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: KW"}));
  s = good;
  s.stride = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: stride"}));
  s = good;
  s.pad = -1;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: pad"}));
  s = good;
  s.pad = 3;  // == KH
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: pad", "window"}));
  s = good;
  s.KH = 11;  // 8 + 2*1 < 11
  s.pad = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: KH"}));
}

TEST(Shapes, Conv2dCheckRejectsCountsThatOverflow) {
  Conv2dShape s{kHuge, kHuge, 1, 1, 1, 1, 1};
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: x"}));
  EXPECT_TRUE(throws_invalid_argument([&] { (void)s.x_size(); }, {"x"}));
  s = Conv2dShape{1, kHuge, 1, 1, kHuge, 1, 1};
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: w"}));
  s = Conv2dShape{kHuge, 1, 1, 1, kHuge, 1, 1};
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op: y"}));
  // H + 2*pad itself would overflow.
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  s = Conv2dShape{1, 1, max - 1, 2, 1, 3, 3, 1, 1};
  EXPECT_TRUE(throws_invalid_argument([&] { s.check("op"); }, {"op", "overflows"}));
}

TEST(Shapes, Pool2dOutputSizeAndChecks) {
  const Pool2dShape lenet_pool1{64, 6, 24, 24, 2, 2};
  EXPECT_NO_THROW(lenet_pool1.check("test"));
  EXPECT_EQ(lenet_pool1.OH(), 12);
  EXPECT_EQ(lenet_pool1.y_size(), 64 * 6 * 12 * 12);
  const Pool2dShape odd{1, 1, 5, 7, 3, 2};
  EXPECT_EQ(odd.OH(), 2);
  EXPECT_EQ(odd.OW(), 3);

  EXPECT_TRUE(
      throws_invalid_argument([] { Pool2dShape{1, 1, 4, 4, 2, 0}.check("maxpool2d_forward"); },
                              {"maxpool2d_forward: stride"}));
  EXPECT_TRUE(throws_invalid_argument([] { Pool2dShape{1, 1, 4, 4, 0, 1}.check("op"); },
                                      {"op: K"}));
  EXPECT_TRUE(throws_invalid_argument([] { Pool2dShape{1, 1, 4, 3, 4, 1}.check("op"); },
                                      {"op: K = 4 is larger"}));
  EXPECT_TRUE(throws_invalid_argument([] { Pool2dShape{1, 1, 65536, 65536, 2, 2}.check("op"); },
                                      {"op: H*W", "int32"}));
  EXPECT_TRUE(throws_invalid_argument([] { Pool2dShape{kHuge, kHuge, 2, 2, 2, 2}.check("op"); },
                                      {"op: x"}));
}

TEST(Shapes, LinearChecks) {
  const LinearShape fc1{64, 256, 120};
  EXPECT_NO_THROW(fc1.check("test"));
  EXPECT_EQ(fc1.x_size(), 64 * 256);
  EXPECT_EQ(fc1.w_size(), 120 * 256);
  EXPECT_EQ(fc1.y_size(), 64 * 120);
  EXPECT_TRUE(throws_invalid_argument([] { LinearShape{0, 2, 3}.check("linear_forward"); },
                                      {"linear_forward: N"}));
  EXPECT_TRUE(throws_invalid_argument([] { LinearShape{1, 0, 3}.check("op"); }, {"op: in"}));
  EXPECT_TRUE(throws_invalid_argument([] { LinearShape{1, 2, 0}.check("op"); }, {"op: out"}));
  EXPECT_TRUE(throws_invalid_argument([] { LinearShape{kHuge, kHuge, 1}.check("op"); },
                                      {"op: x"}));
  EXPECT_TRUE(throws_invalid_argument([] { LinearShape{1, kHuge, kHuge}.check("op"); },
                                      {"op: w"}));
}

TEST(Shapes, SgdParamsChecks) {
  EXPECT_NO_THROW((SgdParams{0.001, 0.9, 0.0}.check("test")));
  EXPECT_TRUE(throws_invalid_argument([] { SgdParams{-0.1, 0.9, 0.0}.check("sgd"); },
                                      {"sgd: lr"}));
  EXPECT_TRUE(throws_invalid_argument(
      [] { SgdParams{0.1, std::numeric_limits<double>::quiet_NaN(), 0.0}.check("sgd"); },
      {"sgd: momentum"}));
  EXPECT_TRUE(throws_invalid_argument(
      [] { SgdParams{0.1, 0.9, std::numeric_limits<double>::infinity()}.check("sgd"); },
      {"sgd: weight_decay"}));
}

}  // namespace
