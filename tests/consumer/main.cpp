// ReLU forward and backward through the installed kernel library, on DeviceBuffers and a stream
// of its own, checked against the installed reference (lenet::cpu_ref). Built against
// lenet::kernels (a GPU) and against lenet::kernels_sim (the CPU simulator). Exit status 0 when
// every value matches; otherwise 1 and one line that says why (on a machine without a usable
// GPU, the lenet::CudaError of the first runtime call: run_consumer_test.cmake decides).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <lenet/cpu_ref/relu.h>
#include <lenet/kernels.h>

namespace lk = lenet::kernels;

namespace {

#if defined(LENET_SIM)
constexpr const char* kExecutor = "simulator";
#else
constexpr const char* kExecutor = "GPU";
#endif

// True when got equals want; otherwise prints the first difference.
bool same(const char* op, const std::vector<float>& got, const std::vector<float>& want) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (i >= got.size() || got[i] != want[i]) {
      std::printf("consumer: %s on the %s differs from lenet::cpu_ref at index %zu\n", op,
                  kExecutor, i);
      return false;
    }
  }
  return true;
}

}  // namespace

int main() {
  try {
    const std::int64_t n = 1000;
    std::vector<float> x(n), dy(n);
    for (std::int64_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>(i - n / 2) * 0.25f;
      dy[i] = static_cast<float>(i % 7) - 3.0f;
    }
    std::vector<float> want_y(n), want_dx(n);
    lenet::cpu_ref::relu_forward(n, x.data(), want_y.data());
    lenet::cpu_ref::relu_backward(n, dy.data(), x.data(), want_dx.data());

    cudaStream_t stream = nullptr;
    LENET_CUDA_CHECK(cudaStreamCreate(&stream));
    std::vector<float> y, dx;
    {
      const lk::DeviceBuffer<float> d_x(x, stream), d_dy(dy, stream);
      lk::DeviceBuffer<float> d_y(d_x.size()), d_dx(d_x.size());
      lk::relu_forward(n, d_x.data(), d_y.data(), stream);
      lk::relu_backward(n, d_dy.data(), d_x.data(), d_dx.data(), stream);
      y = d_y.to_vector(stream);
      dx = d_dx.to_vector(stream);
    }
    LENET_CUDA_CHECK(cudaStreamDestroy(stream));

    if (!same("relu_forward", y, want_y) || !same("relu_backward", dx, want_dx)) return 1;
    std::printf("consumer: relu_forward and relu_backward on the %s: %lld values each, equal to "
                "lenet::cpu_ref\n", kExecutor, static_cast<long long>(n));
    return 0;
  } catch (const std::exception& e) {
    std::printf("consumer: %s: %s\n", kExecutor, e.what());
    return 1;
  }
}
