#include <lenet/cpu_ref/relu.h>

#include <cstdint>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

using detail::check_not_null;

template <typename T>
void relu_forward(std::int64_t n, const T* x, T* y) {
  constexpr const char* kOp = "relu_forward";
  LENET_CHECK(n >= 0, kOp << ": n must be >= 0, got " << n);
  if (n == 0) return;
  check_not_null(kOp, "x", x);
  check_not_null(kOp, "y", y);
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    // v > 0 is false for NaN, so keep v itself then: NaN propagates as in PyTorch.
    y[i] = (v > T(0) || v != v) ? v : T(0);
  }
}

template <typename T>
void relu_backward(std::int64_t n, const T* dy, const T* x, T* dx) {
  constexpr const char* kOp = "relu_backward";
  LENET_CHECK(n >= 0, kOp << ": n must be >= 0, got " << n);
  if (n == 0) return;
  check_not_null(kOp, "dy", dy);
  check_not_null(kOp, "x", x);
  check_not_null(kOp, "dx", dx);
  for (std::int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

template void relu_forward<float>(std::int64_t, const float*, float*);
template void relu_forward<double>(std::int64_t, const double*, double*);
template void relu_backward<float>(std::int64_t, const float*, const float*, float*);
template void relu_backward<double>(std::int64_t, const double*, const double*, double*);

}  // namespace lenet::cpu_ref
