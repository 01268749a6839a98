// The CUDA runtime half of device.h: device_cuda.cpp when the build has CUDA, device_none.cpp
// otherwise, so that lenet_introspect builds either way (not installed).
#pragma once

#include <optional>

#include <lenet/introspect/device.h>

namespace lenet::introspect::detail {

// Fills has_cuda_runtime, runtime_version, driver_version, devices and failure.
void query_cuda_runtime(MachineInfo& info);

// The index of the calling thread's current CUDA device, or nothing with *failure filled.
std::optional<int> current_device(const MachineInfo& info, CudaFailure* failure);

}  // namespace lenet::introspect::detail
