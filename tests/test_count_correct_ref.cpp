#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/count_correct.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/random.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(CountCorrectRef, ArgmaxHandComputed) {
  // Rows: plain maximum; a tie (first wins); a NaN after the maximum (NaN wins); two NaNs
  // (first NaN wins); one column of -inf.
  const std::vector<double> logits = {0.1, 0.7, 0.2,    //
                                      2.0, -1.0, 2.0,   //
                                      9.0, 1.0, kNaN,   //
                                      kNaN, 3.0, kNaN,  //
                                      -std::numeric_limits<double>::infinity(), -5, -7};
  std::vector<std::int32_t> pred(5, -1);
  argmax_rows(5, 3, logits.data(), pred.data());
  EXPECT_TRUE(all_equal(pred, std::vector<std::int32_t>{1, 0, 2, 0, 1}));
}

TEST(CountCorrectRef, CountHandComputed) {
  const std::vector<float> logits = {0.1f, 0.9f,   //
                                     0.8f, 0.2f,   //
                                     0.5f, 0.5f,   //
                                     -1.0f, 3.0f};
  const std::vector<std::int32_t> labels = {1, 1, 0, 0};
  std::int64_t correct = -1;
  count_correct(4, 2, logits.data(), labels.data(), &correct);
  EXPECT_EQ(correct, 2);  // rows 0 and 2 (the tie goes to class 0)
}

TEST(CountCorrectRef, FloatAgreesWithDoubleAndArgmax) {
  const std::int64_t N = 200, K = 10;
  const auto logits = random_uniform(N * K, -3, 3, 8);
  const auto labels = random_labels(N, K, 9);
  std::vector<std::int32_t> pred(N);
  argmax_rows(N, K, logits.data(), pred.data());
  std::int64_t expected = 0;
  for (std::int64_t n = 0; n < N; ++n) expected += pred[n] == labels[n] ? 1 : 0;
  std::int64_t correct = -1, correct_f = -1;
  count_correct(N, K, logits.data(), labels.data(), &correct);
  const auto logits_f = cast_to<float>(logits);
  count_correct(N, K, logits_f.data(), labels.data(), &correct_f);
  EXPECT_EQ(correct, expected);
  EXPECT_EQ(correct_f, expected);
  EXPECT_GT(expected, 0);
  EXPECT_LT(expected, N);
}

// Each function applies ClassScoresShape::check (its rules: test_shapes.cpp) and checks its
// pointers.
TEST(CountCorrectRef, ChecksShapeAndPointers) {
  using lenet::ClassScoresShape;
  const ClassScoresShape s{2, 3}, no_classes{2, 0};
  const std::vector<double> logits(6);
  std::vector<std::int32_t> labels = {0, 2}, pred(2);
  std::int64_t correct = 0;
  EXPECT_TRUE(checks_shape_and_pointers(
      "argmax_rows", s, no_classes, "K", {"logits", "pred"},
      [](const ClassScoresShape& c, auto... a) { argmax_rows(c.N, c.K, a...); }, logits.data(),
      pred.data()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "count_correct", s, no_classes, "K", {"logits", "labels", "correct"},
      [](const ClassScoresShape& c, auto... a) { count_correct(c.N, c.K, a...); }, logits.data(),
      labels.data(), &correct));
}

// Labels must lie in [0, K).
TEST(CountCorrectRef, RejectsLabelsOutsideTheClasses) {
  const std::vector<double> logits(4);
  const std::vector<std::int32_t> labels = {0, 2};
  std::int64_t correct = 0;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { count_correct(2, 2, logits.data(), labels.data(), &correct); },
      {"count_correct", "labels[1] = 2"}));
}

}  // namespace
