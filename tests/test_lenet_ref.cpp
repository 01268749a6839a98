#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/cpu_ref/sgd_momentum.h>
#include <lenet/cpu_ref/softmax_cross_entropy.h>

#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/random.h"
#include "support/throws.h"

namespace {

using namespace lenet::cpu_ref;
using namespace lenet::test;

constexpr std::int64_t kImage = kLenetInputH * kLenetInputW;

TEST(LenetRef, ParamsHaveStateDictNamesAndShapes) {
  const LenetParams<float> p;
  const std::vector<std::string> names = {"conv1.weight", "conv1.bias", "conv2.weight",
                                          "conv2.bias",   "fc1.weight", "fc1.bias",
                                          "fc2.weight",   "fc2.bias",   "fc3.weight",
                                          "fc3.bias"};
  const std::vector<std::vector<std::int64_t>> shapes = {
      {6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 256}, {120}, {84, 120}, {84}, {10, 84}, {10}};
  std::size_t total = 0;
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    EXPECT_EQ(p[i].name, names[i]);
    EXPECT_EQ(p[i].shape, shapes[i]) << names[i];
    std::size_t count = 1;
    for (const auto d : shapes[i]) count *= static_cast<std::size_t>(d);
    EXPECT_EQ(p[i].data.size(), count) << names[i];
    for (const float v : p[i].data) ASSERT_EQ(v, 0.0f);
    total += p[i].data.size();
  }
  EXPECT_EQ(total, 44426u);  // sum(p.numel() for p in LeNet().parameters()) in PyTorch
  EXPECT_EQ(p.find("fc2.bias"), &p[kFc2Bias]);
  EXPECT_EQ(p.find("fc4.bias"), nullptr);
  EXPECT_NO_THROW(p.check("test"));
}

TEST(LenetRef, ShapesOfEveryLayer) {
  const LenetShapes s = lenet_shapes(3);
  EXPECT_EQ(s.conv1.y_size(), 3 * 6 * 24 * 24);
  EXPECT_EQ(s.pool1.y_size(), 3 * 6 * 12 * 12);
  EXPECT_EQ(s.conv2.y_size(), 3 * 16 * 8 * 8);
  EXPECT_EQ(s.pool2.y_size(), 3 * 256);
  EXPECT_EQ(s.fc1.in, 256);
  EXPECT_EQ(s.fc3.y_size(), 3 * 10);
}

TEST(LenetRef, InitIsPyTorchsUniformAndReproducible) {
  const LenetParams<double> p = lenet_init<double>(0);
  // Golden values, computed independently (a Python mt19937_64 and the documented mapping):
  // they pin the stream so checkpoints and tests agree across platforms.
  EXPECT_EQ(p[kConv1Weight].data[0], -0.13608265465181568);
  EXPECT_EQ(p[kConv1Weight].data[149], -0.018360527100660873);
  EXPECT_EQ(p[kConv1Bias].data[0], 0.04953322668988905);
  EXPECT_EQ(lenet_init<double>(42)[kConv1Weight].data[0], 0.10206221318181559);

  const double fan_in[kLenetParamCount] = {25, 25, 150, 150, 256, 256, 120, 120, 84, 84};
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    const double bound = 1.0 / std::sqrt(fan_in[i]);
    double lo = bound, hi = -bound;
    for (const double v : p[i].data) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    EXPECT_GE(lo, -bound) << p[i].name;
    EXPECT_LT(hi, bound) << p[i].name;
    if (p[i].data.size() >= 100) {  // a uniform sample of 100+ spans most of the range
      EXPECT_LT(lo, -0.9 * bound) << p[i].name;
      EXPECT_GT(hi, 0.9 * bound) << p[i].name;
    }
  }

  const LenetParams<double> again = lenet_init<double>(0);
  const LenetParams<double> other = lenet_init<double>(1);
  const LenetParams<float> as_float = lenet_init<float>(0);
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    EXPECT_TRUE(all_close(again[i].data, p[i].data, 0, 0)) << p[i].name;
    EXPECT_NE(other[i].data, p[i].data) << p[i].name;
    EXPECT_TRUE(all_close(as_float[i].data, cast_to<float>(p[i].data), 0, 0)) << p[i].name;
  }
}

