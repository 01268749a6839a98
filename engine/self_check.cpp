#include <lenet/engine/self_check.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>

#include <lenet/cpu_ref.h>

namespace lenet::engine {

namespace {

namespace ref = lenet::cpu_ref;

// Inputs the same on every platform: our own mapping of std::mt19937_64's bits (the standard
// distributions are not specified bit for bit).
class Inputs {
 public:
  explicit Inputs(std::uint64_t seed) : rng_(seed) {}

  // n floats uniform in [lo, hi).
  std::vector<float> uniform(std::int64_t n, double lo, double hi) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(lo + (hi - lo) * unit());
    return v;
  }
  std::vector<std::uint8_t> bytes(std::int64_t n) {
    std::vector<std::uint8_t> v(static_cast<std::size_t>(n));
    for (std::uint8_t& x : v) x = static_cast<std::uint8_t>(below(256));
    return v;
  }
  std::vector<std::int32_t> labels(std::int64_t n, std::int64_t K) {
    std::vector<std::int32_t> v(static_cast<std::size_t>(n));
    for (std::int32_t& x : v) x = static_cast<std::int32_t>(below(K));
    return v;
  }

 private:
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(unit() * n); }
  std::mt19937_64 rng_;
};

// The reference runs on exactly the floats the backend gets, widened without rounding.
std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<double> zeros(std::int64_t n) { return std::vector<double>(static_cast<std::size_t>(n)); }

// Backend memory for one op's inputs and outputs, freed when the op's check ends.
class Workspace {
 public:
  explicit Workspace(Backend& backend) : backend_(backend) {}

  template <typename T>
  T* input(const std::vector<T>& host) {
    T* p = allocate<T>(host.size());
    backend_.upload(p, host.data(), host.size() * sizeof(T));
    return p;
  }
  // Filled with 0xFF bytes, which read as NaN for float and -1 for integers: no correct op
  // leaves either behind, so an element it never writes fails the comparison.
  template <typename T>
  T* output(std::int64_t n) {
    T* p = allocate<T>(static_cast<std::size_t>(n));
    const std::vector<std::uint8_t> poison(static_cast<std::size_t>(n) * sizeof(T), 0xFF);
    backend_.upload(p, poison.data(), poison.size());
    return p;
  }
  template <typename T>
  std::vector<T> read(const T* p, std::int64_t n) {
    std::vector<T> host(static_cast<std::size_t>(n));
    backend_.download(host.data(), p, host.size() * sizeof(T));
    return host;
  }

 private:
  template <typename T>
  T* allocate(std::size_t n) {
    buffers_.push_back(backend_.allocate(n * sizeof(T)));
    return buffers_.back().template as<T>();
  }
  Backend& backend_;
  std::vector<Buffer> buffers_;
};

std::string number(double v) {
  if (std::isnan(v)) return "nan";  // printf would say "-nan" for the 0xFF fill
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

// Compares the outputs of one op with the reference and records the largest error.
class Checker {
 public:
  Checker(const Backend& backend, const char* op) : backend_(backend.name()) { result_.op = op; }

  // got: float outputs, or doubles computed from them.
  template <typename T>
  void floats(const char* output, const std::vector<T>& got, const std::vector<double>& want) {
    for (std::size_t i = 0; i < got.size(); ++i) {
      const double g = got[i], w = want[i];
      const double error = std::fabs(g - w);
      const double allowed = kSelfCheckAtol + kSelfCheckRtol * std::fabs(w);
      if (!(error <= allowed)) {  // also NaN
        fail(output, i, g, w, "allowed |got - want| <= " + number(allowed));
      }
      if (error > result_.max_error) result_.max_error = error;
      if (error / allowed > result_.max_fraction) result_.max_fraction = error / allowed;
    }
    result_.elements += static_cast<std::int64_t>(got.size());
  }

  template <typename Int>
  void exact(const char* output, const std::vector<Int>& got, const std::vector<Int>& want) {
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i]) {
        fail(output, i, static_cast<double>(got[i]), static_cast<double>(want[i]),
             "integers must be equal");
      }
    }
    result_.elements += static_cast<std::int64_t>(got.size());
  }

  OpCheck result() const { return result_; }

 private:
  [[noreturn]] void fail(const char* output, std::size_t index, double got, double want,
                         const std::string& rule) const {
    const std::string what = "self-check on the " + backend_ + " backend: " + result_.op +
                             " differs from the double reference at " + output + "[" +
                             std::to_string(index) + "]: got " + number(got) + ", want " +
                             number(want) + " (" + rule + ")";
    throw SelfCheckFailed(what, result_.op, output, static_cast<std::int64_t>(index), got, want);
  }

  std::string backend_;
  OpCheck result_;
};

