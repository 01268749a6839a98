// The fused launchers' tests: a fused launch against the two launches it replaces.
//   EXPECT_TRUE(lenet::test::fused_forward_matches(n, [&](float* y) { op(..., y); },
//                                                     [&](float* y) { op_relu(..., y); }));
// passes when, on poisoned outputs of n floats, op_relu writes bitwise what op followed by
// relu_forward writes, and the ReLU cut something (an output is 0): a fused launch that skipped
// its ReLU would then differ. fused_gradient_matches does the same for an input gradient and
// relu_backward with the ReLU's output relu_output (device memory, n floats).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels/relu.h>

#include "support/compare.h"
#include "support/device.h"

namespace lenet::test {

template <typename TwoLaunches, typename Fused>
::testing::AssertionResult fused_matches(std::size_t n, TwoLaunches two_launches, Fused fused) {
  const std::vector<float> want = run_on_poisoned<float>(n, two_launches);
  if (std::count(want.begin(), want.end(), 0.0f) == 0) {
    return ::testing::AssertionFailure() << "the ReLU cut nothing: the test proves nothing";
  }
  return bitwise_equal(run_on_poisoned<float>(n, fused), want);
}

template <typename Op, typename Fused>
::testing::AssertionResult fused_forward_matches(std::size_t n, Op op, Fused fused) {
  const auto count = static_cast<std::int64_t>(n);
  const auto two_launches = [&](float* y) {
    op(y);
    lenet::kernels::relu_forward(count, y, y);
  };
  return fused_matches(n, two_launches, fused);
}

template <typename Op, typename Fused>
::testing::AssertionResult fused_gradient_matches(std::size_t n, const float* relu_output, Op op,
                                                  Fused fused) {
  const auto count = static_cast<std::int64_t>(n);
  const auto two_launches = [&](float* dx) {
    op(dx);
    lenet::kernels::relu_backward(count, dx, relu_output, dx);
  };
  return fused_matches(n, two_launches, fused);
}

}  // namespace lenet::test
