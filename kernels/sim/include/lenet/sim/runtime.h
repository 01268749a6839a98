// The subset of the CUDA runtime API that lenet's launchers, memory helpers and the engine's
// sim backend use, for simulator builds (LENET_SIM): one simulated device whose "device" memory
// is host memory.
//
// Error codes and memcpy kinds have CUDA's numeric values, and cudaStream_t is CUDA's own
// typedef, so launcher signatures read the same in both libraries. Everything else lives in
// lenet::sim::runtime and is brought to global scope by using-declarations: no global symbol
// of this library clashes with libcudart when a program links lenet::kernels and
// lenet::kernels_sim. A translation unit includes either this header or CUDA's, never both.
//
// Work is synchronous: a copy, memset or kernel launch has finished when the call returns, and
// streams only order what is already ordered. The exception is stream capture (CUDA graphs):
// between cudaStreamBeginCapture and cudaStreamEndCapture the launches, async copies and
// memsets queued on that stream are recorded, not run; cudaGraphLaunch runs the recording.
#pragma once

#include <cstddef>
#include <functional>

#include <lenet/sim/vector_types.h>

typedef struct CUstream_st* cudaStream_t;
typedef struct CUgraph_st* cudaGraph_t;
typedef struct CUgraphExec_st* cudaGraphExec_t;

namespace lenet::sim::runtime {

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorLaunchFailure = 719,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureWrongThread = 908,
};
using cudaError_t = cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

// Allocations are 256-byte aligned like cudaMalloc's and tracked, so copies and memsets check
// that their device side lies inside one live allocation (cudaErrorInvalidValue otherwise).
cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
template <typename T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);

// Page-locked host memory on a GPU (DMA-capable, so cudaMemcpyAsync from or to it is truly
// asynchronous); here plain host memory, tracked apart from device memory: cudaFreeHost takes
// only pointers from cudaMallocHost, and a copy that names it as device memory is rejected.
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
template <typename T>
cudaError_t cudaMallocHost(T** ptr, std::size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFreeHost(void* ptr);

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes,
                            cudaStream_t stream = nullptr);

// Flags of cudaStreamCreateWithFlags, with CUDA's values. A non-blocking stream does not wait
// for the legacy default stream on a GPU; here all work is synchronous, so both behave alike.
inline constexpr unsigned int cudaStreamDefault = 0x00;
inline constexpr unsigned int cudaStreamNonBlocking = 0x01;

cudaError_t cudaStreamCreate(cudaStream_t* stream);
// flags: cudaStreamDefault or cudaStreamNonBlocking (cudaErrorInvalidValue otherwise).
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();

// Stream capture, with CUDA's names and values. Capture needs a created stream (not the legacy
// default one). While a stream captures, a call that would wait for it (cudaStreamSynchronize,
// a synchronous copy) fails with cudaErrorStreamCaptureUnsupported and invalidates the capture,
// as on a GPU; cudaStreamEndCapture then returns cudaErrorStreamCaptureInvalidated.
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
// Runs the recorded work in its order, on stream (which must not be capturing).
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

// The calling host thread's last error, reset to cudaSuccess by cudaGetLastError.
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);

namespace detail {

// For the simulator's launch: whether stream is capturing now, and recording work into it.
bool capturing(cudaStream_t stream);
void record(cudaStream_t stream, std::function<void()> work);

}  // namespace detail

}  // namespace lenet::sim::runtime

using lenet::sim::runtime::cudaDeviceSynchronize;
using lenet::sim::runtime::cudaError;
using lenet::sim::runtime::cudaError_t;
using lenet::sim::runtime::cudaErrorInvalidConfiguration;
using lenet::sim::runtime::cudaErrorInvalidDevicePointer;
using lenet::sim::runtime::cudaErrorInvalidMemcpyDirection;
using lenet::sim::runtime::cudaErrorInvalidResourceHandle;
using lenet::sim::runtime::cudaErrorIllegalState;
using lenet::sim::runtime::cudaErrorInvalidValue;
using lenet::sim::runtime::cudaErrorLaunchFailure;
using lenet::sim::runtime::cudaErrorMemoryAllocation;
using lenet::sim::runtime::cudaErrorNoDevice;
using lenet::sim::runtime::cudaErrorStreamCaptureInvalidated;
using lenet::sim::runtime::cudaErrorStreamCaptureUnsupported;
using lenet::sim::runtime::cudaErrorStreamCaptureWrongThread;
using lenet::sim::runtime::cudaFree;
using lenet::sim::runtime::cudaFreeHost;
using lenet::sim::runtime::cudaGetDevice;
using lenet::sim::runtime::cudaGetDeviceCount;
using lenet::sim::runtime::cudaGetErrorName;
using lenet::sim::runtime::cudaGetErrorString;
using lenet::sim::runtime::cudaGetLastError;
using lenet::sim::runtime::cudaGraphDestroy;
using lenet::sim::runtime::cudaGraphExecDestroy;
using lenet::sim::runtime::cudaGraphInstantiate;
using lenet::sim::runtime::cudaGraphLaunch;
using lenet::sim::runtime::cudaMalloc;
using lenet::sim::runtime::cudaMallocHost;
using lenet::sim::runtime::cudaMemcpy;
using lenet::sim::runtime::cudaMemcpyAsync;
using lenet::sim::runtime::cudaMemcpyDefault;
using lenet::sim::runtime::cudaMemcpyDeviceToDevice;
using lenet::sim::runtime::cudaMemcpyDeviceToHost;
using lenet::sim::runtime::cudaMemcpyHostToDevice;
using lenet::sim::runtime::cudaMemcpyHostToHost;
using lenet::sim::runtime::cudaMemcpyKind;
using lenet::sim::runtime::cudaMemset;
using lenet::sim::runtime::cudaMemsetAsync;
using lenet::sim::runtime::cudaPeekAtLastError;
using lenet::sim::runtime::cudaSetDevice;
using lenet::sim::runtime::cudaStreamBeginCapture;
using lenet::sim::runtime::cudaStreamCaptureMode;
using lenet::sim::runtime::cudaStreamCaptureModeGlobal;
using lenet::sim::runtime::cudaStreamCaptureModeRelaxed;
using lenet::sim::runtime::cudaStreamCaptureModeThreadLocal;
using lenet::sim::runtime::cudaStreamCaptureStatus;
using lenet::sim::runtime::cudaStreamCaptureStatusActive;
using lenet::sim::runtime::cudaStreamCaptureStatusInvalidated;
using lenet::sim::runtime::cudaStreamCaptureStatusNone;
using lenet::sim::runtime::cudaStreamCreate;
using lenet::sim::runtime::cudaStreamCreateWithFlags;
using lenet::sim::runtime::cudaStreamDefault;
using lenet::sim::runtime::cudaStreamDestroy;
using lenet::sim::runtime::cudaStreamEndCapture;
using lenet::sim::runtime::cudaStreamIsCapturing;
using lenet::sim::runtime::cudaStreamNonBlocking;
using lenet::sim::runtime::cudaStreamSynchronize;
using lenet::sim::runtime::cudaSuccess;