// Sizes: odd, not LeNet's, not multiples of a block or a GEMM tile, and small (the simulator
// runs each CUDA thread as a fiber). The longest sum is conv2d_backward_filter's, over
// N * OH * OW = 3 * 9 * 7 = 189 products.
constexpr std::int64_t kElementwise = 1001;  // 3 full blocks of 256 and a partial one
constexpr Conv2dShape kConv{3, 2, 11, 10, 5, 3, 4};  // -> y [3, 5, 9, 7]
constexpr Pool2dShape kPool{2, 3, 9, 7, 2, 2};  // -> y [2, 3, 4, 3]; last row and column unread
constexpr LinearShape kLinear{5, 37, 11};
constexpr std::int64_t kRows = 6, kClasses = 7;  // softmax_cross_entropy and count_correct

OpCheck check_normalize_u8(Backend& b, Inputs& in) {
  std::vector<std::uint8_t> pixels = in.bytes(kElementwise);
  pixels[0] = 0;  // both ends of the range
  pixels[1] = 255;
  const float mean = 0.1307f, stddev = 0.3081f;  // MNIST's own statistics: neither is 0.5
  Workspace ws(b);
  float* y = ws.output<float>(kElementwise);
  b.normalize_u8(kElementwise, ws.input(pixels), y, mean, stddev);
  std::vector<double> want = zeros(kElementwise);
  ref::normalize_u8<double>(kElementwise, pixels.data(), want.data(), mean, stddev);
  Checker c(b, "normalize_u8");
  c.floats("y", ws.read(y, kElementwise), want);
  return c.result();
}

// A ReLU's output for the fused backward ops' masks: about half of it 0.
std::vector<float> relu_output(Inputs& in, std::int64_t n) {
  std::vector<float> y = in.uniform(n, -1, 1);
  ref::relu_forward(n, y.data(), y.data());
  return y;
}

// kRelu: the fused form (conv2d_forward_relu), against the reference's op and then its ReLU.
template <bool kRelu>
OpCheck check_conv2d_forward(Backend& b, Inputs& in) {
  const auto x = in.uniform(kConv.x_size(), -1, 1), w = in.uniform(kConv.w_size(), -1, 1),
             bias = in.uniform(kConv.b_size(), -1, 1);
  Workspace ws(b);
  float* y = ws.output<float>(kConv.y_size());
  if (kRelu) {
    b.conv2d_forward_relu(kConv, ws.input(x), ws.input(w), ws.input(bias), y);
  } else {
    b.conv2d_forward(kConv, ws.input(x), ws.input(w), ws.input(bias), y);
  }
  std::vector<double> want = zeros(kConv.y_size());
  ref::conv2d_forward(kConv, widen(x).data(), widen(w).data(), widen(bias).data(), want.data());
  if (kRelu) ref::relu_forward(kConv.y_size(), want.data(), want.data());
  Checker c(b, kRelu ? "conv2d_forward_relu" : "conv2d_forward");
  c.floats("y", ws.read(y, kConv.y_size()), want);
  return c.result();
}

