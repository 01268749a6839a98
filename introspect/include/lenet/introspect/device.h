// What this machine has: the CUDA driver and runtime versions, the NVIDIA driver's own version
// string, the GPUs; and whether the image a GPU actually loaded is the one select_image()
// predicted.
//
// The CUDA runtime part is compiled only when the build has CUDA (device_cuda.cpp, linked
// against cudart); otherwise query_machine() says "this build has no CUDA runtime" and the
// rest still works. The NVIDIA driver's version string comes from NVML, loaded at run time with
// dlopen("libnvidia-ml.so.1") when the driver installed it: lenet never links NVML.
//
// Nothing here prints or exits; failures of the queries are part of the result, since saying
// why the GPU is unusable is the point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <lenet/introspect/selection.h>

namespace lenet::introspect {

struct DeviceInfo {
  int index = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  ComputeCapability cc;
  int multiprocessors = 0;
  std::uint64_t memory_bytes = 0;
};

// A CUDA runtime call that failed, and what that means for the user.
struct CudaFailure {
  std::string call;     // "cudaGetDeviceCount"
  int code = 0;         // 35
  std::string name;     // "cudaErrorInsufficientDriver"
  std::string message;  // cudaGetErrorString's text
  std::string cause;    // explain_cuda_error(code, ...)
};

struct MachineInfo {
  bool has_cuda_runtime = false;   // false: this build has no CUDA runtime (the rest is empty)
  int runtime_version = 0;         // cudaRuntimeGetVersion: 13000 for the runtime linked in
  int driver_version = 0;          // cudaDriverGetVersion: newest CUDA the driver supports;
                                   // 0 when no driver is installed
  std::string nvidia_driver;       // "580.65.06", from NVML; empty when NVML is unavailable
  std::string nvidia_driver_note;  // why nvidia_driver is empty
  std::vector<DeviceInfo> devices;
  std::optional<CudaFailure> failure;  // why there are no devices
};

// Queries the CUDA runtime (without creating a context) and NVML.
MachineInfo query_machine();

// What a CUDA error code means for someone who wants to run GPU code, in one sentence:
// 35 without a driver or with one older than the runtime, 100 without a GPU, and so on.
// The versions are as MachineInfo holds them (0: unknown, or no driver).
std::string explain_cuda_error(int code, int runtime_version, int driver_version);

// The NVIDIA driver version ("580.65.06") through NVML, or nothing with the reason in *why_not.
std::optional<std::string> nvidia_driver_version(std::string* why_not);

// The CUDA toolkit that builds programs here: nvcc from $CUDA_HOME (or $CUDA_PATH), else the one
// on PATH, else /usr/local/cuda/bin/nvcc; its version from `nvcc --version`.
struct ToolkitInfo {
  std::string nvcc;      // "/usr/local/cuda/bin/nvcc"
  std::string found_by;  // "CUDA_HOME", "CUDA_PATH", "PATH" or "/usr/local/cuda"
  std::string version;   // "13.0.88", from "Cuda compilation tools, release 13.0, V13.0.88"
  int cuda_version = 0;  // 13000
};
// Runs nvcc; nothing, with the reason in *why_not, when none is found or it does not answer.
std::optional<ToolkitInfo> find_toolkit(std::string* why_not);

// Why nvidia-smi and nvcc -V show different CUDA versions, in one sentence, for a toolkit and a
// driver of these CUDA versions (13000; 0 when there is none).
std::string explain_versions(int toolkit_cuda, int driver_cuda);

// lenet's version ("0.1.0", project(VERSION) of the top CMakeLists.txt).
std::string lenet_version();

// Said of "this build has no CUDA runtime" in results and messages.
inline constexpr const char* kNoCudaRuntime = "this build has no CUDA runtime";

// The versions a kernel reports through cudaFuncGetAttributes once its module is loaded:
// binaryVersion is the SM of the machine code that runs (90 for an sm_90 cubin; the GPU's own
// for JIT-compiled PTX); ptxVersion the virtual architecture it came from (120 for compute_120).
struct LoadedImage {
  int binary_version = 0;
  int ptx_version = 0;
};

// Whether what was loaded is what `predicted` says: a cubin reports its own architecture as
// binaryVersion, JIT-compiled PTX the GPU's and its own as ptxVersion.
struct Confirmation {
  bool matches = false;
  std::string text;  // "as predicted: binaryVersion 90, ptxVersion 90 (the sm_90 cubin)"
};
Confirmation confirm(const Selection& predicted, ComputeCapability cc, const LoadedImage& loaded);

// The image of the running program (/proc/self/exe) that the driver loads on a GPU of this
// compute capability, by judge_file() over the program's own fatbins.
FileVerdict judge_self(const SelectionQuery& query);

// One line about the GPU the current CUDA device is, for programs that start on it:
//   "GPU 0: NVIDIA H100 80GB HBM3, compute capability 9.0, image sm_90 cubin, NVIDIA driver
//    580.65.06 (CUDA 13.0), runtime 13.0"
// The image is the one `loaded` reports when given (cudaFuncGetAttributes of a kernel the
// program ran), else the prediction for this program. Never throws for a failed query or an
// unreadable program: the line then says what is unknown and why.
std::string cuda_banner(const std::optional<LoadedImage>& loaded = std::nullopt);

}  // namespace lenet::introspect
