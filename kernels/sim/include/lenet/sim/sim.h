// The CUDA kernel language for g++: include this (through kernels/launch.h) and kernel source
// written in lenet's portable subset compiles as C++ and runs in the CPU simulator.
//
// Supported: __global__, __device__, __host__, __forceinline__, __noinline__, __align__,
// __launch_bounds__, __restrict__ (g++ knows it); threadIdx, blockIdx, blockDim, gridDim,
// warpSize; __shared__ arrays declared in kernels and device functions; dynamic shared memory
// through LENET_DYNAMIC_SHARED; __syncthreads(), __syncwarp(),
// __shfl_sync, __shfl_up_sync, __shfl_down_sync, __shfl_xor_sync, __ballot_sync, __any_sync,
// __all_sync, __activemask(); atomicAdd, atomicSub, atomicExch, atomicMin, atomicMax,
// atomicCAS; __ldg; CUDA's float math functions and intrinsics (expf, __expf, rsqrtf,
// __fdividef, fmaxf, min, max, ...).
//
// How it runs (docs/simulator.md): every CUDA thread is a Boost.Context fiber; the threads of
// a block take turns on one OS thread, switching only at __syncthreads() and warp
// collectives, in the order set in <lenet/sim/options.h>. __shared__ becomes a thread_local
// static, so the fibers of a block, which share an OS thread, share one copy.
//
// Everything here lives in lenet::sim; CUDA's names reach global scope by using-declarations
// and macros, only in the translation units that include this header. Never include CUDA's
// own headers in the same translation unit.
#pragma once

#include <math.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <lenet/sim/options.h>
#include <lenet/sim/runtime.h>
#include <lenet/sim/vector_types.h>

// nvcc references every kernel (registration) and strips device functions from host code, so
// an unused static kernel or device function in a header draws no warning there; nor here.
#define __global__ __attribute__((unused))
#define __device__ __attribute__((unused))
#define __host__
#define __forceinline__ inline
// Empty rather than __attribute__((noinline)): libstdc++ writes __attribute__((__noinline__)),
// which must stay valid in headers included after this one (an empty attribute list is).
#define __noinline__
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
// One copy per OS thread; a block's fibers never leave theirs, so they all see the same one.
#define __shared__ static thread_local
// The call site takes part in the check that every thread of the block waits at the same
// barrier.
#define __syncthreads() ::lenet::sim::detail::sync_threads(__FILE__, __LINE__)
// Inside a kernel: `type* name` pointing at the block's dynamic shared memory (the launch's
// shared_bytes), refilled with 0xFF bytes (NaN as float) for every block. kernels/launch.h
// defines the nvcc equivalent.
#define LENET_DYNAMIC_SHARED(type, name) \
  type* name = reinterpret_cast<type*>(::lenet::sim::detail::dynamic_shared_memory())

