// Kernels with broken synchronization, for the simulator's barrier checks. Each would hang or
// misbehave on a GPU; the simulator must stop them with lenet::sim::BarrierDivergence.
#pragma once

// Only threads below `first_skipping` reach the barrier; the rest run past it and return.
static __global__ void divergent_barrier_kernel(int first_skipping, int* out) {
  const int t = static_cast<int>(threadIdx.x);
  if (t < first_skipping) __syncthreads();
  out[blockIdx.x * blockDim.x + t] = t;
}

// Threads at or past n return before the barrier: the classic bounds check placed too early.
static __global__ void early_return_kernel(int n, float* out) {
  __shared__ float tile[256];
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  tile[threadIdx.x] = static_cast<float>(i);
  __syncthreads();
  out[i] = tile[(threadIdx.x + 1) % blockDim.x];
}

// Odd and even threads wait at two different barriers.
static __global__ void split_barrier_kernel(int* out) {
  const unsigned t = threadIdx.x;
  if (t % 2 == 1) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[t] = static_cast<int>(t);
}

// Thread t passes t % 3 barriers: counts differ, so some wait while others have returned.
static __global__ void uneven_loop_kernel(int* out) {
  const unsigned t = threadIdx.x;
  for (unsigned i = 0; i < t % 3; ++i) __syncthreads();
  out[t] = static_cast<int>(t);
}

// A warp collective that lane `leaving` of every warp skips by returning first.
static __global__ void lane_returns_before_shuffle_kernel(unsigned leaving, int* out) {
  const unsigned t = threadIdx.x;
  if (t % warpSize == leaving) return;
  out[t] = __shfl_sync(0xffffffffu, static_cast<int>(t), 0);
}

// A correct kernel: per block, the sum of its thread indices through shared memory.
static __global__ void barrier_ok_kernel(int* out) {
  __shared__ int values[128];
  const unsigned t = threadIdx.x;
  values[t] = static_cast<int>(t);
  __syncthreads();
  if (t == 0) {
    int sum = 0;
    for (unsigned i = 0; i < blockDim.x; ++i) sum += values[i];
    out[blockIdx.x] = sum;
  }
}
