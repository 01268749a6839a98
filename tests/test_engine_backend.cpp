// The engine's kernel backends against the cpu backend. One source, two executors (as the
// kernel tests): test_engine_backend_sim runs the sim backend on every commit (label sim);
// test_engine_backend_cuda (LENET_TEST_CUDA_BACKEND, label gpu) runs make_cuda_backend() and
// skips without a usable GPU, or fails under LENET_REQUIRE_GPU=1.
//
// Both binaries link lenet_engine, which holds both kernel libraries when CUDA is built, so a
// launcher resolved to the wrong library would go unnoticed by the results alone: the tests
// count the simulator's launches (lenet::sim::launch_count()) to prove which library ran.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/lenet_model.h>
#include <lenet/engine/self_check.h>
#include <lenet/engine/trainer.h>
#include <lenet/error.h>
#include <lenet/sim/options.h>

#include "support/compare.h"
#include "support/gpu.h"
#include "support/random.h"
#include "support/synthetic_mnist.h"

namespace le = lenet::engine;
namespace ref = lenet::cpu_ref;

namespace {

constexpr std::int64_t kPixels = 28 * 28;

#if defined(LENET_TEST_CUDA_BACKEND)
constexpr bool kOnGpu = true;
// The cuda backend, or null with why the GPU is unusable (the CUDA error included).
std::unique_ptr<le::Backend> backend_under_test(std::string* why) {
  try {
    return le::make_cuda_backend();
  } catch (const lenet::CudaError& e) {
    *why = le::explain_cuda_failure(e.code(), e.what()) + " (" + e.what() + ")";
    return nullptr;
  }
}
#else
constexpr bool kOnGpu = false;
std::unique_ptr<le::Backend> backend_under_test(std::string* /*why*/) {
  return le::make_sim_backend(2);
}
// cuda_backend_built() sits beside make_cuda_backend(): calling it links the cuda backend, and
// with it lenet_kernels in a build with CUDA, so this binary holds both kernel libraries as
// train_mnist does. A launcher the linker resolved to the GPU library would then run there
// (throwing here, without a driver) and be missing from the simulator's count.
[[maybe_unused]] const bool kCudaBackendLinked = le::cuda_backend_built();
#endif

// Simulator launches of one training step as Trainer::run takes it
// (LenetModel::queue_train_step), from its op list and the launchers in kernels/*.cu (one
// kernel per op call, the fused *_relu ops included, except the weight gradients, whose bias
// sums ride in the dw GEMM as a column of ones and whose reduction is split over slices and
// summed by a second kernel when it is long enough (docs/kernels.md, "Split-K"): at this test's
// batch of 16, conv2d_backward_filter splits (conv1 and conv2: the GEMM and the sum of the
// slices) and linear_backward does not (16 terms: a GEMM for dx and one for dw and db)):
//   gather_batch                                                                      1
//   forward      2 x conv2d_relu_maxpool2d_forward                                      2
//                fc1, fc2: linear_forward_relu; fc3: linear_forward                     3
//   count_correct                                                                      1
//   backward     softmax_cross_entropy                                                  1
//                3 x linear_backward_relu (dx, dw and db)                               6
//                2 x (maxpool2d_backward, conv2d_backward_filter (2))                   6
//                conv2d_backward_data_relu of conv2 (conv1's dx is not needed)         1
//   sgd_step     sgd_momentum_step over the one flat buffer of all parameters           1
//   record_step                                                                        1
constexpr std::uint64_t kSimLaunchesPerStep = 23;

// Simulator launches of the self-check: one per op, plus one for conv2d_backward_filter's sum
// of slices (its 189 terms split in 2) and one each for linear_backward's and
// linear_backward_relu's dw and db (5 terms, not split).
constexpr std::uint64_t kSimLaunchesPerSelfCheck = 21;

// Launches the backend under test should add to the simulator's count for `sim_launches`
// launches of work: all of them on sim, none on cuda (its kernels run on the GPU).
std::uint64_t expected_launches(std::uint64_t sim_launches) { return kOnGpu ? 0 : sim_launches; }

struct StepsRun {
  std::vector<float> losses;  // one per step, before its update
  le::HostParams params, momentum;
};

constexpr std::int64_t kBatch = 16;
constexpr int kSteps = 4;
constexpr std::uint64_t kInitSeed = 3;

// kSteps SGD steps on consecutive batches of synthetic images, from one initialization.
StepsRun train_steps(le::Backend& backend) {
  const le::MnistSplit data = lenet::test::synthetic_mnist(kBatch * kSteps, 21);
  le::LenetModel model(backend, kBatch);
  model.set_parameters(ref::lenet_init<float>(kInitSeed));
  StepsRun run;
  for (int step = 0; step < kSteps; ++step) {
    model.load_batch(kBatch, data.images.data() + step * kBatch * kPixels,
                     data.labels.data() + step * kBatch);
    model.forward();
    model.backward();
    run.losses.push_back(model.loss());
    model.sgd_step({0.01, 0.9, 0.0});
  }
  run.params = model.parameters();
  run.momentum = model.momentum();
  return run;
}

TEST(EngineKernelBackend, TrainingStepsMatchTheCpuBackend) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const auto cpu = le::make_cpu_backend(1);
  const StepsRun want = train_steps(*cpu);
  const StepsRun got = train_steps(*backend);

