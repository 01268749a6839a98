// The trainer's stop, mid-epoch checkpoints and resume: a run stopped or saved at any batch and
// resumed ends bitwise where an uninterrupted one does, with the same figures for every epoch;
// a resume takes overrides it can honour and lists every conflict it cannot.
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/engine/backend.h>
#include <lenet/engine/checkpoint.h>
#include <lenet/engine/safetensors.h>
#include <lenet/engine/trainer.h>

#include "support/params.h"
#include "support/small_training.h"
#include "support/temp_dir.h"

namespace le = lenet::engine;
using lenet::test::params_bitwise_equal;

namespace {

// 320 training images in batches of 32 (small_config): 10 batches an epoch.
struct Data : lenet::test::SyntheticData {
  Data() : SyntheticData(lenet::test::synthetic_data(320)) {}
};

le::TrainConfig config(std::int64_t epochs = 2) { return lenet::test::small_config(epochs); }

// Sets the stop flag once batch `at` of epoch `epoch` is done, as a signal handler would.
class StopAt : public le::TrainObserver {
 public:
  StopAt(std::atomic<bool>* stop, std::int64_t epoch, std::int64_t at)
      : stop_(stop), epoch_(epoch), at_(at) {}
  void on_batch(const le::BatchReport& r) override {
    if (r.epoch == epoch_ && r.batch == at_) stop_->store(true);
  }

 private:
  std::atomic<bool>* stop_;
  std::int64_t epoch_, at_;
};

// Keeps a copy of the checkpoint written at (epoch, batch).
class CopyCheckpointAt : public le::TrainObserver {
 public:
  CopyCheckpointAt(std::int64_t epoch, std::int64_t batch, std::string copy)
      : epoch_(epoch), batch_(batch), copy_(std::move(copy)) {}
  void on_checkpoint(const std::string& path, std::int64_t epoch, std::int64_t batch) override {
    if (epoch == epoch_ && batch == batch_) {
      lenet::test::write_file(copy_, lenet::test::read_file(path));
    }
  }

 private:
  std::int64_t epoch_, batch_;
  std::string copy_;
};

// Runs config() with a checkpoint at path and stops it once batch `at` of epoch 1 is done.
le::TrainSummary run_stopped_after(le::Backend& backend, const Data& data, std::int64_t at,
                                   const std::string& path) {
  std::atomic<bool> stop{false};
  le::TrainConfig c = config();
  c.save_path = path;
  c.stop = &stop;
  c.readback_every = 1;  // the observer hears of each batch as it ends
  le::Trainer trainer(backend, data.train, data.test, c);
  StopAt stopper(&stop, 1, at);
  return trainer.run(&stopper);
}

void expect_same_epochs(const std::vector<le::EpochReport>& a,
                        const std::vector<le::EpochReport>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("epoch " + std::to_string(a[i].epoch));
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].loss, b[i].loss);
    EXPECT_EQ(a[i].train_accuracy, b[i].train_accuracy);
    EXPECT_EQ(a[i].test_accuracy, b[i].test_accuracy);
    EXPECT_EQ(a[i].test_loss, b[i].test_loss);
    EXPECT_EQ(a[i].images, b[i].images);
  }
}

TEST(EngineResume, AStoppedRunResumesBitwiseFromTheBatchItStoppedAt) {
  const Data data;
  auto backend = le::make_cpu_backend(2);
  le::Trainer whole(*backend, data.train, data.test, config());
  const le::TrainSummary whole_summary = whole.run();

  for (const std::int64_t at : {1, 4, 10}) {  // first, middle and last batch of epoch 1
    SCOPED_TRACE("stopped after batch " + std::to_string(at));
    const lenet::test::TempDir dir;
    const std::string path = dir.file("stopped.safetensors");
    const le::TrainSummary s = run_stopped_after(*backend, data, at, path);
    ASSERT_TRUE(s.interrupted);
    EXPECT_EQ(s.stopped_epoch, at == 10 ? 2 : 1);
    EXPECT_EQ(s.stopped_batch, at == 10 ? 0 : at);
    const le::TrainingState saved = le::load_checkpoint(path);
    EXPECT_EQ(saved.step, at);
    EXPECT_EQ(saved.batches_done, at == 10 ? 0 : at);

    le::TrainConfig again = config();
    again.resume_path = path;
    le::Trainer resumed(*backend, data.train, data.test, again);
    const le::TrainSummary r = resumed.run();
    EXPECT_FALSE(r.interrupted);
    EXPECT_TRUE(params_bitwise_equal(whole.model().parameters(), resumed.model().parameters()));
    EXPECT_TRUE(params_bitwise_equal(whole.model().momentum(), resumed.model().momentum()));
    // The summary covers the whole run, the epoch finished before the stop included.
    expect_same_epochs(r.epochs, whole_summary.epochs);
    EXPECT_EQ(r.epochs.front().from_checkpoint, at == 10);
  }
}

