// The simulator's stand-in for the CUDA runtime (one device, host memory, checked pointers)
// and its settings.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

namespace lk = lenet::kernels;
using lenet::sim::Options;
using lenet::sim::Order;

namespace {

TEST(SimRuntime, ReportsOneDevice) {
  int count = 0;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(lk::device_count(), 1);
}

TEST(SimRuntime, MemoryRoundTripAndMemset) {
  const std::vector<float> host = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  const std::size_t bytes = host.size() * sizeof(float);
  auto* a = static_cast<float*>(lk::device_malloc(bytes));
  auto* b = static_cast<float*>(lk::device_malloc(bytes));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 256, 0u);
  lk::copy_to_device(a, host.data(), bytes);
  lk::copy_device_to_device(b, a, bytes);
  std::vector<float> back(host.size(), 0.0f);
  lk::copy_to_host(back.data(), b, bytes);
  EXPECT_EQ(back, host);
  lk::device_memset(b, 0, bytes);
  lk::synchronize();
  lk::copy_to_host(back.data(), b, bytes);
  EXPECT_EQ(back, std::vector<float>(host.size(), 0.0f));
  lk::device_free(a);
  lk::device_free(b);
  EXPECT_EQ(lk::device_malloc(0), nullptr);
}

TEST(SimRuntime, HostPointersWhereDeviceMemoryBelongsAreRejected) {
  std::vector<float> host(4, 1.0f);
  std::vector<float> other(4, 0.0f);
  try {
    lk::copy_to_device(other.data(), host.data(), 16);
    FAIL() << "copy into host memory as if it were device memory";
  } catch (const lenet::CudaError& e) {
    EXPECT_EQ(e.code(), 1) << e.what();
    EXPECT_NE(std::string(e.what()).find("cudaErrorInvalidValue"), std::string::npos) << e.what();
  }
  auto* d = static_cast<float*>(lk::device_malloc(16));
  EXPECT_THROW(lk::copy_to_host(host.data(), d, 20), lenet::CudaError) << "past the end";
  EXPECT_THROW(lk::copy_to_host(host.data(), d + 1, 16), lenet::CudaError) << "past the end";
  lk::copy_to_host(host.data(), d + 1, 12);
  lk::device_free(d);
  EXPECT_THROW(lk::copy_to_host(host.data(), d, 4), lenet::CudaError) << "freed";
}

TEST(SimRuntime, ErrorsAreRecordedUntilCudaGetLastError) {
  int on_stack = 0;
  EXPECT_EQ(cudaFree(&on_stack), cudaErrorInvalidValue);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidConfiguration), "invalid configuration argument");
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
}

TEST(SimRuntime, StreamsAreCheckedHandles) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  EXPECT_NE(stream, nullptr);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
}

TEST(SimRuntime, PinnedHostMemoryIsTrackedApartFromDeviceMemory) {
  void* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(&pinned, 64), cudaSuccess);
  ASSERT_NE(pinned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pinned) % 256, 0u);
  auto* d = static_cast<float*>(lk::device_malloc(64));
  lk::copy_to_device(d, pinned, 64);  // pinned memory is host memory
  lk::copy_to_host(pinned, d, 64);
  EXPECT_THROW(lk::copy_to_host(d, pinned, 64), lenet::CudaError)
      << "pinned memory as device memory";
  EXPECT_EQ(cudaFree(pinned), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFreeHost(d), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaErrorInvalidValue) << "freed twice";
  EXPECT_EQ(cudaFreeHost(nullptr), cudaSuccess);
  float* typed = nullptr;
  EXPECT_EQ(cudaMallocHost(&typed, 0), cudaSuccess);
  EXPECT_EQ(typed, nullptr);
  static_cast<void>(cudaGetLastError());
  lk::device_free(d);
}

TEST(SimRuntime, StreamFlagsAreChecked) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  EXPECT_NE(stream, nullptr);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamDefault), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaStreamCreateWithFlags(&stream, 0x4), cudaErrorInvalidValue);
  EXPECT_EQ(cudaStreamCreateWithFlags(nullptr, cudaStreamNonBlocking), cudaErrorInvalidValue);
  static_cast<void>(cudaGetLastError());
}

