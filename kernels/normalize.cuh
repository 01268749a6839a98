// u8 pixels to float: y[i] = (p[i] / 255 - mean) / std, one thread per pixel (overwritten).
#pragma once

#include <cstdint>

static __global__ void normalize_u8_kernel(std::int64_t n, const std::uint8_t* pixels, float* y,
                                           float mean, float std_dev) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    y[i] = (static_cast<float>(pixels[i]) / 255.0f - mean) / std_dev;
  }
}
