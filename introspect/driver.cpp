// The driver tables of driver.h.
#include <lenet/introspect/driver.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include <lenet/introspect/selection.h>

namespace lenet::introspect {

namespace {

struct DriverRow {
  int major, minor, patch;  // the minimum Linux driver of the release
  int cuda;                 // the release, as cudaDriverGetVersion: 12080 for 12.8
};

// Source: NVIDIA CUDA Toolkit Release Notes, table "CUDA Toolkit and Corresponding Driver
// Versions" (minimum required driver version, Linux x86_64, GA release of each toolkit).
constexpr DriverRow kDriverTable[] = {
    {384, 81, 0, 9000},    {390, 46, 0, 9010},    {396, 26, 0, 9020},    {410, 48, 0, 10000},
    {418, 39, 0, 10010},   {440, 33, 1, 10020},   {450, 36, 6, 11000},   {455, 23, 0, 11010},
    {460, 27, 3, 11020},   {465, 19, 1, 11030},   {470, 42, 1, 11040},   {495, 29, 5, 11050},
    {510, 39, 1, 11060},   {515, 43, 4, 11070},   {520, 61, 5, 11080},   {525, 60, 13, 12000},
    {530, 30, 2, 12010},   {535, 54, 3, 12020},   {545, 23, 6, 12030},   {550, 54, 14, 12040},
    {555, 42, 2, 12050},   {560, 28, 3, 12060},   {570, 26, 0, 12080},   {575, 51, 3, 12090},
    {580, 65, 6, 13000},
};

// Source: CUDA Compatibility guide, "Minor Version Compatibility" (the branch each CUDA major
// needs at least: 11.x >= 450.80.02, 12.x >= 525.60.13, 13.x >= 580.65.06).
struct BranchRow {
  int cuda_major;
  int branch;
};
constexpr BranchRow kBranchTable[] = {{11, 450}, {12, 525}, {13, 580}};

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 6 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view digits) {
  int v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::vector<std::string_view> split_dots(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    out.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

}  // namespace

std::string DriverSpec::description() const {
  const std::string cuda = "CUDA " + cuda_version_string(cuda_version);
  if (nvidia_version.empty()) return "a driver for " + cuda;
  return "NVIDIA driver " + nvidia_version + " (" + cuda + ")";
}

int highest_cuda_of_driver(int major, int minor, int patch) {
  int cuda = 0;
  for (const DriverRow& row : kDriverTable) {
    if (std::tie(major, minor, patch) >= std::tie(row.major, row.minor, row.patch)) cuda = row.cuda;
  }
  return cuda;
}

int min_driver_branch(int cuda_major) {
  for (const BranchRow& row : kBranchTable) {
    if (row.cuda_major == cuda_major) return row.branch;
  }
  return 0;
}

bool driver_runs_runtime(int driver_cuda_version, int runtime_major) {
  return driver_cuda_version / 1000 >= runtime_major;
}

std::optional<DriverSpec> parse_driver(std::string_view text, std::string* why_not) {
  const std::vector<std::string_view> parts = split_dots(text);
  const bool numeric = parts.size() <= 3 && std::all_of(parts.begin(), parts.end(), all_digits);
  if (!numeric) {
    *why_not = "'" + std::string(text) +
               "' is neither a driver version (470.82, 580.65.06) nor a CUDA version (12.8)";
    return std::nullopt;
  }
  const int first = to_int(parts[0]);
  DriverSpec spec;
  if (parts.size() == 1 && first >= 1000) {
    spec.cuda_version = first;  // 12080, as cudaDriverGetVersion reports it
  } else if (first >= 100) {
    // A branch alone ("580") stands for its newest driver; a missing patch level for 0.
    constexpr int kNewest = 999999;
    const int minor = parts.size() > 1 ? to_int(parts[1]) : kNewest;
    const int patch = parts.size() > 2 ? to_int(parts[2]) : (parts.size() > 1 ? 0 : kNewest);
    spec.nvidia_version = std::string(text);
    spec.cuda_version = highest_cuda_of_driver(first, minor, patch);
    if (spec.cuda_version == 0) {
      *why_not = "driver " + std::string(text) +
                 " is older than 384.81, the first to support CUDA 9.0 (the oldest in the table)";
      return std::nullopt;
    }
  } else if (parts.size() == 2 && parts[1].size() <= 2 && first >= 1) {
    spec.cuda_version = first * 1000 + to_int(parts[1]) * 10;
  } else {
    *why_not = "'" + std::string(text) +
               "' is neither a driver version (470.82, 580.65.06) nor a CUDA version (12.8)";
    return std::nullopt;
  }
  return spec;
}

}  // namespace lenet::introspect
