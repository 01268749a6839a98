// train_mnist as a user runs it: flags, exit codes, output lines, metrics and checkpoints,
// signals and resume, on small IDX files the test writes.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <lenet/engine/checkpoint.h>
#include <lenet/engine/safetensors.h>

#include "support/params.h"
#include "support/run.h"
#include "support/synthetic_mnist.h"
#include "support/temp_dir.h"

namespace {

using Result = lenet::test::CommandResult;

// train_mnist with args; Result::out holds stdout and stderr together.
Result run(const std::string& args) {
  return lenet::test::run_command(std::string(LENET_TRAIN_MNIST) + " " + args,
                                  lenet::test::Stderr::kMerged);
}

// v as IDX files store it: big-endian.
void put_u32(std::ofstream& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.put(static_cast<char>((v >> shift) & 0xff));
}

void write_idx(const std::string& dir, const char* images_name, const char* labels_name,
               const lenet::engine::MnistSplit& split) {
  std::ofstream images(dir + "/" + images_name, std::ios::binary);
  put_u32(images, 0x803);
  put_u32(images, static_cast<std::uint32_t>(split.count));
  put_u32(images, 28);
  put_u32(images, 28);
  images.write(reinterpret_cast<const char*>(split.images.data()),
               static_cast<std::streamsize>(split.images.size()));
  std::ofstream labels(dir + "/" + labels_name, std::ios::binary);
  put_u32(labels, 0x801);
  put_u32(labels, static_cast<std::uint32_t>(split.count));
  for (std::int32_t l : split.labels) labels.put(static_cast<char>(l));
}

// The metrics file train_mnist writes with --metrics: JSON Lines, one record a line.
struct Metrics {
  std::vector<nlohmann::json> records;

  // Every record of a type ("recipe", "batch", "epoch", "end"), in file order.
  std::vector<nlohmann::json> all(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (const nlohmann::json& r : records) {
      if (r.at("type") == type) out.push_back(r);
    }
    return out;
  }
  const nlohmann::json& recipe() const { return records.at(0); }
  const nlohmann::json& end() const { return records.at(records.size() - 1); }
};

Metrics read_metrics(const std::string& path) {
  Metrics m;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) m.records.push_back(nlohmann::json::parse(line));
  EXPECT_FALSE(m.records.empty()) << path;
  if (!m.records.empty()) {
    EXPECT_EQ(m.records.front().at("type"), "recipe") << path;
  }
  return m;
}

// A shell command that starts train_mnist with args in the background, waits until its metrics
// file (which args must name) holds a batch record, then runs `then` with the process id in
// $pid, waits for the process and prints "exit=<status>" last.
std::string in_background(const std::string& args, const std::string& metrics,
                          const std::string& then) {
  return std::string(LENET_TRAIN_MNIST) + " " + args + " & pid=$!; " +
         "for i in $(seq 1200); do grep -q '\"type\":\"batch\"' " + metrics +
         " 2>/dev/null && break; sleep 0.05; done; " + then + "; wait $pid; echo exit=$?";
}

class TrainMnistApp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The test process's own directory: ctest runs these tests as parallel processes.
    dir_ = new std::string(lenet::test::process_temp_dir().path().string());
    write_idx(*dir_, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              lenet::test::synthetic_mnist(640, 1));
    write_idx(*dir_, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
              lenet::test::synthetic_mnist(200, 2));
  }
  static void TearDownTestSuite() { delete dir_; }

  // The flags of a short run: one epoch over the first `train_images` training images in batches
  // of 50, then 50 test images, on `device` with 2 threads.
  static std::string one_short_epoch(const std::string& device, int train_images) {
    return "--data " + *dir_ + " --device " + device + " --threads 2 --epochs 1 --limit-train " +
           std::to_string(train_images) + " --batch-size 50 --limit-test 50 ";
  }

  static std::string* dir_;
};
std::string* TrainMnistApp::dir_ = nullptr;