// kRelu: conv2d_backward_data_relu, through the ReLU whose output is a random x.
template <bool kRelu>
OpCheck check_conv2d_backward_data(Backend& b, Inputs& in) {
  const auto dy = in.uniform(kConv.y_size(), -1, 1), w = in.uniform(kConv.w_size(), -1, 1);
  const auto x = kRelu ? relu_output(in, kConv.x_size()) : std::vector<float>();
  Workspace ws(b);
  float* dx = ws.output<float>(kConv.x_size());
  if (kRelu) {
    b.conv2d_backward_data_relu(kConv, ws.input(dy), ws.input(w), ws.input(x), dx);
  } else {
    b.conv2d_backward_data(kConv, ws.input(dy), ws.input(w), dx);
  }
  std::vector<double> want = zeros(kConv.x_size());
  ref::conv2d_backward_data(kConv, widen(dy).data(), widen(w).data(), want.data());
  if (kRelu) ref::relu_backward(kConv.x_size(), want.data(), widen(x).data(), want.data());
  Checker c(b, kRelu ? "conv2d_backward_data_relu" : "conv2d_backward_data");
  c.floats("dx", ws.read(dx, kConv.x_size()), want);
  return c.result();
}

OpCheck check_conv2d_backward_filter(Backend& b, Inputs& in) {
  const auto x = in.uniform(kConv.x_size(), -1, 1), dy = in.uniform(kConv.y_size(), -1, 1);
  Workspace ws(b);
  float* dw = ws.output<float>(kConv.w_size());
  float* db = ws.output<float>(kConv.b_size());
  b.conv2d_backward_filter(kConv, ws.input(x), ws.input(dy), dw, db);
  std::vector<double> want_dw = zeros(kConv.w_size()), want_db = zeros(kConv.b_size());
  ref::conv2d_backward_filter(kConv, widen(x).data(), widen(dy).data(), want_dw.data(),
                              want_db.data());
  Checker c(b, "conv2d_backward_filter");
  c.floats("dw", ws.read(dw, kConv.w_size()), want_dw);
  c.floats("db", ws.read(db, kConv.b_size()), want_db);
  return c.result();
}

OpCheck check_maxpool2d_forward(Backend& b, Inputs& in) {
  const auto x = in.uniform(kPool.x_size(), -1, 1);
  Workspace ws(b);
  float* y = ws.output<float>(kPool.y_size());
  std::int32_t* idx = ws.output<std::int32_t>(kPool.y_size());
  b.maxpool2d_forward(kPool, ws.input(x), y, idx);
  std::vector<double> want_y = zeros(kPool.y_size());
  std::vector<std::int32_t> want_idx(static_cast<std::size_t>(kPool.y_size()));
  ref::maxpool2d_forward(kPool, widen(x).data(), want_y.data(), want_idx.data());
  Checker c(b, "maxpool2d_forward");
  c.floats("y", ws.read(y, kPool.y_size()), want_y);
  c.exact("idx", ws.read(idx, kPool.y_size()), want_idx);
  return c.result();
}

// The pooling of kConv's output [3, 5, 9, 7]: y [3, 5, 4, 3], the last row and column unread.
constexpr Pool2dShape kConvPool{3, 5, 9, 7, 2, 2};

