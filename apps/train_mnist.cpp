// train_mnist: the classic recipe (LeNet, SGD with momentum, MNIST) on the cuda, cpu or sim
// backend. Thin: flags, printing, metrics, signals and exit codes; the engine does the work.
//   exit 0: trained (or evaluated); 1: a runtime failure (data, device, self-check,
//   divergence, checkpoint, metrics); 2: bad flags; 130: stopped by SIGINT or SIGTERM, after
//   writing the checkpoint and the metrics.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <lenet/engine/backend.h>
#include <lenet/engine/mnist.h>
#include <lenet/engine/self_check.h>
#include <lenet/engine/trainer.h>
#include <lenet/error.h>
#include <lenet/introspect/device.h>

namespace le = lenet::engine;

namespace {

struct Options {
  std::string data;
  std::int64_t epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 0.001;
  double momentum = 0.9;
  double weight_decay = 0.0;
  std::string device = "auto";
  std::uint64_t seed = 0;
  int threads = 0;
  std::string save;
  std::int64_t save_every = 0;
  std::string resume;
  std::string eval;
  std::string metrics;
  std::int64_t limit_train = 0;
  std::int64_t limit_test = 0;
  std::int64_t log_every = 100;
  bool quiet = false;
  bool no_self_check = false;
};

// A validator that reads the value as a number and says "must be >= min, got v".
CLI::Validator at_least(double min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        double v = 0.0;
        try {
          std::size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) return "'" + text + "' is not a number";
        } catch (const std::exception&) {
          return "'" + text + "' is not a number";
        }
        if (!std::isfinite(v)) return "must be finite, got " + text;
        if (v < min) return "must be >= " + CLI::detail::to_string(min) + ", got " + text;
        return std::string();
      },
      ">=" + CLI::detail::to_string(min));
}

// --seed: a whole number in [0, 2^64 - 1]. (Read as unsigned, "-1" would wrap around.)
CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
          return "must be a whole number from 0 to 18446744073709551615, got " + text;
        }
        return std::string();
      },
      "0..2^64-1");
}

// A flag whose value turns out unusable once the program looks (a destination it cannot
// write): reported like a parse error, exit 2.
class BadFlag : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// For --save: the checkpoint is written after an epoch, so a destination the process cannot
// create a file in is refused before training, with the system's reason. The probe file is
// removed at once.
void check_writable(const char* flag, const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw BadFlag(std::string(flag) + " " + path + ": is a directory");
  }
  const std::string probe = path + ".probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    throw BadFlag(std::string(flag) + " " + path + ": cannot write there: " +
                  std::strerror(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

// SIGINT and SIGTERM: the first asks the trainer to stop after the step in progress (it then
// writes the checkpoint and the metrics); a second one ends the process at once.
std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) _exit(128 + sig);
  static const char kMessage[] =
      "\ntrain_mnist: stopping after this step (again to quit at once, losing it)\n";
  const ssize_t written = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  static_cast<void>(written);
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// --threads above this is refused: far beyond any CPU's hardware threads, and each one is an OS
// thread with its own stack.
constexpr int kMaxThreads = 1024;

