#include <lenet/engine/trainer.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <utility>

#include <lenet/engine/safetensors.h>
#include <lenet/error.h>

namespace lenet::engine {

namespace {

constexpr std::int64_t kPixels = 28 * 28;
constexpr std::int64_t kClasses = 10;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::int64_t limited(std::int64_t limit, std::int64_t count) {
  return limit > 0 ? std::min(limit, count) : count;
}

// An index in [0, n) from one 64-bit draw, the same on every platform (the standard
// distributions are not specified bit for bit). Rejection keeps it unbiased.
std::int64_t uniform_below(std::mt19937_64& rng, std::int64_t n) {
  const std::uint64_t range = static_cast<std::uint64_t>(n);
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t draw;
  do {
    draw = rng();
  } while (draw >= limit);
  return static_cast<std::int64_t>(draw % range);
}

void check_split(const char* what, const MnistSplit& split) {
  LENET_CHECK(split.rows == 28 && split.cols == 28,
              "Trainer: " << what << " images are " << split.rows << "x" << split.cols
                          << ", LeNet needs 28x28");
  LENET_CHECK(split.count >= 1, "Trainer: the " << what << " set is empty");
  LENET_CHECK(static_cast<std::int64_t>(split.images.size()) == split.count * kPixels &&
                  static_cast<std::int64_t>(split.labels.size()) == split.count,
              "Trainer: the " << what << " set's arrays do not match its count " << split.count);
}

// Checks the recipe and the data, then returns the batch size the model is allocated for:
// the larger of a training and an evaluation batch, neither larger than its data set.
std::int64_t model_batch(const TrainConfig& c, const MnistSplit& train, const MnistSplit& test) {
  LENET_CHECK(c.epochs >= 1, "Trainer: epochs must be >= 1, got " << c.epochs);
  LENET_CHECK(c.batch_size >= 1, "Trainer: batch_size must be >= 1, got " << c.batch_size);
  LENET_CHECK(c.eval_batch >= 1, "Trainer: eval_batch must be >= 1, got " << c.eval_batch);
  LENET_CHECK(c.limit_train >= 0, "Trainer: limit_train must be >= 0, got " << c.limit_train);
  LENET_CHECK(c.limit_test >= 0, "Trainer: limit_test must be >= 0, got " << c.limit_test);
  c.sgd.check("Trainer");
  check_split("training", train);
  check_split("test", test);
  return std::max(std::min(c.batch_size, limited(c.limit_train, train.count)),
                  std::min(c.eval_batch, limited(c.limit_test, test.count)));
}

}  // namespace

Trainer::Trainer(Backend& backend, const MnistSplit& train, const MnistSplit& test,
                 TrainConfig config)
    : backend_(backend),
      train_(train),
      test_(test),
      config_(std::move(config)),
      model_(backend, model_batch(config_, train, test)),
      rng_(config_.seed) {
  train_count_ = limited(config_.limit_train, train_.count);
  test_count_ = limited(config_.limit_test, test_.count);

  if (config_.resume_path.empty()) {
    model_.set_parameters(cpu_ref::lenet_init<float>(config_.seed));
    return;
  }
  TrainingState s = load_checkpoint(config_.resume_path);
  const auto differs = [&](const char* what, auto saved, auto wanted) {
    if (saved != wanted) {
      std::ostringstream msg;
      msg << "--resume " << config_.resume_path << ": the checkpoint was trained with " << what
          << " " << saved << ", this run asks for " << wanted
          << "; resume with the same recipe to continue that run";
      throw std::invalid_argument(msg.str());
    }
  };
  differs("seed", s.seed, config_.seed);
  differs("batch size", s.batch_size, config_.batch_size);
  differs("training images per epoch", s.limit_train, train_count_);
  differs("lr", s.sgd.lr, config_.sgd.lr);
  differs("momentum", s.sgd.momentum, config_.sgd.momentum);
  differs("weight decay", s.sgd.weight_decay, config_.sgd.weight_decay);
  std::istringstream rng_text(s.rng);
  rng_text >> rng_;
  if (rng_text.fail()) {
    throw CheckpointError(config_.resume_path + ": the shuffling generator's state is corrupt");
  }
  model_.set_parameters(s.params);
  model_.set_momentum(s.momentum);
  epochs_done_ = s.epochs_done;
  step_ = s.step;
}

TrainingState Trainer::state() const {
  TrainingState s;
  s.params = model_.parameters();
  s.momentum = model_.momentum();
  s.epochs_done = epochs_done_;
  s.step = step_;
  s.seed = config_.seed;
  std::ostringstream rng_text;
  rng_text << rng_;
  s.rng = rng_text.str();
  s.batch_size = config_.batch_size;
  s.limit_train = train_count_;
  s.sgd = config_.sgd;
  return s;
}

std::vector<std::int64_t> Trainer::shuffled_indices() {
  std::vector<std::int64_t> order(static_cast<std::size_t>(train_count_));
  for (std::int64_t i = 0; i < train_count_; ++i) order[i] = i;
  for (std::int64_t i = train_count_ - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order[i], order[uniform_below(rng_, i + 1)]);
  }
  return order;
}

