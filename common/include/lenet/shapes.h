// Shapes and hyperparameters shared by the CPU reference (lenet::cpu_ref) and the kernel
// launchers (lenet::kernels), with the validation both run before touching any buffer.
// Header-only, no CUDA, no Eigen. Sizes are int64_t element counts; tensors are contiguous,
// row-major, activations NCHW.
//
// Fill a shape by name, then call check() with the name of the op about to use it:
//   // N, C, H, W, OC, KH, KW (stride 1 and pad 0 by default)
//   const lenet::Conv2dShape s{64, 1, 28, 28, 6, 5, 5};
//   s.check("conv2d_forward");   // throws std::invalid_argument naming the op and the field
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include <lenet/error.h>

namespace lenet {

namespace detail {

// Product of non-negative dims, or throws naming op and what when it does not fit in int64_t
// (a silent wrap-around would turn a huge shape into a small, wrong buffer size).
inline std::int64_t checked_product(const char* op, const char* what,
                                    std::initializer_list<std::int64_t> dims) {
  std::int64_t product = 1;
  for (const std::int64_t d : dims) {
    LENET_CHECK(d >= 0, op << ": " << what << " has a negative dimension " << d);
    LENET_CHECK(d == 0 || product <= std::numeric_limits<std::int64_t>::max() / d,
                op << ": " << what << " has more than 2^63 - 1 elements");
    product *= d;
  }
  return product;
}

// Throws for the first of dims below 1, naming it: "conv2d_forward: KH must be >= 1, got 0".
struct NamedDim {
  const char* name;
  std::int64_t value;
};
inline void check_at_least_one(const char* op, std::initializer_list<NamedDim> dims) {
  for (const NamedDim& d : dims) {
    LENET_CHECK(d.value >= 1, op << ": " << d.name << " must be >= 1, got " << d.value);
  }
}

}  // namespace detail

// conv2d: x [N, C, H, W] * w [OC, C, KH, KW] (+ b [OC]) -> y [N, OC, OH, OW], cross-correlation
// as PyTorch's Conv2d with the same stride and zero padding on both axes.
struct Conv2dShape {
  std::int64_t N = 0, C = 0, H = 0, W = 0;
  std::int64_t OC = 0, KH = 0, KW = 0;
  std::int64_t stride = 1;
  std::int64_t pad = 0;

  // Meaningful after check(): OH = (H + 2*pad - KH) / stride + 1.
  std::int64_t OH() const { return (H + 2 * pad - KH) / stride + 1; }
  std::int64_t OW() const { return (W + 2 * pad - KW) / stride + 1; }

  std::int64_t x_size() const { return detail::checked_product("Conv2dShape", "x", {N, C, H, W}); }
  std::int64_t w_size() const {
    return detail::checked_product("Conv2dShape", "w", {OC, C, KH, KW});
  }
  std::int64_t b_size() const { return OC; }
  std::int64_t y_size() const {
    return detail::checked_product("Conv2dShape", "y", {N, OC, OH(), OW()});
  }

  // All dims >= 1, stride >= 1, 0 <= pad < KH and pad < KW (a pad of a whole window would
  // only add outputs that see nothing but zeros), an output of at least 1 x 1, and element
  // counts of x, w and y that fit in int64_t.
  void check(const char* op) const {
    detail::check_at_least_one(op, {{"N", N}, {"C", C}, {"H", H}, {"W", W}, {"OC", OC}, {"KH", KH},
                                    {"KW", KW}, {"stride", stride}});
    LENET_CHECK(pad >= 0, op << ": pad must be >= 0, got " << pad);
    LENET_CHECK(pad < KH && pad < KW,
                op << ": pad must be smaller than the window (KH = " << KH << ", KW = " << KW
                   << "), got " << pad);
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    LENET_CHECK(pad <= (kMax - H) / 2 && pad <= (kMax - W) / 2,
                op << ": H + 2*pad or W + 2*pad overflows int64 (H = " << H << ", W = " << W
                   << ", pad = " << pad << ")");
    LENET_CHECK(H + 2 * pad >= KH,
                op << ": KH = " << KH << " is larger than the padded height H + 2*pad = "
                   << H + 2 * pad);
    LENET_CHECK(W + 2 * pad >= KW,
                op << ": KW = " << KW << " is larger than the padded width W + 2*pad = "
                   << W + 2 * pad);
    detail::checked_product(op, "x [N, C, H, W]", {N, C, H, W});
    detail::checked_product(op, "w [OC, C, KH, KW]", {OC, C, KH, KW});
    detail::checked_product(op, "y [N, OC, OH, OW]", {N, OC, OH(), OW()});
  }
};

// maxpool2d: x [N, C, H, W] -> y [N, C, OH, OW], a K x K window moved by stride, no padding.
// Indices are int32 positions h*W + w inside one (n, c) plane, so H*W must fit in int32.
struct Pool2dShape {
  std::int64_t N = 0, C = 0, H = 0, W = 0;
  std::int64_t K = 0;
  std::int64_t stride = 0;  // no default: PyTorch's is K, a kernel's author must say which

