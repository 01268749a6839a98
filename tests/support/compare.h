// Element-wise comparison of an output against a reference, as gtest assertions:
//   EXPECT_TRUE(lenet::test::all_close(y_float, y_ref_double, 1e-5, 1e-4));
// Passes when |out - ref| <= atol + rtol * |ref| for every element (or out == ref exactly, so
// equal infinities pass). NaN anywhere fails, so outputs pre-filled with NaN (nan_filled)
// also prove every element was written. A failure names the first bad index, how many are
// bad, and the largest error.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

namespace lenet::test {

template <typename Out, typename Ref>
::testing::AssertionResult all_close(const Out* out, const Ref* ref, std::int64_t n, double atol,
                                     double rtol) {
  std::int64_t first_bad = -1, bad_count = 0, nan_count = 0, max_at = -1;
  double max_error = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double o = static_cast<double>(out[i]);
    const double r = static_cast<double>(ref[i]);
    const double error = std::fabs(o - r);
    // Every comparison with a NaN error is false, so NaN fails here by itself.
    const bool ok = o == r || error <= atol + rtol * std::fabs(r);
    if (!ok && bad_count++ == 0) first_bad = i;
    if (std::isnan(o) || std::isnan(r)) ++nan_count;
    if (error > max_error) {
      max_error = error;
      max_at = i;
    }
  }
  if (bad_count == 0) return ::testing::AssertionSuccess();
  const double o = static_cast<double>(out[first_bad]);
  const double r = static_cast<double>(ref[first_bad]);
  auto failure = ::testing::AssertionFailure();
  failure << std::setprecision(9) << bad_count << " of " << n << " elements differ (atol "
          << atol << ", rtol " << rtol << "); first at index " << first_bad << ": out " << o
          << ", ref " << r << ", |out - ref| " << std::fabs(o - r) << ", allowed "
          << atol + rtol * std::fabs(r);
  if (max_at >= 0) failure << "; max |out - ref| " << max_error << " at index " << max_at;
  if (nan_count > 0) failure << "; " << nan_count << " elements are NaN";
  return failure;
}

template <typename Out, typename Ref>
::testing::AssertionResult all_close(const std::vector<Out>& out, const std::vector<Ref>& ref,
                                     double atol, double rtol) {
  if (out.size() != ref.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: out has " << out.size() << " elements, ref " << ref.size();
  }
  return all_close(out.data(), ref.data(), static_cast<std::int64_t>(out.size()), atol, rtol);
}

// Exact equality of two integer sequences (indices, labels), naming the first difference.
template <typename A, typename B>
::testing::AssertionResult all_equal(const std::vector<A>& a, const std::vector<B>& b) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << a.size() << " vs " << b.size() << " elements";
  }
  std::size_t bad_count = 0, first_bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && bad_count++ == 0) first_bad = i;
  }
  if (bad_count == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad_count << " of " << a.size()
                                       << " elements differ; first at index " << first_bad
                                       << ": " << a[first_bad] << " vs " << b[first_bad];
}

// The same bits (memcmp), not merely equal values: +0 and -0 differ, and so do two NaNs with
// different payloads. For determinism checks and for exact ops such as ReLU.
template <typename T>
::testing::AssertionResult bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << a.size() << " vs " << b.size() << " elements";
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure()
             << "first difference at index " << i << ": " << a[i] << " vs " << b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// atol for a float32 sum of `terms` products of O(1) values, compared with a double sum in
// another order: the rounding error grows like sqrt(terms); a lost, doubled or misplaced term is
// orders of magnitude larger.
inline double float_sum_atol(std::int64_t terms) {
  return 2e-6 * std::sqrt(static_cast<double>(terms));
}

}  // namespace lenet::test
