// main() of every kernel test binary. On the cuda executor without a usable device every test
// is skipped (ctest shows them as skipped, not passed); the simulator always runs them.
#include <gtest/gtest.h>

#include "support/device.h"

namespace {

class ExecutorEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!lenet::test::executor_available()) {
      GTEST_SKIP() << "no usable CUDA device: these tests run on the simulator (label sim)";
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ExecutorEnvironment);
  return RUN_ALL_TESTS();
}