  // Meaningful after check(): OH = (H - K) / stride + 1.
  std::int64_t OH() const { return (H - K) / stride + 1; }
  std::int64_t OW() const { return (W - K) / stride + 1; }

  std::int64_t x_size() const { return detail::checked_product("Pool2dShape", "x", {N, C, H, W}); }
  std::int64_t y_size() const {
    return detail::checked_product("Pool2dShape", "y", {N, C, OH(), OW()});
  }

  void check(const char* op) const {
    detail::check_at_least_one(op, {{"N", N}, {"C", C}, {"H", H}, {"W", W}, {"K", K},
                                    {"stride", stride}});
    LENET_CHECK(K <= H && K <= W,
                op << ": K = " << K << " is larger than the input (H = " << H << ", W = " << W
                   << ")");
    LENET_CHECK(detail::checked_product(op, "one plane [H, W]", {H, W}) <=
                    std::numeric_limits<std::int32_t>::max(),
                op << ": H*W must fit the int32 indices, got H = " << H << ", W = " << W);
    detail::checked_product(op, "x [N, C, H, W]", {N, C, H, W});
    detail::checked_product(op, "y [N, C, OH, OW]", {N, C, OH(), OW()});
  }
};

// A convolution layer's forward pass, convolution then max-pooling (the fused
// conv2d_relu_maxpool2d_forward): p must pool exactly c's output. Throws naming op otherwise.
inline void check_pools_output_of(const char* op, const Pool2dShape& p, const Conv2dShape& c) {
  LENET_CHECK(p.N == c.N && p.C == c.OC && p.H == c.OH() && p.W == c.OW(),
              op << ": the pooling's input [" << p.N << ", " << p.C << ", " << p.H << ", " << p.W
                 << "] is not the convolution's output [" << c.N << ", " << c.OC << ", " << c.OH()
                 << ", " << c.OW() << "]");
}

// linear: x [N, in] and w [out, in] (+ b [out]) -> y [N, out] = x w^T + b, as PyTorch's Linear.
struct LinearShape {
  std::int64_t N = 0, in = 0, out = 0;

  std::int64_t x_size() const { return detail::checked_product("LinearShape", "x", {N, in}); }
  std::int64_t w_size() const { return detail::checked_product("LinearShape", "w", {out, in}); }
  std::int64_t b_size() const { return out; }
  std::int64_t y_size() const { return detail::checked_product("LinearShape", "y", {N, out}); }

  void check(const char* op) const {
    detail::check_at_least_one(op, {{"N", N}, {"in", in}, {"out", out}});
    detail::checked_product(op, "x [N, in]", {N, in});
    detail::checked_product(op, "w [out, in]", {out, in});
    detail::checked_product(op, "y [N, out]", {N, out});
  }
};

// Rows of class scores: logits [N, K] with int32 labels [N] (softmax cross-entropy, argmax,
// count_correct). Class indices are int32, so K must fit one.
struct ClassScoresShape {
  std::int64_t N = 0, K = 0;

  std::int64_t logits_size() const {
    return detail::checked_product("ClassScoresShape", "logits", {N, K});
  }

  void check(const char* op) const {
    detail::check_at_least_one(op, {{"N", N}, {"K", K}});
    LENET_CHECK(K <= std::numeric_limits<std::int32_t>::max(),
                op << ": K must fit the int32 class indices, got " << K);
    detail::checked_product(op, "logits [N, K]", {N, K});
  }
};

// Elementwise ops on n elements (relu, normalize, sgd): n >= 0; with n == 0 they do nothing and
// accept null pointers.
struct ElementwiseShape {
  std::int64_t n = 0;

  void check(const char* op) const { LENET_CHECK(n >= 0, op << ": n must be >= 0, got " << n); }
};

// SGD with momentum as PyTorch's torch.optim.SGD with dampening 0 and nesterov off, elementwise
// over one parameter tensor (the one statement of the rule; every implementation points here):
//   g' = g + weight_decay * p;  v = momentum * v + g';  p -= lr * v.
// v starts as zeros. PyTorch instead creates its buffer on the first step as v = g'; that is the
// same number as momentum * 0 + g', so the two agree from step one.
// Doubles here; an implementation in float rounds each to float once, before its loop.
struct SgdParams {
  double lr = 0.0;
  double momentum = 0.0;
  double weight_decay = 0.0;

  // Finite and >= 0, as PyTorch requires of all three.
  void check(const char* op) const {
    LENET_CHECK(std::isfinite(lr) && lr >= 0.0, op << ": lr must be finite and >= 0, got " << lr);
    LENET_CHECK(std::isfinite(momentum) && momentum >= 0.0,
                op << ": momentum must be finite and >= 0, got " << momentum);
    LENET_CHECK(std::isfinite(weight_decay) && weight_decay >= 0.0,
                op << ": weight_decay must be finite and >= 0, got " << weight_decay);
  }
};

}  // namespace lenet
