// Device memory helpers shared by lenet_kernels and lenet_kernels_sim: on a GPU they wrap the
// CUDA runtime; in the simulator "device" memory is host memory. All throw lenet::CudaError.
// The functions take raw pointers; DeviceBuffer<T> (at the end) owns an allocation and frees it.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include <lenet/error.h>
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

// An owning, move-only array of n elements of T in device memory: device_malloc in the
// constructor, device_free in the destructor (or reset()). T moves as bytes, so it must be
// trivially copyable. Copies go through copy_to_device and copy_to_host above (ordered on
// stream, complete before they return, lenet::CudaError on failure); a count larger than
// size() throws std::invalid_argument. A moved-from buffer is empty.
//
//   DeviceBuffer<float> x(host_x);                 // allocates host_x.size() floats and copies
//   DeviceBuffer<float> y(x.size());               // uninitialized
//   relu_forward(x.size(), x.data(), y.data(), stream);
//   std::vector<float> host_y = y.to_vector(stream);
template <typename T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "DeviceBuffer<T>: T is copied as bytes, so it must be trivially copyable");

 public:
  DeviceBuffer() = default;
  // n uninitialized elements; n == 0 allocates nothing and data() is null.
  explicit DeviceBuffer(std::size_t n)
      : data_(static_cast<T*>(device_malloc(checked_bytes(n)))), size_(n) {}
  // host.size() elements holding a copy of host.
  explicit DeviceBuffer(const std::vector<T>& host, cudaStream_t stream = nullptr)
      : DeviceBuffer(host.size()) {
    copy_from_host(host, stream);
  }
  ~DeviceBuffer() { device_free(data_); }

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  // Frees this buffer's memory and takes other's.
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer(std::move(other)).swap(*this);
    return *this;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }
  bool empty() const noexcept { return size_ == 0; }

  // Copies n elements from host memory at src into the first n elements (src may be null when
  // n == 0).
  void copy_from_host(const T* src, std::size_t n, cudaStream_t stream = nullptr) {
    check_count("copy_from_host", n);
    if (n > 0) check_not_null("DeviceBuffer::copy_from_host", "src", src);
    copy_to_device(data_, src, n * sizeof(T), stream);
  }
  void copy_from_host(const std::vector<T>& src, cudaStream_t stream = nullptr) {
    copy_from_host(src.data(), src.size(), stream);
  }

  // Copies the first n elements into host memory at dst (dst may be null when n == 0).
  void copy_to_host(T* dst, std::size_t n, cudaStream_t stream = nullptr) const {
    check_count("copy_to_host", n);
    if (n > 0) check_not_null("DeviceBuffer::copy_to_host", "dst", dst);
    lenet::kernels::copy_to_host(dst, data_, n * sizeof(T), stream);
  }
  // Every element, copied into a new host vector.
  std::vector<T> to_vector(cudaStream_t stream = nullptr) const {
    std::vector<T> host(size_);
    copy_to_host(host.data(), size_, stream);
    return host;
  }

  // Frees the memory now; the buffer is empty afterwards.
  void reset() noexcept {
    device_free(data_);
    data_ = nullptr;
    size_ = 0;
  }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  static std::size_t checked_bytes(std::size_t n) {
    LENET_CHECK(n <= std::numeric_limits<std::size_t>::max() / sizeof(T),
                "DeviceBuffer: " << n << " elements of " << sizeof(T)
                                 << " bytes do not fit in size_t");
    return n * sizeof(T);
  }
  void check_count(const char* op, std::size_t n) const {
    LENET_CHECK(n <= size_, "DeviceBuffer::" << op << ": " << n
                                             << " elements, but the buffer holds " << size_);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
