// The classic LeNet as a composition of the reference ops, forward then backward, with every
// intermediate kept in a local vector (no state survives a call).
#include <lenet/cpu_ref/lenet.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include <lenet/cpu_ref/conv2d.h>
#include <lenet/cpu_ref/linear.h>
#include <lenet/cpu_ref/maxpool2d.h>
#include <lenet/cpu_ref/relu.h>
#include <lenet/cpu_ref/sgd_momentum.h>
#include <lenet/cpu_ref/softmax_cross_entropy.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

namespace {

struct ParamSpec {
  const char* name;
  std::vector<std::int64_t> shape;
  std::int64_t fan_in;  // of the layer the tensor belongs to: PyTorch's init bound 1/sqrt(fan_in)
};

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = {
      {"conv1.weight", {6, 1, 5, 5}, 1 * 5 * 5},  {"conv1.bias", {6}, 1 * 5 * 5},
      {"conv2.weight", {16, 6, 5, 5}, 6 * 5 * 5}, {"conv2.bias", {16}, 6 * 5 * 5},
      {"fc1.weight", {120, 256}, 256},            {"fc1.bias", {120}, 256},
      {"fc2.weight", {84, 120}, 120},             {"fc2.bias", {84}, 120},
      {"fc3.weight", {10, 84}, 84},               {"fc3.bias", {10}, 84},
  };
  return specs;
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (const std::int64_t d : shape) count *= d;
  return count;
}

// Every intermediate of one forward pass, kept for the backward pass.
template <typename T>
struct Activations {
  std::vector<T> conv1, relu1, pool1, conv2, relu2, pool2, fc1, relu3, fc2, relu4, logits;
  std::vector<std::int32_t> pool1_idx, pool2_idx;
};

template <typename T>
void forward(const LenetShapes& s, const LenetParams<T>& p, const T* x, Activations<T>* a) {
  // Each layer's output, and the ReLU or pooling indices of the same size after it.
  for (const auto& [out, n] : {std::pair{&a->conv1, s.conv1.y_size()},
                               {&a->relu1, s.conv1.y_size()}, {&a->pool1, s.pool1.y_size()},
                               {&a->conv2, s.conv2.y_size()}, {&a->relu2, s.conv2.y_size()},
                               {&a->pool2, s.pool2.y_size()}, {&a->fc1, s.fc1.y_size()},
                               {&a->relu3, s.fc1.y_size()}, {&a->fc2, s.fc2.y_size()},
                               {&a->relu4, s.fc2.y_size()}, {&a->logits, s.fc3.y_size()}}) {
    out->resize(static_cast<std::size_t>(n));
  }
  a->pool1_idx.resize(static_cast<std::size_t>(s.pool1.y_size()));
  a->pool2_idx.resize(static_cast<std::size_t>(s.pool2.y_size()));

  conv2d_forward(s.conv1, x, p[kConv1Weight].data.data(), p[kConv1Bias].data.data(),
                 a->conv1.data());
  relu_forward<T>(s.conv1.y_size(), a->conv1.data(), a->relu1.data());
  maxpool2d_forward(s.pool1, a->relu1.data(), a->pool1.data(), a->pool1_idx.data());
  conv2d_forward(s.conv2, a->pool1.data(), p[kConv2Weight].data.data(),
                 p[kConv2Bias].data.data(), a->conv2.data());
  relu_forward<T>(s.conv2.y_size(), a->conv2.data(), a->relu2.data());
  maxpool2d_forward(s.pool2, a->relu2.data(), a->pool2.data(), a->pool2_idx.data());
  // pool2 [N, 16, 4, 4] is already fc1's input [N, 256] in memory: flatten is free.
  linear_forward(s.fc1, a->pool2.data(), p[kFc1Weight].data.data(), p[kFc1Bias].data.data(),
                 a->fc1.data());
  relu_forward<T>(s.fc1.y_size(), a->fc1.data(), a->relu3.data());
  linear_forward(s.fc2, a->relu3.data(), p[kFc2Weight].data.data(), p[kFc2Bias].data.data(),
                 a->fc2.data());
  relu_forward<T>(s.fc2.y_size(), a->fc2.data(), a->relu4.data());
  linear_forward(s.fc3, a->relu4.data(), p[kFc3Weight].data.data(), p[kFc3Bias].data.data(),
                 a->logits.data());
}

