// train_mnist --device cudnn where it cannot run (label unit): one line on stderr that names the
// flag and the reason, nothing on stdout, exit status 1, before any data is read. Where the
// cudnn backend runs (a GPU, a build with cuDNN) there is nothing to prove: the test skips, and
// test_cudnn_backend and bench/gpu_vs_peers.sh train on it.
#include <exception>
#include <string>

#include <gtest/gtest.h>

#include <lenet/engine/backend.h>

#include "support/run.h"

namespace le = lenet::engine;

namespace {

TEST(TrainMnistCudnn, WithoutAUsableBackendPrintsOneLineAndExits1) {
  try {
    le::make_cudnn_backend();
    GTEST_SKIP() << "the cudnn backend runs here";
  } catch (const std::exception&) {
  }
  // No data at all: the backend is made first, so its error is the one reported.
  const lenet::test::CommandResult r = lenet::test::run_command(
      std::string(LENET_TRAIN_MNIST) + " --device cudnn --data /nonexistent/mnist",
      lenet::test::Stderr::kSeparate);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const std::string want = le::cudnn_backend_built()
                               ? "train_mnist: error: --device cudnn: "
                               : "train_mnist: error: this build of lenet has no cudnn backend: ";
  EXPECT_EQ(r.err.rfind(want, 0), 0u) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

}  // namespace
