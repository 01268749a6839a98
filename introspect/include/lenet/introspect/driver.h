// Driver versions: what `nvidia-smi` prints ("Driver Version: 580.65.06", "CUDA Version: 13.0")
// and how they relate to the CUDA runtime a program needs.
//
// An NVIDIA driver supports every CUDA runtime up to a highest version (what
// cudaDriverGetVersion returns, the "CUDA Version" of nvidia-smi). Within a CUDA major version a
// program also starts on an older driver of that major's branch ("minor version
// compatibility"): CUDA 11.x needs R450 or newer, 12.x R525, 13.x R580. A runtime of a later
// major than the driver supports fails its first call with cudaErrorInsufficientDriver (35).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lenet::introspect {

// The driver a verdict is for: given as the NVIDIA driver's version, or as a CUDA version.
struct DriverSpec {
  int cuda_version = 0;        // the highest CUDA it supports, as cudaDriverGetVersion: 11040
  std::string nvidia_version;  // "470.82", when given as a driver version; else empty

  // "NVIDIA driver 470.82 (CUDA 11.4)" or "a driver for CUDA 12.8".
  std::string description() const;
};

// What --driver accepts:
//   "470.82", "580.65.06", "580"  an NVIDIA driver version, or a branch standing for its newest
//                                 driver (first number >= 100), mapped to its highest CUDA by
//                                 highest_cuda_of_driver()
//   "12.8", "13.0"                a CUDA version
//   "12080"                       a CUDA version as cudaDriverGetVersion reports it
// Nothing, with the reason in *why_not, for anything else or a driver older than the table.
std::optional<DriverSpec> parse_driver(std::string_view text, std::string* why_not);

// The highest CUDA version (13000 for 13.0) a driver of this version supports, from the table of
// minimum Linux driver versions per toolkit release (CUDA 9.0 and later); 0 for an older driver.
// A driver newer than the last row supports at least that row's CUDA.
int highest_cuda_of_driver(int major, int minor = 0, int patch = 0);

// The oldest driver branch that runs a runtime of this CUDA major, under minor version
// compatibility: 11 -> 450, 12 -> 525, 13 -> 580; 0 for a major the table does not know.
int min_driver_branch(int cuda_major);

// Whether a driver supporting CUDA up to `driver_cuda_version` (13000) starts a runtime of
// `runtime_major`: the driver's major must be at least the runtime's.
bool driver_runs_runtime(int driver_cuda_version, int runtime_major);

}  // namespace lenet::introspect
