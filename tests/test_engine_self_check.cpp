// The self-check before training: it passes on the cpu and sim backends, and a backend that
// gets one output wrong, or leaves one unwritten, fails it with that op, output and index.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/engine/backend.h>
#include <lenet/engine/self_check.h>

namespace le = lenet::engine;

namespace {

// Every op of the Backend interface, in the order the check runs them.
const std::vector<std::string> kOps = {
    "normalize_u8",       "conv2d_forward",     "conv2d_backward_data", "conv2d_backward_filter",
    "maxpool2d_forward",  "maxpool2d_backward", "relu_forward",         "relu_backward",
    "linear_forward",     "linear_backward",    "softmax_cross_entropy", "count_correct",
    "sgd_momentum_step",  "conv2d_forward_relu", "conv2d_backward_data_relu",
    "linear_forward_relu", "linear_backward_relu", "conv2d_relu_maxpool2d_forward"};

void expect_passes(le::Backend& backend) {
  const le::SelfCheckReport report = le::self_check(backend);
  ASSERT_EQ(report.ops.size(), kOps.size());
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    const le::OpCheck& op = report.ops[i];
    EXPECT_EQ(op.op, kOps[i]);
    EXPECT_GT(op.elements, 0) << op.op;
    EXPECT_LE(op.max_fraction, 1.0) << op.op;
  }
  // Float rounding leaves some error: a check whose float outputs all match exactly compared
  // nothing.
  EXPECT_GT(report.worst().max_error, 0.0);
  EXPECT_GE(report.seconds, 0.0);
}

TEST(EngineSelfCheck, PassesOnTheCpuBackend) {
  auto backend = le::make_cpu_backend(2);
  expect_passes(*backend);
}

TEST(EngineSelfCheck, PassesOnTheSimBackend) {
  auto backend = le::make_sim_backend(2);
  expect_passes(*backend);
}

// Which output of which op a CorruptingBackend gets wrong, and where.
struct Corruption {
  std::string op;
  std::string output;
  std::int64_t index;  // element of that output
  bool skip = false;   // instead of a wrong value: the op does not run at all
};

// A real backend with one flaw: after the op named by the corruption, one element of one
// output is off by one (floats by 1.0, integers by 1), or the op is not run at all.
class CorruptingBackend final : public le::Backend {
 public:
  CorruptingBackend(std::unique_ptr<le::Backend> inner, Corruption c)
      : inner_(std::move(inner)), c_(std::move(c)) {}