void check_batch(const char* op, std::int64_t N) {
  LENET_CHECK(N >= 1, op << ": N must be >= 1, got " << N);
}

}  // namespace

template <typename T>
LenetParams<T>::LenetParams() {
  const auto& specs = param_specs();
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    tensors[i].name = specs[i].name;
    tensors[i].shape = specs[i].shape;
    tensors[i].data.assign(element_count(specs[i].shape), T(0));
  }
}

template <typename T>
LenetTensor<T>* LenetParams<T>::find(const std::string& name) {
  for (auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

template <typename T>
const LenetTensor<T>* LenetParams<T>::find(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

template <typename T>
void LenetParams<T>::check(const char* op) const {
  const auto& specs = param_specs();
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    const LenetTensor<T>& t = tensors[i];
    LENET_CHECK(t.name == specs[i].name,
                op << ": tensor " << i << " must be " << specs[i].name << ", got " << t.name);
    LENET_CHECK(t.shape == specs[i].shape, op << ": " << t.name << " has the wrong shape");
    LENET_CHECK(static_cast<std::int64_t>(t.data.size()) == element_count(specs[i].shape),
                op << ": " << t.name << " holds " << t.data.size() << " values, expected "
                   << element_count(specs[i].shape));
  }
}

LenetShapes lenet_shapes(std::int64_t N) {
  LenetShapes s;
  s.conv1 = Conv2dShape{N, 1, kLenetInputH, kLenetInputW, 6, 5, 5, 1, 0};
  s.pool1 = Pool2dShape{N, 6, s.conv1.OH(), s.conv1.OW(), 2, 2};
  s.conv2 = Conv2dShape{N, 6, s.pool1.OH(), s.pool1.OW(), 16, 5, 5, 1, 0};
  s.pool2 = Pool2dShape{N, 16, s.conv2.OH(), s.conv2.OW(), 2, 2};
  s.fc1 = LinearShape{N, 16 * s.pool2.OH() * s.pool2.OW(), 120};
  s.fc2 = LinearShape{N, 120, 84};
  s.fc3 = LinearShape{N, 84, kLenetClasses};
  return s;
}

template <typename T>
LenetParams<T> lenet_init(std::uint64_t seed) {
  LenetParams<T> params;
  const auto& specs = param_specs();
  std::mt19937_64 engine(seed);
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(specs[i].fan_in));
    for (T& v : params[i].data) {
      // The top 53 bits of a draw give a double in [0, 1) exactly, the same on every
      // platform (std::uniform_real_distribution is not specified that precisely).
      const double u = static_cast<double>(engine() >> 11) * 0x1.0p-53;
      v = static_cast<T>(bound * (2.0 * u - 1.0));
    }
  }
  return params;
}

template <typename T>
void lenet_forward(const LenetParams<T>& params, std::int64_t N, const T* x,
                   NonDeduced<T>* logits) {
  constexpr const char* kOp = "lenet_forward";
  check_batch(kOp, N);
  params.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, logits);
  const LenetShapes s = lenet_shapes(N);
  Activations<T> a;
  forward(s, params, x, &a);
  std::copy(a.logits.begin(), a.logits.end(), logits);
}

