#include <lenet/kernels/memory.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

void* device_malloc(std::size_t bytes) {
  void* ptr = nullptr;
  if (bytes == 0) return nullptr;
  LENET_CUDA_CHECK(cudaMalloc(&ptr, bytes));
  return ptr;
}

void device_free(void* ptr) noexcept {
  if (ptr != nullptr) static_cast<void>(LENET_CUDA_OK(cudaFree(ptr)));
}

void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  LENET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  LENET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  LENET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  LENET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void copy_device_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  LENET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
  LENET_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void device_memset(void* dst, int value, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  LENET_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, stream));
}

void synchronize(cudaStream_t stream) { LENET_CUDA_CHECK(cudaStreamSynchronize(stream)); }

int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // clear the error so later calls start clean
    return 0;
  }
  return count;
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
