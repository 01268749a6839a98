// NonDeduced<T>: T in a position template argument deduction skips, so an optional pointer
// (bias, gradient) accepts a plain nullptr and a scalar accepts a literal of another type:
//   cpu_ref::conv2d_forward(s, x, w, nullptr, y);   // T deduced from x as float
#pragma once

namespace lenet::cpu_ref {

template <typename T>
struct NonDeducedImpl {
  using type = T;
};

template <typename T>
using NonDeduced = typename NonDeducedImpl<T>::type;

}  // namespace lenet::cpu_ref
