// Atomics from every thread of a large grid into a few global counters.
#pragma once

// int_sum += x_int[i], float_sum += x_float[i], count += 1 for every i < n, in a grid-stride
// loop.
static __global__ void atomic_sums_kernel(const int* x_int, const float* x_float, int n,
                                          int* int_sum, float* float_sum,
                                          unsigned long long* count, int* max_value) {
  const int stride = static_cast<int>(gridDim.x * blockDim.x);
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += stride) {
    atomicAdd(int_sum, x_int[i]);
    atomicAdd(float_sum, x_float[i]);
    atomicAdd(count, 1ull);
    atomicMax(max_value, x_int[i]);
  }
}
