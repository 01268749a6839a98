// Training checkpoints: the model's parameters under PyTorch's state_dict names
// (conv1.weight, ..., fc3.bias), the momentum buffers as "momentum.<name>", and the training
// state in the safetensors metadata, so that a run resumed from a checkpoint continues exactly
// where it stopped. docs/checkpoints.md describes the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <lenet/engine/lenet_model.h>
#include <lenet/engine/epoch_report.h>
#include <lenet/shapes.h>

namespace lenet::engine {

// Everything a resumed run needs besides the data.
struct TrainingState {
  HostParams params;
  HostParams momentum;
  std::int64_t epochs_done = 0;  // completed epochs
  std::int64_t step = 0;         // optimizer steps taken so far
  std::uint64_t seed = 0;
  // The shuffling generator's state (std::mt19937_64 text form) before the shuffle of epoch
  // epochs_done + 1, so a resume draws that epoch's order again.
  std::string rng;
  std::int64_t epochs = 0;       // the run's length; 0 in a version-1 file, which had none
  std::int64_t batch_size = 0;
  std::int64_t limit_train = 0;  // images per epoch
  SgdParams sgd;
  // Within epoch epochs_done + 1: batches done (0 at an epoch's end), the sum of their losses,
  // the training images they classified correctly before their update, and their seconds.
  std::int64_t batches_done = 0;
  double epoch_loss_sum = 0.0;
  std::int64_t epoch_correct = 0;
  double epoch_seconds = 0.0;
  std::vector<EpochReport> history;  // the completed epochs
};

// Written atomically (a temporary file renamed over path): an interrupted save leaves the
// previous checkpoint intact. Throws CheckpointError.
void save_checkpoint(const std::string& path, const TrainingState& state);

// Throws CheckpointError for a file that is not a lenet checkpoint or misses a tensor.
TrainingState load_checkpoint(const std::string& path);

}  // namespace lenet::engine
