// One step of SGD with momentum and weight decay, the rule written at SgdParams in
// <lenet/shapes.h>; v starts as zeros, allocated by the caller.
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