std::string plural(std::int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string format_duration(double seconds) {
  const long s = std::lround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

// Prints progress as the trainer reports it: a live bar on a terminal, else the classic lines
// of the original PyTorch tutorial.
class Printer : public le::TrainObserver {
 public:
  Printer(const Options& options, bool terminal)
      : options_(options), terminal_(terminal && !options.quiet) {}

  void on_batch(const le::BatchReport& r) override {
    if (options_.quiet) return;
    running_loss_ += r.loss;
    ++running_batches_;
    if (terminal_) {
      if (r.batch % 10 != 0 && r.batch != r.batches) return;  // redraw at most every 10 batches
      const double rate = r.epoch_seconds > 0 ? r.epoch_images / r.epoch_seconds : 0.0;
      const double eta = r.batch > 0 ? r.epoch_seconds * (r.batches - r.batch) / r.batch : 0.0;
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * r.batch / r.batches);
      std::string bar(static_cast<std::size_t>(filled), '=');
      if (filled < kWidth) bar += '>' + std::string(static_cast<std::size_t>(kWidth - filled - 1), ' ');
      std::printf("\repoch %lld/%lld [%s] %lld/%lld loss %.3f %.0f img/s ETA %s \x1b[K",
                  static_cast<long long>(r.epoch), static_cast<long long>(options_.epochs),
                  bar.c_str(), static_cast<long long>(r.batch),
                  static_cast<long long>(r.batches), r.loss, rate, format_duration(eta).c_str());
      std::fflush(stdout);
    } else if (r.batch % options_.log_every == 0) {
      std::printf("[%lld, %5lld] loss: %.3f\n", static_cast<long long>(r.epoch),
                  static_cast<long long>(r.batch), running_loss_ / running_batches_);
      std::fflush(stdout);
      running_loss_ = 0.0;
      running_batches_ = 0;
    }
  }

  void on_epoch(const le::EpochReport& r) override {
    running_loss_ = 0.0;
    running_batches_ = 0;
    if (options_.quiet) return;
    if (terminal_) std::printf("\r\x1b[K");
    std::printf("epoch %lld: loss %.4f, train accuracy %.2f %%, test accuracy %.2f %%, %.1f s\n",
                static_cast<long long>(r.epoch), r.loss, r.train_accuracy, r.test_accuracy,
                r.seconds);
    std::fflush(stdout);
  }

  void on_checkpoint(const std::string& path, std::int64_t epoch, std::int64_t batch) override {
    if (options_.quiet) return;
    if (terminal_) std::printf("\r\x1b[K");
    if (batch == 0) {
      std::printf("saved checkpoint %s (epoch %lld)\n", path.c_str(),
                  static_cast<long long>(epoch));
    } else {
      std::printf("saved checkpoint %s (epoch %lld, batch %lld)\n", path.c_str(),
                  static_cast<long long>(epoch), static_cast<long long>(batch));
    }
    std::fflush(stdout);
  }

 private:
  const Options& options_;
  bool terminal_;
  double running_loss_ = 0.0;
  std::int64_t running_batches_ = 0;
};

// GPU, compute capability, the image the driver loaded for the backend's kernels (confirmed
// against the prediction from this program's fatbins), driver and runtime versions.
std::string cuda_banner(const le::Backend& backend) {
  const le::KernelCode code = backend.kernel_code();
  return lenet::introspect::cuda_banner(
      lenet::introspect::LoadedImage{code.binary_version, code.ptx_version});
}

// "18 ops match the double reference on this GPU (largest error 3 % of the tolerance
// |got - want| <= 1e-05 + 0.0001*|want|, in linear_backward; 0.01 s)"
std::string self_check_line(const le::Backend& backend, const le::SelfCheckReport& report) {
  const char* where = "on the CPU";
  switch (backend.kernel_code().kind) {
    case le::KernelCode::Kind::kGpu: where = "on this GPU"; break;
    case le::KernelCode::Kind::kSimulator: where = "in the CPU simulator"; break;
    case le::KernelCode::Kind::kHost: break;
  }
  const le::OpCheck& worst = report.worst();
  char text[256];
  std::snprintf(text, sizeof text,
                "%zu ops match the double reference %s (largest error %.0f %% of the tolerance "
                "|got - want| <= %g + %g*|want|, in %s; %.2f s)",
                report.ops.size(), where, 100.0 * worst.max_fraction, le::kSelfCheckAtol,
                le::kSelfCheckRtol, worst.op.c_str(), report.seconds);
  return text;
}

std::unique_ptr<le::Backend> make_backend(const Options& o, std::string* why) {
  if (o.device == "cpu") return le::make_cpu_backend(o.threads);
  if (o.device == "sim") return le::make_sim_backend(o.threads);
  if (o.device == "cuda" || o.device == "cudnn") {
    try {
      return o.device == "cuda" ? le::make_cuda_backend() : le::make_cudnn_backend();
    } catch (const lenet::CudaError& e) {
      throw std::runtime_error("--device " + o.device + ": " +
                               le::explain_cuda_failure(e.code(), e.what()));
    }
  }
  le::AutoChoice choice = le::make_auto_backend(o.threads);
  *why = choice.reason;
  return std::move(choice.backend);
}

// --metrics: JSON Lines written as training goes, so that a run however it ends leaves its
// curve (docs/training.md lists the records): "recipe" first, then a "batch" record every
// --log-every batches (and at an epoch's last), an "epoch" record after each epoch, and an
// "end" record unless the process is killed. Every line is flushed when written.
class MetricsLog : public le::TrainObserver {
 public:
  MetricsLog(std::string path, std::int64_t log_every)
      : path_(std::move(path)), log_every_(log_every) {
    check_writable("--metrics", path_);
    file_ = std::fopen(path_.c_str(), "w");
    if (file_ == nullptr) {
      throw BadFlag("--metrics " + path_ + ": cannot write there: " + std::strerror(errno));
    }
  }
  ~MetricsLog() override { std::fclose(file_); }
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const nlohmann::json& record) { write_line(record.dump()); }

  void write_line(std::string line) {
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fflush(file_) != 0) {
      throw std::runtime_error("--metrics " + path_ + ": cannot write: " +
                               std::strerror(errno));
    }
  }

  void on_batch(const le::BatchReport& r) override {
    loss_sum_ += r.loss;
    ++losses_;
    if (r.batch % log_every_ != 0 && r.batch != r.batches) return;
    write({{"type", "batch"},
           {"epoch", r.epoch},
           {"batch", r.batch},
           {"batches", r.batches},
           {"step", r.step},
           {"progress", static_cast<double>(r.epoch - 1) +
                            static_cast<double>(r.batch) / static_cast<double>(r.batches)},
           {"loss", loss_sum_ / static_cast<double>(losses_)},
           {"images_per_second",
            r.epoch_seconds > 0 ? static_cast<double>(r.epoch_images) / r.epoch_seconds : 0.0},
           {"seconds", r.epoch_seconds}});
    loss_sum_ = 0.0;
    losses_ = 0;
  }

  void on_epoch(const le::EpochReport& r) override { write_line(le::to_json(r)); }

  void end(const char* status, const le::TrainSummary* summary, const std::string& checkpoint,
           const std::string& message) {
    write({{"type", "end"},
           {"status", status},
           {"train_seconds", summary != nullptr ? nlohmann::json(summary->train_seconds)
                                                : nlohmann::json(nullptr)},
           {"test_accuracy", summary != nullptr && !summary->epochs.empty()
                                 ? nlohmann::json(summary->test_accuracy)
                                 : nlohmann::json(nullptr)},
           {"checkpoint", checkpoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(checkpoint)},
           {"message", message}});
  }

 private:
  std::string path_;
  std::int64_t log_every_;
  std::FILE* file_ = nullptr;
  double loss_sum_ = 0.0;
  std::int64_t losses_ = 0;
};

