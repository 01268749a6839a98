// The GPU library on whatever this machine has: a failing call raises lenet::CudaError with the
// CUDA error text, with or without a device; with one, a ReLU round trip through device memory.
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>

#include "support/device.h"
#include "support/gpu.h"

namespace lk = lenet::kernels;

namespace {

// Without a device the first allocation fails at start-up; with one, an allocation larger than
// any GPU's memory fails. Either way the error names the call and the CUDA error.
TEST(CudaRuntime, AFailedCallThrowsCudaErrorWithTheErrorText) {
  const bool have_device = lk::device_count() > 0;
  const std::size_t bytes = have_device ? std::size_t{1} << 60 : 1024;  // 1 EiB, or 1 KiB
  try {
    lk::device_free(lk::device_malloc(bytes));
    FAIL() << "device_malloc(" << bytes << ") succeeded";
  } catch (const lenet::CudaError& e) {
    const std::string what = e.what();
    if (have_device) {
      EXPECT_EQ(e.code(), 2) << what;  // cudaErrorMemoryAllocation
    } else {
      // 35: no driver or one too old; 100: a driver but no device.
      EXPECT_TRUE(e.code() == 35 || e.code() == 100) << what;
    }
    EXPECT_NE(what.find("cudaMalloc"), std::string::npos) << what;
    EXPECT_NE(what.find("cudaError"), std::string::npos) << what;
    EXPECT_NE(what.find("(" + std::to_string(e.code()) + ")"), std::string::npos) << what;
  }
}

TEST(CudaRuntime, ReluRoundTripOnTheDevice) {
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(lenet::test::executor_unavailable_reason());
  const std::vector<float> x = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f, NAN};
  const std::size_t bytes = x.size() * sizeof(float);
  float* dx = static_cast<float*>(lk::device_malloc(bytes));
  float* dy = static_cast<float*>(lk::device_malloc(bytes));
  lk::copy_to_device(dx, x.data(), bytes);
  lk::relu_forward(static_cast<std::int64_t>(x.size()), dx, dy);
  std::vector<float> y(x.size(), -1.0f);
  lk::copy_to_host(y.data(), dy, bytes);
  lk::device_free(dx);
  lk::device_free(dy);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 0.5f);
  EXPECT_EQ(y[4], 3.0f);
  EXPECT_TRUE(std::isnan(y[5]));
}

}  // namespace
