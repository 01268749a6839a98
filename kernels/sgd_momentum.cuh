// SGD with momentum, PyTorch's rule with dampening 0, one thread per parameter:
//   g' = g + weight_decay * p;   v = momentum * v + g';   p -= lr * v       (p and v updated)
#pragma once

#include <cstdint>

static __global__ void sgd_momentum_step_kernel(std::int64_t n, float lr, float momentum,
                                                float weight_decay, float* p, const float* g,
                                                float* v) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float grad = g[i] + weight_decay * p[i];
    const float vel = momentum * v[i] + grad;
    v[i] = vel;
    p[i] -= lr * vel;
  }
}
