// The GPU library on whatever this machine has: with a device, a ReLU round trip through device
// memory; without one, every call raises lenet::CudaError with the CUDA error text.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>

namespace lk = lenet::kernels;

namespace {

TEST(CudaRuntime, WithoutADeviceCallsThrowCudaErrorWithTheErrorText) {
  if (lk::device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  try {
    void* p = lk::device_malloc(1024);
    lk::device_free(p);
    FAIL() << "device_malloc succeeded without a device";
  } catch (const lenet::CudaError& e) {
    const std::string what = e.what();
    // 35: no driver or one too old; 100: a driver but no device.
    EXPECT_TRUE(e.code() == 35 || e.code() == 100) << what;
    EXPECT_NE(what.find("cudaMalloc"), std::string::npos) << what;
    EXPECT_NE(what.find("cudaError"), std::string::npos) << what;
  }
}

TEST(CudaRuntime, ReluRoundTripOnTheDevice) {
  if (lk::device_count() == 0) GTEST_SKIP() << "no CUDA device";
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
