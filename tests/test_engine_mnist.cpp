// Label mnist: training on the real MNIST files from $MNIST_DIR (skipped without it).
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include <lenet/engine/backend.h>
#include <lenet/engine/mnist.h>
#include <lenet/engine/trainer.h>

namespace le = lenet::engine;

namespace {

TEST(EngineMnist, OneCpuEpochAtLr001ReachesAtLeast97Percent) {
  const char* dir = std::getenv("MNIST_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "MNIST_DIR is not set";
  const le::MnistData data = le::load_mnist(dir);
  auto backend = le::make_cpu_backend(0);
  le::TrainConfig c;
  c.epochs = 1;
  c.sgd.lr = 0.01;
  le::Trainer trainer(*backend, data.train, data.test, c);
  const le::TrainSummary s = trainer.run();
  std::printf("one epoch on %s: loss %.4f, test accuracy %.2f %%, %.1f s\n",
              backend->device().c_str(), s.epochs.at(0).loss, s.test_accuracy, s.train_seconds);
  EXPECT_GE(s.test_accuracy, 97.0);
}

}  // namespace
