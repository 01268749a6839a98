// softmax_cross_entropy kernel (warp shuffles, one block) against the double reference.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/softmax_cross_entropy.h>
#include <lenet/kernels/softmax_cross_entropy.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/thread_order.h"
#include "support/throws.h"

namespace {

using lenet::test::all_close;
using lenet::test::cast_to;
using lenet::test::DeviceArray;

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
  DeviceArray<float> logits(logits_host), loss(1), dlogits(N * K);
  DeviceArray<std::int32_t> labels(labels_host);
  loss.poison();
  dlogits.poison();
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

struct SoftmaxCase {
  const char* name;
  std::int64_t N, K;
};

void PrintTo(const SoftmaxCase& c, std::ostream* os) {
  *os << c.name << " {N " << c.N << ", K " << c.K << "}";
}

class SoftmaxCrossEntropyKernel : public ::testing::TestWithParam<SoftmaxCase> {};

// Loss only (dlogits null).
TEST_P(SoftmaxCrossEntropyKernel, Forward) {
  const std::int64_t N = GetParam().N, K = GetParam().K;
  const std::vector<float> logits = lenet::test::random_uniform<float>(N * K, -5.0, 5.0, 51);
  const std::vector<std::int32_t> labels = lenet::test::random_labels(N, K, 52);
  const KernelResult out = run_kernel(N, K, logits, labels, false);
  const Reference ref = reference(N, K, logits, labels);
  EXPECT_NEAR(out.loss, ref.loss, kLossAtol + kLossRtol * std::fabs(ref.loss));
}

// Loss and dlogits from one launch.
TEST_P(SoftmaxCrossEntropyKernel, Backward) {
  const std::int64_t N = GetParam().N, K = GetParam().K;
  expect_matches_reference(N, K, lenet::test::random_uniform<float>(N * K, -5.0, 5.0, 53),
                           lenet::test::random_labels(N, K, 54));
}

// LeNet's 10 classes at batch 1, 64 and 100; fewer rows than the block's 8 warps; several rows
// per warp; K = 1 (loss 0); more classes than lanes; K a multiple of the warp.
INSTANTIATE_TEST_SUITE_P(Shapes, SoftmaxCrossEntropyKernel,
                         ::testing::Values(SoftmaxCase{"n1_k10", 1, 10},
                                           SoftmaxCase{"n64_k10", 64, 10},
                                           SoftmaxCase{"n100_k10", 100, 10},
                                           SoftmaxCase{"n7_k10", 7, 10},
                                           SoftmaxCase{"n1000_k10", 1000, 10},
                                           SoftmaxCase{"n5_k1", 5, 1},
                                           SoftmaxCase{"n3_k33", 3, 33},
                                           SoftmaxCase{"n9_k100", 9, 100},
                                           SoftmaxCase{"n17_k64", 17, 64}),
                         [](const ::testing::TestParamInfo<SoftmaxCase>& info) {
                           return std::string(info.param.name);
                         });

// exp(1e4) overflows float: only subtracting the row max keeps the loss finite.
TEST(SoftmaxCrossEntropyKernel, HugeLogitsStayFinite) {
  const std::int64_t N = 4, K = 10;
  std::vector<float> logits = lenet::test::random_uniform<float>(N * K, -3.0, 3.0, 55);
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
  const std::vector<float> logits = lenet::test::random_uniform<float>(N * K, -2.0, 2.0, 56);
  for (const std::int32_t bad : {-1, 10, 1000}) {
    SCOPED_TRACE("label " + std::to_string(bad));
    std::vector<std::int32_t> labels = lenet::test::random_labels(N, K, 57);
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
    const std::vector<float> logits = lenet::test::random_uniform<float>(N * K, -5.0, 5.0, 58);
    const std::vector<std::int32_t> labels = lenet::test::random_labels(N, K, 59);
    lenet::test::for_each_thread_order([&] { expect_matches_reference(N, K, logits, labels); });
  }
}

TEST(SoftmaxCrossEntropyKernel, LossAndGradientAreDeterministic) {
  const std::int64_t N = 1000, K = 10;
  const std::vector<float> logits = lenet::test::random_uniform<float>(N * K, -5.0, 5.0, 60);
  const std::vector<std::int32_t> labels = lenet::test::random_labels(N, K, 61);
  const KernelResult first = run_kernel(N, K, logits, labels);
  const KernelResult second = run_kernel(N, K, logits, labels);
  EXPECT_EQ(std::memcmp(&first.loss, &second.loss, sizeof(float)), 0)
      << first.loss << " vs " << second.loss;
  ASSERT_EQ(first.dlogits.size(), second.dlogits.size());
  EXPECT_EQ(std::memcmp(first.dlogits.data(), second.dlogits.data(),
                        first.dlogits.size() * sizeof(float)),
            0);
}

TEST(SoftmaxCrossEntropyKernel, RejectsBadSizesAndNullPointers) {
  using lenet::test::throws_invalid_argument;
  const auto op = lenet::kernels::softmax_cross_entropy;
  DeviceArray<float> logits(20), loss(1), dlogits(20);
  DeviceArray<std::int32_t> labels(std::vector<std::int32_t>{0, 1});
  EXPECT_TRUE(throws_invalid_argument(
      [&] { op(0, 10, logits.get(), labels.get(), loss.get(), dlogits.get(), nullptr); },
      {"softmax_cross_entropy", "N must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { op(2, 0, logits.get(), labels.get(), loss.get(), dlogits.get(), nullptr); },
      {"softmax_cross_entropy", "K must be"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { op(2, 10, nullptr, labels.get(), loss.get(), dlogits.get(), nullptr); },
      {"softmax_cross_entropy", "logits is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { op(2, 10, logits.get(), nullptr, loss.get(), dlogits.get(), nullptr); },
      {"softmax_cross_entropy", "labels is null"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { op(2, 10, logits.get(), labels.get(), nullptr, dlogits.get(), nullptr); },
      {"softmax_cross_entropy", "loss is null"}));
}

}  // namespace
