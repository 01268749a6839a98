// Random inputs of a layer with weights (conv2d, linear) as a training step sees them: x in
// [-1, 1), w and b at PyTorch's initial scale 1/sqrt(fan_in), dy in [-1, 1) / N as the
// gradient of a mean over the batch. Floats, so a kernel and the double reference (in_double)
// read the same numbers.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "support/random.h"

namespace lenet::test {

template <typename T>
struct LayerInputs {
  std::vector<T> x, w, b, dy;
};

// For any shape with N, x_size(), w_size(), b_size() and y_size(); seeds seed .. seed + 3.
template <typename Shape>
LayerInputs<float> random_layer_inputs(const Shape& s, std::int64_t fan_in, std::uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  const double dy_bound = 1.0 / static_cast<double>(s.N);
  return {random_uniform<float>(s.x_size(), -1.0, 1.0, seed),
          random_uniform<float>(s.w_size(), -bound, bound, seed + 1),
          random_uniform<float>(s.b_size(), -bound, bound, seed + 2),
          random_uniform<float>(s.y_size(), -dy_bound, dy_bound, seed + 3)};
}

// The same numbers in double, for the reference.
inline LayerInputs<double> in_double(const LayerInputs<float>& in) {
  return {cast_to<double>(in.x), cast_to<double>(in.w), cast_to<double>(in.b),
          cast_to<double>(in.dy)};
}

}  // namespace lenet::test
