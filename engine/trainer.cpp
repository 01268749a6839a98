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

namespace ref = lenet::cpu_ref;
constexpr std::int64_t kPixels = ref::kLenetInputPixels;

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
  LENET_CHECK(split.rows == ref::kLenetInputH && split.cols == ref::kLenetInputW,
              "Trainer: " << what << " images are " << split.rows << "x" << split.cols
                          << ", LeNet needs " << ref::kLenetInputH << "x" << ref::kLenetInputW);
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
  LENET_CHECK(c.readback_every >= 1,
              "Trainer: readback_every must be >= 1, got " << c.readback_every);
  LENET_CHECK(c.limit_train >= 0, "Trainer: limit_train must be >= 0, got " << c.limit_train);
  LENET_CHECK(c.limit_test >= 0, "Trainer: limit_test must be >= 0, got " << c.limit_test);
  c.sgd.check("Trainer");
  check_split("training", train);
  check_split("test", test);
  return std::max(std::min(c.batch_size, limited(c.limit_train, train.count)),
                  std::min(c.eval_batch, limited(c.limit_test, test.count)));
}

}  // namespace

Evaluation evaluate(LenetModel& model, const MnistSplit& test, std::int64_t count,
                    std::int64_t batch) {
  LENET_CHECK(count >= 1 && count <= test.count,
              "evaluate: count must be in [1, " << test.count << "], got " << count);
  LENET_CHECK(batch >= 1, "evaluate: batch must be >= 1, got " << batch);
  std::int64_t correct = 0;
  double loss_sum = 0.0;
  for (std::int64_t start = 0; start < count; start += batch) {
    const std::int64_t n = std::min(batch, count - start);
    model.load_batch(n, test.images.data() + start * kPixels, test.labels.data() + start);
    model.forward();
    correct += model.correct();
    loss_sum += static_cast<double>(model.forward_loss()) * static_cast<double>(n);
  }
  const double images = static_cast<double>(count);
  return {100.0 * static_cast<double>(correct) / images, loss_sum / images};
}

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
    model_.set_parameters(ref::lenet_init<float>(config_.seed));
    return;
  }
  const TrainingState s = load_checkpoint(config_.resume_path);
  check_resume(s);
  std::istringstream rng_text(s.rng);
  rng_text >> rng_;
  if (rng_text.fail()) {
    throw CheckpointError(config_.resume_path + ": the shuffling generator's state is corrupt");
  }
  model_.set_parameters(s.params);
  model_.set_momentum(s.momentum);
  epochs_done_ = s.epochs_done;
  step_ = s.step;
  batch_ = s.batches_done;
  epoch_loss_sum_ = s.epoch_loss_sum;
  epoch_correct_ = s.epoch_correct;
  epoch_seconds_ = s.epoch_seconds;
  history_ = s.history;
}

