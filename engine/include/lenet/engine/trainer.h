// The training loop of the classic recipe: shuffle every epoch, mini-batch SGD with momentum,
// train and test accuracy per epoch, checkpoints after every epoch (and every N batches) when
// asked, a stop on request between two steps, and resume from any checkpoint, mid-epoch too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <lenet/engine/backend.h>
#include <lenet/engine/checkpoint.h>
#include <lenet/engine/epoch_report.h>
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
  // Steps between reads of the losses and correct counts the device keeps (train_mnist: its
  // --log-every): the only waits for the backend within an epoch, besides checkpoints. A loss
  // that diverged is found at the next read, and reported with its own step.
  std::int64_t readback_every = 100;
  std::string save_path;         // checkpoint after every epoch when not empty
  std::int64_t save_every = 0;   // with save_path: also every this many batches (0: never)
  std::string resume_path;       // start from this checkpoint when not empty
  // When set and it becomes true (a signal handler's flag), run() stops before the next step:
  // it writes the checkpoint (save_path) and returns with TrainSummary::interrupted.
  const std::atomic<bool>* stop = nullptr;
};

// A batch loss above this, or one that is not finite, means training diverged. A network that
// guesses uniformly scores ln 10 = 2.3; 1000 is a confident wrong answer on every image.
constexpr double kDivergedLoss = 1000.0;

struct BatchReport {
  std::int64_t epoch = 0;    // 1-based
  std::int64_t batch = 0;    // 1-based within the epoch
  std::int64_t batches = 0;  // in this epoch
  std::int64_t step = 0;     // optimizer steps since the start of training (resume included)
  float loss = 0.0f;         // this batch's mean loss
  double epoch_seconds = 0.0;
  std::int64_t epoch_images = 0;
};

// Accuracy (percent) and mean loss on the first limit_test test images.
struct Evaluation {
  double accuracy = 0.0;
  double loss = 0.0;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchReport&) {}
  virtual void on_epoch(const EpochReport&) {}
  // After a checkpoint is written: at the end of epoch `epoch` (batch 0), or within it after
  // `batch` batches.
  virtual void on_checkpoint(const std::string& /*path*/, std::int64_t /*epoch*/,
                             std::int64_t /*batch*/) {}
};

// The loss stopped being finite or exceeded kDivergedLoss: training stops, the message names
// epoch, batch and step, and step() says which step.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& what, std::int64_t step)
      : std::runtime_error(what), step_(step) {}
  std::int64_t step() const { return step_; }

 private:
  std::int64_t step_;
};

// The whole run, resumed parts included.
struct TrainSummary {
  std::vector<EpochReport> epochs;  // every completed epoch; before a resume, from_checkpoint
  double train_seconds = 0.0;       // training time of the whole run, evaluation excluded
  double test_accuracy = 0.0;       // percent, after the last completed epoch (0 if none)
  std::int64_t first_epoch = 1;     // the first epoch this call ran (or resumed within)
  bool interrupted = false;         // stopped by TrainConfig::stop before the last epoch ended
  std::int64_t stopped_epoch = 0;   // when interrupted: the epoch in progress (1-based) ...
  std::int64_t stopped_batch = 0;   // ... and the batches of it done
};

// Accuracy and mean loss of model on the first count images of test, up to batch at a time
// (the model must hold batches that large).
Evaluation evaluate(LenetModel& model, const MnistSplit& test, std::int64_t count,
                    std::int64_t batch);

// What a resumed run changes against the checkpoint's recipe, for the record ("lr 0.001 ->
// 0.01"); a resume that cannot work throws instead (Trainer's constructor).
struct ResumeOverride {
  std::string name;
  std::string saved;
  std::string now;
};

class Trainer {
 public:
  // train and test must outlive the trainer. Resumes from config.resume_path if set: throws
  // CheckpointError for a bad file, std::invalid_argument listing every conflict between the
  // checkpoint and config that cannot work (another seed; another batch size or number of
  // training images in the middle of an epoch; fewer epochs than already done). Other
  // differences (lr, momentum, weight decay, epochs, batch size at an epoch's end) are allowed
  // and listed by overrides().
  Trainer(Backend& backend, const MnistSplit& train, const MnistSplit& test, TrainConfig config);

  TrainSummary run(TrainObserver* observer = nullptr);

  // On the first limit_test test images.
  Evaluation evaluate() { return engine::evaluate(model_, test_, test_count_, config_.eval_batch); }

  LenetModel& model() { return model_; }
  const TrainConfig& config() const { return config_; }
  std::int64_t epochs_done() const { return epochs_done_; }
  // Batches done in the epoch after epochs_done() (non-zero after a mid-epoch resume or stop).
  std::int64_t batches_done() const { return batch_; }
  const std::vector<ResumeOverride>& overrides() const { return overrides_; }
  // Images per training epoch and in each evaluation, after --limit-train / --limit-test.
  std::int64_t train_images() const { return train_count_; }
  std::int64_t test_images() const { return test_count_; }
  TrainingState state() const;

 private:
  std::vector<std::int64_t> shuffled_indices();
  void save(TrainObserver* observer);
  void make_resident();
  void queue_step(std::int64_t n);
  void read_back(std::int64_t queued, std::int64_t batches, TrainObserver* observer);
  void check_resume(const TrainingState& saved);
  // Batches in an epoch: the last one may be short.
  std::int64_t batches_per_epoch() const {
    return (train_count_ + config_.batch_size - 1) / config_.batch_size;
  }

  Backend& backend_;
  const MnistSplit& train_;
  const MnistSplit& test_;
  TrainConfig config_;
  LenetModel model_;
  std::mt19937_64 rng_;
  std::mt19937_64 epoch_rng_;  // rng_ before the current epoch's shuffle ...
  bool in_epoch_ = false;      // ... which a checkpoint saves while that epoch runs
  std::int64_t epochs_done_ = 0;
  std::int64_t step_ = 0;
  // The epoch in progress: batches done, their loss sum and correct count, training seconds.
  std::int64_t batch_ = 0;
  double epoch_loss_sum_ = 0.0;
  std::int64_t epoch_correct_ = 0;
  double epoch_seconds_ = 0.0;
  std::vector<EpochReport> history_;  // every completed epoch of the run
  std::chrono::steady_clock::time_point segment_start_;  // training time counted from here
  // The training set and the step's bookkeeping in the backend's memory, and the recorded step.
  Buffer images_, labels_, order_, cursor_, losses_, corrects_;
  // Their host copies in read_back(), sized once with them.
  std::vector<float> host_losses_;
  std::vector<std::int64_t> host_corrects_;
  ResidentData resident_;
  std::unique_ptr<StepGraph> step_graph_;
  std::vector<ResumeOverride> overrides_;
  std::int64_t train_count_ = 0;
  std::int64_t test_count_ = 0;
};

}  // namespace lenet::engine
