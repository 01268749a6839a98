// main() of every kernel test binary. The simulator always runs the tests. On the cuda executor
// without a usable device the binary runs nothing and prints gtest's "[  SKIPPED ]" marker,
// which ctest (gtest_discover_tests sets SKIP_REGULAR_EXPRESSION to it) reports as skipped,
// not passed. Listing the tests (--gtest_list_tests, used at build time) always works.
#include <cstdio>

#include <gtest/gtest.h>

#include "support/device.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!::testing::GTEST_FLAG(list_tests) && !lenet::test::executor_available()) {
    std::printf("[  SKIPPED ] no usable CUDA device: these tests run on the simulator (label sim)\n");
    return 0;
  }
  return RUN_ALL_TESTS();
}