// Stream capture: the work queued on a capturing stream is recorded, not run; each
// cudaGraphLaunch runs all of it again, in order.
TEST(SimGraph, CapturedWorkRunsOnlyWhenTheGraphIsLaunched) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const std::vector<float> x_host = {-1.0f, 2.0f, -3.0f, 4.0f};
  auto* x = static_cast<float*>(lk::device_malloc(16));
  auto* y = static_cast<float*>(lk::device_malloc(16));
  auto* cursor = static_cast<std::int64_t*>(lk::device_malloc(sizeof(std::int64_t)));
  auto* losses = static_cast<float*>(lk::device_malloc(sizeof(float)));
  auto* corrects = static_cast<std::int64_t*>(lk::device_malloc(sizeof(std::int64_t)));
  lk::copy_to_device(x, x_host.data(), 16);
  lk::device_memset(y, 0, 16);
  lk::device_memset(cursor, 0, sizeof(std::int64_t));

  cudaStreamCaptureStatus status = cudaStreamCaptureStatusActive;
  EXPECT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  EXPECT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  const std::uint64_t launches = lenet::sim::launch_count();
  ASSERT_EQ(cudaMemsetAsync(y, 0xff, 16, stream), cudaSuccess);  // NaN, then overwritten
  lk::relu_forward(4, x, y, stream);
  lk::record_step(y + 1, cursor, cursor, 1, losses, corrects, stream);  // counts the replays
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);
  EXPECT_EQ(lenet::sim::launch_count(), launches) << "nothing ran while capturing";
  std::vector<float> y_host(4, 7.0f);
  lk::copy_to_host(y_host.data(), y, 16);
  EXPECT_EQ(y_host, std::vector<float>(4, 0.0f));

  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  const std::uint64_t graphs = lenet::sim::graph_launch_count();
  for (int replay = 0; replay < 3; ++replay) ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  EXPECT_EQ(lenet::sim::graph_launch_count(), graphs + 3);
  EXPECT_EQ(lenet::sim::launch_count(), launches + 6) << "two kernels per replay";
  lk::copy_to_host(y_host.data(), y, 16);
  EXPECT_EQ(y_host, (std::vector<float>{0.0f, 2.0f, 0.0f, 4.0f}));
  std::int64_t replays = 0;
  lk::copy_to_host(&replays, cursor, sizeof replays);
  EXPECT_EQ(replays, 3);

  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  for (void* p : {static_cast<void*>(x), static_cast<void*>(y), static_cast<void*>(cursor),
                  static_cast<void*>(losses), static_cast<void*>(corrects)}) {
    lk::device_free(p);
  }
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

// What a GPU refuses during capture, refused here too.
TEST(SimGraph, CaptureRulesAreThoseOfCuda) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
            cudaErrorStreamCaptureUnsupported)
      << "the legacy default stream cannot capture";
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorIllegalState) << "not capturing";
  // Waiting for a capturing stream invalidates the capture.
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorStreamCaptureUnsupported);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  EXPECT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  // A launcher's checks run when the launch is captured, not when the graph runs.
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_THROW(lk::relu_forward(4, nullptr, nullptr, stream), std::invalid_argument);
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  static_cast<void>(cudaGetLastError());
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(SimOptions, ParseOrder) {
  EXPECT_EQ(lenet::sim::parse_order("forward").order, Order::kForward);
  EXPECT_EQ(lenet::sim::parse_order("reverse").order, Order::kReverse);
  const Options random = lenet::sim::parse_order("random");
  EXPECT_EQ(random.order, Order::kRandom);
  EXPECT_EQ(random.seed, 1u);
  const Options seeded = lenet::sim::parse_order("random:18446744073709551615");
  EXPECT_EQ(seeded.order, Order::kRandom);
  EXPECT_EQ(seeded.seed, 18446744073709551615ull);
  EXPECT_EQ(lenet::sim::to_string(Order::kRandom, 42), "random:42");
  for (const char* bad : {"", "Forward", "random:", "random:-1", "random:18446744073709551616",
                          "random:1x", "backward"}) {
    EXPECT_THROW(lenet::sim::parse_order(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(SimOptions, ParseThreads) {
  EXPECT_EQ(lenet::sim::parse_threads("1"), 1);
  EXPECT_EQ(lenet::sim::parse_threads("16"), 16);
  EXPECT_EQ(lenet::sim::parse_threads("0"), 0);
  EXPECT_EQ(lenet::sim::parse_threads("auto"), 0);
  for (const char* bad : {"", "-2", "two", "4097", "1.5"}) {
    EXPECT_THROW(lenet::sim::parse_threads(bad), std::invalid_argument) << "'" << bad << "'";
  }
  EXPECT_THROW(lenet::sim::set_threads(-1), std::invalid_argument);
}

TEST(SimOptions, ScopedOptionsRestoresThePreviousSettings) {
  const Options before = lenet::sim::options();
  {
    Options o;
    o.order = Order::kReverse;
    o.threads = 3;
    o.shared_memory_limit = 1024;
    const lenet::sim::ScopedOptions scoped(o);
    EXPECT_EQ(lenet::sim::options().order, Order::kReverse);
    EXPECT_EQ(lenet::sim::options().threads, 3);
    lenet::sim::set_order(Order::kRandom, 9);
    EXPECT_EQ(lenet::sim::options().seed, 9u);
  }
  const Options after = lenet::sim::options();
  EXPECT_EQ(after.order, before.order);
  EXPECT_EQ(after.seed, before.seed);
  EXPECT_EQ(after.threads, before.threads);
  EXPECT_EQ(after.shared_memory_limit, before.shared_memory_limit);
}

}  // namespace
