// The launch check behind LENET_LAUNCH (kernels/launch.h), built into both kernel libraries.
#include <cstdlib>
#include <cstring>
#include <string>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {
namespace detail {

namespace {

[[noreturn]] void throw_launch_error(cudaError_t err, const char* kernel, const char* file,
                                     int line, const char* when) {
  std::string msg = std::string(file) + ":" + std::to_string(line) + ": " + kernel + " " + when +
                    ": " + cudaGetErrorName(err) + " (" +
                    std::to_string(static_cast<int>(err)) + "): " + cudaGetErrorString(err);
  throw ::lenet::CudaError(static_cast<int>(err), msg);
}

}  // namespace

bool sync_launches() {
  static const bool enabled = [] {
    const char* v = std::getenv("LENET_SYNC_LAUNCHES");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

void check_launch(const char* kernel, const char* file, int line, cudaStream_t stream) {
  const cudaError_t launched = cudaGetLastError();
  if (launched != cudaSuccess) throw_launch_error(launched, kernel, file, line, "failed to launch");
  if (!sync_launches()) return;
  // A capturing stream records the launch instead of running it: nothing to wait for (and
  // waiting would invalidate the capture).
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (stream != nullptr && cudaStreamIsCapturing(stream, &capture) == cudaSuccess &&
      capture != cudaStreamCaptureStatusNone) {
    return;
  }
  const cudaError_t ran = cudaStreamSynchronize(stream);
  if (ran != cudaSuccess) {
    throw_launch_error(ran, kernel, file, line, "failed while running (LENET_SYNC_LAUNCHES=1)");
  }
}

}  // namespace detail
}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
