// The cpu backend at every instruction set level this CPU runs (LENET_CPU_ISA forces each in
// turn): a training step against the double reference network, single ops on shapes LeNet does
// not use (stride, padding, odd sizes, chunks of unequal size) against the reference, bitwise
// equal runs for one seed and thread count, the backend's self-check, and no heap allocation
// in a training step once the first has run. Levels the CPU lacks are not instantiated, and
// forcing one is an error (tested).
#include <gtest/gtest.h>
#include <lenet/cpu_ref.h>
#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/lenet_model.h>
#include <lenet/engine/self_check.h>
#include <lenet/engine/trainer.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/compare.h"
#include "support/params.h"
#include "support/random.h"
#include "support/reference_step.h"
#include "support/scoped_env.h"
#include "support/small_training.h"
#include "support/synthetic_mnist.h"

namespace le = lenet::engine;
namespace ref = lenet::cpu_ref;

#if !defined(__SANITIZE_ADDRESS__) && defined(__GLIBC__)
// Counts the heap allocations of every thread while counting is on. malloc is replaced by one
// that forwards to glibc's own (operator new, Eigen and the containers all end there).
#include <atomic>
extern "C" void* __libc_malloc(std::size_t size);
namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::int64_t> g_mallocs{0};
}  // namespace
extern "C" void* malloc(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1);
  return __libc_malloc(size);
}
#define LENET_TEST_COUNTS_MALLOC 1
#endif

namespace {

// The levels of cpu_backend.cpp, best first, with what __builtin_cpu_supports says of them:
// the test's own statement of the rule, so a level the backend wrongly refuses fails here.
struct Level {
  std::string name;   // LENET_CPU_ISA value
  std::string label;  // in device()
};

std::vector<Level> runnable_levels() {
  std::vector<Level> levels;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma")) {
    levels.push_back({"avx512", "AVX-512"});
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    levels.push_back({"avx2", "AVX2"});
  }
  levels.push_back({"baseline", "baseline (SSE2)"});
#else
  levels.push_back({"baseline", "baseline"});
#endif
  return levels;
}

class CpuBackendLevel : public ::testing::TestWithParam<Level> {
 protected:
  // A backend at this level, built while LENET_CPU_ISA names it.
  std::unique_ptr<le::Backend> backend(int threads) const {
    const lenet::test::ScopedEnv force("LENET_CPU_ISA", GetParam().name.c_str());
    return le::make_cpu_backend(threads);
  }
};

TEST_P(CpuBackendLevel, DeviceNamesTheLevel) {
  EXPECT_EQ(backend(2)->device(), "CPU, 2 threads, " + GetParam().label);
  EXPECT_EQ(backend(1)->device(), "CPU, 1 thread, " + GetParam().label);
}

// One SGD step (odd batch, 2 threads: chunks of 7 and 8 images) against the double reference.
// The tolerance is EngineCpu.OneStepMatchesTheReferenceNetwork's: float against double, other
// summation orders (groups, tiles, chunks) and FMAs at the AVX levels.
TEST_P(CpuBackendLevel, OneStepMatchesTheReferenceNetwork) {
  lenet::test::expect_step_matches_reference(*backend(2), 15, 1e-5, 1e-3);
}