  std::string name() const override { return "corrupted " + inner_->name(); }
  std::string device() const override { return inner_->device(); }
  le::KernelCode kernel_code() const override { return inner_->kernel_code(); }
  le::Buffer allocate(std::size_t bytes) override { return inner_->allocate(bytes); }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    inner_->upload(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    inner_->download(dst, src, bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    inner_->copy(dst, src, bytes);
  }
  void zero(void* dst, std::size_t bytes) override { inner_->zero(dst, bytes); }
  void synchronize() override { inner_->synchronize(); }

  void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean,
                    float stddev) override {
    if (runs("normalize_u8")) inner_->normalize_u8(n, pixels, y, mean, stddev);
    corrupt("normalize_u8", "y", y);
  }
  void conv2d_forward(const lenet::Conv2dShape& s, const float* x, const float* w,
                      const float* b, float* y) override {
    if (runs("conv2d_forward")) inner_->conv2d_forward(s, x, w, b, y);
    corrupt("conv2d_forward", "y", y);
  }
  void conv2d_backward_data(const lenet::Conv2dShape& s, const float* dy, const float* w,
                            float* dx) override {
    if (runs("conv2d_backward_data")) inner_->conv2d_backward_data(s, dy, w, dx);
    corrupt("conv2d_backward_data", "dx", dx);
  }
  void conv2d_backward_filter(const lenet::Conv2dShape& s, const float* x, const float* dy,
                              float* dw, float* db) override {
    if (runs("conv2d_backward_filter")) inner_->conv2d_backward_filter(s, x, dy, dw, db);
    corrupt("conv2d_backward_filter", "dw", dw);
    corrupt("conv2d_backward_filter", "db", db);
  }
  void maxpool2d_forward(const lenet::Pool2dShape& s, const float* x, float* y,
                         std::int32_t* idx) override {
    if (runs("maxpool2d_forward")) inner_->maxpool2d_forward(s, x, y, idx);
    corrupt("maxpool2d_forward", "y", y);
    corrupt("maxpool2d_forward", "idx", idx);
  }
  void maxpool2d_backward(const lenet::Pool2dShape& s, const float* dy, const std::int32_t* idx,
                          float* dx) override {
    if (runs("maxpool2d_backward")) inner_->maxpool2d_backward(s, dy, idx, dx);
    corrupt("maxpool2d_backward", "dx", dx);
  }
  void relu_forward(std::int64_t n, const float* x, float* y) override {
    if (runs("relu_forward")) inner_->relu_forward(n, x, y);
    corrupt("relu_forward", "y", y);
  }
  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) override {
    if (runs("relu_backward")) inner_->relu_backward(n, dy, x, dx);
    corrupt("relu_backward", "dx", dx);
  }
  void linear_forward(const lenet::LinearShape& s, const float* x, const float* w,
                      const float* b, float* y) override {
    if (runs("linear_forward")) inner_->linear_forward(s, x, w, b, y);
    corrupt("linear_forward", "y", y);
  }
  void linear_backward(const lenet::LinearShape& s, const float* dy, const float* x,
                       const float* w, float* dx, float* dw, float* db) override {
    if (runs("linear_backward")) inner_->linear_backward(s, dy, x, w, dx, dw, db);
    corrupt("linear_backward", "dx", dx);
    corrupt("linear_backward", "dw", dw);
    corrupt("linear_backward", "db", db);
  }
  void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                             const std::int32_t* labels, float* loss, float* dlogits) override {
    if (runs("softmax_cross_entropy")) {
      inner_->softmax_cross_entropy(N, K, logits, labels, loss, dlogits);
    }
    corrupt("softmax_cross_entropy", "loss", loss);
    corrupt("softmax_cross_entropy", "dlogits", dlogits);
  }
  void count_correct(std::int64_t N, std::int64_t K, const float* logits,
                     const std::int32_t* labels, std::int64_t* correct) override {
    if (runs("count_correct")) inner_->count_correct(N, K, logits, labels, correct);
    corrupt("count_correct", "correct", correct);
  }
  void sgd_momentum_step(const lenet::SgdParams& h, std::int64_t n, float* p, const float* g,
                         float* v) override {
    if (runs("sgd_momentum_step")) inner_->sgd_momentum_step(h, n, p, g, v);
    corrupt("sgd_momentum_step", "p", p);
    corrupt("sgd_momentum_step", "v", v);
  }
  void conv2d_forward_relu(const lenet::Conv2dShape& s, const float* x, const float* w,
                           const float* b, float* y) override {
    if (runs("conv2d_forward_relu")) inner_->conv2d_forward_relu(s, x, w, b, y);
    corrupt("conv2d_forward_relu", "y", y);
  }
  void conv2d_backward_data_relu(const lenet::Conv2dShape& s, const float* dy, const float* w,
                                 const float* x, float* dx) override {
    if (runs("conv2d_backward_data_relu")) inner_->conv2d_backward_data_relu(s, dy, w, x, dx);
    corrupt("conv2d_backward_data_relu", "dx", dx);
  }
  void linear_forward_relu(const lenet::LinearShape& s, const float* x, const float* w,
                           const float* b, float* y) override {
    if (runs("linear_forward_relu")) inner_->linear_forward_relu(s, x, w, b, y);
    corrupt("linear_forward_relu", "y", y);
  }
  void linear_backward_relu(const lenet::LinearShape& s, const float* dy, const float* x,
                            const float* w, float* dx, float* dw, float* db) override {
    if (runs("linear_backward_relu")) inner_->linear_backward_relu(s, dy, x, w, dx, dw, db);
    corrupt("linear_backward_relu", "dx", dx);
    corrupt("linear_backward_relu", "dw", dw);
    corrupt("linear_backward_relu", "db", db);
  }
  void conv2d_relu_maxpool2d_forward(const lenet::Conv2dShape& c, const lenet::Pool2dShape& p,
                                     const float* x, const float* w, const float* b, float* a,
                                     float* y, std::int32_t* idx) override {
    if (runs("conv2d_relu_maxpool2d_forward")) {
      inner_->conv2d_relu_maxpool2d_forward(c, p, x, w, b, a, y, idx);
    }
    corrupt("conv2d_relu_maxpool2d_forward", "y", y);
    corrupt("conv2d_relu_maxpool2d_forward", "idx", idx);
  }

 private:
  bool runs(const char* op) const { return !(c_.skip && c_.op == op); }

  template <typename T>
  void corrupt(const char* op, const char* output, T* p) {
    if (c_.skip || c_.op != op || c_.output != output) return;
    T value{};
    inner_->download(&value, p + c_.index, sizeof(T));
    value += T{1};
    inner_->upload(p + c_.index, &value, sizeof(T));
  }

  std::unique_ptr<le::Backend> inner_;
  Corruption c_;
};

