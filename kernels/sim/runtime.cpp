// The simulated CUDA runtime: one device whose memory is host memory, synchronous work.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <lenet/sim/runtime.h>

#include "registry.h"

namespace lenet::sim::runtime {
namespace {

constexpr std::size_t kAlignment = 256;  // what cudaMalloc guarantees

struct Registry {
  std::mutex mutex;
  std::map<std::uintptr_t, std::size_t> allocations;  // start -> bytes
  std::set<void*> host_allocations;                    // from cudaMallocHost
  std::set<cudaStream_t> streams;
  // Streams capturing now: what they recorded, whether a forbidden call invalidated it, and
  // the host thread that began the capture.
  struct Capture {
    std::vector<std::function<void()>> work;
    bool invalidated = false;
    std::thread::id thread;
  };
  std::map<cudaStream_t, Capture> captures;
};

// A graph and its executable form: the recorded work, in order.
struct Recording {
  std::vector<std::function<void()>> work;
};

// Never destroyed: memory may be freed from static destructors of other translation units.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

thread_local cudaError_t t_last_error = cudaSuccess;
std::atomic<std::uint64_t> g_graph_launches{0};  // lenet::sim::graph_launch_count()

cudaError_t fail(cudaError_t error) {
  t_last_error = error;
  return error;
}

bool device_range_locked(const Registry& r, const void* ptr, std::size_t bytes) {
  const auto p = reinterpret_cast<std::uintptr_t>(ptr);
  auto it = r.allocations.upper_bound(p);
  if (it == r.allocations.begin()) return false;
  --it;
  return p >= it->first && bytes <= it->second && p - it->first <= it->second - bytes;
}

}  // namespace

namespace detail {

bool capturing(cudaStream_t stream) {
  if (stream == nullptr) return false;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.captures.count(stream) != 0;
}

void record(cudaStream_t stream, std::function<void()> work) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.captures.at(stream).work.push_back(std::move(work));
}

bool valid_stream(cudaStream_t stream) {
  if (stream == nullptr) return true;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.streams.count(stream) != 0;
}

bool device_range(const void* ptr, std::size_t bytes) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return device_range_locked(r, ptr, bytes);
}

}  // namespace detail

namespace {

// 256-byte aligned memory of exactly bytes, entered into the registry by record(registry, p)
// under its lock. The exact size, not rounded up: under AddressSanitizer a kernel that reads or
// writes past the end of a buffer is reported. 0 bytes: a null pointer and success.
template <typename Record>
cudaError_t allocate_tracked(void** ptr, std::size_t bytes, Record record) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* p = nullptr;
  if (posix_memalign(&p, kAlignment, bytes) != 0) return fail(cudaErrorMemoryAllocation);
  Registry& r = registry();
  try {
    std::lock_guard<std::mutex> lock(r.mutex);
    record(r, p);
  } catch (...) {
    std::free(p);
    return fail(cudaErrorMemoryAllocation);
  }
  *ptr = p;
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  return allocate_tracked(ptr, bytes, [bytes](Registry& r, void* p) {
    r.allocations.emplace(reinterpret_cast<std::uintptr_t>(p), bytes);
  });
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
    if (it == r.allocations.end()) return fail(cudaErrorInvalidValue);
    r.allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  return allocate_tracked(ptr, bytes, [](Registry& r, void* p) { r.host_allocations.insert(p); });
}

