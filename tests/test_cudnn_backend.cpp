// The cudnn backend (cuDNN and cuBLAS for the layers, engine/cudnn_backend.cpp) as a second
// opinion on the GPU: against the double reference for one step, against the cpu backend and
// the cuda backend for an epoch of the trainer (its captured step graph included), and through
// the self-check. Label gpu: every test skips without a usable GPU, or fails under
// LENET_REQUIRE_GPU=1 (support/gpu.h). Registered only in builds with the cudnn backend.
#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <lenet/engine/backend.h>
#include <lenet/engine/self_check.h>
#include <lenet/engine/trainer.h>
#include <lenet/error.h>

#include "support/compare.h"
#include "support/gpu.h"
#include "support/reference_step.h"
#include "support/small_training.h"

namespace le = lenet::engine;

namespace {

// A GPU backend by its factory, or null with why the GPU is unusable (the CUDA error included).
std::unique_ptr<le::Backend> gpu_backend(std::unique_ptr<le::Backend> (*make)(), std::string* why) {
  try {
    return make();
  } catch (const lenet::CudaError& e) {
    *why = le::explain_cuda_failure(e.code(), e.what()) + " (" + e.what() + ")";
    return nullptr;
  }
}

// Float32 on both sides, summed in other orders (cuDNN's and cuBLAS's tiles against Eigen's
// blocks or our kernels' GEMM tiles and split reductions), with FMAs on the GPU: the weights
// differ by rounding that SGD carries along. The sim backend measured 2.3e-8 against cpu after
// 4 steps (test_engine_backend.cpp); 1e-5 + 1e-3*|ref| is as test_engine_training.cpp's bound
// against the double reference, ample for any summation order, while a wrong index, a lost
// term, a missed bias or a transposed GEMM moves weights by far more.
constexpr double kAtol = 1e-5, kRtol = 1e-3;

TEST(CudnnBackend, NamesItselfAndTheLibraries) {
  std::string why;
  const auto backend = gpu_backend(le::make_cudnn_backend, &why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  EXPECT_EQ(backend->name(), "cudnn");
  const std::string device = backend->device();
  EXPECT_NE(device.find("cuDNN "), std::string::npos) << device;
  EXPECT_NE(device.find("cuBLAS "), std::string::npos) << device;
  EXPECT_NE(device.find("(sm_"), std::string::npos) << device;
}

TEST(CudnnBackend, OneStepMatchesTheDoubleReference) {
  std::string why;
  const auto backend = gpu_backend(le::make_cudnn_backend, &why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  lenet::test::expect_step_matches_reference(*backend, 8, kAtol, kRtol);
}

TEST(CudnnBackend, SelfCheckPasses) {
  std::string why;
  const auto backend = gpu_backend(le::make_cudnn_backend, &why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const le::SelfCheckReport report = le::self_check(*backend);
  EXPECT_EQ(report.ops.size(), 18u);
  for (const le::OpCheck& op : report.ops) EXPECT_LE(op.max_fraction, 1.0) << op.op;
}

// One epoch of Trainer::run: full batches replay the captured step (cuDNN and cuBLAS calls in a
// CUDA graph), the short last batch runs op by op.
struct Epoch {
  le::TrainSummary summary;
  le::HostParams params;
  std::int64_t steps = 0;
};

Epoch one_epoch(le::Backend& backend, const lenet::test::SyntheticData& data) {
  le::TrainConfig config = lenet::test::small_config(1);
  config.readback_every = 2;
  le::Trainer trainer(backend, data.train, data.test, config);
  Epoch e;
  e.summary = trainer.run();
  e.params = trainer.model().parameters();
  e.steps = trainer.state().step;
  return e;
}

void expect_same_training(const Epoch& got, const Epoch& want) {
  ASSERT_EQ(got.params.tensors.size(), want.params.tensors.size());
  for (std::size_t i = 0; i < want.params.tensors.size(); ++i) {
    EXPECT_TRUE(lenet::test::all_close(got.params[i].data, want.params[i].data, kAtol, kRtol))
        << want.params[i].name;
  }
  ASSERT_EQ(got.summary.epochs.size(), 1u);
  ASSERT_EQ(want.summary.epochs.size(), 1u);
  EXPECT_NEAR(got.summary.epochs[0].loss, want.summary.epochs[0].loss,
              kAtol + kRtol * want.summary.epochs[0].loss);
  EXPECT_EQ(got.steps, want.steps);
  EXPECT_EQ(got.steps, 4);  // 3 x 32 + 4
}

TEST(CudnnBackend, AnEpochOfTheTrainerMatchesTheCpuBackend) {
  std::string why;
  const auto backend = gpu_backend(le::make_cudnn_backend, &why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const lenet::test::SyntheticData data = lenet::test::synthetic_data(100, 50);  // 3 x 32 + 4
  const auto cpu = le::make_cpu_backend(1);
  expect_same_training(one_epoch(*backend, data), one_epoch(*cpu, data));
}

TEST(CudnnBackend, AnEpochOfTheTrainerMatchesTheCudaBackend) {
  std::string why;
  const auto backend = gpu_backend(le::make_cudnn_backend, &why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const auto cuda = le::make_cuda_backend();
  const lenet::test::SyntheticData data = lenet::test::synthetic_data(100, 50);
  expect_same_training(one_epoch(*backend, data), one_epoch(*cuda, data));
}

// Without a usable GPU it fails as the cuda backend does: the same CudaError, so train_mnist
// and --device auto explain it the same way. With one, both succeed.
TEST(CudnnBackend, ThrowsTheCudaBackendsErrorWithoutAGpu) {
  std::string cuda_why, cudnn_why;
  const auto cuda = gpu_backend(le::make_cuda_backend, &cuda_why);
  const auto cudnn = gpu_backend(le::make_cudnn_backend, &cudnn_why);
  EXPECT_EQ(cuda == nullptr, cudnn == nullptr);
  if (!cuda_why.empty()) {
    EXPECT_EQ(cudnn_why.substr(0, cudnn_why.find(" (")), cuda_why.substr(0, cuda_why.find(" (")));
  }
}

}  // namespace
