// Smoke test of one entry point's argument checks. The rules themselves are tested once, on the
// shape types in test_shapes.cpp; an op's test only shows that its entry point applies them:
//   EXPECT_TRUE(checks_shape_and_pointers("conv2d_forward", s, zero_stride, "stride",
//                                         {"x", "w", kOptional, "y"},
//                                         [](auto... a) { conv2d_forward(a...); },
//                                         x.get(), w.get(), b.get(), y.get()));
// passes when call(zero_stride, pointers...) throws std::invalid_argument "conv2d_forward:
// stride ..." and call(s, pointers...) with any one required pointer null throws
// "conv2d_forward: x is null" (the message of LENET_CHECK_NOT_NULL).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "support/throws.h"

namespace lenet::test {

// The name given to a pointer that may be null (a bias, an unwanted gradient): not checked.
inline constexpr const char* kOptional = nullptr;

namespace detail {

// call(shape, pointers...) with pointers[null_at] replaced by a null pointer of its type.
template <typename Call, typename Shape, std::size_t... I, typename... Pointers>
void call_with_one_null(Call& call, const Shape& shape, std::size_t null_at,
                        std::index_sequence<I...>, Pointers... pointers) {
  call(shape, (I == null_at ? static_cast<Pointers>(nullptr) : pointers)...);
}

}  // namespace detail

// See the top of this file. pointer_names name the pointers in order, kOptional for those that
// may be null.
template <typename Shape, typename Call, typename... Pointers>
::testing::AssertionResult checks_shape_and_pointers(
    const char* op, const Shape& good, const Shape& bad, const char* bad_field,
    std::initializer_list<const char*> pointer_names, Call call, Pointers... pointers) {
  if (pointer_names.size() != sizeof...(Pointers)) {
    return ::testing::AssertionFailure()
           << pointer_names.size() << " pointer names for " << sizeof...(Pointers) << " pointers";
  }
  const std::string bad_shape = std::string(op) + ": " + bad_field;
  ::testing::AssertionResult result =
      throws_invalid_argument([&] { call(bad, pointers...); }, {bad_shape.c_str()});
  if (!result) return result << " (the shape with a bad " << bad_field << ")";
  std::size_t index = 0;
  for (const char* name : pointer_names) {
    const std::size_t null_at = index++;
    if (name == kOptional) continue;
    const std::string is_null = std::string(op) + ": " + name + " is null";
    result = throws_invalid_argument(
        [&] {
          detail::call_with_one_null(call, good, null_at, std::index_sequence_for<Pointers...>{},
                                     pointers...);
        },
        {is_null.c_str()});
    if (!result) return result << " (" << name << " null)";
  }
  return result;
}

}  // namespace lenet::test
