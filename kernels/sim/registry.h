// What the simulated runtime knows about live allocations and streams, for the checks that
// launches, copies and memsets make.
#pragma once

#include <cstddef>

#include <lenet/sim/runtime.h>

namespace lenet::sim::runtime::detail {

// True for the default stream (null) and for streams from cudaStreamCreate not yet destroyed.
bool valid_stream(cudaStream_t stream);

// True when [ptr, ptr + bytes) lies inside one live cudaMalloc allocation.
bool device_range(const void* ptr, std::size_t bytes);

}  // namespace lenet::sim::runtime::detail