class EngineSelfCheckCorrupted : public ::testing::TestWithParam<Corruption> {};

TEST_P(EngineSelfCheckCorrupted, FailsNamingTheOpTheOutputAndTheIndex) {
  const Corruption& c = GetParam();
  CorruptingBackend backend(le::make_cpu_backend(1), c);
  try {
    le::self_check(backend);
    FAIL() << "the self-check passed with " << c.op << " " << c.output << "[" << c.index
           << "] off by one";
  } catch (const le::SelfCheckFailed& e) {
    EXPECT_EQ(e.op(), c.op);
    EXPECT_EQ(e.output(), c.output);
    EXPECT_EQ(e.index(), c.index);
    // The fused layer's idx is checked by the value it points at (self_check.cpp): got is then
    // that value, not the index.
    if (!(c.op == "conv2d_relu_maxpool2d_forward" && c.output == "idx")) {
      EXPECT_NEAR(e.got(), e.want() + 1.0, 1e-3) << e.what();
    }
    const std::string what = e.what();
    EXPECT_NE(what.find("on the corrupted cpu backend: " + c.op), std::string::npos) << what;
    EXPECT_NE(what.find(c.output + "[" + std::to_string(c.index) + "]: got "), std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  }
}

// Every output of every op; the scalar ones (loss, correct) at their only index.
INSTANTIATE_TEST_SUITE_P(
    EveryOutput, EngineSelfCheckCorrupted,
    ::testing::Values(Corruption{"normalize_u8", "y", 2}, Corruption{"conv2d_forward", "y", 2},
                      Corruption{"conv2d_backward_data", "dx", 2},
                      Corruption{"conv2d_backward_filter", "dw", 2},
                      Corruption{"conv2d_backward_filter", "db", 2},
                      Corruption{"maxpool2d_forward", "y", 2},
                      Corruption{"maxpool2d_forward", "idx", 2},
                      Corruption{"maxpool2d_backward", "dx", 2},
                      Corruption{"relu_forward", "y", 2}, Corruption{"relu_backward", "dx", 2},
                      Corruption{"linear_forward", "y", 2}, Corruption{"linear_backward", "dx", 2},
                      Corruption{"linear_backward", "dw", 2},
                      Corruption{"linear_backward", "db", 2},
                      Corruption{"softmax_cross_entropy", "loss", 0},
                      Corruption{"softmax_cross_entropy", "dlogits", 2},
                      Corruption{"count_correct", "correct", 0},
                      Corruption{"sgd_momentum_step", "p", 2},
                      Corruption{"sgd_momentum_step", "v", 2},
                      Corruption{"conv2d_forward_relu", "y", 2},
                      Corruption{"conv2d_backward_data_relu", "dx", 2},
                      Corruption{"linear_forward_relu", "y", 2},
                      Corruption{"linear_backward_relu", "dx", 2},
                      Corruption{"linear_backward_relu", "dw", 2},
                      Corruption{"linear_backward_relu", "db", 2},
                      Corruption{"conv2d_relu_maxpool2d_forward", "y", 2},
                      Corruption{"conv2d_relu_maxpool2d_forward", "idx", 2}),
    [](const ::testing::TestParamInfo<Corruption>& info) {
      return info.param.op + "_" + info.param.output;
    });

TEST(EngineSelfCheck, AnOpThatWritesNothingFailsOnItsFirstElement) {
  CorruptingBackend backend(le::make_cpu_backend(1), Corruption{"relu_backward", "dx", 0, true});
  try {
    le::self_check(backend);
    FAIL() << "the self-check passed without relu_backward";
  } catch (const le::SelfCheckFailed& e) {
    EXPECT_EQ(e.op(), "relu_backward");
    EXPECT_EQ(e.index(), 0);
    EXPECT_TRUE(std::isnan(e.got())) << e.what();  // the check fills outputs with NaN first
    EXPECT_NE(std::string(e.what()).find("got nan"), std::string::npos) << e.what();
  }
}

TEST(EngineSelfCheck, ACorruptedSimBackendFailsToo) {
  CorruptingBackend backend(le::make_sim_backend(2),
                            Corruption{"conv2d_backward_filter", "db", 4});
  try {
    le::self_check(backend);
    FAIL() << "the self-check passed with a wrong conv2d_backward_filter db on the sim backend";
  } catch (const le::SelfCheckFailed& e) {
    EXPECT_EQ(e.op(), "conv2d_backward_filter");
    EXPECT_EQ(e.output(), "db");
    EXPECT_EQ(e.index(), 4);
  }
}

}  // namespace
