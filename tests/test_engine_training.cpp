// The engine: one step of each backend against the reference network, training on synthetic
// data, reproducibility, checkpoints and resume (test_engine_resume.cpp: stops, mid-epoch
// checkpoints, overrides, divergence).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/checkpoint.h>
#include <lenet/engine/lenet_model.h>
#include <lenet/engine/safetensors.h>
#include <lenet/engine/trainer.h>

#include "support/compare.h"
#include "support/params.h"
#include "support/reference_step.h"
#include "support/small_training.h"
#include "support/synthetic_mnist.h"
#include "support/temp_dir.h"

namespace le = lenet::engine;
namespace ref = lenet::cpu_ref;
using lenet::test::expect_step_matches_reference;
using lenet::test::params_bitwise_equal;
using lenet::test::small_config;
using lenet::test::synthetic_data;
using lenet::test::SyntheticData;

namespace {

TEST(EngineCpu, OneStepMatchesTheReferenceNetwork) {
  auto backend = le::make_cpu_backend(2);
  expect_step_matches_reference(*backend, 8, 1e-5, 1e-3);
}

TEST(EngineSim, OneStepMatchesTheReferenceNetwork) {
  auto backend = le::make_sim_backend(2);
  expect_step_matches_reference(*backend, 8, 1e-5, 1e-3);
}

TEST(EngineSim, OneStepMatchesTheCpuBackend) {
  constexpr std::int64_t kN = 16;
  const le::MnistSplit batch = lenet::test::synthetic_mnist(kN, 3);
  auto cpu = le::make_cpu_backend(1);
  auto sim = le::make_sim_backend(2);
  le::LenetModel a(*cpu, kN), b(*sim, kN);
  for (le::LenetModel* m : {&a, &b}) {
    m->set_parameters(ref::lenet_init<float>(9));
    m->load_batch(kN, batch.images.data(), batch.labels.data());
    m->forward();
    m->backward();
    m->sgd_step({0.01, 0.9, 0.0});
  }
  EXPECT_NEAR(a.loss(), b.loss(), 1e-5);
  const le::HostParams pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.tensors.size(); ++i) {
    EXPECT_TRUE(lenet::test::all_close(pb[i].data, pa[i].data, 1e-6, 1e-4)) << pa[i].name;
  }
}

TEST(EngineCpu, TrainingOnSyntheticDataLowersTheLoss) {
  const SyntheticData data = synthetic_data(3200, 500);
  auto backend = le::make_cpu_backend(2);
  le::TrainConfig c = small_config(3);  // 300 steps
  le::Trainer trainer(*backend, data.train, data.test, c);
  const le::TrainSummary s = trainer.run();
  ASSERT_EQ(s.epochs.size(), 3u);
  EXPECT_LT(s.epochs.back().loss, 0.5 * s.epochs.front().loss);
  EXPECT_GT(s.test_accuracy, 90.0);
}

TEST(EngineCpu, OneSeedGivesBitwiseEqualWeights) {
  const SyntheticData data = synthetic_data(640);
  le::HostParams first;
  for (int run = 0; run < 2; ++run) {
    auto backend = le::make_cpu_backend(2);
    le::Trainer trainer(*backend, data.train, data.test, small_config());
    trainer.run();
    if (run == 0) {
      first = trainer.model().parameters();
    } else {
      EXPECT_TRUE(params_bitwise_equal(first, trainer.model().parameters()));
    }
  }
}

TEST(EngineCpu, ADifferentSeedGivesDifferentWeights) {
  const SyntheticData data = synthetic_data(320);
  auto backend = le::make_cpu_backend(2);
  le::TrainConfig c = small_config(1);
  le::Trainer a(*backend, data.train, data.test, c);
  a.run();
  c.seed = 8;
  le::Trainer b(*backend, data.train, data.test, c);
  b.run();
  EXPECT_FALSE(params_bitwise_equal(a.model().parameters(), b.model().parameters()));
}

// The checkpoint tests: a fresh directory for the files, and one epoch on 320 synthetic images
// with a one-thread CPU backend.
class EngineCheckpoint : public ::testing::Test {
 protected:
  const lenet::test::TempDir dir_;
  const SyntheticData data_ = synthetic_data(320);
  std::unique_ptr<le::Backend> backend_ = le::make_cpu_backend(1);
  le::TrainConfig config_ = small_config(1);
};

TEST_F(EngineCheckpoint, ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne) {
  const std::string path = dir_.file("resume.safetensors");
  const SyntheticData data = synthetic_data(640);
  auto backend = le::make_cpu_backend(2);

  le::Trainer whole(*backend, data.train, data.test, small_config());  // 2 epochs
  whole.run();

  le::TrainConfig first_half = small_config(1);
  first_half.save_path = path;
  le::Trainer interrupted(*backend, data.train, data.test, first_half);
  interrupted.run();

  le::TrainConfig second_half = small_config();
  second_half.resume_path = path;
  le::Trainer resumed(*backend, data.train, data.test, second_half);
  EXPECT_EQ(resumed.epochs_done(), 1);
  const le::TrainSummary s = resumed.run();
  EXPECT_EQ(s.first_epoch, 2);
  ASSERT_EQ(s.epochs.size(), 2u);  // the whole run: epoch 1 from the checkpoint
  EXPECT_TRUE(s.epochs[0].from_checkpoint);
  EXPECT_FALSE(s.epochs[1].from_checkpoint);
  EXPECT_TRUE(params_bitwise_equal(whole.model().parameters(), resumed.model().parameters()));
  EXPECT_TRUE(params_bitwise_equal(whole.model().momentum(), resumed.model().momentum()));
}

