// One SGD-with-momentum step on device buffers.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// p, v updated in place; g read. p, g, v: [n]. PyTorch SGD, dampening 0:
// g' = g + h.weight_decay * p; v = h.momentum * v + g'; p -= h.lr * v. Start v at zeros.
void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v,
                       cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