TEST(LenetRef, ForwardBackwardHandComputedOnAZeroNet) {
  // Every weight and bias zero: every activation is zero, so the logits of each row are
  // fc3.bias = 0, the loss is log 10, and only fc3.bias gets a gradient,
  // mean over rows of (softmax - onehot) = 0.1 - (onehot(3) + onehot(7)) / 2.
  const LenetParams<double> p;
  const auto x = random_uniform(2 * kImage, -1, 1, 1);
  const std::vector<std::int32_t> labels = {3, 7};
  LenetParams<double> g;
  for (auto& t : g.tensors) t.data.assign(t.data.size(), NAN);
  std::vector<double> logits = nan_filled<double>(20);
  const double loss = lenet_forward_backward(p, 2, x.data(), labels.data(), &g, logits.data());
  EXPECT_NEAR(loss, std::log(10.0), 1e-15);
  EXPECT_TRUE(all_close(logits, std::vector<double>(20, 0.0), 0, 0));
  std::vector<double> expected_fc3_bias(10, 0.1);
  expected_fc3_bias[3] = expected_fc3_bias[7] = 0.1 - 0.5;
  EXPECT_TRUE(all_close(g[kFc3Bias].data, expected_fc3_bias, 1e-16, 1e-15));
  for (std::size_t i = 0; i + 1 < kLenetParamCount; ++i) {
    EXPECT_TRUE(all_close(g[i].data, std::vector<double>(g[i].data.size(), 0.0), 0, 0))
        << g[i].name;
  }
}

TEST(LenetRef, ForwardBackwardAgreesWithForwardAndTheLoss) {
  const LenetParams<double> p = lenet_init<double>(3);
  const std::int64_t N = 5;
  const auto x = random_uniform(N * kImage, -1, 1, 4);
  const auto labels = random_labels(N, kLenetClasses, 5);
  std::vector<double> logits = nan_filled<double>(N * kLenetClasses);
  std::vector<double> logits2 = nan_filled<double>(N * kLenetClasses);
  lenet_forward(p, N, x.data(), logits.data());
  const double loss = lenet_forward_backward(p, N, x.data(), labels.data(), nullptr,
                                             logits2.data());
  EXPECT_TRUE(all_close(logits2, logits, 0, 0));
  double expected = NAN;
  softmax_cross_entropy(N, kLenetClasses, logits.data(), labels.data(), &expected, nullptr);
  EXPECT_EQ(loss, expected);
  // PyTorch's init gives small logits: the loss starts near log 10.
  EXPECT_NEAR(loss, std::log(10.0), 0.2);
}

TEST(LenetRef, BackwardGradCheck) {
  // A batch of 2 in double, a sample of entries of every tensor. The step is small against
  // the spread of pre-activations, so no ReLU kink or pooling tie lies within it for this seed.
  LenetParams<double> p = lenet_init<double>(7);
  const std::int64_t N = 2;
  const auto x = random_uniform(N * kImage, -1, 1, 8);
  const std::vector<std::int32_t> labels = {4, 9};
  LenetParams<double> g;
  lenet_forward_backward(p, N, x.data(), labels.data(), &g);
  auto loss = [&] { return lenet_forward_backward(p, N, x.data(), labels.data(), nullptr); };
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    GradCheckOptions options;
    options.step = 1e-5;
    options.floor = 1e-5;
    options.indices = sample_indices(p[i].data.size(), 12, 100 + i);
    EXPECT_TRUE(gradient_matches(loss, &p[i].data, g[i].data, options)) << p[i].name;
  }
}