// The general convolution path (im2col with stride and padding, several groups per chunk) and
// the linear ops, on a backend of 3 threads, against the double reference.
TEST_P(CpuBackendLevel, ConvAndLinearOpsMatchTheReference) {
  const auto cpu = backend(3);
  std::uint64_t seed = 17;
  auto floats = [&](std::int64_t n) {
    return lenet::test::random_uniform<float>(n, -1, 1, seed++);
  };
  constexpr double kAtol = 1e-5, kRtol = 1e-4;
  // Stride and padding; one-channel inputs with and without padding (the direct paths take
  // the second: forward and backward filter at a width other than 24, backward data at 12 x 12,
  // 5 x 5); K*P = 100*40*40 floats, a group of one image each, so a chunk of 4 images has
  // several groups. LeNet's own two shapes at an odd batch (the constant-size direct paths);
  // the AVX-512 copy's paths for stride 1 without padding at sizes read at run time (shifted
  // rows with P not a multiple of 16 and OC not of 4; full correlation once with rows of
  // exactly 16 lanes, W + KW - 1 = 16 and H = 16, and just past it: the GEMM path). The other
  // levels run im2col + GEMM for all of them.
  const lenet::Conv2dShape shapes[] = {{10, 3, 25, 23, 4, 3, 3, 2, 1},
                                       {5, 1, 9, 8, 3, 4, 3, 1, 2},
                                       {7, 1, 12, 12, 2, 5, 5},
                                       {12, 4, 40, 40, 3, 5, 5, 1, 2},
                                       {11, 1, 28, 28, 6, 5, 5},
                                       {11, 6, 12, 12, 16, 5, 5},
                                       {9, 3, 11, 7, 5, 4, 3},
                                       {4, 2, 16, 12, 3, 3, 5},
                                       {4, 2, 16, 13, 3, 3, 5}};
  for (const lenet::Conv2dShape& s : shapes) {
    SCOPED_TRACE(::testing::Message() << "conv N " << s.N << " C " << s.C << " H " << s.H << " W "
                                      << s.W << " OC " << s.OC << " K " << s.KH << "x" << s.KW
                                      << " stride " << s.stride << " pad " << s.pad);
    const std::vector<float> x = floats(s.x_size()), w = floats(s.w_size()), b = floats(s.OC),
                             dy = floats(s.y_size());
    const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()),
        bd(b.begin(), b.end()), dyd(dy.begin(), dy.end());
    // Outputs poisoned: every element must be overwritten.
    const float nan = std::nanf("");
    std::vector<float> y(s.y_size(), nan), dx(s.x_size(), nan), dw(s.w_size(), nan),
        db(s.OC, nan);
    std::vector<double> want_y(s.y_size()), want_dx(s.x_size()), want_dw(s.w_size()), want_db(s.OC);
    cpu->conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    cpu->conv2d_backward_data(s, dy.data(), w.data(), dx.data());
    cpu->conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), db.data());
    ref::conv2d_forward(s, xd.data(), wd.data(), bd.data(), want_y.data());
    ref::conv2d_backward_data(s, dyd.data(), wd.data(), want_dx.data());
    ref::conv2d_backward_filter(s, xd.data(), dyd.data(), want_dw.data(), want_db.data());
    EXPECT_TRUE(lenet::test::all_close(y, want_y, kAtol, kRtol)) << "y";
    EXPECT_TRUE(lenet::test::all_close(dx, want_dx, kAtol, kRtol)) << "dx";
    EXPECT_TRUE(lenet::test::all_close(dw, want_dw, 1e-4, kRtol)) << "dw";
    EXPECT_TRUE(lenet::test::all_close(db, want_db, 1e-4, kRtol)) << "db";
  }
  // Larger than one GEMM tile in every dimension.
  const lenet::LinearShape s{301, 530, 270};
  const std::vector<float> x = floats(s.x_size()), w = floats(s.w_size()), b = floats(s.out),
                           dy = floats(s.y_size());
  const std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end()),
      dyd(dy.begin(), dy.end());
  std::vector<float> y(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.out);
  std::vector<double> want_y(s.y_size()), want_dx(s.x_size()), want_dw(s.w_size()), want_db(s.out);
  cpu->linear_forward(s, x.data(), w.data(), b.data(), y.data());
  cpu->linear_backward(s, dy.data(), x.data(), w.data(), dx.data(), dw.data(), db.data());
  ref::linear_forward(s, xd.data(), wd.data(), bd.data(), want_y.data());
  ref::linear_backward(s, dyd.data(), xd.data(), wd.data(), want_dx.data(), want_dw.data(),
                       want_db.data());
  EXPECT_TRUE(lenet::test::all_close(y, want_y, 1e-4, kRtol)) << "linear y";
  EXPECT_TRUE(lenet::test::all_close(dx, want_dx, 1e-4, kRtol)) << "linear dx";
  EXPECT_TRUE(lenet::test::all_close(dw, want_dw, 1e-4, kRtol)) << "linear dw";
  EXPECT_TRUE(lenet::test::all_close(db, want_db, 1e-4, kRtol)) << "linear db";
}

// Max pooling's rule (the first maximum in window order, NaN wins and stays) on data full of
// ties and NaNs, at LeNet's 2x2 windows on rows wide enough for the vector path and its tail.
TEST_P(CpuBackendLevel, MaxPoolKeepsTheFirstMaximumAndNaN) {
  const auto cpu = backend(2);
  const lenet::Pool2dShape s{3, 2, 8, 22, 2, 2};  // OW = 11: two vectors of 4 and 3 more
  std::vector<float> x(static_cast<std::size_t>(s.x_size()));
  const float values[] = {0.0f, 1.0f, -0.0f, 1.0f, std::nanf(""), 2.0f, 1.0f};
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = values[(i * 7 + i / 5) % 7];
  std::vector<float> y(s.y_size()), want_y(s.y_size());
  std::vector<std::int32_t> idx(s.y_size()), want_idx(s.y_size());
  cpu->maxpool2d_forward(s, x.data(), y.data(), idx.data());
  ref::maxpool2d_forward(s, x.data(), want_y.data(), want_idx.data());
  EXPECT_EQ(idx, want_idx);
  for (std::size_t i = 0; i < y.size(); ++i) {
    EXPECT_TRUE(std::memcmp(&y[i], &want_y[i], sizeof(float)) == 0) << "y[" << i << "]";
  }
}