TEST_F(TrainMnistApp, TrainsAndPrintsTheClassicLines) {
  const std::string metrics = *dir_ + "/metrics.jsonl";
  const std::string ckpt = *dir_ + "/lenet.safetensors";
  const Result r = run("--data " + *dir_ + " --device cpu --threads 2 --epochs 2 --lr 0.02 " +
                       "--log-every 5 --metrics " + metrics + " --save " + ckpt);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("train_mnist: backend cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train_mnist: self-check: 18 ops match the double reference on the CPU"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[1,     5] loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 2: loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Training took "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 200 test images: "), std::string::npos)
      << r.out;

  // JSON Lines: the recipe, a batch record every 5 batches and at an epoch's end, each epoch,
  // and the end of the run.
  const Metrics m = read_metrics(metrics);
  EXPECT_EQ(m.recipe().at("backend"), "cpu");
  EXPECT_EQ(m.recipe().at("self_check").at("ops"), 18);
  EXPECT_EQ(m.recipe().at("batch_size"), 64);
  EXPECT_EQ(m.recipe().at("epochs"), 2);
  EXPECT_TRUE(m.recipe().at("resumed_from").is_null());
  const std::vector<nlohmann::json> batches = m.all("batch");
  ASSERT_EQ(batches.size(), 4u);  // 10 batches an epoch: after batches 5 and 10 of each
  EXPECT_EQ(batches[0].at("batch"), 5);
  EXPECT_DOUBLE_EQ(batches[0].at("progress").get<double>(), 0.5);
  double previous = 0.0;
  for (const nlohmann::json& b : batches) {
    EXPECT_GT(b.at("progress").get<double>(), previous) << b;
    previous = b.at("progress").get<double>();
  }
  ASSERT_EQ(m.all("epoch").size(), 2u);
  EXPECT_EQ(m.all("epoch")[1].at("epoch"), 2);
  EXPECT_GT(m.all("epoch")[1].at("test_loss").get<double>(), 0.0);
  EXPECT_EQ(m.end().at("type"), "end");
  EXPECT_EQ(m.end().at("status"), "finished");
  EXPECT_GT(m.end().at("train_seconds").get<double>(), 0.0);
  EXPECT_GE(m.end().at("test_accuracy").get<double>(), 0.0);

  EXPECT_NE(lenet::engine::load_safetensors(ckpt).find("fc3.weight"), nullptr);

  // --resume of the finished run trains nothing more and reports the same accuracy.
  const Result again =
      run("--data " + *dir_ + " --device cpu --epochs 2 --lr 0.02 --resume " + ckpt);
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("resumed from"), std::string::npos) << again.out;
}

// The CUDA kernels in the simulator, no GPU or driver needed: the self-check first, then a
// few hundred images (the simulator runs every CUDA thread as a fiber: seconds, not less).
TEST_F(TrainMnistApp, TrainsOnTheSimBackendAfterItsSelfCheck) {
  const std::string metrics = *dir_ + "/sim_metrics.jsonl";
  const Result r =
      run(one_short_epoch("sim", 200) + "--lr 0.05 --log-every 2 --metrics " + metrics);
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string::size_type backend = r.out.find(
      "train_mnist: backend sim on CUDA kernels in the CPU simulator, 2 threads\n");
  const std::string::size_type check = r.out.find(
      "train_mnist: self-check: 18 ops match the double reference in the CPU simulator "
      "(largest error ");
  const std::string::size_type first_step = r.out.find("[1,     2] loss: ");
  EXPECT_NE(backend, std::string::npos) << r.out;
  EXPECT_NE(check, std::string::npos) << r.out;
  EXPECT_NE(first_step, std::string::npos) << r.out;
  EXPECT_LT(backend, check) << r.out;
  EXPECT_LT(check, first_step) << "the self-check runs before the first step:\n" << r.out;
  EXPECT_NE(r.out.find("train_mnist: data " + *dir_ + " (200 train, 50 test images)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 50 test images: "), std::string::npos)
      << r.out;

  const nlohmann::json recipe = read_metrics(metrics).recipe();
  EXPECT_EQ(recipe.at("backend"), "sim");
  EXPECT_EQ(recipe.at("self_check").at("ops"), 18);
  EXPECT_LE(recipe.at("self_check").at("worst_fraction_of_tolerance").get<double>(), 1.0);
}

TEST_F(TrainMnistApp, NoSelfCheckSkipsTheCheck) {
  const std::string metrics = *dir_ + "/unchecked_metrics.jsonl";
  const Result r = run(one_short_epoch("cpu", 50) + "--no-self-check --metrics " + metrics);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("self-check"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 50 test images: "), std::string::npos)
      << r.out;
  EXPECT_TRUE(read_metrics(metrics).recipe().at("self_check").is_null());
}

TEST_F(TrainMnistApp, BadFlagsExitWith2AndSayWhy) {
  for (const char* args : {"--epochs 0", "--lr -1", "--lr nan", "--batch-size x", "--device gpu",
                           "--no-such-flag", "--log-every 0", "--save /no/such/dir/x.safetensors",
                           "--metrics /no/such/dir/m.json", "--save /tmp"}) {
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find("train_mnist: "), std::string::npos) << r.out;
  }
}