TEST_F(EngineCheckpoint, RoundTripKeepsEveryTensorAndTheState) {
  le::Trainer trainer(*backend_, data_.train, data_.test, config_);
  trainer.run();
  const le::TrainingState saved = trainer.state();
  const std::string path = dir_.file("roundtrip.safetensors");
  le::save_checkpoint(path, saved);
  const le::TrainingState loaded = le::load_checkpoint(path);
  EXPECT_TRUE(params_bitwise_equal(saved.params, loaded.params));
  EXPECT_TRUE(params_bitwise_equal(saved.momentum, loaded.momentum));
  EXPECT_EQ(loaded.epochs_done, 1);
  EXPECT_EQ(loaded.step, saved.step);
  EXPECT_EQ(loaded.seed, 7u);
  EXPECT_EQ(loaded.rng, saved.rng);
  EXPECT_EQ(loaded.batch_size, 32);
  EXPECT_EQ(loaded.sgd.lr, config_.sgd.lr);
  EXPECT_EQ(loaded.sgd.momentum, config_.sgd.momentum);

  // PyTorch's state_dict names and shapes, plus the momentum buffers.
  const le::SafetensorsFile file = le::load_safetensors(path);
  const le::NamedTensor* fc1 = file.find("fc1.weight");
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->shape, (std::vector<std::int64_t>{120, 256}));
  ASSERT_NE(file.find("conv1.weight"), nullptr);
  EXPECT_EQ(file.find("conv1.weight")->shape, (std::vector<std::int64_t>{6, 1, 5, 5}));
  EXPECT_NE(file.find("momentum.fc3.bias"), nullptr);
  EXPECT_EQ(file.tensors.size(), 20u);
}

TEST_F(EngineCheckpoint, ResumingWithAnotherRecipeIsRefused) {
  const std::string path = dir_.file("recipe.safetensors");
  config_.save_path = path;
  le::Trainer(*backend_, data_.train, data_.test, config_).run();
  config_.save_path.clear();
  config_.resume_path = path;
  config_.seed = 8;  // the initialization is done: a run cannot change its seed
  try {
    le::Trainer resumed(*backend_, data_.train, data_.test, config_);
    FAIL() << "a resume with another seed was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("seed 7 (this run: 8)"), std::string::npos) << e.what();
  }
}

TEST_F(EngineCheckpoint, AFileThatIsNotACheckpointIsRefused) {
  const std::string path = dir_.file("other.safetensors");
  le::SafetensorsFile file;
  file.tensors.push_back({"weight", {2}, {1.0f, 2.0f}});
  le::save_safetensors(path, file);
  EXPECT_THROW(le::load_checkpoint(path), le::CheckpointError);
}

TEST(EngineCpu, NullPointersThrowBeforeTheBatchIsSplit) {
  auto backend = le::make_cpu_backend(2);
  const lenet::Conv2dShape conv{64, 1, 28, 28, 6, 5, 5};
  le::Buffer w = backend->allocate(static_cast<std::size_t>(conv.w_size()) * sizeof(float));
  le::Buffer y = backend->allocate(static_cast<std::size_t>(conv.y_size()) * sizeof(float));
  EXPECT_THROW(backend->conv2d_forward(conv, nullptr, w.as<float>(), nullptr, y.as<float>()),
               std::invalid_argument);
  const lenet::LinearShape fc{64, 256, 10};
  le::Buffer dy = backend->allocate(static_cast<std::size_t>(fc.y_size()) * sizeof(float));
  le::Buffer x = backend->allocate(static_cast<std::size_t>(fc.x_size()) * sizeof(float));
  le::Buffer wf = backend->allocate(static_cast<std::size_t>(fc.w_size()) * sizeof(float));
  EXPECT_THROW(backend->linear_backward(fc, dy.as<float>(), x.as<float>(), wf.as<float>(),
                                        nullptr, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(backend->relu_forward(-1, nullptr, nullptr), std::invalid_argument);
}

TEST(EngineCpu, ABatchLargerThanTheDataSetIsOneStepPerEpoch) {
  const SyntheticData data = synthetic_data(320);
  auto backend = le::make_cpu_backend(1);
  le::TrainConfig c = small_config(1);
  c.batch_size = std::int64_t{1} << 40;  // allocated for the 320 images, not for this
  le::Trainer trainer(*backend, data.train, data.test, c);
  const le::TrainSummary s = trainer.run();
  EXPECT_EQ(trainer.state().step, 1);
  EXPECT_EQ(s.epochs.at(0).images, 320);
}

}  // namespace
