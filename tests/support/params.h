// Comparing two sets of LeNet parameters (or momentum buffers) bit for bit: what "the same
// run" means for resume and reproducibility tests.
#pragma once

#include <cstring>

#include <gtest/gtest.h>

#include <lenet/engine/lenet_model.h>

namespace lenet::test {

inline ::testing::AssertionResult params_bitwise_equal(const engine::HostParams& a,
                                                       const engine::HostParams& b) {
  if (a.tensors.size() != b.tensors.size()) {
    return ::testing::AssertionFailure() << a.tensors.size() << " tensors against "
                                         << b.tensors.size();
  }
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    if (a[i].data.size() != b[i].data.size() ||
        std::memcmp(a[i].data.data(), b[i].data.data(), a[i].data.size() * sizeof(float)) != 0) {
      return ::testing::AssertionFailure() << "tensor " << a[i].name << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace lenet::test
