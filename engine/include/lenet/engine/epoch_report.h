// One epoch of a training run, as the trainer reports it and a checkpoint keeps it.
#pragma once

#include <cstdint>
#include <string>

namespace lenet::engine {

struct EpochReport {
  std::int64_t epoch = 0;
  double loss = 0.0;            // mean of the batch losses
  double train_accuracy = 0.0;  // percent, from the logits of each step before its update
  double test_accuracy = 0.0;   // percent, after the epoch
  double test_loss = 0.0;       // mean cross-entropy on the test images, after the epoch
  double seconds = 0.0;         // training time of the epoch, evaluation excluded
  double eval_seconds = 0.0;
  std::int64_t images = 0;
  bool from_checkpoint = false;  // run before a resume, read back from the checkpoint
};

// The report as one JSON object: the "epoch" record of train_mnist's --metrics file, and an
// element of a checkpoint's history (docs/training.md lists the fields). Doubles round-trip
// exactly; "from_checkpoint" appears only when true.
std::string to_json(const EpochReport& report);
// Reads to_json's object back; throws std::invalid_argument naming what is missing or wrong.
EpochReport epoch_report_from_json(const std::string& text);

}  // namespace lenet::engine