namespace lenet::sim {

// Set by the simulator before each thread (fiber) runs.
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace detail {

struct LaunchConfig {
  const char* kernel;
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes;
  cudaStream_t stream;
};

// Runs body(context) once per CUDA thread of the grid; throws what a thread throws, or
// lenet::CudaError / SimError / BarrierDivergence.
void run_grid(const LaunchConfig& config, void (*body)(void*), void* context);

// run_grid now, or, on a stream that is capturing, a check of the configuration now and
// run_grid when the recorded graph is launched (context kept alive until then).
void launch_or_record(const LaunchConfig& config, void (*body)(void*),
                      std::shared_ptr<const void> context);

void sync_threads(const char* file, int line);

enum class WarpOp : std::uint8_t {
  kShfl,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kSyncWarp,
};
// Waits until every lane of mask has called the same collective with the same mask, then
// returns this lane's result (value of the source lane, or the ballot).
std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int param,
                              int width);
unsigned active_mask();

// The block's dynamic shared memory: launch size, refilled with 0xFF bytes (NaN as float)
// for every block.
inline thread_local unsigned char* dynamic_shared = nullptr;
inline unsigned char* dynamic_shared_memory() { return dynamic_shared; }

template <typename T>
T warp_shuffle(WarpOp op, unsigned mask, T var, int param, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uint64_t),
                "warp shuffles move values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = warp_collective(op, mask, bits, param, width);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

template <typename T>
T atomic_update_cas(T* address, T (*update)(T, T), T val) {
  T old;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  T desired = update(old, val);
  while (!__atomic_compare_exchange(address, &old, &desired, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
    desired = update(old, val);
  }
  return old;
}

}  // namespace detail

namespace device {

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  detail::warp_collective(detail::WarpOp::kSyncWarp, mask, 0, 0, warpSize);
}
inline unsigned __activemask() { return detail::active_mask(); }

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  return detail::warp_shuffle(detail::WarpOp::kShfl, mask, var, src_lane, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return detail::warp_shuffle(detail::WarpOp::kShflUp, mask, var, static_cast<int>(delta),
                              width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return detail::warp_shuffle(detail::WarpOp::kShflDown, mask, var, static_cast<int>(delta),
                              width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  return detail::warp_shuffle(detail::WarpOp::kShflXor, mask, var, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(
      detail::warp_collective(detail::WarpOp::kBallot, mask, predicate != 0, 0, warpSize));
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      detail::warp_collective(detail::WarpOp::kAny, mask, predicate != 0, 0, warpSize));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      detail::warp_collective(detail::WarpOp::kAll, mask, predicate != 0, 0, warpSize));
}

// Blocks may run on several OS threads at once (LENET_SIM_THREADS), so atomics are real
// atomics. Relaxed, as CUDA's are.
template <typename T>
T atomic_fetch_add(T* address, T val) {
  if constexpr (std::is_integral_v<T>) {
    return __atomic_fetch_add(address, val, __ATOMIC_RELAXED);
  } else {
    return detail::atomic_update_cas<T>(
        address, [](T a, T b) { return a + b; }, val);
  }
}
inline int atomicAdd(int* address, int val) { return atomic_fetch_add(address, val); }
inline unsigned atomicAdd(unsigned* address, unsigned val) {
  return atomic_fetch_add(address, val);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long val) {
  return atomic_fetch_add(address, val);
}
inline float atomicAdd(float* address, float val) { return atomic_fetch_add(address, val); }
inline double atomicAdd(double* address, double val) { return atomic_fetch_add(address, val); }
inline int atomicSub(int* address, int val) {
  return __atomic_fetch_sub(address, val, __ATOMIC_RELAXED);
}
inline unsigned atomicSub(unsigned* address, unsigned val) {
  return __atomic_fetch_sub(address, val, __ATOMIC_RELAXED);
}
template <typename T>
T atomic_exchange(T* address, T val) {
  T old;
  __atomic_exchange(address, &val, &old, __ATOMIC_RELAXED);
  return old;
}
inline int atomicExch(int* address, int val) { return atomic_exchange(address, val); }
inline unsigned atomicExch(unsigned* address, unsigned val) {
  return atomic_exchange(address, val);
}
inline unsigned long long atomicExch(unsigned long long* address, unsigned long long val) {
  return atomic_exchange(address, val);
}
inline float atomicExch(float* address, float val) { return atomic_exchange(address, val); }
template <typename T>
T atomic_compare_and_swap(T* address, T compare, T val) {
  __atomic_compare_exchange(address, &compare, &val, false, __ATOMIC_RELAXED,
                            __ATOMIC_RELAXED);
  return compare;  // the old value either way
}
inline int atomicCAS(int* address, int compare, int val) {
  return atomic_compare_and_swap(address, compare, val);
}
inline unsigned atomicCAS(unsigned* address, unsigned compare, unsigned val) {
  return atomic_compare_and_swap(address, compare, val);
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare,
                                    unsigned long long val) {
  return atomic_compare_and_swap(address, compare, val);
}
template <typename T>
T atomic_min(T* address, T val) {
  return detail::atomic_update_cas<T>(
      address, [](T a, T b) { return b < a ? b : a; }, val);
}
template <typename T>
T atomic_max(T* address, T val) {
  return detail::atomic_update_cas<T>(
      address, [](T a, T b) { return a < b ? b : a; }, val);
}
inline int atomicMin(int* address, int val) { return atomic_min(address, val); }
inline unsigned atomicMin(unsigned* address, unsigned val) { return atomic_min(address, val); }
inline int atomicMax(int* address, int val) { return atomic_max(address, val); }
inline unsigned atomicMax(unsigned* address, unsigned val) { return atomic_max(address, val); }

inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

template <typename T>
T __ldg(const T* address) {
  return *address;
}

// CUDA's min and max overloads; the floating-point ones follow fmin/fmax: a NaN argument
// loses to a number.
#define LENET_SIM_MIN_MAX(T)                        \
  inline T min(T a, T b) { return b < a ? b : a; } \
  inline T max(T a, T b) { return a < b ? b : a; }
LENET_SIM_MIN_MAX(int)
LENET_SIM_MIN_MAX(unsigned)
LENET_SIM_MIN_MAX(long)
LENET_SIM_MIN_MAX(unsigned long)
LENET_SIM_MIN_MAX(long long)
LENET_SIM_MIN_MAX(unsigned long long)
#undef LENET_SIM_MIN_MAX
inline float min(float a, float b) { return std::fmin(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
// The fast-math intrinsics glibc declares as internal functions of its own (and does not
// export) are macros below, so they neither clash with nor bind to glibc's.
inline float intrinsic_expf(float x) { return std::exp(x); }
inline float intrinsic_logf(float x) { return std::log(x); }
inline float intrinsic_log2f(float x) { return std::log2(x); }
inline float intrinsic_powf(float x, float y) { return std::pow(x, y); }
inline float intrinsic_sinf(float x) { return std::sin(x); }
inline float intrinsic_cosf(float x) { return std::cos(x); }
inline float intrinsic_tanhf(float x) { return std::tanh(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
// C++20's std::bit_cast, for the reinterpreting intrinsics below.
template <typename To, typename From>
To bit_cast(From x) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast: sizes differ");
  To to;
  std::memcpy(&to, &x, sizeof to);
  return to;
}
inline float __int_as_float(int x) { return bit_cast<float>(x); }
inline int __float_as_int(float x) { return bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return bit_cast<unsigned>(x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }

}  // namespace device

// Runs kernel(args...) on a grid of grid x block threads in the simulator; returns when every
// thread has finished. Arguments convert to the kernel's parameter types as in a CUDA launch,
// and every thread gets its own copy of them. Launchers use LENET_LAUNCH instead.
template <typename... Params, typename... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
            std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args),
                "lenet::sim::launch: the number of arguments differs from the kernel's");
  struct Closure {
    void (*kernel)(Params...);
    std::tuple<std::decay_t<Params>...> args;
  };
  auto closure = std::make_shared<const Closure>(
      Closure{kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)});
  const detail::LaunchConfig config{name, grid, block, shared_bytes, stream};
  detail::launch_or_record(
      config,
      [](void* context) {
        const Closure& c = *static_cast<const Closure*>(context);
        std::apply(c.kernel, c.args);
      },
      std::move(closure));
}

}  // namespace lenet::sim

