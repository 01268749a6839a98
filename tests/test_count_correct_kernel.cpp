// argmax_rows and count_correct kernels against the double reference: exact integers.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/count_correct.h>
#include <lenet/kernels/count_correct.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/thread_order.h"

namespace {

using namespace lenet::test;
using lenet::ClassScoresShape;

std::vector<std::int32_t> kernel_argmax(std::int64_t N, std::int64_t K,
                                        const std::vector<float>& logits_host) {
  DeviceArray<float> logits(logits_host);
  DeviceArray<std::int32_t> pred = poisoned<std::int32_t>(N);
  lenet::kernels::argmax_rows(N, K, logits.get(), pred.get());
  return pred.download();
}

std::int64_t kernel_count(std::int64_t N, std::int64_t K, const std::vector<float>& logits_host,
                          const std::vector<std::int32_t>& labels_host) {
  DeviceArray<float> logits(logits_host);
  DeviceArray<std::int32_t> labels(labels_host);
  DeviceArray<std::int64_t> correct = poisoned<std::int64_t>(1);
  lenet::kernels::count_correct(N, K, logits.get(), labels.get(), correct.get());
  return correct.download()[0];
}

std::vector<std::int32_t> reference_argmax(std::int64_t N, std::int64_t K,
                                           const std::vector<float>& logits) {
  std::vector<std::int32_t> pred(N);
  lenet::cpu_ref::argmax_rows(N, K, cast_to<double>(logits).data(), pred.data());
  return pred;
}

std::int64_t reference_count(std::int64_t N, std::int64_t K, const std::vector<float>& logits,
                             const std::vector<std::int32_t>& labels) {
  std::int64_t correct = -1;
  lenet::cpu_ref::count_correct(N, K, cast_to<double>(logits).data(), labels.data(), &correct);
  return correct;
}

// Labels that agree with the argmax on about half the rows, so the count is neither 0 nor N.
std::vector<std::int32_t> half_right_labels(std::int64_t N, std::int64_t K,
                                            const std::vector<float>& logits, std::uint64_t seed) {
  std::vector<std::int32_t> labels = reference_argmax(N, K, logits);
  Rng rng(seed);
  for (auto& label : labels) {
    if (rng.uniform() < 0.5) label = static_cast<std::int32_t>(rng.below(K));
  }
  return labels;
}

class CountCorrectKernel : public ::testing::TestWithParam<ShapeCase<ClassScoresShape>> {};

TEST_P(CountCorrectKernel, ArgmaxRows) {
  const std::int64_t N = GetParam().s.N, K = GetParam().s.K;
  const std::vector<float> logits = random_uniform<float>(N * K, -3.0, 3.0, 91);
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), reference_argmax(N, K, logits)));
}

TEST_P(CountCorrectKernel, CountCorrect) {
  const std::int64_t N = GetParam().s.N, K = GetParam().s.K;
  const std::vector<float> logits = random_uniform<float>(N * K, -3.0, 3.0, 92);
  const std::vector<std::int32_t> labels = half_right_labels(N, K, logits, 93);
  EXPECT_EQ(kernel_count(N, K, logits, labels), reference_count(N, K, logits, labels));
}

// LeNet's 10 classes at batch 1, 64 and 100 and a 1000-image evaluation batch (more rows than
// the count kernel's 256 threads); K = 1; more classes than a warp has lanes.
INSTANTIATE_TEST_SUITE_P(
    Shapes, CountCorrectKernel,
    ::testing::ValuesIn(class_score_cases(
        {{1, 10}, {64, 10}, {100, 10}, {1000, 10}, {10000, 10}, {3, 1}, {5, 33}, {300, 7}})),
    CaseName());

