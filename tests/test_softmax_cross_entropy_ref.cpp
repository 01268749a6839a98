#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/softmax_cross_entropy.h>

#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/random.h"
#include "support/throws.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

TEST(SoftmaxCrossEntropyRef, ForwardHandComputed) {
  // Row 0: equal logits, softmax (1/2, 1/2), loss log 2.
  // Row 1: logits (log 1, log 3): softmax (1/4, 3/4), label 1, loss -log(3/4).
  const std::vector<double> logits = {5, 5, 0, std::log(3.0)};
  const std::vector<std::int32_t> labels = {0, 1};
  double loss = NAN;
  std::vector<double> dlogits = nan_filled<double>(4);
  softmax_cross_entropy(2, 2, logits.data(), labels.data(), &loss, dlogits.data());
  EXPECT_NEAR(loss, (std::log(2.0) - std::log(0.75)) / 2, 1e-15);
  // (softmax - onehot) / N.
  EXPECT_TRUE(all_close(dlogits, std::vector<double>{-0.25, 0.25, 0.125, -0.125}, 1e-16, 1e-15));

  double loss_only = NAN;
  softmax_cross_entropy(2, 2, logits.data(), labels.data(), &loss_only, nullptr);
  EXPECT_EQ(loss_only, loss);
}

TEST(SoftmaxCrossEntropyRef, ForwardLargeLogitsDoNotOverflow) {
  // exp(1000) overflows a double and exp(100) a float; with the row maximum subtracted:
  //   row 0 (1000, 0, -1000), label 1: loss = 1000 + log(1 + e^-1000 + e^-2000) = 1000
  //   row 1 (1000, 1000, 1000), label 2: loss = log 3, softmax 1/3 each.
  const std::vector<double> logits = {1000, 0, -1000, 1000, 1000, 1000};
  const std::vector<std::int32_t> labels = {1, 2};
  double loss = NAN;
  std::vector<double> dlogits = nan_filled<double>(6);
  softmax_cross_entropy(2, 3, logits.data(), labels.data(), &loss, dlogits.data());
  EXPECT_NEAR(loss, (1000 + std::log(3.0)) / 2, 1e-12);
  EXPECT_TRUE(all_close(dlogits,
                        std::vector<double>{0.5, -0.5, 0, 1.0 / 6, 1.0 / 6, -1.0 / 3}, 1e-15,
                        1e-14));

  const std::vector<float> logits_f = {1e4f, 0.0f, -1e4f, 1e4f, 1e4f, 1e4f};
  float loss_f = NAN;
  std::vector<float> dlogits_f = nan_filled<float>(6);
  softmax_cross_entropy(2, 3, logits_f.data(), labels.data(), &loss_f, dlogits_f.data());
  EXPECT_NEAR(loss_f, (1e4 + std::log(3.0)) / 2, 1e-3);
  EXPECT_TRUE(all_close(dlogits_f,
                        std::vector<double>{0.5, -0.5, 0, 1.0 / 6, 1.0 / 6, -1.0 / 3}, 1e-7,
                        1e-6));
}

TEST(SoftmaxCrossEntropyRef, SingleClassHasZeroLoss) {
  const std::vector<double> logits = {3.5, -7};
  const std::vector<std::int32_t> labels = {0, 0};
  double loss = NAN;
  std::vector<double> dlogits = nan_filled<double>(2);
  softmax_cross_entropy(2, 1, logits.data(), labels.data(), &loss, dlogits.data());
  EXPECT_EQ(loss, 0.0);
  EXPECT_TRUE(all_close(dlogits, std::vector<double>{0, 0}, 0, 0));
}

TEST(SoftmaxCrossEntropyRef, FloatAgreesWithDouble) {
  const std::int64_t N = 13, K = 10;
  const auto logits = random_uniform(N * K, -5, 5, 1);
  const auto labels = random_labels(N, K, 2);
  double loss = 0;
  std::vector<double> dlogits(N * K);
  softmax_cross_entropy(N, K, logits.data(), labels.data(), &loss, dlogits.data());
  const auto logits_f = cast_to<float>(logits);
  float loss_f = NAN;
  auto dlogits_f = nan_filled<float>(N * K);
  softmax_cross_entropy(N, K, logits_f.data(), labels.data(), &loss_f, dlogits_f.data());
  EXPECT_NEAR(loss_f, loss, 1e-5 * std::fabs(loss));
  EXPECT_TRUE(all_close(dlogits_f, dlogits, 1e-7, 1e-5));
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

TEST(SoftmaxCrossEntropyRef, BadArgumentsThrowNamingTheArgument) {
  const std::vector<double> logits(6);
  std::vector<std::int32_t> labels = {0, 3};
  double loss = 0;
  std::vector<double> dlogits(6);
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy(2, 3, logits.data(), labels.data(), &loss, dlogits.data()); },
      {"softmax_cross_entropy", "labels[1] = 3", "[0, K = 3)"}));
  labels[1] = -1;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy(2, 3, logits.data(), labels.data(), &loss, dlogits.data()); },
      {"softmax_cross_entropy", "labels[1] = -1"}));
  labels[1] = 0;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy(0, 3, logits.data(), labels.data(), &loss, nullptr); },
      {"softmax_cross_entropy: N"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy(2, 0, logits.data(), labels.data(), &loss, nullptr); },
      {"softmax_cross_entropy: K"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        softmax_cross_entropy(std::int64_t{1} << 40, std::int64_t{1} << 30, logits.data(),
                              labels.data(), &loss, nullptr);
      },
      {"softmax_cross_entropy", "logits [N, K]"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy<double>(2, 3, nullptr, labels.data(), &loss, nullptr); },
      {"softmax_cross_entropy: logits is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy(2, 3, logits.data(), nullptr, &loss, nullptr); },
      {"softmax_cross_entropy: labels is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { softmax_cross_entropy<double>(2, 3, logits.data(), labels.data(), nullptr, nullptr); },
      {"softmax_cross_entropy: loss is null"}));
}

}  // namespace
