// Random inputs x, w, b and dy of a layer with weights (conv2d, linear), and the float-against-
// double check of its reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "support/compare.h"
#include "support/random.h"

namespace lenet::test {

template <typename T>
struct LayerInputs {
  std::vector<T> x, w, b, dy;
};

// As a training step sees them: x in [-1, 1), w and b at PyTorch's initial scale 1/sqrt(fan_in),
// dy in [-1, 1) / N as the gradient of a mean over the batch. Floats, so a kernel and the double
// reference (cast_inputs<double>) read the same numbers. For any shape with N, x_size(),
// w_size(), b_size() and y_size(); seeds seed .. seed + 3.
template <typename Shape>
LayerInputs<float> random_layer_inputs(const Shape& s, std::int64_t fan_in, std::uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  const double dy_bound = 1.0 / static_cast<double>(s.N);
  return {random_uniform<float>(s.x_size(), -1.0, 1.0, seed),
          random_uniform<float>(s.w_size(), -bound, bound, seed + 1),
          random_uniform<float>(s.b_size(), -bound, bound, seed + 2),
          random_uniform<float>(s.y_size(), -dy_bound, dy_bound, seed + 3)};
}

// x, w, b and dy uniform in [-1, 1), for the references' own tests; seeds seed .. seed + 3.
template <typename Shape>
LayerInputs<double> uniform_layer_inputs(const Shape& s, std::uint64_t seed) {
  return {random_uniform(s.x_size(), -1.0, 1.0, seed),
          random_uniform(s.w_size(), -1.0, 1.0, seed + 1),
          random_uniform(s.b_size(), -1.0, 1.0, seed + 2),
          random_uniform(s.y_size(), -1.0, 1.0, seed + 3)};
}

// The same numbers in another type: float inputs in double for the reference, or the other way.
template <typename To, typename From>
LayerInputs<To> cast_inputs(const LayerInputs<From>& in) {
  return {cast_to<To>(in.x), cast_to<To>(in.w), cast_to<To>(in.b), cast_to<To>(in.dy)};
}

template <typename T>
struct LayerOutputs {
  std::vector<T> y, dx, dw, db;
};

// For the references' own tests: run(in, out) fills out.y, out.dx, out.dw and out.db from in.
// It runs once in float and once in double, on the same uniform inputs, and the two must agree
// to 1e-5 (atol and rtol).
template <typename Shape, typename Run>
::testing::AssertionResult float_agrees_with_double(const Shape& s, Run run) {
  const LayerInputs<double> in = uniform_layer_inputs(s, 1);
  const auto outputs_in = [&](auto zero) {
    using T = decltype(zero);
    LayerOutputs<T> out{nan_filled<T>(s.y_size()), nan_filled<T>(s.x_size()),
                        nan_filled<T>(s.w_size()), nan_filled<T>(s.b_size())};
    run(cast_inputs<T>(in), out);
    return out;
  };
  const LayerOutputs<float> f = outputs_in(0.0f);
  const LayerOutputs<double> d = outputs_in(0.0);
  const char* names[] = {"y", "dx", "dw", "db"};
  const std::vector<float>* floats[] = {&f.y, &f.dx, &f.dw, &f.db};
  const std::vector<double>* doubles[] = {&d.y, &d.dx, &d.dw, &d.db};
  for (int i = 0; i < 4; ++i) {
    ::testing::AssertionResult result = all_close(*floats[i], *doubles[i], 1e-5, 1e-5);
    if (!result) return result << " (" << names[i] << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace lenet::test