// The fused convolution layer: y against the reference's conv2d, ReLU and max-pool. Its idx
// may differ from the reference's where two values of a window are equal to rounding, so each
// index is checked by what it points at: a position inside its own window (else NaN, a failure)
// whose reference value is the window's maximum to the same tolerance.
OpCheck check_conv2d_relu_maxpool2d_forward(Backend& b, Inputs& in) {
  static_assert(kConvPool.N == kConv.N && kConvPool.C == kConv.OC, "kConvPool pools kConv");
  const auto x = in.uniform(kConv.x_size(), -1, 1), w = in.uniform(kConv.w_size(), -1, 1),
             bias = in.uniform(kConv.b_size(), -1, 1);
  Workspace ws(b);
  float* a = ws.output<float>(kConv.y_size());
  float* y = ws.output<float>(kConvPool.y_size());
  std::int32_t* idx = ws.output<std::int32_t>(kConvPool.y_size());
  b.conv2d_relu_maxpool2d_forward(kConv, kConvPool, ws.input(x), ws.input(w), ws.input(bias), a,
                                  y, idx);
  std::vector<double> want_a = zeros(kConv.y_size()), want_y = zeros(kConvPool.y_size());
  std::vector<std::int32_t> want_idx(static_cast<std::size_t>(kConvPool.y_size()));
  ref::conv2d_forward(kConv, widen(x).data(), widen(w).data(), widen(bias).data(), want_a.data());
  ref::relu_forward(kConv.y_size(), want_a.data(), want_a.data());
  ref::maxpool2d_forward(kConvPool, want_a.data(), want_y.data(), want_idx.data());
  const std::vector<std::int32_t> got_idx = ws.read(idx, kConvPool.y_size());
  std::vector<double> pointed(got_idx.size());
  const std::int64_t OH = kConvPool.OH(), OW = kConvPool.OW(), H = kConvPool.H, W = kConvPool.W;
  const std::int64_t S = kConvPool.stride, K = kConvPool.K;
  for (std::size_t o = 0; o < got_idx.size(); ++o) {
    const auto i = static_cast<std::int64_t>(o);
    const std::int64_t plane = i / (OH * OW), oh = i / OW % OH, ow = i % OW;
    const std::int64_t at = got_idx[o], h = at / W, col = at % W;
    const bool in_window = at >= 0 && h >= oh * S && h < oh * S + K && col >= ow * S &&
                           col < ow * S + K;
    pointed[o] = in_window ? want_a[static_cast<std::size_t>(plane * H * W + at)] : NAN;
  }
  Checker c(b, "conv2d_relu_maxpool2d_forward");
  c.floats("y", ws.read(y, kConvPool.y_size()), want_y);
  c.floats("idx", pointed, want_y);
  return c.result();
}

OpCheck check_maxpool2d_backward(Backend& b, Inputs& in) {
  // Indices as a forward pass would leave them: the reference's, for random inputs.
  const auto x = in.uniform(kPool.x_size(), -1, 1), dy = in.uniform(kPool.y_size(), -1, 1);
  std::vector<double> pooled = zeros(kPool.y_size());
  std::vector<std::int32_t> idx(static_cast<std::size_t>(kPool.y_size()));
  ref::maxpool2d_forward(kPool, widen(x).data(), pooled.data(), idx.data());
  Workspace ws(b);
  float* dx = ws.output<float>(kPool.x_size());
  b.maxpool2d_backward(kPool, ws.input(dy), ws.input(idx), dx);
  std::vector<double> want = zeros(kPool.x_size());
  ref::maxpool2d_backward(kPool, widen(dy).data(), idx.data(), want.data());
  Checker c(b, "maxpool2d_backward");
  c.floats("dx", ws.read(dx, kPool.x_size()), want);
  return c.result();
}

OpCheck check_relu_forward(Backend& b, Inputs& in) {
  const auto x = in.uniform(kElementwise, -1, 1);
  Workspace ws(b);
  float* y = ws.output<float>(kElementwise);
  b.relu_forward(kElementwise, ws.input(x), y);
  std::vector<double> want = zeros(kElementwise);
  ref::relu_forward(kElementwise, widen(x).data(), want.data());
  Checker c(b, "relu_forward");
  c.floats("y", ws.read(y, kElementwise), want);
  return c.result();
}

