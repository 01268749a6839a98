// Device buffers for kernel tests. The same test source builds against lenet_kernels (GPU) and
// lenet_kernels_sim (simulator, LENET_SIM defined): lenet::kernels::device_malloc and the copy
// helpers work for both, so a test body never knows which executor it drives.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/error.h>
#include <lenet/kernels/memory.h>

namespace lenet::test {

// Which executor this test binary drives, for messages.
#if defined(LENET_SIM)
inline constexpr const char* kExecutor = "sim";
#else
inline constexpr const char* kExecutor = "cuda";
#endif

// Empty when the kernels can run here (always in the simulator); otherwise why not, as the
// CUDA runtime says it: device_count() hides the error, so a one-byte allocation repeats the
// failing start-up and its lenet::CudaError carries the error's name, number and text, e.g.
// "kernels/memory.cu:9: cudaMalloc(&ptr, bytes): cudaErrorInsufficientDriver (35): CUDA driver
// version is insufficient for CUDA runtime version".
inline std::string executor_unavailable_reason() {
  if (lenet::kernels::device_count() > 0) return "";
  try {
    lenet::kernels::device_free(lenet::kernels::device_malloc(1));
  } catch (const lenet::CudaError& e) {
    return e.what();
  }
  return "cudaGetDeviceCount failed, yet a one-byte cudaMalloc succeeded";
}

// An owning, move-only device array of T.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(std::size_t n)
      : ptr_(static_cast<T*>(lenet::kernels::device_malloc(n * sizeof(T)))), size_(n) {}
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { lenet::kernels::device_free(ptr_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& other) noexcept : ptr_(other.ptr_), size_(other.size_) {
    other.ptr_ = nullptr;
    other.size_ = 0;
  }
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(size_, other.size_);
    return *this;
  }

  T* get() { return ptr_; }
  const T* get() const { return ptr_; }
  std::size_t size() const { return size_; }

  void upload(const std::vector<T>& host) {
    EXPECT_EQ(host.size(), size_);
    lenet::kernels::copy_to_device(ptr_, host.data(), size_ * sizeof(T));
  }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    lenet::kernels::copy_to_host(host.data(), ptr_, size_ * sizeof(T));
    return host;
  }
  // Fills the array with NaN (floating T) or all-ones bytes (integers), so an output element
  // the kernel forgets to write shows up in the comparison.
  void poison() {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
      upload(std::vector<T>(size_, std::numeric_limits<T>::quiet_NaN()));
    } else {
      lenet::kernels::device_memset(ptr_, 0xff, size_ * sizeof(T));
      lenet::kernels::synchronize();
    }
  }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0;
};

// A device array of n elements, already poisoned: for an output the code under test must write
// in full.
template <typename T>
DeviceArray<T> poisoned(std::size_t n) {
  DeviceArray<T> array(n);
  array.poison();
  return array;
}

// launch(out) with out a poisoned device array of n elements; returns what out holds afterwards.
template <typename T, typename Launch>
std::vector<T> run_on_poisoned(std::size_t n, Launch&& launch) {
  DeviceArray<T> out = poisoned<T>(n);
  launch(out.get());
  return out.download();
}

}  // namespace lenet::test