// Hands each report to several observers (the printer and the metrics log).
class Observers : public le::TrainObserver {
 public:
  explicit Observers(std::vector<le::TrainObserver*> list) : list_(std::move(list)) {}
  void on_batch(const le::BatchReport& r) override {
    for (auto* o : list_) o->on_batch(r);
  }
  void on_epoch(const le::EpochReport& r) override {
    for (auto* o : list_) o->on_epoch(r);
  }
  void on_checkpoint(const std::string& path, std::int64_t epoch, std::int64_t batch) override {
    for (auto* o : list_) o->on_checkpoint(path, epoch, batch);
  }

 private:
  std::vector<le::TrainObserver*> list_;
};

// The flags a user gave on the command line: on --resume, the others come from the checkpoint.
struct Given {
  bool epochs, batch_size, lr, momentum, weight_decay, seed, limit_train;
};

// --resume: the checkpoint's recipe for every flag the command line leaves out.
void take_recipe_from(const le::TrainingState& s, const Given& given, Options* o) {
  if (!given.epochs && s.epochs > 0) o->epochs = s.epochs;
  if (!given.batch_size) o->batch_size = s.batch_size;
  if (!given.lr) o->lr = s.sgd.lr;
  if (!given.momentum) o->momentum = s.sgd.momentum;
  if (!given.weight_decay) o->weight_decay = s.sgd.weight_decay;
  if (!given.seed) o->seed = s.seed;
  if (!given.limit_train) o->limit_train = s.limit_train;
}