OpCheck check_relu_backward(Backend& b, Inputs& in) {
  const auto dy = in.uniform(kElementwise, -1, 1), x = in.uniform(kElementwise, -1, 1);
  Workspace ws(b);
  float* dx = ws.output<float>(kElementwise);
  b.relu_backward(kElementwise, ws.input(dy), ws.input(x), dx);
  std::vector<double> want = zeros(kElementwise);
  ref::relu_backward(kElementwise, widen(dy).data(), widen(x).data(), want.data());
  Checker c(b, "relu_backward");
  c.floats("dx", ws.read(dx, kElementwise), want);
  return c.result();
}

template <bool kRelu>
OpCheck check_linear_forward(Backend& b, Inputs& in) {
  const auto x = in.uniform(kLinear.x_size(), -1, 1), w = in.uniform(kLinear.w_size(), -1, 1),
             bias = in.uniform(kLinear.b_size(), -1, 1);
  Workspace ws(b);
  float* y = ws.output<float>(kLinear.y_size());
  if (kRelu) {
    b.linear_forward_relu(kLinear, ws.input(x), ws.input(w), ws.input(bias), y);
  } else {
    b.linear_forward(kLinear, ws.input(x), ws.input(w), ws.input(bias), y);
  }
  std::vector<double> want = zeros(kLinear.y_size());
  ref::linear_forward(kLinear, widen(x).data(), widen(w).data(), widen(bias).data(), want.data());
  if (kRelu) ref::relu_forward(kLinear.y_size(), want.data(), want.data());
  Checker c(b, kRelu ? "linear_forward_relu" : "linear_forward");
  c.floats("y", ws.read(y, kLinear.y_size()), want);
  return c.result();
}

// kRelu: linear_backward_relu, x being a ReLU's output.
template <bool kRelu>
OpCheck check_linear_backward(Backend& b, Inputs& in) {
  const auto dy = in.uniform(kLinear.y_size(), -1, 1);
  const auto x = kRelu ? relu_output(in, kLinear.x_size()) : in.uniform(kLinear.x_size(), -1, 1);
  const auto w = in.uniform(kLinear.w_size(), -1, 1);
  Workspace ws(b);
  float* dx = ws.output<float>(kLinear.x_size());
  float* dw = ws.output<float>(kLinear.w_size());
  float* db = ws.output<float>(kLinear.b_size());
  if (kRelu) {
    b.linear_backward_relu(kLinear, ws.input(dy), ws.input(x), ws.input(w), dx, dw, db);
  } else {
    b.linear_backward(kLinear, ws.input(dy), ws.input(x), ws.input(w), dx, dw, db);
  }
  std::vector<double> want_dx = zeros(kLinear.x_size()), want_dw = zeros(kLinear.w_size()),
                      want_db = zeros(kLinear.b_size());
  ref::linear_backward(kLinear, widen(dy).data(), widen(x).data(), widen(w).data(),
                       want_dx.data(), want_dw.data(), want_db.data());
  if (kRelu) ref::relu_backward(kLinear.x_size(), want_dx.data(), widen(x).data(), want_dx.data());
  Checker c(b, kRelu ? "linear_backward_relu" : "linear_backward");
  c.floats("dx", ws.read(dx, kLinear.x_size()), want_dx);
  c.floats("dw", ws.read(dw, kLinear.w_size()), want_dw);
  c.floats("db", ws.read(db, kLinear.b_size()), want_db);
  return c.result();
}

OpCheck check_softmax_cross_entropy(Backend& b, Inputs& in) {
  const auto logits = in.uniform(kRows * kClasses, -3, 3);
  const auto labels = in.labels(kRows, kClasses);
  Workspace ws(b);
  float* loss = ws.output<float>(1);
  float* dlogits = ws.output<float>(kRows * kClasses);
  b.softmax_cross_entropy(kRows, kClasses, ws.input(logits), ws.input(labels), loss, dlogits);
  double want_loss = 0.0;
  std::vector<double> want_dlogits = zeros(kRows * kClasses);
  ref::softmax_cross_entropy(kRows, kClasses, widen(logits).data(), labels.data(), &want_loss,
                             want_dlogits.data());
  Checker c(b, "softmax_cross_entropy");
  c.floats("loss", ws.read(loss, 1), {want_loss});
  c.floats("dlogits", ws.read(dlogits, kRows * kClasses), want_dlogits);
  return c.result();
}

