// The self-check before training: every op of the Backend interface run once, through the
// backend, on a small random case with odd sizes (not LeNet's), and compared with the
// double-precision reference (lenet::cpu_ref) on the same inputs. On a GPU it proves that the
// image the driver loaded, on this GPU and this driver, computes what the tests computed; in
// the simulator and on the cpu backend it costs milliseconds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <lenet/engine/backend.h>

namespace lenet::engine {

// A float output matches when |got - want| <= kSelfCheckAtol + kSelfCheckRtol * |want|. Inputs
// lie in [-1, 1] (logits in [-3, 3]) and no output sums more than 189 products, so float32
// rounding, in any order of summation and with or without fused multiply-adds, uses a few
// percent of that (3 % measured in the simulator and on the cpu backend), while a wrong index,
// a lost term or an unwritten element is off by far more. Integer outputs (pooling indices,
// the correct count) must be equal.
inline constexpr double kSelfCheckAtol = 1e-5;
inline constexpr double kSelfCheckRtol = 1e-4;

// One op that matched.
struct OpCheck {
  std::string op;             // "conv2d_backward_filter", the Backend method
  std::int64_t elements = 0;  // output elements compared, all outputs together
  double max_error = 0.0;     // largest |got - want| over its float outputs (0 for exact ones)
  // Largest |got - want| / (atol + rtol * |want|) over its float outputs: how much of the
  // tolerance rounding used up (a match is <= 1).
  double max_fraction = 0.0;
};

struct SelfCheckReport {
  std::vector<OpCheck> ops;  // every op of Backend, in the order run
  double seconds = 0.0;      // wall time of the whole check

  // The op with the largest max_fraction (the first op when all are exact). ops is never
  // empty.
  const OpCheck& worst() const;
};

// An op whose output differs from the reference. what() is one line naming the backend, the
// op, the output and its first bad index, got and want.
class SelfCheckFailed : public std::runtime_error {
 public:
  SelfCheckFailed(const std::string& what, std::string op, std::string output,
                  std::int64_t index, double got, double want);
  const std::string& op() const noexcept { return op_; }
  const std::string& output() const noexcept { return output_; }  // "dw", "idx", ...
  std::int64_t index() const noexcept { return index_; }
  double got() const noexcept { return got_; }
  double want() const noexcept { return want_; }

 private:
  std::string op_;
  std::string output_;
  std::int64_t index_;
  double got_;
  double want_;
};

// Runs the check. Throws SelfCheckFailed at the first op that differs; whatever an op throws
// itself (lenet::CudaError from a GPU, std::invalid_argument) passes through unchanged.
SelfCheckReport self_check(Backend& backend);

}  // namespace lenet::engine
