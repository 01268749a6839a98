// Settings of the CPU simulator and the errors it reports. Safe to include anywhere: unlike
// <lenet/sim/sim.h> it defines no CUDA keywords.
//
// Settings are process-wide and read at each launch. Their initial values come from the
// environment the first time they are needed:
//   LENET_SIM_ORDER=forward|reverse|random[:seed]   order of threads and blocks (forward)
//   LENET_SIM_THREADS=N|auto                         OS threads that run blocks (1)
// A malformed value makes that first use throw std::invalid_argument naming the variable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <lenet/error.h>
#include <lenet/sim/vector_types.h>

namespace lenet::sim {

// In what order the simulator runs the threads of a block between two synchronization
// points, and the blocks of a grid. A correct kernel gives the same answer in every order
// (up to float rounding where it accumulates with atomics); a missing barrier shows up as a
// wrong answer in at least one.
enum class Order {
  kForward,  // thread 0, 1, 2, ... and block 0, 1, 2, ...
  kReverse,  // the last thread first, and the last block first
  kRandom,   // a new seeded shuffle at every pass; the same seed gives the same run
};

struct Options {
  Order order = Order::kForward;
  std::uint64_t seed = 1;  // for Order::kRandom
  // OS threads that run blocks; each block runs entirely on one of them. 1 makes every
  // launch deterministic (also with atomics); more makes big grids faster.
  int threads = 1;
  // Dynamic shared memory a launch may request per block, like a GPU launch without the
  // opt-in attribute (48 KiB).
  std::size_t shared_memory_limit = 48 * 1024;
};

// The settings the next launch uses.
Options options();
void set_options(const Options& options);
void set_order(Order order, std::uint64_t seed = 1);
// threads >= 1, or 0 for one per hardware thread.
void set_threads(int threads);
void set_shared_memory_limit(std::size_t bytes);

// "forward", "reverse", "random" or "random:<seed>" (seed in decimal); throws
// std::invalid_argument naming what was wrong.
Options parse_order(std::string_view text, Options base = {});
std::string to_string(Order order, std::uint64_t seed = 1);
// "N" (N >= 0) or "auto" (0: one per hardware thread), as LENET_SIM_THREADS takes it.
int parse_threads(std::string_view text);

// Applies options for its lifetime and restores the previous ones (tests, tools).
class ScopedOptions {
 public:
  explicit ScopedOptions(const Options& options);
  ~ScopedOptions();
  ScopedOptions(const ScopedOptions&) = delete;
  ScopedOptions& operator=(const ScopedOptions&) = delete;

 private:
  Options saved_;
};

// Kernel launches this process has run in the simulator (every OS thread, every kernel):
// a program that links lenet::kernels and lenet::kernels_sim can prove that its sim backend's
// work ran here and not on a GPU. Counts a launch once its configuration is accepted.
std::uint64_t launch_count() noexcept;

// cudaGraphLaunch calls this process has made in the simulator. The kernels a graph runs count
// in launch_count() as they run, once per replay.
std::uint64_t graph_launch_count() noexcept;

// A kernel did something the simulator refuses to run: a warp collective whose mask leaves
// out the calling lane, names lanes that do not exist, or reads a lane outside the mask.
// The message names the kernel, the block and the thread. Its code() is
// cudaErrorLaunchFailure (719): on a GPU the same kernel fails or computes garbage.
class SimError : public CudaError {
 public:
  SimError(const std::string& kernel, dim3 block, dim3 thread, const std::string& what);
  const std::string& kernel() const noexcept { return kernel_; }
  dim3 block() const noexcept { return block_; }
  dim3 thread() const noexcept { return thread_; }

 private:
  std::string kernel_;
  dim3 block_;
  dim3 thread_;
};

// A synchronization point that not every thread it names reaches: __syncthreads() in
// divergent code or after an early return, threads at different __syncthreads() calls, or a
// warp collective (__shfl_*_sync, __ballot_sync, __syncwarp, ...) some lane of its mask never
// joins. On a GPU such a kernel hangs or gives undefined results; the simulator stops the
// launch instead. thread() is a thread left waiting.
class BarrierDivergence : public SimError {
 public:
  using SimError::SimError;
};

}  // namespace lenet::sim