  // Both run float32, in other summation orders (the kernels' GEMM tiles and fixed-order
  // reductions against Eigen's blocks and the cpu backend's chunks), and nvcc contracts
  // multiply-adds into FMAs where g++ does not: each gradient differs by rounding, and SGD carries
  // that into the weights and momentum. Measured on the sim backend after these 4 steps: weights
  // and momentum within 2.3e-8 absolute, losses equal. 1e-6 + 1e-4*|ref| leaves a factor of more
  // than 40 for the GPU's FMAs and orders; a wrong index or a lost term moves them by far more
  // (small errors in single ops are the self-check's and the kernel tests' to find).
  constexpr double kAtol = 1e-6, kRtol = 1e-4;
  ASSERT_EQ(got.losses.size(), want.losses.size());
  EXPECT_TRUE(lenet::test::all_close(got.losses, want.losses, kAtol, kRtol)) << "losses";
  for (std::size_t i = 0; i < want.params.tensors.size(); ++i) {
    EXPECT_TRUE(lenet::test::all_close(got.params[i].data, want.params[i].data, kAtol, kRtol))
        << want.params[i].name;
    EXPECT_TRUE(lenet::test::all_close(got.momentum[i].data, want.momentum[i].data, kAtol, kRtol))
        << "momentum of " << want.params[i].name;
  }
  // The steps trained: a comparison of parameters that never moved would prove nothing.
  const le::HostParams init = ref::lenet_init<float>(kInitSeed);
  for (std::size_t i = 0; i < init.tensors.size(); ++i) {
    EXPECT_FALSE(lenet::test::all_close(want.params[i].data, init[i].data, kAtol, kRtol))
        << init[i].name << " did not move";
  }
}

TEST(EngineKernelBackend, SelfCheckPasses) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const std::uint64_t before = lenet::sim::launch_count();
  const le::SelfCheckReport report = le::self_check(*backend);
  EXPECT_EQ(lenet::sim::launch_count() - before, expected_launches(kSimLaunchesPerSelfCheck));
  EXPECT_EQ(report.ops.size(), 18u);
  for (const le::OpCheck& op : report.ops) EXPECT_LE(op.max_fraction, 1.0) << op.op;
}

// A data set of `count` synthetic images and the step's bookkeeping in the backend's memory.
struct Resident {
  Resident(le::Backend& backend, std::int64_t count, std::int64_t window)
      : data(lenet::test::synthetic_mnist(count, 5)) {
    std::vector<std::int32_t> order(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) order[i] = static_cast<std::int32_t>(count - 1 - i);
    const std::int64_t zero = 0;
    images = upload(backend, data.images.data(), data.images.size());
    labels = upload(backend, data.labels.data(), data.labels.size() * sizeof(std::int32_t));
    order_buffer = upload(backend, order.data(), order.size() * sizeof(std::int32_t));
    cursor = upload(backend, &zero, sizeof zero);
    losses = backend.allocate(static_cast<std::size_t>(window) * sizeof(float));
    corrects = backend.allocate(static_cast<std::size_t>(window) * sizeof(std::int64_t));
    view = {images.as<std::uint8_t>(), labels.as<std::int32_t>(),
            order_buffer.as<std::int32_t>(), cursor.as<std::int64_t>(), window,
            losses.as<float>(), corrects.as<std::int64_t>()};
  }
  static le::Buffer upload(le::Backend& backend, const void* host, std::size_t bytes) {
    le::Buffer b = backend.allocate(bytes);
    backend.upload(b.data(), host, bytes);
    return b;
  }

  le::MnistSplit data;
  le::Buffer images, labels, order_buffer, cursor, losses, corrects;
  le::ResidentData view;
};

