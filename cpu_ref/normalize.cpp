#include <lenet/cpu_ref/normalize.h>

#include <cmath>
#include <cstdint>

#include <lenet/shapes.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

template <typename T>
void normalize_u8(std::int64_t n, const std::uint8_t* pixels, T* y, NonDeduced<T> mean,
                  NonDeduced<T> stddev) {
  constexpr const char* kOp = "normalize_u8";
  ElementwiseShape{n}.check(kOp);
  LENET_CHECK(std::isfinite(mean), kOp << ": mean must be finite, got " << mean);
  LENET_CHECK(std::isfinite(stddev) && stddev > T(0),
              kOp << ": stddev must be finite and > 0, got " << stddev);
  if (n == 0) return;
  LENET_CHECK_NOT_NULL(kOp, pixels, y);
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = (static_cast<T>(pixels[i]) / T(255) - mean) / stddev;
  }
}

template void normalize_u8<float>(std::int64_t, const std::uint8_t*, float*, float, float);
template void normalize_u8<double>(std::int64_t, const std::uint8_t*, double*, double, double);

}  // namespace lenet::cpu_ref
