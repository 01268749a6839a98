// The one way launchers start a kernel, and the grid math they share.
//
//   LENET_LAUNCH(relu_forward_kernel, grid, block, shared_bytes, stream, x, y, n);
//
// Under nvcc this is kernel<<<grid, block, shared_bytes, stream>>>(args...) followed by a check
// of the launch; under g++ with LENET_SIM it runs the same kernel in the CPU simulator. A
// template kernel whose arguments contain commas goes in parentheses:
//   LENET_LAUNCH((implicit_gemm_kernel<16, A, B, S>), grid, block, 0, stream, ...);
//
// With LENET_SYNC_LAUNCHES=1 in the environment every launch also waits for its stream and
// checks it, so an error that a kernel raises while it runs (an illegal address, say) names
// that kernel and its launcher's file and line instead of surfacing at some later call. It
// costs a synchronization per launch: a debugging switch, not for training runs. (A launch into
// a stream that is capturing a graph is not waited for: it runs when the graph does.)
//
// Every name here lives in lenet::kernels::LENET_KERNELS_ABI (cuda or sim), like the rest of the
// kernel library: the GPU and simulator builds never define the same symbol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <lenet/kernels/runtime.h>

#if defined(LENET_SIM)
#include <lenet/sim/sim.h>
#elif !defined(__CUDACC__)
#error "kernels/launch.h is for launcher files built by nvcc (lenet_kernels) or with LENET_SIM"
#endif

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {
namespace detail {

// True when LENET_SYNC_LAUNCHES=1 (read once per process); any other value leaves it off.
bool sync_launches();

// After a launch: throws lenet::CudaError naming the kernel and the launcher's file:line when
// the launch failed, and, with LENET_SYNC_LAUNCHES=1, when the kernel failed while running.
void check_launch(const char* kernel, const char* file, int line, cudaStream_t stream);

template <typename... Params, typename... Args>
void launch_kernel(const char* name, const char* file, int line, void (*kernel)(Params...),
                   dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
#if defined(LENET_SIM)
  ::lenet::sim::launch(name, kernel, grid, block, shared_bytes, stream,
                       std::forward<Args>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#endif
  check_launch(name, file, line, stream);
}

// Blocks for a 1-D grid-stride loop over n items. 65535 blocks of 256 threads is 16.7 million
// threads, more than any current GPU keeps resident, so the cap is a choice, not a limit (x
// allows 2^31 - 1 blocks); the kernels' grid-stride loops cover whatever the grid does not.
inline unsigned grid_1d(std::int64_t n, int block_size) {
  constexpr std::int64_t kMaxBlocks = 65535;
  const std::int64_t blocks = (n + block_size - 1) / block_size;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

}  // namespace detail

// Inside a kernel launched with a grid_1d grid: the indices this thread handles in a
// grid-stride loop over n items, t, t + T, t + 2T, ... below n, for global thread index t of T
// threads in the grid (any n fits any grid). relu.cu spells the same loop out.
//   for (const std::int64_t i : grid_stride(n)) y[i] = 2 * x[i];
struct GridStrideRange {
  struct Iterator {
    std::int64_t i, step;
    __device__ std::int64_t operator*() const { return i; }
    __device__ Iterator& operator++() {
      i += step;
      return *this;
    }
    __device__ bool operator!=(const Iterator& end) const { return i < end.i; }
  };
  std::int64_t first, step, n;
  __device__ Iterator begin() const { return Iterator{first, step}; }
  __device__ Iterator end() const { return Iterator{n, step}; }
};

__device__ inline GridStrideRange grid_stride(std::int64_t n) {
  return GridStrideRange{static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x,
                         static_cast<std::int64_t>(gridDim.x) * blockDim.x, n};
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels

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
  ::lenet::kernels::detail::launch_kernel(#kernel, __FILE__, __LINE__, kernel, (grid), (block), \
                                          (shared_bytes), (stream), __VA_ARGS__)