TEST(LenetRef, FloatAgreesWithDouble) {
  const std::int64_t N = 4;
  const LenetParams<double> p = lenet_init<double>(11);
  const LenetParams<float> pf = lenet_init<float>(11);
  const auto x = random_uniform(N * kImage, -1, 1, 12);
  const auto xf = cast_to<float>(x);
  const auto labels = random_labels(N, kLenetClasses, 13);
  LenetParams<double> g;
  LenetParams<float> gf;
  const double loss = lenet_forward_backward(p, N, x.data(), labels.data(), &g);
  const float loss_f = lenet_forward_backward(pf, N, xf.data(), labels.data(), &gf);
  EXPECT_NEAR(loss_f, loss, 1e-5);
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    EXPECT_TRUE(all_close(gf[i].data, g[i].data, 1e-6, 1e-3)) << g[i].name;
  }
}

TEST(LenetRef, SgdStepUpdatesEveryTensorAndLowersTheLoss) {
  const std::int64_t N = 8;
  LenetParams<double> p = lenet_init<double>(21);
  const auto x = random_uniform(N * kImage, -1, 1, 22);
  const auto labels = random_labels(N, kLenetClasses, 23);
  const lenet::SgdParams h{0.05, 0.9, 1e-4};
  LenetParams<double> g, v;
  const double loss0 = lenet_forward_backward(p, N, x.data(), labels.data(), &g);

  LenetParams<double> expected = p, expected_v;
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    sgd_momentum_step<double>(h, expected[i].data.size(), expected[i].data.data(),
                              g[i].data.data(), expected_v[i].data.data());
  }
  lenet_sgd_step(h, &p, g, &v);
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    EXPECT_TRUE(all_close(p[i].data, expected[i].data, 0, 0)) << p[i].name;
    EXPECT_TRUE(all_close(v[i].data, expected_v[i].data, 0, 0)) << p[i].name;
  }

  double loss = loss0;
  for (int step = 0; step < 5; ++step) {
    loss = lenet_forward_backward(p, N, x.data(), labels.data(), &g);
    lenet_sgd_step(h, &p, g, &v);
  }
  EXPECT_LT(loss, loss0);
}

TEST(LenetRef, BadArgumentsThrowNamingTheArgument) {
  LenetParams<float> p = lenet_init<float>(1);
  const std::vector<float> x(2 * kImage);
  std::vector<std::int32_t> labels = {0, 10};
  std::vector<float> logits(20);
  LenetParams<float> g;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { lenet_forward_backward(p, 2, x.data(), labels.data(), &g); },
      {"lenet_forward_backward", "labels[1] = 10"}));
  labels[1] = 0;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { lenet_forward_backward(p, 0, x.data(), labels.data(), &g); },
      {"lenet_forward_backward: N"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { lenet_forward_backward(p, 2, x.data(), labels.data(), &p); },
      {"lenet_forward_backward", "grads"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] { lenet_forward_backward<float>(p, 2, nullptr, labels.data(), &g); },
      {"lenet_forward_backward: x is null"}));
  EXPECT_TRUE(throws_invalid_argument([&] { lenet_forward(p, 2, x.data(), nullptr); },
                                      {"lenet_forward: logits is null"}));

  LenetParams<float> bad = p;
  bad[kFc1Weight].data.pop_back();
  EXPECT_TRUE(throws_invalid_argument([&] { lenet_forward(bad, 2, x.data(), logits.data()); },
                                      {"lenet_forward", "fc1.weight"}));
  bad = p;
  bad[kConv2Weight].shape = {16, 6, 25};
  EXPECT_TRUE(throws_invalid_argument([&] { lenet_forward(bad, 2, x.data(), logits.data()); },
                                      {"lenet_forward", "conv2.weight", "shape"}));
  bad = p;
  bad[kFc3Bias].name = "fc3.b";
  EXPECT_TRUE(throws_invalid_argument([&] { lenet_forward(bad, 2, x.data(), logits.data()); },
                                      {"lenet_forward", "fc3.bias"}));
  LenetParams<float> v;
  EXPECT_TRUE(throws_invalid_argument(
      [&] { lenet_sgd_step(lenet::SgdParams{0.1, 0.9, 0.0}, &p, bad, &v); },
      {"lenet_sgd_step", "fc3.bias"}));
}

}  // namespace
