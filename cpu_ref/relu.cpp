#include <lenet/cpu_ref/relu.h>

#include <cstdint>

#include <lenet/shapes.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

template <typename T>
void relu_forward(std::int64_t n, const T* x, T* y) {
  constexpr const char* kOp = "relu_forward";
  ElementwiseShape{n}.check(kOp);
  if (n == 0) return;
  LENET_CHECK_NOT_NULL(kOp, x, y);
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    // v > 0 is false for NaN, so keep v itself then: NaN propagates as in PyTorch.
    y[i] = (v > T(0) || v != v) ? v : T(0);
  }
}

template <typename T>
void relu_backward(std::int64_t n, const T* dy, const T* x, T* dx) {
  constexpr const char* kOp = "relu_backward";
  ElementwiseShape{n}.check(kOp);
  if (n == 0) return;
  LENET_CHECK_NOT_NULL(kOp, dy, x, dx);
  for (std::int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
}

template void relu_forward<float>(std::int64_t, const float*, float*);
template void relu_forward<double>(std::int64_t, const double*, double*);
template void relu_backward<float>(std::int64_t, const float*, const float*, float*);
template void relu_backward<double>(std::int64_t, const double*, const double*, double*);

}  // namespace lenet::cpu_ref
