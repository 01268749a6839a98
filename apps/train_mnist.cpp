// train_mnist: the classic recipe (LeNet, SGD with momentum, MNIST) on the cuda, cpu or sim
// backend. Thin: flags, printing and exit codes; the engine does the work.
//   exit 0: trained; 1: a runtime failure (data, device, self-check, divergence, checkpoint);
//   2: bad flags.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

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
  std::string resume;
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

// For --save and --metrics: the file is written later (after an epoch, at the end), so a
// directory that does not exist is refused now rather than after minutes of training.
CLI::Validator in_existing_directory() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        if (path.empty()) return "must not be empty";
        const std::string::size_type slash = path.find_last_of('/');
        const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
        struct stat st {};
        if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
          return "directory " + dir + " does not exist";
        }
        if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path + " is a directory";
        return std::string();
      },
      "FILE");
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

  void on_checkpoint(const std::string& path, std::int64_t epoch) override {
    if (!options_.quiet) {
      std::printf("saved checkpoint %s (epoch %lld)\n", path.c_str(),
                  static_cast<long long>(epoch));
    }
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

// "13 ops match the double reference on this GPU (largest error 3 % of the tolerance
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
  if (o.device == "cuda") {
    try {
      return le::make_cuda_backend();
    } catch (const lenet::CudaError& e) {
      throw std::runtime_error("--device cuda: " + le::explain_cuda_failure(e.code(), e.what()));
    }
  }
  le::AutoChoice choice = le::make_auto_backend(o.threads);
  *why = choice.reason;
  return std::move(choice.backend);
}

void write_metrics(const Options& o, const le::Backend& backend, const std::string& data_dir,
                   const std::optional<le::SelfCheckReport>& check,
                   const le::TrainSummary& summary, std::int64_t test_images) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const le::EpochReport& e : summary.epochs) {
    epochs.push_back({{"epoch", e.epoch},
                      {"loss", e.loss},
                      {"train_accuracy", e.train_accuracy},
                      {"test_accuracy", e.test_accuracy},
                      {"seconds", e.seconds},
                      {"eval_seconds", e.eval_seconds},
                      {"images", e.images}});
  }
  const nlohmann::json metrics = {
      {"recipe",
       {{"epochs", o.epochs},
        {"batch_size", o.batch_size},
        {"lr", o.lr},
        {"momentum", o.momentum},
        {"weight_decay", o.weight_decay},
        {"seed", o.seed},
        {"limit_train", o.limit_train},
        {"limit_test", o.limit_test}}},
      {"backend", backend.name()},
      {"device", backend.device()},
      {"self_check", !check ? nlohmann::json(nullptr)
                            : nlohmann::json{{"ops", check->ops.size()},
                                             {"worst_op", check->worst().op},
                                             {"worst_fraction_of_tolerance",
                                              check->worst().max_fraction}}},
      {"data", data_dir},
      {"first_epoch", summary.first_epoch},
      {"epochs", epochs},
      {"train_seconds", summary.train_seconds},
      {"test_images", test_images},
      {"test_accuracy", summary.test_accuracy},
  };
  const std::string tmp = o.metrics + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << metrics.dump(2) << '\n';
    out.close();
    if (!out) throw std::runtime_error("--metrics: cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), o.metrics.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("--metrics: cannot rename " + tmp + " to " + o.metrics);
  }
}

int train(const Options& o) {
  std::string auto_reason;
  std::unique_ptr<le::Backend> backend = make_backend(o, &auto_reason);
  if (!o.quiet) {
    std::printf("train_mnist: backend %s on %s%s\n", backend->name().c_str(),
                backend->device().c_str(),
                auto_reason.empty() ? "" : (" (--device auto: " + auto_reason + ")").c_str());
    if (backend->name() == "cuda") std::printf("train_mnist: %s\n", cuda_banner(*backend).c_str());
    std::fflush(stdout);
  }
  // Before the first step: a backend that computes wrong results throws SelfCheckFailed here.
  std::optional<le::SelfCheckReport> check;
  if (!o.no_self_check) {
    check = le::self_check(*backend);
    if (!o.quiet) {
      std::printf("train_mnist: self-check: %s\n", self_check_line(*backend, *check).c_str());
      std::fflush(stdout);
    }
  }

  const std::string data_dir = le::resolve_mnist_dir(o.data);
  const le::MnistData data = le::load_mnist(data_dir);

  le::TrainConfig config;
  config.epochs = o.epochs;
  config.batch_size = o.batch_size;
  config.sgd = {o.lr, o.momentum, o.weight_decay};
  config.seed = o.seed;
  config.limit_train = o.limit_train;
  config.limit_test = o.limit_test;
  config.save_path = o.save;
  config.resume_path = o.resume;
  le::Trainer trainer(*backend, data.train, data.test, config);

  const std::int64_t train_images = trainer.train_images();
  const std::int64_t test_images = trainer.test_images();
  if (!o.quiet) {
    std::printf("train_mnist: data %s (%lld train, %lld test images); recipe: %lld epochs, batch "
                "%lld, lr %g, momentum %g, weight decay %g, seed %llu\n",
                data_dir.c_str(), static_cast<long long>(train_images),
                static_cast<long long>(test_images), static_cast<long long>(o.epochs),
                static_cast<long long>(o.batch_size), o.lr, o.momentum, o.weight_decay,
                static_cast<unsigned long long>(o.seed));
    if (!o.resume.empty()) {
      std::printf("train_mnist: resumed from %s after epoch %lld\n", o.resume.c_str(),
                  static_cast<long long>(trainer.epochs_done()));
    }
    std::fflush(stdout);
  }

  Printer printer(o, isatty(STDOUT_FILENO) == 1);
  const le::TrainSummary summary = trainer.run(&printer);
  double test_accuracy = summary.test_accuracy;
  if (summary.epochs.empty()) test_accuracy = trainer.evaluate();  // resumed a finished run

  std::printf("Training took %.1f seconds.\n", summary.train_seconds);
  std::printf("Accuracy of the network on the %lld test images: %.2f %%\n",
              static_cast<long long>(test_images), test_accuracy);
  if (!o.metrics.empty()) {
    le::TrainSummary full = summary;
    full.test_accuracy = test_accuracy;
    write_metrics(o, *backend, data_dir, check, full, test_images);
  }
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
  app.add_option("--device", o.device, "auto (cuda if usable, else cpu), cuda, cpu or sim")
      ->check(CLI::IsMember({"auto", "cuda", "cpu", "sim"}));
  app.add_option("--seed", o.seed, "Seed of initialization and shuffling");
  app.add_option("--threads", o.threads, "CPU threads for the cpu and sim backends (0: all)")
      ->check(at_least(0));
  app.add_option("--save", o.save, "Checkpoint (safetensors) written after every epoch")
      ->check(in_existing_directory());
  app.add_option("--resume", o.resume, "Continue the run saved in this checkpoint")
      ->check(CLI::ExistingFile);
  app.add_option("--metrics", o.metrics, "Write the recipe and per-epoch figures as JSON")
      ->check(in_existing_directory());
  app.add_option("--limit-train", o.limit_train, "Use only the first N training images (0: all)")
      ->check(at_least(0));
  app.add_option("--limit-test", o.limit_test, "Use only the first N test images (0: all)")
      ->check(at_least(0));
  app.add_option("--log-every", o.log_every, "Batches between loss lines when not on a terminal")
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
  try {
    return train(o);
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
