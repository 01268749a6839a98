// The small training runs of the engine tests: synthetic training and test sets, and a short
// recipe that learns them.
//   const SyntheticData data = synthetic_data(320);
//   le::Trainer trainer(*backend, data.train, data.test, small_config(1));
#pragma once

#include <cstdint>

#include <lenet/engine/mnist.h>
#include <lenet/engine/trainer.h>

#include "support/synthetic_mnist.h"

namespace lenet::test {

struct SyntheticData {
  engine::MnistSplit train;
  engine::MnistSplit test;
};

// train_count synthetic training images (seed 1) and test_count test images (seed 2).
inline SyntheticData synthetic_data(std::int64_t train_count, std::int64_t test_count = 100) {
  return {synthetic_mnist(train_count, /*seed=*/1), synthetic_mnist(test_count, /*seed=*/2)};
}

// The recipe of the training tests: batches of 32, SGD with momentum 0.9 at lr 0.02, seed 7.
inline engine::TrainConfig small_config(std::int64_t epochs = 2) {
  engine::TrainConfig c;
  c.epochs = epochs;
  c.batch_size = 32;
  c.sgd = {0.02, 0.9, 0.0};
  c.seed = 7;
  c.eval_batch = 100;
  return c;
}

}  // namespace lenet::test
