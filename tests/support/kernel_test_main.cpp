// main() of every kernel test binary. The simulator always runs the tests. On the cuda executor
// without a usable device the binary runs nothing and prints gtest's "[  SKIPPED ]" marker with
// the CUDA error, which ctest (gtest_discover_tests sets SKIP_REGULAR_EXPRESSION to it) reports
// as skipped, not passed; under LENET_REQUIRE_GPU=1 (tests/support/gpu.h) it prints the error
// and exits with 1 instead, so the tests fail. Listing the tests (--gtest_list_tests, used at
// build time) always works.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "support/device.h"
#include "support/gpu.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!::testing::GTEST_FLAG(list_tests)) {
    const std::string why = lenet::test::executor_unavailable_reason();
    if (!why.empty()) {
      const std::string message = lenet::test::no_gpu_message(why);
      if (lenet::test::gpu_required()) {
        std::fprintf(stderr, "[  FAILED  ] %s\n", message.c_str());
        return 1;
      }
      std::printf("[  SKIPPED ] %s; these tests run on the simulator (label sim)\n",
                  message.c_str());
      return 0;
    }
  }
  return RUN_ALL_TESTS();
}
