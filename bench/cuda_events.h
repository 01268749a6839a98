// How the bench programs time GPU work: CUDA events recorded on the stream around each launch,
// after a warm-up, and the median over the repetitions.
#pragma once

#include <algorithm>
#include <vector>

#include <cuda_runtime_api.h>

#include <lenet/kernels/runtime.h>

namespace lenet::bench {

// Median microseconds of launch(), which queues its work on stream.
template <typename Launch>
double median_us(const Launch& launch, int repetitions, cudaStream_t stream, int warmup = 10) {
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  LENET_CUDA_CHECK(cudaEventCreate(&start));
  LENET_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < warmup; ++i) launch();
  std::vector<float> ms(static_cast<std::size_t>(repetitions));
  for (float& t : ms) {
    LENET_CUDA_CHECK(cudaEventRecord(start, stream));
    launch();
    LENET_CUDA_CHECK(cudaEventRecord(stop, stream));
    LENET_CUDA_CHECK(cudaEventSynchronize(stop));
    LENET_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
  }
  LENET_CUDA_CHECK(cudaEventDestroy(start));
  LENET_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return 1000.0 * ms[ms.size() / 2];
}

}  // namespace lenet::bench
