// The one rule for tests that need a usable CUDA device: without one they skip, unless
// LENET_REQUIRE_GPU=1 is set, which turns every such skip into a failure that names the CUDA
// error. A GPU machine's check (scripts/gpu-check.sh) sets it, so GPU tests cannot pass there
// without running.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace lenet::test {

// True when LENET_REQUIRE_GPU is set to 1.
inline bool gpu_required() {
  const char* v = std::getenv("LENET_REQUIRE_GPU");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// What a test prints when no device is usable; `why` should carry the CUDA error, e.g.
// "cudaErrorInsufficientDriver (35): CUDA driver version is insufficient for CUDA runtime
// version". Under LENET_REQUIRE_GPU=1 it says that the variable made this a failure.
inline std::string no_gpu_message(const std::string& why) {
  return std::string(gpu_required() ? "LENET_REQUIRE_GPU=1 but no usable CUDA device: "
                                    : "no usable CUDA device: ") +
         why;
}

}  // namespace lenet::test

// Inside a TEST body: when `why` (a std::string) is non-empty the GPU is not usable, so the test
// skips with that reason, or fails with it under LENET_REQUIRE_GPU=1.
#define LENET_SKIP_OR_FAIL_WITHOUT_GPU(why)                                   \
  do {                                                                        \
    const std::string lenet_no_gpu_why_ = (why);                              \
    if (!lenet_no_gpu_why_.empty()) {                                         \
      if (::lenet::test::gpu_required()) {                                    \
        FAIL() << ::lenet::test::no_gpu_message(lenet_no_gpu_why_);           \
      }                                                                       \
      GTEST_SKIP() << ::lenet::test::no_gpu_message(lenet_no_gpu_why_);       \
    }                                                                         \
  } while (0)
