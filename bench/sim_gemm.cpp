// Cost of one simulator launch of the 16x16 shared-memory tiled GEMM, C[64, 120] =
// A[64, 256] B[256, 120]: 32 blocks of 256 threads, 16 steps along K with two barriers each.
// Validates once against a double reference, warms up, then reports the median wall time per
// launch for each thread order and number of OS threads, and the process CPU time per launch
// (less disturbed by other load on the machine; with 2 threads it adds up both). Then the unit
// costs behind it: starting a thread, and one thread's wait at a barrier.
//
//   bench_sim_gemm [repetitions]      (default 30)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

#include "gemm.cuh"
#include "launch.h"

namespace {

constexpr int kM = 64;
constexpr int kK = 256;
constexpr int kN = 120;
constexpr int kTile = 16;

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

int* c_as_int(float* c) { return reinterpret_cast<int*>(c); }

// The library's own GEMM (kernels/gemm.cuh), as linear_forward runs it on row-major operands.
void launch_gemm(const float* a, const float* b, float* c) {
  static_assert(kTile == lenet::kernels::kGemmTile, "the bench describes the library's tile");
  namespace lk = lenet::kernels;
  lk::detail::launch_gemm("bench_sim_gemm", kM, kN, kK, lk::StridedMatrix{a, kK, 1},
                          lk::StridedMatrix{b, kN, 1}, lk::StoreRowMajor{c, kN, nullptr}, nullptr);
}

// The simulator's two unit costs: starting a thread (fiber), and a thread's wait at a barrier.
static __global__ void empty_kernel(int* out) {
  if (threadIdx.x == blockDim.x) out[0] = 1;  // never true: the body does nothing
}

static __global__ void barriers_kernel(int rounds) {
  for (int i = 0; i < rounds; ++i) __syncthreads();
}

// Median milliseconds of repetitions calls of launch().
template <typename Launch>
double median_ms(int repetitions, Launch launch) {
  for (int i = 0; i < 3; ++i) launch();  // warm-up: stacks, caches
  std::vector<double> ms;
  for (int i = 0; i < repetitions; ++i) {
    const auto start = std::chrono::steady_clock::now();
    launch();
    const auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double max_error(const std::vector<float>& A, const std::vector<float>& B,
                 const std::vector<float>& C) {
  double worst = 0.0;
  for (int m = 0; m < kM; ++m) {
    for (int n = 0; n < kN; ++n) {
      double ref = 0.0;
      for (int k = 0; k < kK; ++k) ref += static_cast<double>(A[m * kK + k]) * B[k * kN + n];
      worst = std::max(worst, std::abs(ref - C[m * kN + n]));
    }
  }
  return worst;
}

int run(int repetitions) {
  namespace lk = lenet::kernels;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(kM * kK), B(kK * kN), C(kM * kN, NAN);
  for (float& v : A) v = dist(gen);
  for (float& v : B) v = dist(gen);
  auto* a = static_cast<float*>(lk::device_malloc(A.size() * sizeof(float)));
  auto* b = static_cast<float*>(lk::device_malloc(B.size() * sizeof(float)));
  auto* c = static_cast<float*>(lk::device_malloc(C.size() * sizeof(float)));
  lk::copy_to_device(a, A.data(), A.size() * sizeof(float));
  lk::copy_to_device(b, B.data(), B.size() * sizeof(float));

  launch_gemm(a, b, c);
  lk::copy_to_host(C.data(), c, C.size() * sizeof(float));
  const double err = max_error(A, B, C);
  if (!(err < 1e-3)) {
    std::fprintf(stderr, "bench_sim_gemm: wrong result, max error %g\n", err);
    return 1;
  }

  std::printf("simulator launch of implicit_gemm_kernel<16>: C[%d,%d] = A[%d,%d] B[%d,%d], "
              "%d blocks x 256 threads\n", kM, kN, kM, kK, kK, kN,
              ((kN + kTile - 1) / kTile) * ((kM + kTile - 1) / kTile));
  std::printf("machine: %s, %u hardware threads; validated (max error %.2g); median of %d\n",
              cpu_model().c_str(), std::thread::hardware_concurrency(), err, repetitions);
  std::printf("%-14s %8s %12s %12s %12s\n", "order", "threads", "median ms", "min ms",
              "CPU ms");
  for (const int threads : {1, 2}) {
    for (const lenet::sim::Order order :
         {lenet::sim::Order::kForward, lenet::sim::Order::kReverse, lenet::sim::Order::kRandom}) {
      lenet::sim::Options o;
      o.order = order;
      o.threads = threads;
      const lenet::sim::ScopedOptions scoped(o);
      for (int i = 0; i < 3; ++i) launch_gemm(a, b, c);  // warm-up: stacks, caches
      std::vector<double> ms;
      const std::clock_t cpu_start = std::clock();
      for (int i = 0; i < repetitions; ++i) {
        const auto start = std::chrono::steady_clock::now();
        launch_gemm(a, b, c);
        const auto stop = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
      }
      const double cpu_ms =
          1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC / repetitions;
      std::sort(ms.begin(), ms.end());
      std::printf("%-14s %8d %12.2f %12.2f %12.2f\n",
                  lenet::sim::to_string(order, o.seed).c_str(), threads, ms[ms.size() / 2],
                  ms.front(), cpu_ms);
    }
  }

  {
    const lenet::sim::ScopedOptions scoped(lenet::sim::Options{});
    constexpr unsigned kBlocks = 64;
    constexpr unsigned kThreads = 256;
    constexpr int kRounds = 64;
    const double fibers = static_cast<double>(kBlocks) * kThreads;
    const double empty = median_ms(repetitions, [&] {
      LENET_LAUNCH(empty_kernel, kBlocks, kThreads, 0, nullptr, c_as_int(c));
    });
    const double barriers = median_ms(repetitions, [&] {
      LENET_LAUNCH(barriers_kernel, kBlocks, kThreads, 0, nullptr, kRounds);
    });
    std::printf("forward, 1 thread: %.0f ns per thread started (empty kernel, %u x %u), "
                "%.1f ns per thread per __syncthreads() (%d barriers)\n",
                empty * 1e6 / fibers, kBlocks, kThreads,
                (barriers - empty) * 1e6 / (fibers * kRounds), kRounds);
  }
  lk::device_free(a);
  lk::device_free(b);
  lk::device_free(c);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
    return run(repetitions);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sim_gemm: %s\n", e.what());
    return 1;
  }
}
