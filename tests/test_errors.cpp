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

// What f throws as std::invalid_argument, or "no throw".
template <typename F>
std::string message_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no throw";
}

TEST(Errors, CheckNotNullNamesTheOpAndTheArgument) {
  const int value = 0;
  EXPECT_EQ(message_of([&] { lenet::check_not_null("op", "x", &value); }), "no throw");
  EXPECT_EQ(message_of([] { lenet::check_not_null("conv2d_forward", "w", nullptr); }),
            "conv2d_forward: w is null");
}

TEST(Errors, CheckNotNullMacroTakesTheNameFromTheExpression) {
  const float value = 0.0f;
  const float* dw = &value;
  EXPECT_EQ(message_of([&] { LENET_CHECK_NOT_NULL("op", dw); }), "no throw");
  dw = nullptr;
  EXPECT_EQ(message_of([&] { LENET_CHECK_NOT_NULL("conv2d_backward_filter", dw); }),
            "conv2d_backward_filter: dw is null");
}

// Several pointers in one call: each is checked, and the first null one is named.
TEST(Errors, CheckNotNullMacroNamesTheFirstNullOfSeveral) {
  const float value = 0.0f;
  const float* x = &value;
  const float* w = &value;
  const std::uint8_t* labels = reinterpret_cast<const std::uint8_t*>(&value);
  const auto check = [&] { LENET_CHECK_NOT_NULL("linear_forward", x, w, labels); };
  EXPECT_EQ(message_of(check), "no throw");
  labels = nullptr;
  EXPECT_EQ(message_of(check), "linear_forward: labels is null");
  w = nullptr;
  EXPECT_EQ(message_of(check), "linear_forward: w is null");
  x = nullptr;
  EXPECT_EQ(message_of(check), "linear_forward: x is null");
}

TEST(Errors, CudaErrorKeepsCodeAndText) {
  const lenet::CudaError e(35, "f.cu:1: cudaMalloc(&p, 4): cudaErrorInsufficientDriver (35): x");
  EXPECT_EQ(e.code(), 35);
  EXPECT_NE(std::string(e.what()).find("cudaErrorInsufficientDriver"), std::string::npos);
  const std::runtime_error& base = e;  // catchable as a std::runtime_error
  EXPECT_STREQ(base.what(), e.what());
}

}  // namespace
