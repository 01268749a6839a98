#include <lenet/kernels/image.h>

#if !defined(LENET_SIM)
#include "relu.cuh"
#endif

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

ImageVersion loaded_image_version() {
  ImageVersion v;
#if defined(LENET_SIM)
  v.simulator = true;
#else
  // This file's copy of the (static) ReLU kernel is compiled with the same architecture list
  // as every launcher file, so its image stands for all of them.
  cudaFuncAttributes attributes{};
  LENET_CUDA_CHECK(cudaFuncGetAttributes(&attributes, relu_forward_kernel));
  v.binary_version = attributes.binaryVersion;
  v.ptx_version = attributes.ptxVersion;
#endif
  return v;
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
