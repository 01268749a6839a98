// Which image of this library the driver loaded: cudaFuncGetAttributes on a kernel of this file,
// which nvcc compiles with the same architecture list as every launcher file, so its image
// stands for all of them.
#include <lenet/kernels/loaded_code.h>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

// Never launched: only its loaded image is asked for.
__global__ void probe_kernel(int* out) {
  if (out != nullptr) *out = 0;
}

}  // namespace

LoadedCode loaded_code() {
  LoadedCode v;
#if defined(LENET_SIM)
  static_cast<void>(&probe_kernel);
  v.simulator = true;
#else
  cudaFuncAttributes attributes{};
  LENET_CUDA_CHECK(cudaFuncGetAttributes(&attributes, probe_kernel));
  v.binary_version = attributes.binaryVersion;
  v.ptx_version = attributes.ptxVersion;
#endif
  return v;
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
