// NVIDIA GPUs by marketing name and their compute capabilities, so that a verdict can be asked
// for "RTX 3080 Ti" or "H100" instead of 8.6 or 9.0.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lenet/introspect/selection.h>

namespace lenet::introspect {

struct GpuModel {
  std::string name;  // "GeForce RTX 3080 Ti", as NVIDIA writes it
  ComputeCapability cc;
};

// The table, from NVIDIA's list of CUDA GPUs and their compute capabilities
// (developer.nvidia.com/cuda-gpus), Maxwell to Blackwell.
const std::vector<GpuModel>& known_gpus();

// The GPU a name means, whatever its case, spaces and dashes, with or without "NVIDIA",
// "GeForce", "Tesla" or "Quadro" in front: "rtx 3080ti", "GeForce GTX 1080", "h100". A device
// name as the driver reports it ("NVIDIA H100 80GB HBM3") matches the longest table name it
// starts with. Nothing when no name fits.
std::optional<GpuModel> find_gpu(std::string_view name);

// The table names closest to `name` (by edit distance of the normalized names), best first.
std::vector<std::string> closest_gpus(std::string_view name, std::size_t count = 3);

}  // namespace lenet::introspect