template <typename T>
T lenet_forward_backward(const LenetParams<T>& params, std::int64_t N, const T* x,
                         const std::int32_t* labels, NonDeduced<LenetParams<T>>* grads,
                         NonDeduced<T>* logits) {
  constexpr const char* kOp = "lenet_forward_backward";
  check_batch(kOp, N);
  params.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, labels);
  for (std::int64_t n = 0; n < N; ++n) {
    LENET_CHECK(labels[n] >= 0 && labels[n] < kLenetClasses,
                kOp << ": labels[" << n << "] = " << labels[n] << " is outside [0, 10)");
  }
  LENET_CHECK(grads != &params, kOp << ": grads must not be params itself");
  const LenetShapes s = lenet_shapes(N);
  Activations<T> a;
  forward(s, params, x, &a);
  if (logits != nullptr) std::copy(a.logits.begin(), a.logits.end(), logits);

  T loss = 0;
  std::vector<T> dlogits(a.logits.size());
  softmax_cross_entropy(N, kLenetClasses, a.logits.data(), labels, &loss,
                        grads != nullptr ? dlogits.data() : nullptr);
  if (grads == nullptr) return loss;

  const auto& specs = param_specs();
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    (*grads)[i].name = specs[i].name;
    (*grads)[i].shape = specs[i].shape;
    (*grads)[i].data.resize(element_count(specs[i].shape));
  }
  LenetParams<T>& g = *grads;
  // Each relu_backward runs in place on the gradient of its output, turning it into the
  // gradient of its input (dx may equal dy).
  std::vector<T> d_relu4(s.fc2.y_size());
  linear_backward(s.fc3, dlogits.data(), a.relu4.data(), params[kFc3Weight].data.data(),
                  d_relu4.data(), g[kFc3Weight].data.data(), g[kFc3Bias].data.data());
  relu_backward<T>(s.fc2.y_size(), d_relu4.data(), a.fc2.data(), d_relu4.data());

  std::vector<T> d_relu3(s.fc1.y_size());
  linear_backward(s.fc2, d_relu4.data(), a.relu3.data(), params[kFc2Weight].data.data(),
                  d_relu3.data(), g[kFc2Weight].data.data(), g[kFc2Bias].data.data());
  relu_backward<T>(s.fc1.y_size(), d_relu3.data(), a.fc1.data(), d_relu3.data());

  std::vector<T> d_pool2(s.pool2.y_size());
  linear_backward(s.fc1, d_relu3.data(), a.pool2.data(), params[kFc1Weight].data.data(),
                  d_pool2.data(), g[kFc1Weight].data.data(), g[kFc1Bias].data.data());

  std::vector<T> d_relu2(s.conv2.y_size());
  maxpool2d_backward(s.pool2, d_pool2.data(), a.pool2_idx.data(), d_relu2.data());
  relu_backward<T>(s.conv2.y_size(), d_relu2.data(), a.conv2.data(), d_relu2.data());
  conv2d_backward_filter(s.conv2, a.pool1.data(), d_relu2.data(), g[kConv2Weight].data.data(),
                         g[kConv2Bias].data.data());
  std::vector<T> d_pool1(s.pool1.y_size());
  conv2d_backward_data(s.conv2, d_relu2.data(), params[kConv2Weight].data.data(),
                       d_pool1.data());

  std::vector<T> d_relu1(s.conv1.y_size());
  maxpool2d_backward(s.pool1, d_pool1.data(), a.pool1_idx.data(), d_relu1.data());
  relu_backward<T>(s.conv1.y_size(), d_relu1.data(), a.conv1.data(), d_relu1.data());
  // conv1 needs no gradient for the input image.
  conv2d_backward_filter(s.conv1, x, d_relu1.data(), g[kConv1Weight].data.data(),
                         g[kConv1Bias].data.data());
  return loss;
}

template <typename T>
void lenet_sgd_step(const SgdParams& h, LenetParams<T>* params, const LenetParams<T>& grads,
                    LenetParams<T>* velocity) {
  constexpr const char* kOp = "lenet_sgd_step";
  LENET_CHECK_NOT_NULL(kOp, params, velocity);
  h.check(kOp);
  params->check(kOp);
  grads.check(kOp);
  velocity->check(kOp);
  for (std::size_t i = 0; i < kLenetParamCount; ++i) {
    sgd_momentum_step<T>(h, static_cast<std::int64_t>((*params)[i].data.size()),
                         (*params)[i].data.data(), grads[i].data.data(),
                         (*velocity)[i].data.data());
  }
}

template struct LenetParams<float>;
template struct LenetParams<double>;
template LenetParams<float> lenet_init<float>(std::uint64_t);
template LenetParams<double> lenet_init<double>(std::uint64_t);
template void lenet_forward<float>(const LenetParams<float>&, std::int64_t, const float*, float*);
template void lenet_forward<double>(const LenetParams<double>&, std::int64_t, const double*,
                                    double*);
template float lenet_forward_backward<float>(const LenetParams<float>&, std::int64_t,
                                             const float*, const std::int32_t*,
                                             LenetParams<float>*, float*);
template double lenet_forward_backward<double>(const LenetParams<double>&, std::int64_t,
                                               const double*, const std::int32_t*,
                                               LenetParams<double>*, double*);
template void lenet_sgd_step<float>(const SgdParams&, LenetParams<float>*,
                                    const LenetParams<float>&, LenetParams<float>*);
template void lenet_sgd_step<double>(const SgdParams&, LenetParams<double>*,
                                     const LenetParams<double>&, LenetParams<double>*);

}  // namespace lenet::cpu_ref
