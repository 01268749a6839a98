#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/softmax_cross_entropy.h>
#include <lenet/shapes.h>

#include "support/arguments.h"
#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/random.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

template <typename T>
struct LossAndGradient {
  T loss;
  std::vector<T> dlogits;
};

// softmax_cross_entropy in T on NaN-filled outputs.
template <typename T>
LossAndGradient<T> loss_and_gradient(std::int64_t N, std::int64_t K, const std::vector<T>& logits,
                                     const std::vector<std::int32_t>& labels) {
  LossAndGradient<T> out{std::numeric_limits<T>::quiet_NaN(), nan_filled<T>(N * K)};
  softmax_cross_entropy(N, K, logits.data(), labels.data(), &out.loss, out.dlogits.data());
  return out;
}

TEST(SoftmaxCrossEntropyRef, ForwardHandComputed) {
  // Row 0: equal logits, softmax (1/2, 1/2), loss log 2.
  // Row 1: logits (log 1, log 3): softmax (1/4, 3/4), label 1, loss -log(3/4).
  const std::vector<double> logits = {5, 5, 0, std::log(3.0)};
  const std::vector<std::int32_t> labels = {0, 1};
  const LossAndGradient<double> out = loss_and_gradient(2, 2, logits, labels);
  EXPECT_NEAR(out.loss, (std::log(2.0) - std::log(0.75)) / 2, 1e-15);
  // (softmax - onehot) / N.
  EXPECT_TRUE(
      all_close(out.dlogits, std::vector<double>{-0.25, 0.25, 0.125, -0.125}, 1e-16, 1e-15));

  double loss_only = NAN;
  softmax_cross_entropy(2, 2, logits.data(), labels.data(), &loss_only, nullptr);
  EXPECT_EQ(loss_only, out.loss);
}

TEST(SoftmaxCrossEntropyRef, ForwardLargeLogitsDoNotOverflow) {
  // exp(1000) overflows a double and exp(100) a float; with the row maximum subtracted:
  //   row 0 (1000, 0, -1000), label 1: loss = 1000 + log(1 + e^-1000 + e^-2000) = 1000
  //   row 1 (1000, 1000, 1000), label 2: loss = log 3, softmax 1/3 each.
  // The float run uses 1e4 for 1000.
  const std::vector<std::int32_t> labels = {1, 2};
  const std::vector<double> dlogits = {0.5, -0.5, 0, 1.0 / 6, 1.0 / 6, -1.0 / 3};
  const LossAndGradient<double> d =
      loss_and_gradient<double>(2, 3, {1000, 0, -1000, 1000, 1000, 1000}, labels);
  EXPECT_NEAR(d.loss, (1000 + std::log(3.0)) / 2, 1e-12);
  EXPECT_TRUE(all_close(d.dlogits, dlogits, 1e-15, 1e-14));
  const LossAndGradient<float> f =
      loss_and_gradient<float>(2, 3, {1e4f, 0.0f, -1e4f, 1e4f, 1e4f, 1e4f}, labels);
  EXPECT_NEAR(f.loss, (1e4 + std::log(3.0)) / 2, 1e-3);
  EXPECT_TRUE(all_close(f.dlogits, dlogits, 1e-7, 1e-6));
}

TEST(SoftmaxCrossEntropyRef, SingleClassHasZeroLoss) {
  const LossAndGradient<double> out = loss_and_gradient<double>(2, 1, {3.5, -7}, {0, 0});
  EXPECT_EQ(out.loss, 0.0);
  EXPECT_TRUE(all_close(out.dlogits, std::vector<double>{0, 0}, 0, 0));
}

TEST(SoftmaxCrossEntropyRef, FloatAgreesWithDouble) {
  const std::int64_t N = 13, K = 10;
  const auto logits = random_uniform(N * K, -5, 5, 1);
  const auto labels = random_labels(N, K, 2);
  const LossAndGradient<double> d = loss_and_gradient(N, K, logits, labels);
  const LossAndGradient<float> f = loss_and_gradient(N, K, cast_to<float>(logits), labels);
  EXPECT_NEAR(f.loss, d.loss, 1e-5 * std::fabs(d.loss));
  EXPECT_TRUE(all_close(f.dlogits, d.dlogits, 1e-7, 1e-5));
}

TEST(SoftmaxCrossEntropyRef, BackwardGradCheck) {
  const std::int64_t shapes[][2] = {{1, 2}, {4, 10}, {7, 3}};
  std::uint64_t seed = 40;
  for (const auto& nk : shapes) {
    const std::int64_t N = nk[0], K = nk[1];
    SCOPED_TRACE(::testing::Message() << "N " << N << " K " << K);
    auto logits = random_uniform(N * K, -4, 4, ++seed);
    const auto labels = random_labels(N, K, ++seed);
    std::vector<double> dlogits(N * K);
    double loss_value = 0;
    auto loss = [&] {
      double l = 0;
      softmax_cross_entropy(N, K, logits.data(), labels.data(), &l, nullptr);
      return l;
    };
    softmax_cross_entropy(N, K, logits.data(), labels.data(), &loss_value, dlogits.data());
    EXPECT_TRUE(gradient_matches(loss, &logits, dlogits));
  }
}

// The function applies ClassScoresShape::check (its rules: test_shapes.cpp) and checks its
// pointers; dlogits may be null (loss only).
TEST(SoftmaxCrossEntropyRef, ChecksShapeAndPointers) {
  const std::vector<double> logits(6);
  const std::vector<std::int32_t> labels = {0, 2};
  double loss = 0;
  std::vector<double> dlogits(6);
  EXPECT_TRUE(checks_shape_and_pointers(
      "softmax_cross_entropy", lenet::ClassScoresShape{2, 3}, lenet::ClassScoresShape{0, 3}, "N",
      {"logits", "labels", "loss", kOptional},
      [](const lenet::ClassScoresShape& s, auto... a) { softmax_cross_entropy(s.N, s.K, a...); },
      logits.data(), labels.data(), &loss, dlogits.data()));
}

// Labels must lie in [0, K): the reference, unlike the kernel, can say which one does not.
TEST(SoftmaxCrossEntropyRef, RejectsLabelsOutsideTheClasses) {
  const std::vector<double> logits(6);
  double loss = 0;
  std::vector<double> dlogits(6);
  for (const std::int32_t bad : {3, -1}) {
    const std::vector<std::int32_t> labels = {0, bad};
    const std::string named = "labels[1] = " + std::to_string(bad);
    EXPECT_TRUE(throws_invalid_argument(
        [&] { softmax_cross_entropy(2, 3, logits.data(), labels.data(), &loss, dlogits.data()); },
        {"softmax_cross_entropy", named.c_str(), "[0, K = 3)"}));
  }
}

}  // namespace