cudaError_t cudaFreeHost(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.host_allocations.erase(ptr) == 0) return fail(cudaErrorInvalidValue);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return fail(cudaErrorInvalidValue);
  bool dst_device = false;
  bool src_device = false;
  switch (kind) {
    case cudaMemcpyHostToHost: break;
    case cudaMemcpyHostToDevice: dst_device = true; break;
    case cudaMemcpyDeviceToHost: src_device = true; break;
    case cudaMemcpyDeviceToDevice: dst_device = src_device = true; break;
    case cudaMemcpyDefault: break;
    default: return fail(cudaErrorInvalidMemcpyDirection);
  }
  if (dst_device && !detail::device_range(dst, bytes)) return fail(cudaErrorInvalidValue);
  if (src_device && !detail::device_range(src, bytes)) return fail(cudaErrorInvalidValue);
  if (detail::capturing(stream)) {
    detail::record(stream, [dst, src, bytes] { std::memcpy(dst, src, bytes); });
  } else {
    std::memcpy(dst, src, bytes);
  }
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream) {
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!detail::device_range(dst, bytes)) return fail(cudaErrorInvalidValue);
  if (detail::capturing(stream)) {
    detail::record(stream, [dst, value, bytes] { std::memset(dst, value, bytes); });
  } else {
    std::memset(dst, value, bytes);
  }
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  return cudaMemsetAsync(dst, value, bytes, nullptr);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (stream == nullptr) return fail(cudaErrorInvalidValue);
  if (flags != cudaStreamDefault && flags != cudaStreamNonBlocking) {
    return fail(cudaErrorInvalidValue);
  }
  // A distinct address per stream; its contents are never used.
  auto* handle = reinterpret_cast<cudaStream_t>(new char);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.streams.insert(handle);
  *stream = handle;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (stream == nullptr || r.streams.erase(stream) == 0) {
      return fail(cudaErrorInvalidResourceHandle);
    }
  }
  delete reinterpret_cast<char*>(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (detail::capturing(stream)) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.captures.at(stream).invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  if (stream == nullptr) return fail(cudaErrorStreamCaptureUnsupported);
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed) {
    return fail(cudaErrorInvalidValue);
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  Registry::Capture capture;
  capture.thread = std::this_thread::get_id();
  if (!r.captures.emplace(stream, std::move(capture)).second) return fail(cudaErrorIllegalState);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (graph == nullptr) return fail(cudaErrorInvalidValue);
  *graph = nullptr;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto it = r.captures.find(stream);
  if (it == r.captures.end()) return fail(cudaErrorIllegalState);
  if (it->second.thread != std::this_thread::get_id()) {
    return fail(cudaErrorStreamCaptureWrongThread);
  }
  Registry::Capture capture = std::move(it->second);
  r.captures.erase(it);
  if (capture.invalidated) return fail(cudaErrorStreamCaptureInvalidated);
  *graph = reinterpret_cast<cudaGraph_t>(new Recording{std::move(capture.work)});
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (status == nullptr) return fail(cudaErrorInvalidValue);
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto it = stream == nullptr ? r.captures.end() : r.captures.find(stream);
  *status = it == r.captures.end()    ? cudaStreamCaptureStatusNone
            : it->second.invalidated ? cudaStreamCaptureStatusInvalidated
                                     : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                 unsigned long long /*flags*/) {
  if (exec == nullptr || graph == nullptr) return fail(cudaErrorInvalidValue);
  *exec = reinterpret_cast<cudaGraphExec_t>(
      new Recording{reinterpret_cast<const Recording*>(graph)->work});
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (exec == nullptr) return fail(cudaErrorInvalidValue);
  if (!detail::valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (detail::capturing(stream)) return fail(cudaErrorStreamCaptureUnsupported);
  g_graph_launches.fetch_add(1, std::memory_order_relaxed);
  for (const auto& work : reinterpret_cast<const Recording*>(exec)->work) work();
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  if (graph == nullptr) return fail(cudaErrorInvalidValue);
  delete reinterpret_cast<Recording*>(graph);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  if (exec == nullptr) return fail(cudaErrorInvalidValue);
  delete reinterpret_cast<Recording*>(exec);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  const cudaError_t error = t_last_error;
  t_last_error = cudaSuccess;
  return error;
}

cudaError_t cudaPeekAtLastError() { return t_last_error; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidValue);
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is "
                                                   "capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error "
                                                   "during capture";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture "
                                                   "sequence from another thread";
  }
  return "unrecognized error code";
}

}  // namespace lenet::sim::runtime

namespace lenet::sim {

std::uint64_t graph_launch_count() noexcept {
  return runtime::g_graph_launches.load(std::memory_order_relaxed);
}

}  // namespace lenet::sim