TEST(EngineResume, SaveEveryWritesCheckpointsWithinTheEpochThatResumeBitwise) {
  const Data data;
  auto backend = le::make_cpu_backend(2);
  const lenet::test::TempDir dir;
  le::TrainConfig c = config();
  c.save_path = dir.file("every.safetensors");
  c.save_every = 3;
  le::Trainer whole(*backend, data.train, data.test, c);
  CopyCheckpointAt copier(2, 6, dir.file("epoch2_batch6.safetensors"));
  const le::TrainSummary whole_summary = whole.run(&copier);

  const le::TrainingState mid = le::load_checkpoint(dir.file("epoch2_batch6.safetensors"));
  EXPECT_EQ(mid.epochs_done, 1);
  EXPECT_EQ(mid.batches_done, 6);
  EXPECT_EQ(mid.step, 16);
  EXPECT_EQ(mid.epochs, 2);
  ASSERT_EQ(mid.history.size(), 1u);

  le::TrainConfig again = config();
  again.resume_path = dir.file("epoch2_batch6.safetensors");
  le::Trainer resumed(*backend, data.train, data.test, again);
  EXPECT_EQ(resumed.epochs_done(), 1);
  EXPECT_EQ(resumed.batches_done(), 6);
  const le::TrainSummary r = resumed.run();
  EXPECT_TRUE(params_bitwise_equal(whole.model().parameters(), resumed.model().parameters()));
  expect_same_epochs(r.epochs, whole_summary.epochs);
}

TEST(EngineResume, EveryConflictIsListedInOneMessage) {
  const Data data;
  auto backend = le::make_cpu_backend(1);
  const lenet::test::TempDir dir;
  const std::string path = dir.file("mid.safetensors");
  run_stopped_after(*backend, data, 5, path);

  le::TrainConfig other = config();
  other.resume_path = path;
  other.seed = 8;
  other.batch_size = 16;
  other.limit_train = 160;
  try {
    le::Trainer resumed(*backend, data.train, data.test, other);
    FAIL() << "a mid-epoch resume with another seed and batch size was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("seed 7 (this run: 8)"), std::string::npos) << what;
    EXPECT_NE(what.find("batch size 32 (this run: 16)"), std::string::npos) << what;
    EXPECT_NE(what.find("training images per epoch 320 (this run: 160)"), std::string::npos)
        << what;
    EXPECT_NE(what.find("after batch 5 of epoch 1"), std::string::npos) << what;
  }
}

// The tests below start from a finished run's checkpoint.
class EngineResumeFromFile : public ::testing::Test {
 protected:
  // Trains `epochs` epochs with config() and returns the checkpoint written at the end.
  std::string train_and_save(std::int64_t epochs, const std::string& name) {
    le::TrainConfig c = config(epochs);
    c.save_path = dir_.file(name);
    le::Trainer(*backend_, data_.train, data_.test, c).run();
    return c.save_path;
  }

  const Data data_;
  std::unique_ptr<le::Backend> backend_ = le::make_cpu_backend(1);
  const lenet::test::TempDir dir_;
};

TEST_F(EngineResumeFromFile, OverridesThatCanWorkAreAllowedAndRecorded) {
  // At an epoch's end even the batch size may change; lr and epochs always may.
  le::TrainConfig other = config(2);
  other.resume_path = train_and_save(1, "end.safetensors");
  other.sgd.lr = 0.01;
  other.batch_size = 16;
  le::Trainer resumed(*backend_, data_.train, data_.test, other);
  std::vector<std::string> names;
  for (const le::ResumeOverride& o : resumed.overrides()) names.push_back(o.name);
  EXPECT_EQ(names, (std::vector<std::string>{"batch size", "lr", "epochs"}));
  EXPECT_EQ(resumed.overrides().at(1).saved, "0.02");
  EXPECT_EQ(resumed.overrides().at(1).now, "0.01");
  const le::TrainSummary s = resumed.run();
  EXPECT_EQ(s.epochs.size(), 2u);
  EXPECT_EQ(s.epochs.at(1).images, 320);
}

TEST_F(EngineResumeFromFile, FewerEpochsThanDoneIsAConflict) {
  le::TrainConfig other = config(1);
  other.resume_path = train_and_save(2, "two.safetensors");
  EXPECT_THROW(le::Trainer(*backend_, data_.train, data_.test, other), std::invalid_argument);
}