OpCheck check_count_correct(Backend& b, Inputs& in) {
  // Every other row labelled with its argmax, the others with a wrong class, so the count
  // (kRows / 2) is neither zero nor all rows.
  const auto logits = in.uniform(kRows * kClasses, -1, 1);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(kRows));
  ref::argmax_rows(kRows, kClasses, widen(logits).data(), labels.data());
  for (std::int64_t r = 1; r < kRows; r += 2) {
    labels[r] = static_cast<std::int32_t>((labels[r] + 1) % kClasses);
  }
  Workspace ws(b);
  std::int64_t* correct = ws.output<std::int64_t>(1);
  b.count_correct(kRows, kClasses, ws.input(logits), ws.input(labels), correct);
  std::int64_t want = 0;
  ref::count_correct(kRows, kClasses, widen(logits).data(), labels.data(), &want);
  Checker c(b, "count_correct");
  c.exact("correct", ws.read(correct, 1), {want});
  return c.result();
}

OpCheck check_sgd_momentum_step(Backend& b, Inputs& in) {
  // Powers of two: float and double then start from the same hyperparameters.
  const SgdParams h{0.0625, 0.875, 0.03125};
  const auto p = in.uniform(kElementwise, -1, 1), g = in.uniform(kElementwise, -1, 1),
             v = in.uniform(kElementwise, -1, 1);
  Workspace ws(b);
  float* dp = ws.input(p);
  float* dv = ws.input(v);
  b.sgd_momentum_step(h, kElementwise, dp, ws.input(g), dv);
  std::vector<double> want_p = widen(p), want_v = widen(v);
  ref::sgd_momentum_step(h, kElementwise, want_p.data(), widen(g).data(), want_v.data());
  Checker c(b, "sgd_momentum_step");
  c.floats("p", ws.read(dp, kElementwise), want_p);
  c.floats("v", ws.read(dv, kElementwise), want_v);
  return c.result();
}

}  // namespace

SelfCheckFailed::SelfCheckFailed(const std::string& what, std::string op, std::string output,
                                 std::int64_t index, double got, double want)
    : std::runtime_error(what),
      op_(std::move(op)),
      output_(std::move(output)),
      index_(index),
      got_(got),
      want_(want) {}

const OpCheck& SelfCheckReport::worst() const {
  const OpCheck* worst = &ops.at(0);
  for (const OpCheck& op : ops) {
    if (op.max_fraction > worst->max_fraction) worst = &op;
  }
  return *worst;
}

SelfCheckReport self_check(Backend& backend) {
  const auto start = std::chrono::steady_clock::now();
  Inputs in(20240611);
  SelfCheckReport report;
  using Check = OpCheck (*)(Backend&, Inputs&);
  for (const Check check :
       {check_normalize_u8, check_conv2d_forward<false>, check_conv2d_backward_data<false>,
        check_conv2d_backward_filter, check_maxpool2d_forward, check_maxpool2d_backward,
        check_relu_forward, check_relu_backward, check_linear_forward<false>,
        check_linear_backward<false>, check_softmax_cross_entropy, check_count_correct,
        check_sgd_momentum_step,
        // The fused forms the training step runs (backend.h), last so that the inputs of the
        // ops above stay what they were before these existed.
        check_conv2d_forward<true>, check_conv2d_backward_data<true>,
        check_linear_forward<true>, check_linear_backward<true>,
        check_conv2d_relu_maxpool2d_forward}) {
    report.ops.push_back(check(backend, in));
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lenet::engine
