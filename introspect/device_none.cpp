// device.h without CUDA: the build has no runtime to ask, and says so.
#include "device_runtime.h"

namespace lenet::introspect::detail {

void query_cuda_runtime(MachineInfo& info) { info.has_cuda_runtime = false; }

std::optional<int> current_device(const MachineInfo& /*info*/, CudaFailure* failure) {
  failure->call = "cudaGetDevice";
  failure->cause = kNoCudaRuntime;
  return std::nullopt;
}

}  // namespace lenet::introspect::detail