// The first maximum wins: a constant row gives 0, a repeated maximum its first position.
TEST(CountCorrectKernel, TiesPickTheFirstMaximum) {
  const std::int64_t K = 5;
  const std::vector<float> logits = {
      1, 1, 1, 1, 1,   // all equal
      0, 3, 1, 3, 2,   // maximum at 1 and 3
      -1, -2, -5, -3, -1,  // maximum at 0 and 4
      2, 0, 0, 7, 7,   // maximum at the last two
  };
  const std::int64_t N = static_cast<std::int64_t>(logits.size()) / K;
  const std::vector<std::int32_t> expected = {0, 1, 0, 3};
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), expected));
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), reference_argmax(N, K, logits)));
  EXPECT_EQ(kernel_count(N, K, logits, expected), N);
  EXPECT_EQ(kernel_count(N, K, logits, {4, 3, 4, 4}), 0);
}

// Logits from {0, 1, 2}: nearly every row has tied maxima.
TEST(CountCorrectKernel, ManyTiesMatchReference) {
  const std::int64_t N = 500, K = 10;
  std::vector<float> logits(N * K);
  Rng rng(94);
  for (float& v : logits) v = static_cast<float>(rng.below(3));
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), reference_argmax(N, K, logits)));
  const std::vector<std::int32_t> labels = half_right_labels(N, K, logits, 95);
  EXPECT_EQ(kernel_count(N, K, logits, labels), reference_count(N, K, logits, labels));
}

// As torch.argmax: a NaN wins over every number, and the first NaN of a row wins.
TEST(CountCorrectKernel, NaNWinsTheArgmax) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::int64_t K = 4;
  const std::vector<float> logits = {
      1, 5, nan, 2,    // NaN after the largest number
      nan, 5, 1, 2,    // NaN first
      1, nan, 9, nan,  // two NaNs
      1, 5, 3, 2,      // no NaN
  };
  const std::int64_t N = static_cast<std::int64_t>(logits.size()) / K;
  const std::vector<std::int32_t> expected = {2, 0, 1, 1};
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), expected));
  EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), reference_argmax(N, K, logits)));
  EXPECT_EQ(kernel_count(N, K, logits, expected), N);
}

// Rows are spread over the block's threads and the counts summed across warps through shared
// memory: every thread order must count the same.
TEST(CountCorrectKernel, CountCorrectInEveryThreadOrder) {
  for (const std::int64_t N : {1000, 37}) {
    const std::int64_t K = 10;
    const std::vector<float> logits = random_uniform<float>(N * K, -3.0, 3.0, 96);
    const std::vector<std::int32_t> labels = half_right_labels(N, K, logits, 97);
    const std::int64_t expected = reference_count(N, K, logits, labels);
    for_each_thread_order([&] {
      EXPECT_EQ(kernel_count(N, K, logits, labels), expected) << "N " << N;
      EXPECT_TRUE(all_equal(kernel_argmax(N, K, logits), reference_argmax(N, K, logits)));
    });
  }
}

// Each launcher applies ClassScoresShape::check (its rules: test_shapes.cpp) and checks its
// pointers.
TEST(CountCorrectKernel, LaunchersCheckShapeAndPointers) {
  namespace k = lenet::kernels;
  const ClassScoresShape s{2, 10}, no_rows{0, 10};
  DeviceArray<float> logits(20);
  DeviceArray<std::int32_t> labels(2), pred(2);
  DeviceArray<std::int64_t> correct(1);
  EXPECT_TRUE(checks_shape_and_pointers(
      "argmax_rows", s, no_rows, "N", {"logits", "pred"},
      [](const ClassScoresShape& c, auto... p) { k::argmax_rows(c.N, c.K, p...); }, logits.get(),
      pred.get()));
  EXPECT_TRUE(checks_shape_and_pointers(
      "count_correct", s, no_rows, "N", {"logits", "labels", "correct"},
      [](const ClassScoresShape& c, auto... p) { k::count_correct(c.N, c.K, p...); }, logits.get(),
      labels.get(), correct.get()));
}

}  // namespace
