// softmax_cross_entropy kernel (warp shuffles, one block) against the double reference.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/softmax_cross_entropy.h>
#include <lenet/kernels/softmax_cross_entropy.h>
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

// The loss is O(log K) and each gradient O(1/N): float32 with another summation order (and
// expf/logf instead of exp/log in double) stays far inside these; a wrong row, lane or label
// does not.
constexpr double kLossAtol = 1e-5;
constexpr double kLossRtol = 1e-5;
constexpr double kGradAtol = 1e-7;
constexpr double kGradRtol = 1e-4;

struct Reference {
  double loss = 0.0;
  std::vector<double> dlogits;
};

Reference reference(std::int64_t N, std::int64_t K, const std::vector<float>& logits,
                    const std::vector<std::int32_t>& labels) {
  Reference ref;
  ref.dlogits.resize(N * K);
  lenet::cpu_ref::softmax_cross_entropy(N, K, cast_to<double>(logits).data(), labels.data(),
                                        &ref.loss, ref.dlogits.data());
  return ref;
}

struct KernelResult {
  float loss = 0.0f;
  std::vector<float> dlogits;
};

// One launch on fresh, poisoned outputs; with_gradient false passes a null dlogits.
KernelResult run_kernel(std::int64_t N, std::int64_t K, const std::vector<float>& logits_host,
                        const std::vector<std::int32_t>& labels_host, bool with_gradient = true) {
  DeviceArray<float> logits(logits_host);
  DeviceArray<float> loss = poisoned<float>(1), dlogits = poisoned<float>(N * K);
  DeviceArray<std::int32_t> labels(labels_host);
  lenet::kernels::softmax_cross_entropy(N, K, logits.get(), labels.get(), loss.get(),
                                        with_gradient ? dlogits.get() : nullptr);
  KernelResult result;
  result.loss = loss.download()[0];
  if (with_gradient) result.dlogits = dlogits.download();
  return result;
}

void expect_matches_reference(std::int64_t N, std::int64_t K, const std::vector<float>& logits,
                              const std::vector<std::int32_t>& labels) {
  const KernelResult out = run_kernel(N, K, logits, labels);
  const Reference ref = reference(N, K, logits, labels);
  EXPECT_NEAR(out.loss, ref.loss, kLossAtol + kLossRtol * std::fabs(ref.loss)) << "loss";
  EXPECT_TRUE(all_close(out.dlogits, ref.dlogits, kGradAtol, kGradRtol)) << "dlogits";
}

class SoftmaxCrossEntropyKernel : public ::testing::TestWithParam<ShapeCase<ClassScoresShape>> {};

// Loss only (dlogits null).
TEST_P(SoftmaxCrossEntropyKernel, Forward) {
  const std::int64_t N = GetParam().s.N, K = GetParam().s.K;
  const std::vector<float> logits = random_uniform<float>(N * K, -5.0, 5.0, 51);
  const std::vector<std::int32_t> labels = random_labels(N, K, 52);
  const KernelResult out = run_kernel(N, K, logits, labels, false);
  const Reference ref = reference(N, K, logits, labels);
  EXPECT_NEAR(out.loss, ref.loss, kLossAtol + kLossRtol * std::fabs(ref.loss));
}

// Loss and dlogits from one launch.
TEST_P(SoftmaxCrossEntropyKernel, Backward) {
  const std::int64_t N = GetParam().s.N, K = GetParam().s.K;
  expect_matches_reference(N, K, random_uniform<float>(N * K, -5.0, 5.0, 53),
                           random_labels(N, K, 54));
}

// LeNet's 10 classes at batch 1, 64 and 100; fewer rows than the block's 8 warps; several rows
// per warp; K = 1 (loss 0); more classes than lanes; K a multiple of the warp.
INSTANTIATE_TEST_SUITE_P(
    Shapes, SoftmaxCrossEntropyKernel,
    ::testing::ValuesIn(class_score_cases(
        {{1, 10}, {64, 10}, {100, 10}, {7, 10}, {1000, 10}, {5, 1}, {3, 33}, {9, 100}, {17, 64}})),
    CaseName());

