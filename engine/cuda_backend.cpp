// The cuda backend: the handwritten kernels on the GPU (lenet::kernels).
#include "kernel_backend.inc"

#include <memory>
#include <string>

#include <cuda_runtime_api.h>

#include <lenet/engine/backend.h>

namespace lenet::engine {

namespace {

std::string version_string(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() {
  int count = 0;
  LENET_CUDA_CHECK(cudaGetDeviceCount(&count));
  int dev = 0;
  LENET_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  LENET_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  int driver = 0, runtime = 0;
  LENET_CUDA_CHECK(cudaDriverGetVersion(&driver));
  LENET_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  auto backend = std::make_unique<KernelBackend>(
      "cuda", std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                  std::to_string(prop.minor) + "), driver " + version_string(driver) +
                  ", runtime " + version_string(runtime));
  // A kernel launch proves the driver found an image (cubin or PTX) for this GPU.
  Buffer probe = backend->allocate(sizeof(float));
  backend->zero(probe.data(), sizeof(float));
  backend->relu_forward(1, probe.as<float>(), probe.as<float>());
  backend->synchronize();
  return backend;
}

bool cuda_backend_built() { return true; }

}  // namespace lenet::engine