// The training step, captured once, is one graph launch that runs the step's kernels where the
// backend says (all in the simulator on sim, none there on cuda), and nothing runs at capture.
TEST(EngineKernelBackend, ATrainingStepIsOneGraphLaunch) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  Resident resident(*backend, 16, 4);
  le::LenetModel model(*backend, 8);
  model.set_parameters(ref::lenet_init<float>(1));

  const std::uint64_t before = lenet::sim::launch_count();
  const std::uint64_t graphs = lenet::sim::graph_launch_count();
  const std::unique_ptr<le::StepGraph> step = backend->capture(
      [&] { model.queue_train_step(resident.view, 8, 8, {0.01, 0.9, 0.0}); });
  EXPECT_EQ(lenet::sim::launch_count(), before) << "a captured step runs only when replayed";
  step->replay();
  step->replay();
  backend->synchronize();
  EXPECT_EQ(lenet::sim::launch_count() - before, expected_launches(2 * kSimLaunchesPerStep))
      << (kOnGpu ? "the cuda backend ran simulator kernels"
                 : "the sim backend's launches did not all run in the simulator");
  EXPECT_EQ(lenet::sim::graph_launch_count() - graphs, kOnGpu ? 0u : 2u);
  // Each replay took the next batch and recorded its loss.
  std::int64_t cursor = 0;
  backend->download(&cursor, resident.cursor.data(), sizeof cursor);
  EXPECT_EQ(cursor, 2);
  std::vector<float> losses(4, 0.0f);
  backend->download(losses.data(), resident.losses.data(), 2 * sizeof(float));
  EXPECT_GT(losses[0], 0.0f);
  EXPECT_GT(losses[1], 0.0f);
  EXPECT_NE(losses[0], losses[1]) << "two different batches";
}

// Trainer::run on this backend (graph replays for full batches, op by op for the short last
// one, losses read back once per window) against the cpu backend, for a whole epoch.
TEST(EngineKernelBackend, AnEpochOfTheTrainerMatchesTheCpuBackend) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const le::MnistSplit train = lenet::test::synthetic_mnist(100, 31);  // 3 x 32 + 4
  const le::MnistSplit test = lenet::test::synthetic_mnist(50, 32);
  le::TrainConfig config;
  config.epochs = 1;
  config.batch_size = 32;
  config.sgd = {0.02, 0.9, 0.0};
  config.seed = 4;
  config.eval_batch = 50;
  config.readback_every = 2;
  const auto cpu = le::make_cpu_backend(1);
  le::Trainer want(*cpu, train, test, config);
  const le::TrainSummary want_summary = want.run();
  const std::uint64_t graphs = lenet::sim::graph_launch_count();
  le::Trainer got(*backend, train, test, config);
  const le::TrainSummary got_summary = got.run();
  EXPECT_EQ(lenet::sim::graph_launch_count() - graphs, kOnGpu ? 0u : 3u) << "the full batches";
  constexpr double kAtol = 1e-6, kRtol = 1e-4;  // as TrainingStepsMatchTheCpuBackend
  const le::HostParams got_params = got.model().parameters();
  const le::HostParams want_params = want.model().parameters();
  for (std::size_t i = 0; i < want_params.tensors.size(); ++i) {
    EXPECT_TRUE(lenet::test::all_close(got_params[i].data, want_params[i].data, kAtol, kRtol))
        << want_params[i].name;
  }
  ASSERT_EQ(got_summary.epochs.size(), 1u);
  EXPECT_NEAR(got_summary.epochs[0].loss, want_summary.epochs[0].loss,
              kAtol + kRtol * want_summary.epochs[0].loss);
  EXPECT_EQ(got_summary.epochs[0].train_accuracy, want_summary.epochs[0].train_accuracy);
  EXPECT_EQ(got.state().step, 4);
}

TEST(EngineKernelBackend, ReportsTheCodeItsKernelsRun) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  const le::KernelCode image = backend->kernel_code();
  if (kOnGpu) {
    EXPECT_EQ(image.kind, le::KernelCode::Kind::kGpu);
    EXPECT_GE(image.binary_version, 75);  // CUDA 13 builds sm_75 and newer
    EXPECT_GE(image.ptx_version, 75);
  } else {
    EXPECT_EQ(image.kind, le::KernelCode::Kind::kSimulator);
    EXPECT_EQ(image.binary_version, 0);
    EXPECT_EQ(image.ptx_version, 0);
  }
}

TEST(EngineKernelBackend, CopiesOfEverySizeRoundTripThroughTheStaging) {
  std::string why;
  const auto backend = backend_under_test(&why);
  LENET_SKIP_OR_FAIL_WITHOUT_GPU(why);
  // Growing sizes reallocate the pinned staging memory, the small ones after them reuse it.
  for (const std::size_t bytes : {std::size_t{1}, std::size_t{3}, std::size_t{4096 + 5},
                                  std::size_t{1} << 20, std::size_t{7}}) {
    std::vector<std::uint8_t> host =
        lenet::test::random_bytes(static_cast<std::int64_t>(bytes), bytes);
    const std::vector<std::uint8_t> original = host;
    le::Buffer a = backend->allocate(bytes), b = backend->allocate(bytes);
    backend->upload(a.data(), host.data(), bytes);
    host.assign(bytes, 0xAB);  // upload has finished reading host: it may change at once
    backend->copy(b.data(), a.data(), bytes);
    std::vector<std::uint8_t> back(bytes);
    backend->download(back.data(), b.data(), bytes);
    EXPECT_EQ(back, original) << bytes << " bytes";
    backend->zero(b.data(), bytes);
    backend->download(back.data(), b.data(), bytes);
    EXPECT_EQ(back, std::vector<std::uint8_t>(bytes, 0)) << bytes << " bytes";
  }
}

}  // namespace
