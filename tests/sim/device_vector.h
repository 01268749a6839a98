// A device buffer for simulator tests, through lenet::kernels' memory helpers (host memory in
// lenet_kernels_sim).
#pragma once

#include <cstddef>
#include <vector>

#include <lenet/kernels/memory.h>

namespace lenet::sim::testing {

template <typename T>
class DeviceVector {
 public:
  explicit DeviceVector(const std::vector<T>& host)
      : size_(host.size()),
        data_(static_cast<T*>(lenet::kernels::device_malloc(host.size() * sizeof(T)))) {
    lenet::kernels::copy_to_device(data_, host.data(), size_ * sizeof(T));
  }
  DeviceVector(std::size_t size, T fill) : DeviceVector(std::vector<T>(size, fill)) {}
  ~DeviceVector() { lenet::kernels::device_free(data_); }
  DeviceVector(const DeviceVector&) = delete;
  DeviceVector& operator=(const DeviceVector&) = delete;

  T* get() const { return data_; }
  std::size_t size() const { return size_; }
  std::vector<T> to_host() const {
    std::vector<T> host(size_);
    lenet::kernels::copy_to_host(host.data(), data_, size_ * sizeof(T));
    return host;
  }

 private:
  std::size_t size_;
  T* data_;
};

}  // namespace lenet::sim::testing