double Trainer::evaluate() {
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < test_count_; start += config_.eval_batch) {
    const std::int64_t n = std::min(config_.eval_batch, test_count_ - start);
    model_.load_batch(n, test_.images.data() + start * kPixels, test_.labels.data() + start);
    model_.forward();
    correct += model_.correct();
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(test_count_);
}

TrainSummary Trainer::run(TrainObserver* observer) {
  TrainSummary summary;
  summary.first_epoch = epochs_done_ + 1;
  const std::int64_t batches = (train_count_ + config_.batch_size - 1) / config_.batch_size;
  const std::int64_t staging = std::min(config_.batch_size, train_count_);
  std::vector<std::uint8_t> images(static_cast<std::size_t>(staging * kPixels));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(staging));

  while (epochs_done_ < config_.epochs) {
    const std::int64_t epoch = epochs_done_ + 1;
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::int64_t> order = shuffled_indices();
    double loss_sum = 0.0;
    std::int64_t correct = 0, seen = 0;
    for (std::int64_t b = 0; b < batches; ++b) {
      const std::int64_t first = b * config_.batch_size;
      const std::int64_t n = std::min(config_.batch_size, train_count_ - first);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t src = order[first + i];
        std::copy_n(train_.images.data() + src * kPixels, kPixels, images.data() + i * kPixels);
        labels[i] = train_.labels[src];
      }
      model_.load_batch(n, images.data(), labels.data());
      model_.forward();
      correct += model_.correct();
      model_.backward();
      const float loss = model_.loss();
      ++step_;
      if (!std::isfinite(loss)) {
        std::ostringstream msg;
        msg << "training diverged: the loss became " << loss << " at epoch " << epoch
            << ", step " << b + 1 << " (global step " << step_ << "); try a smaller --lr";
        throw TrainingDiverged(msg.str());
      }
      model_.sgd_step(config_.sgd);
      loss_sum += loss;
      seen += n;
      if (observer != nullptr) {
        BatchReport r;
        r.epoch = epoch;
        r.batch = b + 1;
        r.batches = batches;
        r.step = step_;
        r.loss = loss;
        r.epoch_seconds = seconds_since(start);
        r.epoch_images = seen;
        observer->on_batch(r);
      }
    }
    backend_.synchronize();
    EpochReport report;
    report.epoch = epoch;
    report.seconds = seconds_since(start);
    report.loss = loss_sum / static_cast<double>(batches);
    report.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
    report.images = seen;
    const auto eval_start = std::chrono::steady_clock::now();
    report.test_accuracy = evaluate();
    report.eval_seconds = seconds_since(eval_start);
    epochs_done_ = epoch;
    summary.epochs.push_back(report);
    summary.train_seconds += report.seconds;
    summary.test_accuracy = report.test_accuracy;
    if (observer != nullptr) observer->on_epoch(report);
    if (!config_.save_path.empty()) {
      save_checkpoint(config_.save_path, state());
      if (observer != nullptr) observer->on_checkpoint(config_.save_path, epoch);
    }
  }
  return summary;
}

}  // namespace lenet::engine