TEST_F(TrainMnistApp, MissingDataExitsWith1AndPointsToTheDownloadScript) {
  const Result r = run("--data " + *dir_ + "/nowhere --device cpu");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("download_mnist.sh"), std::string::npos) << r.out;
}

TEST_F(TrainMnistApp, HelpExitsWith0) {
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--limit-train"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--no-self-check"), std::string::npos) << r.out;
}

TEST_F(TrainMnistApp, VersionExitsWith0) {
  const Result r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("train_mnist (lenet 0.", 0), 0u) << r.out;
}

// The recipe of the resume and signal tests: 640 images in batches of 32 (20 batches an epoch),
// two threads so that runs are bitwise comparable.
std::string resumable(const std::string& data_dir) {
  return "--data " + data_dir + " --device cpu --threads 2 --no-self-check --batch-size 32 " +
         "--lr 0.02 --limit-test 50 ";
}

TEST_F(TrainMnistApp, OneEpochIsSaidInTheSingular) {
  const Result r = run(one_short_epoch("cpu", 50) + "--no-self-check");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("recipe: 1 epoch, batch 50"), std::string::npos) << r.out;
}

// --threads 0 means one per hardware thread: the startup line says how many that is.
TEST_F(TrainMnistApp, TheSimBackendCountsItsThreads) {
  const Result r = run("--data " + *dir_ + " --device sim --threads 0 --epochs 1 --limit-train 10" +
                       " --limit-test 10 --no-self-check");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string said = "CUDA kernels in the CPU simulator, ";
  const std::string::size_type at = r.out.find(said);
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GE(std::atoi(r.out.c_str() + at + said.size()), 1) << r.out;
}

TEST_F(TrainMnistApp, SaveEveryWritesCheckpointsWithinTheEpoch) {
  const lenet::test::TempDir dir;
  const std::string ckpt = dir.file("every.safetensors");
  const Result r = run(resumable(*dir_) + "--epochs 1 --save " + ckpt + " --save-every 8");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("saved checkpoint " + ckpt + " (epoch 1, batch 8)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("saved checkpoint " + ckpt + " (epoch 1, batch 16)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("saved checkpoint " + ckpt + " (epoch 1)\n"), std::string::npos) << r.out;
  EXPECT_EQ(run("--save-every 8").status, 2);  // without --save
}

TEST_F(TrainMnistApp, ResumeTakesTheRecipeFromTheCheckpoint) {
  const lenet::test::TempDir dir;
  const std::string ckpt = dir.file("recipe.safetensors");
  const Result first = run("--data " + *dir_ + " --device cpu --no-self-check --epochs 1 " +
                           "--limit-train 320 --lr 0.002 --batch-size 32 --save " + ckpt);
  ASSERT_EQ(first.status, 0) << first.out;

  // Only --epochs changes: lr, batch size and the 320 images come from the checkpoint.
  const std::string metrics = dir.file("resumed.jsonl");
  const Result again = run("--data " + *dir_ + " --device cpu --no-self-check --resume " + ckpt +
                           " --epochs 2 --metrics " + metrics);
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("(320 train, 200 test images); recipe: 2 epochs, batch 32, lr 0.002"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("resumed from " + ckpt + " after epoch 1; changed: epochs 1 -> 2"),
            std::string::npos)
      << again.out;
  // The metrics and the summary cover the whole run.
  const Metrics m = read_metrics(metrics);
  EXPECT_EQ(m.recipe().at("resumed_from").at("epochs_done"), 1);
  EXPECT_EQ(m.recipe().at("resumed_from").at("overrides").at("epochs").at("now"), "2");
  const std::vector<nlohmann::json> epochs = m.all("epoch");
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].value("from_checkpoint", false), true);
  EXPECT_EQ(epochs[1].value("from_checkpoint", false), false);
  EXPECT_GE(m.end().at("train_seconds").get<double>(),
            epochs[0].at("seconds").get<double>() + epochs[1].at("seconds").get<double>() -
                1e-9);

  // A changed lr is allowed and said; another seed cannot continue the run, and every conflict
  // is named in the one error.
  const Result lr = run("--data " + *dir_ + " --device cpu --no-self-check --resume " + ckpt +
                        " --epochs 2 --lr 0.01");
  ASSERT_EQ(lr.status, 0) << lr.out;
  EXPECT_NE(lr.out.find("changed: lr 0.002 -> 0.01, epochs 1 -> 2"), std::string::npos)
      << lr.out;
  const Result conflicts =
      run("--data " + *dir_ + " --device cpu --no-self-check --resume " + ckpt + " --seed 5");
  EXPECT_EQ(conflicts.status, 1) << conflicts.out;
  EXPECT_NE(conflicts.out.find("seed 0 (this run: 5)"), std::string::npos) << conflicts.out;
}

