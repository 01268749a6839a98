// Runs ReLU through the installed library on a device buffer and checks the result. Built once
// against lenet::kernels (a GPU) and, when installed, once against lenet::kernels_sim (the CPU
// simulator). Without a usable GPU the CUDA library must raise lenet::CudaError with the CUDA
// error text, never crash: that is a pass too, for error 35 (no driver) and 100 (no device).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <lenet/kernels.h>

namespace lk = lenet::kernels;

int main() {
#if defined(LENET_SIM)
  const char* executor = "simulator";
#else
  const char* executor = "GPU";
#endif
  try {
    const std::int64_t n = 1000;
    std::vector<float> x(n);
    for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i - n / 2) * 0.25f;
    const std::size_t bytes = n * sizeof(float);
    float* d_x = static_cast<float*>(lk::device_malloc(bytes));
    float* d_y = static_cast<float*>(lk::device_malloc(bytes));
    lk::copy_to_device(d_x, x.data(), bytes);
    lk::relu_forward(n, d_x, d_y);
    std::vector<float> y(n, -1.0f);
    lk::copy_to_host(y.data(), d_y, bytes);
    lk::device_free(d_x);
    lk::device_free(d_y);
    for (std::int64_t i = 0; i < n; ++i) {
      const float want = x[i] > 0.0f ? x[i] : 0.0f;
      if (y[i] != want) {
        std::printf("consumer: relu_forward on the %s: y[%lld] = %g, want %g\n", executor,
                    static_cast<long long>(i), y[i], want);
        return 1;
      }
    }
    std::printf("consumer: relu_forward on the %s: %lld values correct\n", executor,
                static_cast<long long>(n));
    return 0;
  } catch (const lenet::CudaError& e) {
    std::printf("consumer: lenet::CudaError (code %d): %s\n", e.code(), e.what());
    return (e.code() == 35 || e.code() == 100) ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("consumer: unexpected error: %s\n", e.what());
    return 1;
  }
}