TEST_F(EngineResumeFromFile, AVersionOneCheckpointStillLoads) {
  // What a version-1 file held: no run length, position or history.
  le::SafetensorsFile file = le::load_safetensors(train_and_save(1, "v2.safetensors"));
  file.metadata["format"] = "lenet-cuda checkpoint 1";
  for (const char* key :
       {"epochs", "batches_done", "epoch_loss_sum", "epoch_correct", "epoch_seconds", "history"}) {
    file.metadata.erase(key);
  }
  const std::string v1 = dir_.file("v1.safetensors");
  le::save_safetensors(v1, file);
  const le::TrainingState s = le::load_checkpoint(v1);
  EXPECT_EQ(s.epochs_done, 1);
  EXPECT_EQ(s.epochs, 0);
  EXPECT_EQ(s.batches_done, 0);
  EXPECT_TRUE(s.history.empty());
}

TEST_F(EngineResumeFromFile, ACorruptHistoryIsACheckpointError) {
  const std::string path = train_and_save(1, "ck.safetensors");
  le::SafetensorsFile file = le::load_safetensors(path);
  file.metadata["history"] = "[{\"epoch\": 1}]";
  le::save_safetensors(path, file);
  EXPECT_THROW(le::load_checkpoint(path), le::CheckpointError);
}

// A loss that is not finite stops training too: here from a checkpoint with one NaN weight.
TEST_F(EngineResumeFromFile, ANonFiniteLossStopsTraining) {
  const std::string path = train_and_save(1, "nan.safetensors");
  le::SafetensorsFile file = le::load_safetensors(path);
  for (le::NamedTensor& t : file.tensors) {
    if (t.name == "fc3.bias") t.data[0] = std::numeric_limits<float>::quiet_NaN();
  }
  le::save_safetensors(path, file);
  le::TrainConfig c = config(2);
  c.resume_path = path;
  le::Trainer trainer(*backend_, data_.train, data_.test, c);
  try {
    trainer.run();
    FAIL() << "training on a NaN weight went on";
  } catch (const le::TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("the loss became nan at epoch 2, step 1 (global step 11)"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.step(), 11);
  }
}

TEST(EpochReportJson, RoundTripsExactly) {
  le::EpochReport r;
  r.epoch = 3;
  r.loss = 0.1 + 0.2;  // not a short decimal
  r.train_accuracy = 97.123456789012345;
  r.test_accuracy = 98.31;
  r.test_loss = 1.0 / 3.0;
  r.seconds = 5.5;
  r.eval_seconds = 0.25;
  r.images = 60000;
  r.from_checkpoint = true;
  const std::string text = le::to_json(r);
  EXPECT_EQ(text.rfind("{", 0), 0u) << text;
  EXPECT_NE(text.find("\"type\":\"epoch\""), std::string::npos) << text;
  const le::EpochReport back = le::epoch_report_from_json(text);
  EXPECT_EQ(back.epoch, r.epoch);
  EXPECT_EQ(back.loss, r.loss);
  EXPECT_EQ(back.train_accuracy, r.train_accuracy);
  EXPECT_EQ(back.test_loss, r.test_loss);
  EXPECT_EQ(back.images, r.images);
  EXPECT_TRUE(back.from_checkpoint);
  r.from_checkpoint = false;
  EXPECT_EQ(le::to_json(r).find("from_checkpoint"), std::string::npos);
  EXPECT_THROW(le::epoch_report_from_json("{\"epoch\": 1}"), std::invalid_argument);
}

TEST(EngineEvaluate, AccuracyAndLossDoNotDependOnTheBatch) {
  const Data data;
  auto backend = le::make_cpu_backend(1);
  le::Trainer trainer(*backend, data.train, data.test, config(1));
  trainer.run();
  const le::Evaluation whole = trainer.evaluate();
  le::LenetModel model(*backend, 7);
  model.set_parameters(trainer.model().parameters());
  const le::Evaluation sevens = le::evaluate(model, data.test, data.test.count, 7);
  EXPECT_EQ(sevens.accuracy, whole.accuracy);
  EXPECT_NEAR(sevens.loss, whole.loss, 1e-6 * whole.loss);
  EXPECT_GT(whole.loss, 0.0);
  EXPECT_THROW(le::evaluate(model, data.test, 0, 7), std::invalid_argument);
}

// A loss above kDivergedLoss (lr 5, lr 1e6), or one that is not finite, stops training with
// the epoch and the step.
TEST(EngineDiverged, AnExplodingLossStopsTraining) {
  const Data data;
  auto backend = le::make_cpu_backend(1);
  for (const double lr : {5.0, 1e6}) {
    SCOPED_TRACE("lr " + std::to_string(lr));
    le::TrainConfig c = config(3);
    c.sgd = {lr, 0.9, 0.0};
    le::Trainer trainer(*backend, data.train, data.test, c);
    try {
      trainer.run();
      ADD_FAILURE() << "training did not diverge";
    } catch (const le::TrainingDiverged& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("(above 1000) at epoch 1, step "), std::string::npos) << what;
      EXPECT_NE(what.find("try a smaller --lr than"), std::string::npos) << what;
      EXPECT_GE(e.step(), 1);
    }
  }
}

}  // namespace
