// Device memory helpers shared by lenet_kernels and lenet_kernels_sim: on a GPU they wrap the
// CUDA runtime; in the simulator "device" memory is host memory. All throw lenet::CudaError.
#pragma once

#include <cstddef>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// Allocates bytes of device memory; never returns null for bytes > 0 (throws instead).
void* device_malloc(std::size_t bytes);
// Frees memory from device_malloc; null is ignored. Never throws (for destructors).
void device_free(void* ptr) noexcept;

// Copies are ordered on stream and complete before they return.
void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream = nullptr);
void copy_to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream = nullptr);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes,
                           cudaStream_t stream = nullptr);
// Sets bytes of device memory to value (as cudaMemsetAsync), ordered on stream.
void device_memset(void* dst, int value, std::size_t bytes, cudaStream_t stream = nullptr);
// Waits for everything queued on stream.
void synchronize(cudaStream_t stream = nullptr);

// Number of CUDA devices this process can use; 0 when there is no driver or no device
// (never throws, so callers can decide to skip or fall back).
int device_count() noexcept;

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
