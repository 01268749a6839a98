#include <cstdint>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <lenet/error.h>

namespace {

void needs_positive(int stride) { LENET_CHECK(stride >= 1, "op: stride must be >= 1, got " << stride); }

TEST(Errors, CheckThrowsInvalidArgumentWithTheStreamedMessage) {
  EXPECT_NO_THROW(needs_positive(1));
  try {
    needs_positive(0);
    FAIL() << "LENET_CHECK did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "op: stride must be >= 1, got 0");
  }
}

TEST(Errors, CheckNotNullNamesTheOpAndTheArgument) {
  const int value = 0;
  EXPECT_NO_THROW(lenet::check_not_null("op", "x", &value));
  try {
    lenet::check_not_null("conv2d_forward", "w", nullptr);
    FAIL() << "check_not_null accepted a null pointer";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "conv2d_forward: w is null");
  }
}

TEST(Errors, CheckNotNullMacroTakesTheNameFromTheExpression) {
  const float value = 0.0f;
  const float* dw = &value;
  EXPECT_NO_THROW(LENET_CHECK_NOT_NULL("op", dw));
  dw = nullptr;
  try {
    LENET_CHECK_NOT_NULL("conv2d_backward_filter", dw);
    FAIL() << "LENET_CHECK_NOT_NULL accepted a null pointer";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "conv2d_backward_filter: dw is null");
  }
}

// Several pointers in one call: each is checked, and the first null one is named.
TEST(Errors, CheckNotNullMacroNamesTheFirstNullOfSeveral) {
  const float value = 0.0f;
  const float* x = &value;
  const float* w = &value;
  const std::uint8_t* labels = reinterpret_cast<const std::uint8_t*>(&value);
  EXPECT_NO_THROW(LENET_CHECK_NOT_NULL("op", x, w, labels));
  const auto message = [&] {
    try {
      LENET_CHECK_NOT_NULL("linear_forward", x, w, labels);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  labels = nullptr;
  EXPECT_EQ(message(), "linear_forward: labels is null");
  w = nullptr;
  EXPECT_EQ(message(), "linear_forward: w is null");
  x = nullptr;
  EXPECT_EQ(message(), "linear_forward: x is null");
}

TEST(Errors, CudaErrorKeepsCodeAndText) {
  const lenet::CudaError e(35, "f.cu:1: cudaMalloc(&p, 4): cudaErrorInsufficientDriver (35): x");
  EXPECT_EQ(e.code(), 35);
  EXPECT_NE(std::string(e.what()).find("cudaErrorInsufficientDriver"), std::string::npos);
  const std::runtime_error& base = e;  // catchable as a std::runtime_error
  EXPECT_STREQ(base.what(), e.what());
}

}  // namespace
