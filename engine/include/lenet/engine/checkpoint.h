// Training checkpoints: the model's parameters under PyTorch's state_dict names
// (conv1.weight, ..., fc3.bias), the momentum buffers as "momentum.<name>", and the training
// state in the safetensors metadata, so that a run resumed from a checkpoint continues exactly
// where it stopped. docs/checkpoints.md describes the file.
#pragma once

#include <cstdint>
#include <string>

#include <lenet/engine/lenet_model.h>
#include <lenet/shapes.h>

namespace lenet::engine {

// Everything a resumed run needs besides the data.
struct TrainingState {
  HostParams params;
  HostParams momentum;
  std::int64_t epochs_done = 0;  // completed epochs
  std::int64_t step = 0;         // optimizer steps taken so far
  std::uint64_t seed = 0;
  std::string rng;               // the shuffling generator's state (std::mt19937_64 text form)
  std::int64_t batch_size = 0;
  std::int64_t limit_train = 0;  // images per epoch
  SgdParams sgd;
};

// Written atomically (a temporary file renamed over path): an interrupted save leaves the
// previous checkpoint intact. Throws CheckpointError.
void save_checkpoint(const std::string& path, const TrainingState& state);

// Throws CheckpointError for a file that is not a lenet checkpoint or misses a tensor.
TrainingState load_checkpoint(const std::string& path);

}  // namespace lenet::engine
