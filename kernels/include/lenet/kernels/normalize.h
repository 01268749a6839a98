// Input normalization on device buffers.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// y[i] = (pixels[i] / 255 - mean) / stddev. pixels: [n] u8, y: [n] (overwritten); stddev > 0.
void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean, float stddev,
                  cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
