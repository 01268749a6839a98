// Deterministic test data: the same numbers on every platform and standard library, because
// the mappings from std::mt19937_64's bits are our own (the standard's distributions are not
// specified exactly). Every generator takes its seed explicitly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace lenet::test {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // [0, 1), from the top 53 bits of one draw.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // [0, n), n >= 1.
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(uniform() * n); }

 private:
  std::mt19937_64 engine_;
};

// n values uniform in [lo, hi).
template <typename T = double>
std::vector<T> random_uniform(std::int64_t n, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(rng.uniform(lo, hi));
  return v;
}

// n values with min_abs <= |x| < max_abs and a random sign: for ReLU gradient checks, whose
// finite differences must not straddle the kink at zero.
template <typename T = double>
std::vector<T> random_away_from_zero(std::int64_t n, double min_abs, double max_abs,
                                     std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (T& x : v) {
    const double magnitude = rng.uniform(min_abs, max_abs);
    x = static_cast<T>(rng.uniform() < 0.5 ? -magnitude : magnitude);
  }
  return v;
}

// n distinct values spread evenly over [lo, hi) in random order, at least (hi - lo) / n apart:
// for pooling tests that need no ties (and no near-ties inside a finite-difference step).
template <typename T = double>
std::vector<T> random_distinct(std::int64_t n, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (std::int64_t i = 0; i < n; ++i) {
    v[i] = static_cast<T>(lo + (hi - lo) * (static_cast<double>(i) + 0.5) / static_cast<double>(n));
  }
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[rng.below(i + 1)]);
  return v;
}

// n labels uniform in [0, K).
inline std::vector<std::int32_t> random_labels(std::int64_t n, std::int64_t K,
                                               std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = static_cast<std::int32_t>(rng.below(K));
  return v;
}

// n bytes uniform in [0, 255].
inline std::vector<std::uint8_t> random_bytes(std::int64_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(rng.below(256));
  return v;
}

// Element-wise conversion, e.g. a double input to the float a kernel takes.
template <typename To, typename From>
std::vector<To> cast_to(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

// An output buffer full of NaN, so an element the code under test never writes fails the
// comparison that follows.
template <typename T>
std::vector<T> nan_filled(std::size_t n) {
  return std::vector<T>(n, std::numeric_limits<T>::quiet_NaN());
}

}  // namespace lenet::test
