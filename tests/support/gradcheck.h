// Finite-difference gradient checks, in double. A backward implementation is checked against
// central differences of a scalar loss built from its forward, usually loss = dot(r, y) with a
// fixed random r, whose gradient with respect to y is r:
//   auto loss = [&] {
//     conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
//     return dot(r, y);
//   };
//   conv2d_backward_data(s, r.data(), w.data(), dx.data());
//   EXPECT_TRUE(gradient_matches(loss, &x, dx));
// The difference is the five-point central stencil, exact for piecewise-linear ops (conv,
// linear, pooling, ReLU) and O(h^4) otherwise, so a step of 1e-3 leaves rounding far below the
// 1e-6 tolerance. Inputs must keep clear of kinks (ReLU at 0, pooling ties) by more than 2h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "support/random.h"

namespace lenet::test {

struct GradCheckOptions {
  double step = 1e-3;        // h: the loss is evaluated at x[i] +- h and x[i] +- 2h
  double tolerance = 1e-6;   // largest relative error accepted
  double floor = 1e-8;       // the relative error's denominator is at least this, so two
                             // gradients that are both ~0 do not divide zero by zero
  std::vector<std::size_t> indices;  // entries of x to check; empty: every entry
};

// Accumulated in long double where it is wider: over thousands of terms a double sum's
// rounding, divided by the step, would swamp the difference being measured.
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  long double sum = 0.0L;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    sum += static_cast<long double>(a[i]) * b[i];
  }
  return static_cast<double>(sum);
}

// |a - b| / max(|a|, |b|, floor).
inline double relative_error(double a, double b, double floor) {
  return std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), floor});
}

// d loss / d x[i] by the five-point stencil
//   (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12 h),
// where f moves x[i] alone; x[i] is restored.
template <typename F>
double central_difference(F&& loss, double* x_i, double h) {
  const double saved = *x_i;
  auto at = [&](double offset) {
    *x_i = saved + offset;
    return loss();
  };
  const double inner = at(h) - at(-h);
  const double outer = at(2 * h) - at(-2 * h);
  // Differences first: equal values then cancel exactly, and an input that does not reach the
  // loss gets exactly zero.
  const double derivative = (8 * inner - outer) / (12 * h);
  *x_i = saved;
  return derivative;
}

// count distinct indices in [0, n) in increasing order (all of them when count >= n).
inline std::vector<std::size_t> sample_indices(std::size_t n, std::size_t count,
                                               std::uint64_t seed) {
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  if (count >= n) return all;
  Rng rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    std::swap(all[i], all[i + rng.below(static_cast<std::int64_t>(n - i))]);
  }
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

// Checks analytic (the gradient of loss() with respect to *x) entry by entry against central
// differences. loss() reads *x each time it runs.
template <typename F>
::testing::AssertionResult gradient_matches(F&& loss, std::vector<double>* x,
                                            const std::vector<double>& analytic,
                                            const GradCheckOptions& options = {}) {
  if (x->size() != analytic.size()) {
    return ::testing::AssertionFailure() << "x has " << x->size() << " entries, the gradient "
                                         << analytic.size();
  }
  std::vector<std::size_t> indices = options.indices;
  if (indices.empty()) {
    indices.resize(x->size());
    std::iota(indices.begin(), indices.end(), std::size_t{0});
  }
  std::size_t bad_count = 0, first_bad = 0, max_at = 0;
  double first_numeric = 0.0, max_error = 0.0;
  for (const std::size_t i : indices) {
    const double numeric = central_difference(loss, &(*x)[i], options.step);
    const double error = relative_error(analytic[i], numeric, options.floor);
    if (!(error < options.tolerance) && bad_count++ == 0) {
      first_bad = i;
      first_numeric = numeric;
    }
    if (!(error <= max_error)) {
      max_error = error;
      max_at = i;
    }
  }
  if (bad_count == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << std::setprecision(12) << bad_count << " of " << indices.size()
         << " checked entries have a relative error >= " << options.tolerance
         << "; first at index " << first_bad << ": analytic " << analytic[first_bad]
         << ", finite difference " << first_numeric << "; max relative error " << max_error
         << " at index " << max_at;
}

}  // namespace lenet::test