using lenet::sim::blockDim;
using lenet::sim::blockIdx;
using lenet::sim::gridDim;
using lenet::sim::threadIdx;
using lenet::sim::warpSize;

using lenet::sim::device::__activemask;
using lenet::sim::device::__all_sync;
using lenet::sim::device::__any_sync;
using lenet::sim::device::__ballot_sync;
using lenet::sim::device::__clz;
using lenet::sim::device::__fadd_rn;
using lenet::sim::device::__fdividef;
using lenet::sim::device::__ffs;
using lenet::sim::device::__float_as_int;
using lenet::sim::device::__float_as_uint;
using lenet::sim::device::__fmaf_rn;
using lenet::sim::device::__fmul_rn;
using lenet::sim::device::__frcp_rn;
using lenet::sim::device::__fsqrt_rn;
using lenet::sim::device::__int_as_float;
using lenet::sim::device::__ldg;
using lenet::sim::device::__popc;
using lenet::sim::device::__popcll;
using lenet::sim::device::__saturatef;
using lenet::sim::device::__shfl_down_sync;
using lenet::sim::device::__shfl_sync;
using lenet::sim::device::__shfl_up_sync;
using lenet::sim::device::__shfl_xor_sync;
using lenet::sim::device::__syncwarp;
using lenet::sim::device::__threadfence;
using lenet::sim::device::__threadfence_block;
using lenet::sim::device::__uint_as_float;
using lenet::sim::device::atomicAdd;
using lenet::sim::device::atomicCAS;
using lenet::sim::device::atomicExch;
using lenet::sim::device::atomicMax;
using lenet::sim::device::atomicMin;
using lenet::sim::device::atomicSub;
using lenet::sim::device::max;
using lenet::sim::device::min;
using lenet::sim::device::rsqrt;
using lenet::sim::device::rsqrtf;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

#define __expf(x) ::lenet::sim::device::intrinsic_expf(x)
#define __logf(x) ::lenet::sim::device::intrinsic_logf(x)
#define __log2f(x) ::lenet::sim::device::intrinsic_log2f(x)
#define __powf(x, y) ::lenet::sim::device::intrinsic_powf(x, y)
#define __sinf(x) ::lenet::sim::device::intrinsic_sinf(x)
#define __cosf(x) ::lenet::sim::device::intrinsic_cosf(x)
#define __tanhf(x) ::lenet::sim::device::intrinsic_tanhf(x)
