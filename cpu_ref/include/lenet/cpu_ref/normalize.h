// Pixel normalization: bytes 0..255 to the network's input scale,
//
//   y[i] = (pixels[i] / 255 - mean) / stddev
//
// computed in T (the classic recipe uses mean = stddev = 0.5, giving [-1, 1]). stddev must be
// finite and > 0, mean finite. y overwritten; n == 0 is a no-op (null pointers fine). Throws
// std::invalid_argument naming the argument.
#pragma once

#include <cstdint>

#include <lenet/cpu_ref/non_deduced.h>

namespace lenet::cpu_ref {

// pixels, y: [n].
template <typename T>
void normalize_u8(std::int64_t n, const std::uint8_t* pixels, T* y, NonDeduced<T> mean,
                  NonDeduced<T> stddev);

}  // namespace lenet::cpu_ref
