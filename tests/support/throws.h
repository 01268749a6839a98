// Checks that a call throws std::invalid_argument whose message names what it should:
//   EXPECT_TRUE(throws_invalid_argument([&] { conv2d_forward(bad, ...); },
//                                       {"conv2d_forward", "stride"}));
#pragma once

#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace lenet::test {

template <typename F>
::testing::AssertionResult throws_invalid_argument(F&& call,
                                                   std::initializer_list<const char*> needles) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const char* needle : needles) {
      if (what.find(needle) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "the message \"" << what << "\" does not mention \"" << needle << "\"";
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw something other than std::invalid_argument: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace lenet::test
