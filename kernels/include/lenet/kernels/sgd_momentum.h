// One SGD-with-momentum step on device buffers.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>
#include <lenet/shapes.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// One step of SGD with momentum (the rule: SgdParams in <lenet/shapes.h>). p, v updated in
// place; g read. p, g, v: [n]. Start v at zeros.
void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g, float* v,
                       cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
