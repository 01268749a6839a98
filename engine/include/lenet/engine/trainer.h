// The training loop of the classic recipe: shuffle every epoch, mini-batch SGD with momentum,
// train and test accuracy per epoch, a checkpoint after every epoch when asked, and resume.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <lenet/engine/backend.h>
#include <lenet/engine/checkpoint.h>
#include <lenet/engine/lenet_model.h>
#include <lenet/engine/mnist.h>
#include <lenet/shapes.h>

namespace lenet::engine {

struct TrainConfig {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 64;
  SgdParams sgd{0.001, 0.9, 0.0};
  std::uint64_t seed = 0;
  std::int64_t limit_train = 0;  // 0: the whole training set
  std::int64_t limit_test = 0;   // 0: the whole test set
  std::int64_t eval_batch = 1000;
  std::string save_path;         // checkpoint after every epoch when not empty
  std::string resume_path;       // start from this checkpoint when not empty
};

struct BatchReport {
  std::int64_t epoch = 0;    // 1-based
  std::int64_t batch = 0;    // 1-based within the epoch
  std::int64_t batches = 0;  // in this epoch
  std::int64_t step = 0;     // optimizer steps since the start of training (resume included)
  float loss = 0.0f;         // this batch's mean loss
  double epoch_seconds = 0.0;
  std::int64_t epoch_images = 0;
};

struct EpochReport {
  std::int64_t epoch = 0;
  double loss = 0.0;            // mean of the batch losses
  double train_accuracy = 0.0;  // percent, from the logits of each step before its update
  double test_accuracy = 0.0;   // percent, after the epoch
  double seconds = 0.0;         // training time of the epoch, evaluation excluded
  double eval_seconds = 0.0;
  std::int64_t images = 0;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchReport&) {}
  virtual void on_epoch(const EpochReport&) {}
  virtual void on_checkpoint(const std::string& /*path*/, std::int64_t /*epoch*/) {}
};

// The loss stopped being finite: training stops, the message names epoch and step.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainSummary {
  std::vector<EpochReport> epochs;  // those run by this call (after a resume: the rest)
  double train_seconds = 0.0;       // sum of the epochs' training time
  double test_accuracy = 0.0;       // percent, after the last epoch
  std::int64_t first_epoch = 1;     // > 1 after a resume
};

class Trainer {
 public:
  // train and test must outlive the trainer. Resumes from config.resume_path if set (throws
  // CheckpointError, or std::invalid_argument when its recipe differs from config's).
  Trainer(Backend& backend, const MnistSplit& train, const MnistSplit& test, TrainConfig config);

  TrainSummary run(TrainObserver* observer = nullptr);

  // Percent of the first limit_test test images classified correctly.
  double evaluate();

  LenetModel& model() { return model_; }
  const TrainConfig& config() const { return config_; }
  std::int64_t epochs_done() const { return epochs_done_; }
  // Images per training epoch and in each evaluation, after --limit-train / --limit-test.
  std::int64_t train_images() const { return train_count_; }
  std::int64_t test_images() const { return test_count_; }
  TrainingState state() const;

 private:
  std::vector<std::int64_t> shuffled_indices();

  Backend& backend_;
  const MnistSplit& train_;
  const MnistSplit& test_;
  TrainConfig config_;
  LenetModel model_;
  std::mt19937_64 rng_;
  std::int64_t epochs_done_ = 0;
  std::int64_t step_ = 0;
  std::int64_t train_count_ = 0;
  std::int64_t test_count_ = 0;
};

}  // namespace lenet::engine