TEST_F(TrainMnistApp, EvalPrintsTheAccuracyAndLossOfACheckpoint) {
  const lenet::test::TempDir dir;
  const std::string ckpt = dir.file("eval.safetensors");
  ASSERT_EQ(run(one_short_epoch("cpu", 100) + "--no-self-check --save " + ckpt).status, 0);
  const Result r = run("--data " + *dir_ + " --device cpu --no-self-check --eval " + ckpt);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("train_mnist: evaluated " + ckpt + " (trained 1 epoch)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 200 test images: "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Mean test loss: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("epoch 1:"), std::string::npos) << "no training:\n" << r.out;
  EXPECT_EQ(run("--eval " + ckpt + " --resume " + ckpt).status, 2);
}

TEST_F(TrainMnistApp, BadValuesAreRefusedBeforeTraining) {
  // The system's reason, before any training.
  const Result save = run("--data " + *dir_ + " --save /proc/lenet/ck.safetensors");
  EXPECT_EQ(save.status, 2) << save.out;
  EXPECT_NE(save.out.find("--save /proc/lenet/ck.safetensors: cannot write there: "),
            std::string::npos)
      << save.out;
  EXPECT_EQ(save.out.find("self-check"), std::string::npos) << save.out;
  const Result metrics = run("--data " + *dir_ + " --metrics /proc/lenet/m.jsonl");
  EXPECT_EQ(metrics.status, 2) << metrics.out;
  EXPECT_NE(metrics.out.find("cannot write there: "), std::string::npos) << metrics.out;
  // --seed takes 0 .. 2^64 - 1 and no sign; --threads has a bound.
  const Result negative = run("--seed -1");
  EXPECT_EQ(negative.status, 2) << negative.out;
  EXPECT_NE(negative.out.find("--seed: must be a whole number"), std::string::npos)
      << negative.out;
  const Result largest = run(one_short_epoch("cpu", 50) + "--no-self-check " +
                             "--seed 18446744073709551615");
  EXPECT_EQ(largest.status, 0) << largest.out;
  EXPECT_NE(largest.out.find("seed 18446744073709551615"), std::string::npos) << largest.out;
  EXPECT_EQ(run("--threads 5000").status, 2);
  const Result many = run("--data " + *dir_ + " --device cpu --epochs 1 --limit-train 50 " +
                          "--limit-test 50 --no-self-check --threads 1024");
  EXPECT_EQ(many.status, 0) << many.out;
  EXPECT_NE(many.out.find("warning: --threads 1024 is more than the"), std::string::npos)
      << many.out;
}

