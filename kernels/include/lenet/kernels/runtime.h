// The CUDA runtime seen by the kernel launchers and their callers.
//
// lenet_kernels (nvcc) uses the real CUDA runtime. lenet_kernels_sim (g++, LENET_SIM defined
// by its target) uses the simulator's stand-in for the same subset of the runtime API, whose
// device memory is host memory. Both name their launchers lenet::kernels::<op>; an inline
// namespace (cuda or sim) keeps the two libraries' symbols apart, so one program can link
// both as long as each translation unit includes the headers of only one.
#pragma once

#include <lenet/error.h>

#if defined(LENET_SIM)
#include <lenet/sim/runtime.h>
#define LENET_KERNELS_ABI sim
#else
#include <cuda_runtime_api.h>
#define LENET_KERNELS_ABI cuda
#endif

#include <string>

namespace lenet::detail {

inline std::string cuda_error_message(cudaError_t err, const char* expr, const char* file,
                                      int line) {
  std::string msg = std::string(file) + ":" + std::to_string(line) + ": " + expr + ": ";
  msg += cudaGetErrorName(err);
  msg += " (" + std::to_string(static_cast<int>(err)) + "): ";
  msg += cudaGetErrorString(err);
  return msg;
}

}  // namespace lenet::detail

// Throws lenet::CudaError when a runtime call fails:
//   "kernels/memory.cu:12: cudaMalloc(&p, bytes): cudaErrorInsufficientDriver (35): ..."
#define LENET_CUDA_CHECK(expr)                                                             \
  do {                                                                                     \
    const cudaError_t lenet_cuda_err_ = (expr);                                            \
    if (lenet_cuda_err_ != cudaSuccess) {                                                  \
      throw ::lenet::CudaError(                                                            \
          static_cast<int>(lenet_cuda_err_),                                               \
          ::lenet::detail::cuda_error_message(lenet_cuda_err_, #expr, __FILE__, __LINE__)); \
    }                                                                                      \
  } while (0)

// For destructors and other places that must not throw: evaluates to true on success.
#define LENET_CUDA_OK(expr) ((expr) == cudaSuccess)
