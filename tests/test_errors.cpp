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

TEST(Errors, CudaErrorKeepsCodeAndText) {
  const lenet::CudaError e(35, "f.cu:1: cudaMalloc(&p, 4): cudaErrorInsufficientDriver (35): x");
  EXPECT_EQ(e.code(), 35);
  EXPECT_NE(std::string(e.what()).find("cudaErrorInsufficientDriver"), std::string::npos);
  const std::runtime_error& base = e;  // catchable as a std::runtime_error
  EXPECT_STREQ(base.what(), e.what());
}

}  // namespace