// An index outside its plane is refused before anything is written, naming its place in the
// whole batch (not in a thread's chunk).
TEST_P(CpuBackendLevel, MaxPoolBackwardRefusesAnIndexOutsideThePlane) {
  const auto cpu = backend(2);
  const lenet::Pool2dShape s{4, 2, 6, 6, 2, 2};  // y [4, 2, 3, 3]: chunks of 2 images
  const std::vector<float> dy(static_cast<std::size_t>(s.y_size()), 1.0f);
  std::vector<std::int32_t> idx(static_cast<std::size_t>(s.y_size()), 0);
  idx[60] = 36;  // image 3's second plane; H*W = 36
  std::vector<float> dx(static_cast<std::size_t>(s.x_size()), 7.0f);
  try {
    cpu->maxpool2d_backward(s, dy.data(), idx.data(), dx.data());
    FAIL() << "maxpool2d_backward took idx 36 in a plane of 36";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("maxpool2d_backward: idx[60] = 36 is outside the plane"),
              std::string::npos)
        << e.what();
  }
  for (const float v : dx) ASSERT_EQ(v, 7.0f) << "dx was written before the check";
}

TEST_P(CpuBackendLevel, SelfCheckPasses) {
  const auto cpu = backend(2);
  const le::SelfCheckReport report = le::self_check(*cpu);
  EXPECT_EQ(report.ops.size(), 18u);
  for (const le::OpCheck& op : report.ops) EXPECT_LE(op.max_fraction, 1.0) << op.op;
}

TEST_P(CpuBackendLevel, OneSeedGivesBitwiseEqualWeights) {
  const lenet::test::SyntheticData data = lenet::test::synthetic_data(640);
  le::HostParams first;
  for (int run = 0; run < 2; ++run) {
    const auto cpu = backend(2);
    le::Trainer trainer(*cpu, data.train, data.test, lenet::test::small_config());
    trainer.run();
    if (run == 0) {
      first = trainer.model().parameters();
    } else {
      EXPECT_TRUE(lenet::test::params_bitwise_equal(first, trainer.model().parameters()));
    }
  }
}

#if defined(LENET_TEST_COUNTS_MALLOC)
TEST_P(CpuBackendLevel, ATrainingStepDoesNotAllocateAfterTheFirst) {
  constexpr std::int64_t kN = 64;
  const le::MnistSplit batch = lenet::test::synthetic_mnist(kN, 4);
  const auto cpu = backend(2);
  le::LenetModel model(*cpu, kN);
  model.set_parameters(ref::lenet_init<float>(2));
  auto step = [&] {
    model.load_batch(kN, batch.images.data(), batch.labels.data());
    model.forward();
    model.backward();
    model.sgd_step({0.01, 0.9, 0.0});
  };
  step();  // the workspaces grow here
  g_mallocs.store(0);
  g_counting.store(true);
  step();
  step();
  g_counting.store(false);
  EXPECT_EQ(g_mallocs.load(), 0);
}
#endif

INSTANTIATE_TEST_SUITE_P(Levels, CpuBackendLevel, ::testing::ValuesIn(runnable_levels()),
                         [](const ::testing::TestParamInfo<Level>& info) {
                           return info.param.name;
                         });

TEST(CpuBackend, DefaultIsTheBestLevel) {
  const lenet::test::ScopedEnv unset("LENET_CPU_ISA", nullptr);
  const std::string device = le::make_cpu_backend(1)->device();
  EXPECT_EQ(device, "CPU, 1 thread, " + runnable_levels().front().label);
}

TEST(CpuBackend, AnUnknownLevelIsRefused) {
  const lenet::test::ScopedEnv force("LENET_CPU_ISA", "sse9");
  try {
    le::make_cpu_backend(1);
    FAIL() << "LENET_CPU_ISA=sse9 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("LENET_CPU_ISA=sse9 is not a level of this build"),
              std::string::npos)
        << e.what();
  }
}

#if defined(__x86_64__)
TEST(CpuBackend, ALevelThisCpuLacksIsRefused) {
  const std::vector<Level> levels = runnable_levels();
  if (levels.front().name == "avx512") GTEST_SKIP() << "this CPU runs every level";
  const lenet::test::ScopedEnv force("LENET_CPU_ISA", "avx512");
  try {
    le::make_cpu_backend(1);
    FAIL() << "LENET_CPU_ISA=avx512 was accepted on a CPU without AVX-512";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("this CPU does not support AVX-512"), std::string::npos)
        << e.what();
  }
}
#endif

}  // namespace
