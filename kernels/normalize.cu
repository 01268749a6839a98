// u8 pixels to float: y[i] = (p[i] / 255 - mean) / stddev, one thread per pixel in a grid-stride
// loop (y overwritten).
#include <lenet/kernels/normalize.h>

#include <cmath>
#include <cstdint>

#include <lenet/shapes.h>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

__global__ void normalize_u8_kernel(std::int64_t n, const std::uint8_t* pixels, float* y,
                                    float mean, float std_dev) {
  for (const std::int64_t i : grid_stride(n)) {
    y[i] = (static_cast<float>(pixels[i]) / 255.0f - mean) / std_dev;
  }
}

}  // namespace

void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean, float stddev,
                  cudaStream_t stream) {
  ElementwiseShape{n}.check("normalize_u8");
  LENET_CHECK(std::isfinite(mean), "normalize_u8: mean must be finite, got " << mean);
  LENET_CHECK(std::isfinite(stddev) && stddev > 0.0f,
              "normalize_u8: stddev must be finite and > 0, got " << stddev);
  if (n == 0) return;
  LENET_CHECK_NOT_NULL("normalize_u8", pixels, y);
  LENET_LAUNCH(normalize_u8_kernel, detail::grid_1d(n, kBlockSize), kBlockSize, 0, stream, n,
               pixels, y, mean, stddev);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