TEST_F(TrainMnistApp, AnExplodingLossStopsTheRunWithItsStep) {
  const std::string metrics = *dir_ + "/diverged.jsonl";
  const Result r = run("--data " + *dir_ + " --device cpu --no-self-check --batch-size 32 " +
                       "--epochs 5 --lr 10 --metrics " + metrics);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("train_mnist: error: training diverged: the loss became "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(global step "), std::string::npos) << r.out;
  const Metrics m = read_metrics(metrics);
  EXPECT_EQ(m.end().at("status"), "diverged");
}

// Ctrl-C: the step in progress finishes, the checkpoint and the metrics are written, the run
// says how to continue and exits 130; the resumed run ends where an uninterrupted one does.
TEST_F(TrainMnistApp, SigintSavesTheWorkAndTheRunResumesBitwise) {
  const lenet::test::TempDir dir;
  const std::string whole = dir.file("whole.safetensors");
  ASSERT_EQ(run(resumable(*dir_) + "--epochs 3 --save " + whole).status, 0);

  const std::string ckpt = dir.file("stopped.safetensors");
  const std::string metrics = dir.file("stopped.jsonl");
  const Result stopped = lenet::test::run_command(
      in_background(resumable(*dir_) + "--epochs 1000 --log-every 1 --save " + ckpt +
                        " --metrics " + metrics,
                    metrics, "kill -INT $pid"),
      lenet::test::Stderr::kMerged);
  EXPECT_NE(stopped.out.find("exit=130"), std::string::npos) << stopped.out;
  EXPECT_NE(stopped.out.find("train_mnist: stopped in epoch "), std::string::npos)
      << stopped.out;
  EXPECT_NE(stopped.out.find("continue with: train_mnist --resume " + ckpt), std::string::npos)
      << stopped.out;
  const Metrics m = read_metrics(metrics);
  EXPECT_EQ(m.end().at("status"), "interrupted");
  EXPECT_EQ(m.end().at("checkpoint"), ckpt);

  const lenet::engine::TrainingState saved = lenet::engine::load_checkpoint(ckpt);
  ASSERT_LT(saved.epochs_done, 3) << "stopped too late for the comparison";
  const Result resumed = run(resumable(*dir_) + "--epochs 3 --resume " + ckpt + " --save " + ckpt);
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_TRUE(lenet::test::params_bitwise_equal(lenet::engine::load_checkpoint(whole).params,
                                                lenet::engine::load_checkpoint(ckpt).params));
}

// A second signal does not wait for the step: the process ends at once (the simulator's slow
// steps leave it inside one).
TEST_F(TrainMnistApp, ASecondSignalQuitsAtOnce) {
  const lenet::test::TempDir dir;
  const std::string metrics = dir.file("twice.jsonl");
  const std::string err = dir.file("twice.err");
  // The second signal once the first is handled (two pending ones would merge into one).
  const Result r = lenet::test::run_command(
      in_background(one_short_epoch("sim", 600) + "--no-self-check --log-every 1 --metrics " +
                        metrics + " 2>" + err,
                    metrics,
                    "kill -INT $pid; for i in $(seq 400); do grep -q 'stopping after this step' " +
                        err + " && break; sleep 0.01; done; kill -INT $pid"),
      lenet::test::Stderr::kMerged);
  EXPECT_NE(r.out.find("exit=130"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("train_mnist: stopped in epoch"), std::string::npos) << r.out;
}

// SIGKILL at any moment, even while a checkpoint is written after every batch, leaves either
// the previous checkpoint or the new one, never a broken file: each killed run resumes and
// ends with the weights of the uninterrupted run.
TEST_F(TrainMnistApp, KilledAtAnyMomentTheRunResumesToTheSameWeights) {
  const lenet::test::TempDir dir;
  constexpr int kEpochs = 4;
  const std::string recipe = resumable(*dir_) + "--epochs " + std::to_string(kEpochs) + " --quiet ";
  const std::string whole = dir.file("whole.safetensors");
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run(recipe + "--save " + whole).status, 0);
  const auto whole_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  const lenet::engine::HostParams want = lenet::engine::load_checkpoint(whole).params;

  // Round 0 kills as soon as the first checkpoint is on disk, so at least one round surely
  // stops the run midway; the others at random moments within an uninterrupted run's time.
  std::random_device device;
  const unsigned seed = device();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<long long> delay_ms(1, std::max<long long>(2, whole_ms));
  int midway = 0;
  for (int kill = 0; kill < 4; ++kill) {
    const std::string ckpt = dir.file("killed" + std::to_string(kill) + ".safetensors");
    std::ostringstream wait;
    if (kill == 0) {
      wait << "while [ ! -s " << ckpt << " ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done";
    } else {
      wait << "sleep " << static_cast<double>(delay_ms(rng)) / 1000.0;
    }
    SCOPED_TRACE("round " + std::to_string(kill) + ": " + wait.str() + " (seed " +
                 std::to_string(seed) + ", a whole run took " + std::to_string(whole_ms) + " ms)");
    lenet::test::run_command(std::string(LENET_TRAIN_MNIST) + " " + recipe + "--save " + ckpt +
                                 " --save-every 1 & pid=$!; " + wait.str() +
                                 "; kill -KILL $pid; wait $pid",
                             lenet::test::Stderr::kMerged);
    const bool saved = !lenet::test::read_file(ckpt).empty();
    if (saved && lenet::engine::load_checkpoint(ckpt).epochs_done < kEpochs) ++midway;
    const Result resumed =
        run(recipe + "--save " + ckpt + (saved ? " --resume " + ckpt : std::string()));
    ASSERT_EQ(resumed.status, 0) << resumed.out;
    EXPECT_TRUE(lenet::test::params_bitwise_equal(want,
                                                  lenet::engine::load_checkpoint(ckpt).params));
  }
  EXPECT_GE(midway, 1) << "no round killed the run between its first checkpoint and its end";
}

}  // namespace
