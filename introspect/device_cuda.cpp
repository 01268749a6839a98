// device.h with CUDA: the runtime's answers. Only queries that create no context are used, so
// asking costs nothing on the GPU and cannot fail for want of memory.
#include <cuda_runtime_api.h>

#include "device_runtime.h"

namespace lenet::introspect::detail {

namespace {

CudaFailure failure_of(const char* call, cudaError_t err, const MachineInfo& info) {
  CudaFailure f;
  f.call = call;
  f.code = static_cast<int>(err);
  f.name = cudaGetErrorName(err);
  f.message = cudaGetErrorString(err);
  f.cause = explain_cuda_error(f.code, info.runtime_version, info.driver_version);
  return f;
}

}  // namespace

void query_cuda_runtime(MachineInfo& info) {
  info.has_cuda_runtime = true;
  // Both work without a driver: the runtime knows its own version, and reports driver 0.
  if (cudaRuntimeGetVersion(&info.runtime_version) != cudaSuccess) info.runtime_version = 0;
  if (cudaDriverGetVersion(&info.driver_version) != cudaSuccess) info.driver_version = 0;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // leave no sticky error for the program's own calls
    info.failure = failure_of("cudaGetDeviceCount", err, info);
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    const cudaError_t perr = cudaGetDeviceProperties(&prop, i);
    if (perr != cudaSuccess) {
      static_cast<void>(cudaGetLastError());
      info.failure = failure_of("cudaGetDeviceProperties", perr, info);
      return;
    }
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.cc = {prop.major, prop.minor};
    d.multiprocessors = prop.multiProcessorCount;
    d.memory_bytes = prop.totalGlobalMem;
    info.devices.push_back(d);
  }
}

std::optional<int> current_device(const MachineInfo& info, CudaFailure* failure) {
  int dev = 0;
  const cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) {
    static_cast<void>(cudaGetLastError());
    *failure = failure_of("cudaGetDevice", err, info);
    return std::nullopt;
  }
  return dev;
}

}  // namespace lenet::introspect::detail