// exp(1e4) overflows float: only subtracting the row max keeps the loss finite.
TEST(SoftmaxCrossEntropyKernel, HugeLogitsStayFinite) {
  const std::int64_t N = 4, K = 10;
  std::vector<float> logits = random_uniform<float>(N * K, -3.0, 3.0, 55);
  const std::vector<std::int32_t> labels = {3, 0, 9, 5};
  for (std::int64_t k = 0; k < K; ++k) logits[0 * K + k] += 1e4f;  // every logit huge
  logits[1 * K + 0] = 1e4f;                                         // the label's logit huge
  logits[2 * K + 4] = 1e4f;                                         // another logit huge
  logits[3 * K + 5] = -1e4f;                                        // the label's logit tiny
  const KernelResult out = run_kernel(N, K, logits, labels);
  ASSERT_TRUE(std::isfinite(out.loss)) << out.loss;
  for (const float g : out.dlogits) ASSERT_TRUE(std::isfinite(g)) << g;
  expect_matches_reference(N, K, logits, labels);
}

// Device code cannot throw: a label outside [0, K) makes the loss NaN (training stops on it);
// the other rows' gradients are still right.
TEST(SoftmaxCrossEntropyKernel, LabelOutOfRangeGivesNaNLoss) {
  const std::int64_t N = 12, K = 10;
  const std::vector<float> logits = random_uniform<float>(N * K, -2.0, 2.0, 56);
  for (const std::int32_t bad : {-1, 10, 1000}) {
    SCOPED_TRACE("label " + std::to_string(bad));
    std::vector<std::int32_t> labels = random_labels(N, K, 57);
    const std::int64_t bad_row = 5;
    labels[bad_row] = bad;
    const KernelResult out = run_kernel(N, K, logits, labels);
    EXPECT_TRUE(std::isnan(out.loss)) << out.loss;

    labels[bad_row] = 0;  // the reference rejects the bad label; rows are independent
    const Reference ref = reference(N, K, logits, labels);
    for (std::int64_t r = 0; r < N; ++r) {
      if (r == bad_row) continue;
      EXPECT_TRUE(all_close(out.dlogits.data() + r * K, ref.dlogits.data() + r * K, K, kGradAtol,
                            kGradRtol))
          << "row " << r;
    }
  }
}

// Rows are spread over warps and each warp over lanes; the sums must not depend on which
// thread runs first.
TEST(SoftmaxCrossEntropyKernel, EveryThreadOrder) {
  const std::int64_t shapes[][2] = {{100, 10}, {37, 45}};
  for (const auto& shape : shapes) {
    const std::int64_t N = shape[0], K = shape[1];
    const std::vector<float> logits = random_uniform<float>(N * K, -5.0, 5.0, 58);
    const std::vector<std::int32_t> labels = random_labels(N, K, 59);
    for_each_thread_order([&] { expect_matches_reference(N, K, logits, labels); });
  }
}

TEST(SoftmaxCrossEntropyKernel, LossAndGradientAreDeterministic) {
  const std::int64_t N = 1000, K = 10;
  const std::vector<float> logits = random_uniform<float>(N * K, -5.0, 5.0, 60);
  const std::vector<std::int32_t> labels = random_labels(N, K, 61);
  const KernelResult first = run_kernel(N, K, logits, labels);
  const KernelResult second = run_kernel(N, K, logits, labels);
  EXPECT_EQ(std::memcmp(&first.loss, &second.loss, sizeof(float)), 0)
      << first.loss << " vs " << second.loss;
  ASSERT_EQ(first.dlogits.size(), second.dlogits.size());
  EXPECT_EQ(std::memcmp(first.dlogits.data(), second.dlogits.data(),
                        first.dlogits.size() * sizeof(float)),
            0);
}

// The launcher applies ClassScoresShape::check (its rules: test_shapes.cpp) and checks its
// pointers; dlogits may be null (loss only).
TEST(SoftmaxCrossEntropyKernel, LauncherChecksShapeAndPointers) {
  DeviceArray<float> logits(20), loss(1), dlogits(20);
  DeviceArray<std::int32_t> labels(2);
  EXPECT_TRUE(checks_shape_and_pointers(
      "softmax_cross_entropy", ClassScoresShape{2, 10}, ClassScoresShape{2, 0}, "K",
      {"logits", "labels", "loss", kOptional},
      [](const ClassScoresShape& s, auto... p) {
        lenet::kernels::softmax_cross_entropy(s.N, s.K, p...);
      },
      logits.get(), labels.get(), loss.get(), dlogits.get()));
}

}  // namespace