void Trainer::check_resume(const TrainingState& s) {
  const std::int64_t batches = batches_per_epoch();
  std::vector<std::string> conflicts;
  const auto text = [](auto v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  // A difference that cannot work, or one that is recorded as an override.
  const auto compare = [&](const char* what, auto saved, auto now, bool allowed) {
    if (saved == now) return;
    if (allowed) {
      overrides_.push_back({what, text(saved), text(now)});
    } else {
      conflicts.push_back(std::string(what) + " " + text(saved) + " (this run: " + text(now) +
                          ")");
    }
  };
  const bool mid_epoch = s.batches_done > 0;
  compare("seed", s.seed, config_.seed, false);
  compare("batch size", s.batch_size, config_.batch_size, !mid_epoch);
  compare("training images per epoch", s.limit_train, train_count_, !mid_epoch);
  compare("lr", s.sgd.lr, config_.sgd.lr, true);
  compare("momentum", s.sgd.momentum, config_.sgd.momentum, true);
  compare("weight decay", s.sgd.weight_decay, config_.sgd.weight_decay, true);
  if (s.epochs != 0) compare("epochs", s.epochs, config_.epochs, true);
  if (config_.epochs < s.epochs_done + (mid_epoch ? 1 : 0)) {
    conflicts.push_back("epochs done " + text(s.epochs_done) +
                        (mid_epoch ? " and part of the next" : "") + " (this run asks for " +
                        text(config_.epochs) + " in all)");
  }
  if (mid_epoch && s.batch_size == config_.batch_size && s.limit_train == train_count_ &&
      s.batches_done >= batches) {
    conflicts.push_back("position batch " + text(s.batches_done) + " of an epoch of " +
                        text(batches) + " batches");
  }
  if (conflicts.empty()) return;
  std::ostringstream msg;
  msg << "--resume " << config_.resume_path << ": this run cannot continue the checkpoint's; it "
      << "was trained with ";
  for (std::size_t i = 0; i < conflicts.size(); ++i) msg << (i ? "; " : "") << conflicts[i];
  if (mid_epoch) {
    msg << " (it stopped after batch " << s.batches_done << " of epoch " << s.epochs_done + 1
        << ", so batch size and training images must stay)";
  }
  throw std::invalid_argument(msg.str());
}

TrainingState Trainer::state() const {
  TrainingState s;
  s.params = model_.parameters();
  s.momentum = model_.momentum();
  s.epochs_done = epochs_done_;
  s.step = step_;
  s.seed = config_.seed;
  std::ostringstream rng_text;
  rng_text << (in_epoch_ ? epoch_rng_ : rng_);
  s.rng = rng_text.str();
  s.epochs = config_.epochs;
  s.batch_size = config_.batch_size;
  s.limit_train = train_count_;
  s.sgd = config_.sgd;
  s.batches_done = batch_;
  s.epoch_loss_sum = epoch_loss_sum_;
  s.epoch_correct = epoch_correct_;
  s.epoch_seconds = epoch_seconds_;
  s.history = history_;
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

void Trainer::save(TrainObserver* observer) {
  save_checkpoint(config_.save_path, state());
  if (observer != nullptr) {
    observer->on_checkpoint(config_.save_path, epochs_done_ + (batch_ > 0 ? 1 : 0), batch_);
  }
}

// The training set, its labels and the step's bookkeeping move to the backend's memory once.
void Trainer::make_resident() {
  if (images_.data() != nullptr) return;
  const auto bytes = [](std::int64_t n, std::size_t size) {
    return static_cast<std::size_t>(n) * size;
  };
  images_ = backend_.allocate(bytes(train_count_ * kPixels, 1));
  labels_ = backend_.allocate(bytes(train_count_, sizeof(std::int32_t)));
  order_ = backend_.allocate(bytes(train_count_, sizeof(std::int32_t)));
  cursor_ = backend_.allocate(sizeof(std::int64_t));
  losses_ = backend_.allocate(bytes(config_.readback_every, sizeof(float)));
  corrects_ = backend_.allocate(bytes(config_.readback_every, sizeof(std::int64_t)));
  backend_.upload(images_.data(), train_.images.data(), images_.bytes());
  backend_.upload(labels_.data(), train_.labels.data(), labels_.bytes());
  resident_.images = images_.as<std::uint8_t>();
  resident_.labels = labels_.as<std::int32_t>();
  resident_.order = order_.as<std::int32_t>();
  resident_.cursor = cursor_.as<std::int64_t>();
  resident_.window = config_.readback_every;
  resident_.losses = losses_.as<float>();
  resident_.corrects = corrects_.as<std::int64_t>();
  host_losses_.resize(static_cast<std::size_t>(config_.readback_every));
  host_corrects_.resize(static_cast<std::size_t>(config_.readback_every));
}

// Reads the losses and counts of the steps queued since the last read (one wait for the
// backend, however many steps), checks each loss, adds them to the epoch's figures and tells
// the observer, batch by batch.
void Trainer::read_back(std::int64_t queued, std::int64_t batches, TrainObserver* observer) {
  std::vector<float>& losses = host_losses_;
  std::vector<std::int64_t>& corrects = host_corrects_;
  backend_.download(losses.data(), losses_.data(), losses_.bytes());
  backend_.download(corrects.data(), corrects_.data(), corrects_.bytes());
  epoch_seconds_ += seconds_since(segment_start_);
  segment_start_ = std::chrono::steady_clock::now();
  const std::int64_t epoch = epochs_done_ + 1;
  for (; batch_ < queued; ++batch_) {
    const std::size_t slot = static_cast<std::size_t>(batch_ % config_.readback_every);
    const float loss = losses[slot];
    if (!std::isfinite(loss) || loss > kDivergedLoss) {
      std::ostringstream msg;
      msg << "training diverged: the loss became " << loss;
      if (std::isfinite(loss)) msg << " (above " << kDivergedLoss << ")";
      msg << " at epoch " << epoch << ", step " << batch_ + 1 << " (global step " << step_ + 1
          << "); try a smaller --lr than " << config_.sgd.lr;
      throw TrainingDiverged(msg.str(), step_ + 1);
    }
    ++step_;
    epoch_loss_sum_ += loss;
    epoch_correct_ += corrects[slot];
    if (observer != nullptr) {
      BatchReport r;
      r.epoch = epoch;
      r.batch = batch_ + 1;
      r.batches = batches;
      r.step = step_;
      r.loss = loss;
      r.epoch_seconds = epoch_seconds_;
      r.epoch_images = std::min(train_count_, (batch_ + 1) * config_.batch_size);
      observer->on_batch(r);
    }
  }
}

// Queues one training step on the batch the device counter names. Full batches replay one
// recorded step (a CUDA graph on sim and cuda: one launch); a shorter last batch is queued op
// by op.
void Trainer::queue_step(std::int64_t n) {
  const std::int64_t full = config_.batch_size;
  if (n < full) {
    model_.queue_train_step(resident_, n, full, config_.sgd);
    return;
  }
  if (!step_graph_) {
    step_graph_ = backend_.capture(
        [this, full] { model_.queue_train_step(resident_, full, full, config_.sgd); });
  }
  step_graph_->replay();
}

TrainSummary Trainer::run(TrainObserver* observer) {
  TrainSummary summary;
  summary.first_epoch = epochs_done_ + 1;
  const auto finish = [&] {
    summary.epochs = history_;
    summary.train_seconds = epoch_seconds_;
    for (const EpochReport& e : history_) summary.train_seconds += e.seconds;
    if (!history_.empty()) summary.test_accuracy = history_.back().test_accuracy;
    return summary;
  };
  const auto stop_requested = [&] {
    return config_.stop != nullptr && config_.stop->load(std::memory_order_relaxed);
  };
  const std::int64_t batches = batches_per_epoch();
  make_resident();

  while (epochs_done_ < config_.epochs) {
    const std::int64_t epoch = epochs_done_ + 1;
    epoch_rng_ = rng_;  // a checkpoint within this epoch shuffles again from here
    const std::vector<std::int64_t> order = shuffled_indices();
    in_epoch_ = true;
    const std::vector<std::int32_t> order32(order.begin(), order.end());
    backend_.upload(order_.data(), order32.data(), order_.bytes());
    backend_.upload(cursor_.data(), &batch_, sizeof batch_);  // 0, or where a resume stopped
    segment_start_ = std::chrono::steady_clock::now();
    std::int64_t queued = batch_;
    while (queued < batches) {
      if (stop_requested()) {
        read_back(queued, batches, observer);
        if (!config_.save_path.empty()) save(observer);
        summary.interrupted = true;
        summary.stopped_epoch = epoch;
        summary.stopped_batch = batch_;
        return finish();
      }
      queue_step(std::min(config_.batch_size, train_count_ - queued * config_.batch_size));
      ++queued;
      const bool save_now = config_.save_every > 0 && !config_.save_path.empty() &&
                            queued < batches && queued % config_.save_every == 0;
      if (save_now || queued == batches || queued - batch_ == config_.readback_every) {
        read_back(queued, batches, observer);
      }
      if (save_now) {
        save(observer);
        segment_start_ = std::chrono::steady_clock::now();
      }
    }
    EpochReport report;
    report.epoch = epoch;
    report.seconds = epoch_seconds_;
    report.loss = epoch_loss_sum_ / static_cast<double>(batches);
    report.images = train_count_;
    report.train_accuracy =
        100.0 * static_cast<double>(epoch_correct_) / static_cast<double>(train_count_);
    const auto eval_start = std::chrono::steady_clock::now();
    const Evaluation test = evaluate();
    report.test_accuracy = test.accuracy;
    report.test_loss = test.loss;
    report.eval_seconds = seconds_since(eval_start);
    epochs_done_ = epoch;
    in_epoch_ = false;
    batch_ = 0;
    epoch_loss_sum_ = 0.0;
    epoch_correct_ = 0;
    epoch_seconds_ = 0.0;
    history_.push_back(report);
    if (observer != nullptr) observer->on_epoch(report);
    if (!config_.save_path.empty()) save(observer);
  }
  return finish();
}

}  // namespace lenet::engine
