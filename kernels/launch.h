// The one way launchers start a kernel, and the grid math they share.
//
//   LENET_LAUNCH(relu_forward_kernel, grid, block, shared_bytes, stream, x, y, n);
//
// Under nvcc this is kernel<<<grid, block, shared_bytes, stream>>>(args...) followed by a check
// of the launch; under g++ with LENET_SIM it runs the same kernel in the CPU simulator. A
// template kernel whose arguments contain commas goes in parentheses:
//   LENET_LAUNCH((gemm_kernel<16, 16>), grid, block, 0, stream, ...);
#pragma once

#include <cstdint>
#include <utility>

#include <lenet/kernels/runtime.h>

#if defined(LENET_SIM)
#include <lenet/sim/sim.h>
#elif !defined(__CUDACC__)
#error "kernels/launch.h is for launcher files built by nvcc (lenet_kernels) or with LENET_SIM"
#endif

namespace lenet::kernels::detail {

#if !defined(LENET_SIM)
template <typename... Params, typename... Args>
void launch_kernel(const char* /*name*/, void (*kernel)(Params...), dim3 grid, dim3 block,
                   std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
}
#else
template <typename... Params, typename... Args>
void launch_kernel(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                   std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  ::lenet::sim::launch(name, kernel, grid, block, shared_bytes, stream,
                       std::forward<Args>(args)...);
}
#endif

// Blocks for a 1-D grid-stride loop over n items: enough to fill any current GPU, capped so
// the grid stays within limits; kernels loop over whatever the grid does not cover.
inline unsigned grid_1d(std::int64_t n, int block_size) {
  constexpr std::int64_t kMaxBlocks = 65535;
  const std::int64_t blocks = (n + block_size - 1) / block_size;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

}  // namespace lenet::kernels::detail

// Inside a kernel: declares `type* name` pointing at the block's dynamic shared memory, whose
// size is the launch's shared_bytes. In the simulator it is filled with NaN bytes (0xFF) for
// every block, so a read of an element no thread wrote shows up.
//   LENET_DYNAMIC_SHARED(float, partial);
#if defined(LENET_SIM)
// Defined by <lenet/sim/sim.h> (included above), for kernels outside this tree too.
#else
// One name and type for every kernel: extern __shared__ arrays of different types clash.
#define LENET_DYNAMIC_SHARED(type, name)                                        \
  extern __shared__ __align__(16) unsigned char lenet_dynamic_shared_bytes_[]; \
  type* name = reinterpret_cast<type*>(lenet_dynamic_shared_bytes_)
#endif

#define LENET_LAUNCH(kernel, grid, block, shared_bytes, stream, ...)                          \
  do {                                                                                       \
    ::lenet::kernels::detail::launch_kernel(#kernel, kernel, (grid), (block), (shared_bytes), \
                                            (stream), __VA_ARGS__);                          \
    LENET_CUDA_CHECK(cudaGetLastError());                                                    \
  } while (0)
