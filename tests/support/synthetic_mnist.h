// A small MNIST-shaped data set the engine tests generate: 28x28 u8 images whose label decides
// where a bright 6x6 square sits, over random background noise. A LeNet learns it in a few
// hundred steps, so training tests need no real data.
#pragma once

#include <cstdint>

#include <lenet/engine/mnist.h>

#include "support/random.h"

namespace lenet::test {

inline engine::MnistSplit synthetic_mnist(std::int64_t count, std::uint64_t seed) {
  Rng rng(seed);
  engine::MnistSplit split;
  split.count = count;
  split.rows = 28;
  split.cols = 28;
  split.images.resize(static_cast<std::size_t>(count * 28 * 28));
  split.labels.resize(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::int32_t>(rng.below(10));
    split.labels[i] = label;
    std::uint8_t* img = split.images.data() + i * 28 * 28;
    for (int p = 0; p < 28 * 28; ++p) img[p] = static_cast<std::uint8_t>(rng.below(60));
    const int top = 2 + (label / 5) * 13 + static_cast<int>(rng.below(3));
    const int left = 1 + (label % 5) * 5 + static_cast<int>(rng.below(2));
    for (int r = top; r < top + 6 && r < 28; ++r) {
      for (int c = left; c < left + 6 && c < 28; ++c) {
        img[r * 28 + c] = static_cast<std::uint8_t>(200 + rng.below(56));
      }
    }
  }
  return split;
}

}  // namespace lenet::test