struct Started {
  std::unique_ptr<le::Backend> backend;
  std::optional<le::SelfCheckReport> check;
  std::string data_dir;
  le::MnistData data;
};

// The backend (with its startup lines and self-check), then the data.
Started start(const Options& o) {
  Started st;
  std::string auto_reason;
  st.backend = make_backend(o, &auto_reason);
  const le::Backend& backend = *st.backend;
  if (!o.quiet) {
    std::printf("train_mnist: backend %s on %s%s\n", backend.name().c_str(),
                backend.device().c_str(),
                auto_reason.empty() ? "" : (" (--device auto: " + auto_reason + ")").c_str());
    if (backend.name() == "cuda") std::printf("train_mnist: %s\n", cuda_banner(backend).c_str());
    std::fflush(stdout);
  }
  // Before the first step: a backend that computes wrong results throws SelfCheckFailed here.
  if (!o.no_self_check) {
    st.check = le::self_check(*st.backend);
    if (!o.quiet) {
      std::printf("train_mnist: self-check: %s\n", self_check_line(backend, *st.check).c_str());
      std::fflush(stdout);
    }
  }
  st.data_dir = le::resolve_mnist_dir(o.data);
  st.data = le::load_mnist(st.data_dir);
  return st;
}

nlohmann::json recipe_record(const Options& o, const Started& st, const le::Trainer& trainer) {
  nlohmann::json resumed = nullptr;
  if (!o.resume.empty()) {
    nlohmann::json overrides = nlohmann::json::object();
    for (const le::ResumeOverride& v : trainer.overrides()) {
      overrides[v.name] = {{"checkpoint", v.saved}, {"now", v.now}};
    }
    resumed = {{"path", o.resume},
               {"epochs_done", trainer.epochs_done()},
               {"batch", trainer.batches_done()},
               {"overrides", overrides}};
  }
  return {{"type", "recipe"},
          {"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"weight_decay", o.weight_decay},
          {"seed", o.seed},
          {"limit_train", trainer.train_images()},
          {"limit_test", trainer.test_images()},
          {"backend", st.backend->name()},
          {"device", st.backend->device()},
          {"data", st.data_dir},
          {"version", lenet::introspect::lenet_version()},
          {"self_check", !st.check ? nlohmann::json(nullptr)
                                   : nlohmann::json{{"ops", st.check->ops.size()},
                                                    {"worst_op", st.check->worst().op},
                                                    {"worst_fraction_of_tolerance",
                                                     st.check->worst().max_fraction}}},
          {"resumed_from", resumed}};
}

// --eval CHECKPOINT: the test accuracy and loss of a saved model, no training.
int evaluate_checkpoint(const Options& o) {
  const le::TrainingState saved = le::load_checkpoint(o.eval);
  Started st = start(o);
  const le::MnistSplit& test = st.data.test;
  const std::int64_t count = o.limit_test > 0 ? std::min(o.limit_test, test.count) : test.count;
  constexpr std::int64_t kEvalBatch = 1000;
  le::LenetModel model(*st.backend, std::min(kEvalBatch, count));
  model.set_parameters(saved.params);
  const le::Evaluation e = le::evaluate(model, test, count, kEvalBatch);
  if (!o.quiet) {
    std::printf("train_mnist: evaluated %s (trained %s", o.eval.c_str(),
                plural(saved.epochs_done, "epoch", "epochs").c_str());
    if (saved.batches_done > 0) {
      std::printf(" and %s of the next", plural(saved.batches_done, "batch", "batches").c_str());
    }
    std::printf(")\n");
  }
  std::printf("Accuracy of the network on the %lld test images: %.2f %%\n",
              static_cast<long long>(count), e.accuracy);
  std::printf("Mean test loss: %.4f\n", e.loss);
  return 0;
}

int train(Options o, const Given& given) {
  install_stop_handlers();
  if (!o.resume.empty()) take_recipe_from(le::load_checkpoint(o.resume), given, &o);
  // Destinations first: a run must not find out after an hour that it cannot save.
  if (!o.save.empty()) check_writable("--save", o.save);
  std::unique_ptr<MetricsLog> metrics;
  if (!o.metrics.empty()) metrics = std::make_unique<MetricsLog>(o.metrics, o.log_every);

  std::optional<Started> st;
  std::optional<le::Trainer> trainer;
  try {
    st.emplace(start(o));
    le::TrainConfig config;
    config.epochs = o.epochs;
    config.batch_size = o.batch_size;
    config.sgd = {o.lr, o.momentum, o.weight_decay};
    config.seed = o.seed;
    config.limit_train = o.limit_train;
    config.limit_test = o.limit_test;
    config.save_path = o.save;
    config.save_every = o.save_every;
    config.readback_every = o.log_every;  // the losses come back when they are printed
    config.resume_path = o.resume;
    config.stop = &g_stop;
    trainer.emplace(*st->backend, st->data.train, st->data.test, config);
  } catch (const std::exception& e) {
    if (metrics) metrics->end("failed", nullptr, "", e.what());
    throw;
  }

  if (!o.quiet) {
    std::printf("train_mnist: data %s (%lld train, %lld test images); recipe: %s, batch "
                "%lld, lr %g, momentum %g, weight decay %g, seed %llu\n",
                st->data_dir.c_str(), static_cast<long long>(trainer->train_images()),
                static_cast<long long>(trainer->test_images()),
                plural(o.epochs, "epoch", "epochs").c_str(),
                static_cast<long long>(o.batch_size), o.lr, o.momentum, o.weight_decay,
                static_cast<unsigned long long>(o.seed));
    if (!o.resume.empty()) {
      std::printf("train_mnist: resumed from %s after epoch %lld", o.resume.c_str(),
                  static_cast<long long>(trainer->epochs_done()));
      if (trainer->batches_done() > 0) {
        std::printf(", batch %lld", static_cast<long long>(trainer->batches_done()));
      }
      for (std::size_t i = 0; i < trainer->overrides().size(); ++i) {
        const le::ResumeOverride& v = trainer->overrides()[i];
        std::printf("%s%s %s -> %s", i == 0 ? "; changed: " : ", ", v.name.c_str(),
                    v.saved.c_str(), v.now.c_str());
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }

  Printer printer(o, isatty(STDOUT_FILENO) == 1);
  std::vector<le::TrainObserver*> list{&printer};
  if (metrics) {
    metrics->write(recipe_record(o, *st, *trainer));
    for (const le::EpochReport& e : trainer->state().history) metrics->on_epoch(e);
    list.push_back(metrics.get());
  }
  Observers observers(list);
  le::TrainSummary summary;
  try {
    summary = trainer->run(&observers);
  } catch (const le::TrainingDiverged& e) {
    if (metrics) metrics->end("diverged", nullptr, "", e.what());
    throw;
  } catch (const std::exception& e) {
    if (metrics) metrics->end("failed", nullptr, "", e.what());
    throw;
  }

  if (summary.interrupted) {
    std::printf("\ntrain_mnist: stopped in epoch %lld after %s of it.\n",
                static_cast<long long>(summary.stopped_epoch),
                plural(summary.stopped_batch, "batch", "batches").c_str());
    if (!o.save.empty()) {
      std::printf("train_mnist: checkpoint %s; continue with: train_mnist --resume %s\n",
                  o.save.c_str(), o.save.c_str());
    } else {
      std::printf("train_mnist: no checkpoint (--save FILE keeps the work of a stopped run)\n");
    }
    if (metrics) {
      metrics->end("interrupted", &summary, o.save, "stopped by a signal");
      std::printf("train_mnist: metrics %s\n", o.metrics.c_str());
    }
    std::fflush(stdout);
    return 130;
  }
  double test_accuracy = summary.test_accuracy;
  if (summary.epochs.empty()) test_accuracy = trainer->evaluate().accuracy;

  std::printf("Training took %.1f seconds.\n", summary.train_seconds);
  std::printf("Accuracy of the network on the %lld test images: %.2f %%\n",
              static_cast<long long>(trainer->test_images()), test_accuracy);
  if (metrics) metrics->end("finished", &summary, o.save, "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Train LeNet on MNIST with the classic recipe (SGD with momentum) on the GPU or CPU."};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", o.data, "MNIST directory (default: $MNIST_DIR, else data/mnist)");
  app.add_option("--epochs", o.epochs, "Epochs")->check(at_least(1));
  app.add_option("--batch-size", o.batch_size, "Images per mini-batch")->check(at_least(1));
  app.add_option("--lr", o.lr, "Learning rate")->check(at_least(0));
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(at_least(0));
  app.add_option("--weight-decay", o.weight_decay, "L2 weight decay")
      ->check(at_least(0));
  app.add_option("--device", o.device,
                 "auto (cuda if usable, else cpu), cuda, cudnn (cuDNN and cuBLAS), cpu or sim")
      ->check(CLI::IsMember({"auto", "cuda", "cudnn", "cpu", "sim"}));
  app.add_option("--seed", o.seed, "Seed of initialization and shuffling (0 to 2^64 - 1)")
      ->check(whole_number());
  app.add_option("--threads", o.threads,
                 "CPU threads for the cpu and sim backends (0: one per hardware thread; at "
                 "most " + std::to_string(kMaxThreads) + ")")
      ->check(CLI::Range(0, kMaxThreads));
  CLI::Option* save =
      app.add_option("--save", o.save, "Checkpoint (safetensors) written after every epoch");
  app.add_option("--save-every", o.save_every,
                 "With --save: also write it every N batches within an epoch (0: never)")
      ->check(at_least(0))
      ->needs(save);
  CLI::Option* resume =
      app.add_option("--resume", o.resume,
                     "Continue the run saved in this checkpoint; its recipe is the default for "
                     "every recipe flag not given")
          ->check(CLI::ExistingFile);
  app.add_option("--eval", o.eval,
                 "Print the test accuracy and loss of this checkpoint's model, without training")
      ->check(CLI::ExistingFile)
      ->excludes(save)
      ->excludes(resume);
  app.add_option("--metrics", o.metrics,
                 "Write the recipe, the loss every --log-every batches and each epoch's figures "
                 "as JSON Lines while training (scripts/plot_metrics.py draws them)");
  app.add_option("--limit-train", o.limit_train, "Use only the first N training images (0: all)")
      ->check(at_least(0));
  app.add_option("--limit-test", o.limit_test, "Use only the first N test images (0: all)")
      ->check(at_least(0));
  app.add_option("--log-every", o.log_every,
                 "Batches between loss lines (when not on a terminal) and --metrics records")
      ->check(at_least(1));
  app.add_flag("--quiet", o.quiet, "Print only the final time and accuracy");
  app.add_flag("--no-self-check", o.no_self_check,
               "Train without first checking every op of the backend against the double "
               "reference");
  bool version = false;
  app.add_flag("--version", version, "Print the version of lenet and exit");
  try {
    app.parse(argc, argv);
    if (version) {
      std::printf("train_mnist (lenet %s)\n", lenet::introspect::lenet_version().c_str());
      return 0;
    }
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "train_mnist: %s\nRun train_mnist --help for the flags.\n", e.what());
    return 2;
  }
  const Given given{app.count("--epochs") > 0,       app.count("--batch-size") > 0,
                    app.count("--lr") > 0,           app.count("--momentum") > 0,
                    app.count("--weight-decay") > 0, app.count("--seed") > 0,
                    app.count("--limit-train") > 0};
  const unsigned hardware = std::thread::hardware_concurrency();
  if (o.threads > 0 && hardware > 0 && static_cast<unsigned>(o.threads) > hardware) {
    std::fprintf(stderr,
                 "train_mnist: warning: --threads %d is more than the %u hardware threads; "
                 "the extra ones only take turns\n",
                 o.threads, hardware);
  }
  try {
    return o.eval.empty() ? train(o, given) : evaluate_checkpoint(o);
  } catch (const BadFlag& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train_mnist: %s\nRun train_mnist --help for the flags.\n", e.what());
    return 2;
  } catch (const le::SelfCheckFailed& e) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "train_mnist: error: %s; not training on a backend that computes wrong results "
                 "(%s--no-self-check skips the check)\n",
                 e.what(), o.device == "cpu" ? "" : "--device cpu trains on the CPU; ");
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train_mnist: error: %s\n", e.what());
    return 1;
  }
}
