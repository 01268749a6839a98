// --device auto: try the GPU, fall back to the CPU, and say why in one sentence.
#include <exception>
#include <string>

#include <lenet/engine/backend.h>
#include <lenet/error.h>

namespace lenet::engine {

std::string explain_cuda_failure(int code, const std::string& what) {
  switch (code) {
    case 35:  // cudaErrorInsufficientDriver
      return "no usable CUDA driver (none is installed, or it is older than this build's CUDA "
             "runtime)";
    case 100:  // cudaErrorNoDevice
      return "the CUDA driver sees no GPU";
    case 209:  // cudaErrorNoKernelImageForDevice
      return "this build has no kernel image (cubin or PTX) this GPU can load";
    case 222:  // cudaErrorUnsupportedPtxVersion
      return "the driver is too old to JIT-compile this build's PTX for this GPU";
    case 999:  // cudaErrorUnknown
      return "the CUDA driver failed to initialize (" + what + ")";
    default:
      return "the GPU is not usable: " + what;
  }
}

AutoChoice make_auto_backend(int cpu_threads) {
  AutoChoice choice;
  if (!cuda_backend_built()) {
    choice.reason = "this build has no cuda backend (configured without CUDA)";
  } else {
    try {
      choice.backend = make_cuda_backend();
      choice.reason = "a usable GPU is present";
      return choice;
    } catch (const CudaError& e) {
      choice.reason = explain_cuda_failure(e.code(), e.what());
    }
  }
  choice.backend = make_cpu_backend(cpu_threads);
  return choice;
}

}  // namespace lenet::engine
