// One step of SGD with momentum and weight decay, as PyTorch's torch.optim.SGD with
// dampening 0 and nesterov off, elementwise over one parameter tensor:
//
//   g' = g + weight_decay * p;   v = momentum * v + g';   p = p - lr * v
//
// v starts as zeros, allocated by the caller. PyTorch instead creates its buffer on the first
// step as v = g'; that is the same number as momentum * 0 + g', so the two agree from step one.
// For T = float the three hyperparameters are rounded to float once, then all math is in T.
//
// p and v are updated in place; g is read only. n == 0 is a no-op (null pointers fine).
// Validates h (SgdParams::check) and the pointers, throwing std::invalid_argument.
#pragma once

#include <cstdint>

#include <lenet/shapes.h>

namespace lenet::cpu_ref {

// p, g, v: [n].
template <typename T>
void sgd_momentum_step(const SgdParams& h, std::int64_t n, T* p, const T* g, T* v);

}  // namespace lenet::cpu_ref
