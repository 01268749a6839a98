// train_mnist as a user runs it: flags, exit codes, output lines, metrics and checkpoints, on
// small IDX files the test writes.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <lenet/engine/safetensors.h>

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

// The metrics file train_mnist writes with --metrics.
nlohmann::json read_metrics(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
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

TEST_F(TrainMnistApp, TrainsAndPrintsTheSeedsLines) {
  const std::string metrics = *dir_ + "/metrics.json";
  const std::string ckpt = *dir_ + "/lenet.safetensors";
  const Result r = run("--data " + *dir_ + " --device cpu --threads 2 --epochs 2 --lr 0.02 " +
                       "--log-every 5 --metrics " + metrics + " --save " + ckpt);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("train_mnist: backend cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train_mnist: self-check: 13 ops match the double reference on the CPU"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[1,     5] loss: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 2: loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Training took "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 200 test images: "), std::string::npos)
      << r.out;

  const nlohmann::json m = read_metrics(metrics);
  EXPECT_EQ(m.at("backend"), "cpu");
  EXPECT_EQ(m.at("self_check").at("ops"), 13);
  EXPECT_EQ(m.at("recipe").at("batch_size"), 64);
  EXPECT_EQ(m.at("epochs").size(), 2u);
  EXPECT_GT(m.at("train_seconds").get<double>(), 0.0);
  EXPECT_GE(m.at("test_accuracy").get<double>(), 0.0);

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
  const std::string metrics = *dir_ + "/sim_metrics.json";
  const Result r =
      run(one_short_epoch("sim", 200) + "--lr 0.05 --log-every 2 --metrics " + metrics);
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string::size_type backend = r.out.find(
      "train_mnist: backend sim on CUDA kernels in the CPU simulator, 2 threads\n");
  const std::string::size_type check = r.out.find(
      "train_mnist: self-check: 13 ops match the double reference in the CPU simulator "
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

  const nlohmann::json m = read_metrics(metrics);
  EXPECT_EQ(m.at("backend"), "sim");
  EXPECT_EQ(m.at("self_check").at("ops"), 13);
  EXPECT_LE(m.at("self_check").at("worst_fraction_of_tolerance").get<double>(), 1.0);
}

TEST_F(TrainMnistApp, NoSelfCheckSkipsTheCheck) {
  const std::string metrics = *dir_ + "/unchecked_metrics.json";
  const Result r = run(one_short_epoch("cpu", 50) + "--no-self-check --metrics " + metrics);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("self-check"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Accuracy of the network on the 50 test images: "), std::string::npos)
      << r.out;
  EXPECT_TRUE(read_metrics(metrics).at("self_check").is_null());
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

}  // namespace
