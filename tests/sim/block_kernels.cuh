// Test kernels for the simulator: two block reductions and a probe of dynamic shared memory.
// Portable subset: the same text builds under nvcc.
#pragma once

// partial[b] = sum of the x[i] block b visits in a grid-stride loop. Tree reduction in
// dynamic shared memory (blockDim.x floats); blockDim.x must be a power of two.
static __global__ void block_sum_tree_kernel(const float* x, int n, float* partial) {
  LENET_DYNAMIC_SHARED(float, buf);
  const unsigned t = threadIdx.x;
  float v = 0.0f;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + t); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x)) {
    v += x[i];
  }
  buf[t] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (t < s) buf[t] += buf[t + s];
    __syncthreads();
  }
  if (t == 0) partial[blockIdx.x] = buf[0];
}

// The same sum with warp shuffles: every warp reduces with __shfl_down_sync, lane 0 of each
// warp leaves its sum in shared memory, warp 0 adds those up. blockDim.x is a multiple of 32,
// at most 1024.
static __global__ void block_sum_shuffle_kernel(const float* x, int n, float* partial) {
  __shared__ float warp_sums[32];
  const unsigned t = threadIdx.x;
  const unsigned lane = t % warpSize;
  const unsigned warp = t / warpSize;
  const unsigned warps = blockDim.x / warpSize;
  float v = 0.0f;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + t); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x)) {
    v += x[i];
  }
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? warp_sums[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (lane == 0) partial[blockIdx.x] = v;
  }
}

// out[b * blockDim.x + t] = what thread t reads from dynamic shared memory after only block 0
// wrote it: 1 in block 0, NaN (never written in this block) in every other.
static __global__ void dynamic_shared_probe_kernel(float* out) {
  LENET_DYNAMIC_SHARED(float, buf);
  const unsigned t = threadIdx.x;
  if (blockIdx.x == 0) buf[t] = 1.0f;
  __syncthreads();
  out[blockIdx.x * blockDim.x + t] = buf[t];
}
