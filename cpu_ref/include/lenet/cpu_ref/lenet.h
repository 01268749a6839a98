// The classic LeNet composed from the reference ops: the ground truth for one training step.
//
//   x [N, 1, 28, 28] -> conv1 (6, 5x5) -> relu -> maxpool 2 -> [N, 6, 12, 12]
//     -> conv2 (16, 5x5) -> relu -> maxpool 2 -> [N, 16, 4, 4] = flatten [N, 256]
//     -> fc1 (120) -> relu -> fc2 (84) -> relu -> fc3 (10) = logits -> softmax cross-entropy
//
// Parameters carry PyTorch's state_dict names and shapes (conv1.weight [6, 1, 5, 5], ...,
// fc3.bias [10]), so values move to and from PyTorch unchanged. Gradients and momentum
// buffers use the same struct. Everything here is reentrant: no global state, so threads may
// run it on separate parameter sets (or read shared ones) at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <lenet/cpu_ref/non_deduced.h>
#include <lenet/shapes.h>

namespace lenet::cpu_ref {

inline constexpr std::int64_t kLenetInputH = 28;
inline constexpr std::int64_t kLenetInputW = 28;
inline constexpr std::int64_t kLenetInputPixels = kLenetInputH * kLenetInputW;
inline constexpr std::int64_t kLenetClasses = 10;
inline constexpr std::size_t kLenetParamCount = 10;

// Position of each tensor in LenetParams::tensors: PyTorch's state_dict order.
enum LenetParamIndex : std::size_t {
  kConv1Weight, kConv1Bias, kConv2Weight, kConv2Bias, kFc1Weight,
  kFc1Bias, kFc2Weight, kFc2Bias, kFc3Weight, kFc3Bias,
};

// One tensor: its state_dict name, its shape, its values (row-major, size = product of shape).
template <typename T>
struct LenetTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<T> data;
};

// The ten parameter tensors (or their gradients, or momentum buffers). A default-constructed
// value has every name and shape set and every value zero; iterate over tensors to visit all.
template <typename T>
struct LenetParams {
  std::array<LenetTensor<T>, kLenetParamCount> tensors;

  LenetParams();

  LenetTensor<T>& operator[](std::size_t i) { return tensors.at(i); }
  const LenetTensor<T>& operator[](std::size_t i) const { return tensors.at(i); }

  // The tensor called name (e.g. "fc1.weight"), or null.
  LenetTensor<T>* find(const std::string& name);
  const LenetTensor<T>* find(const std::string& name) const;

  // Throws std::invalid_argument, naming op and the tensor, when a name, shape or data size
  // differs from the classic net's.
  void check(const char* op) const;
};

// The shapes of every layer for a batch of N.
struct LenetShapes {
  Conv2dShape conv1;  // [N, 1, 28, 28] -> [N, 6, 24, 24]
  Pool2dShape pool1;  // -> [N, 6, 12, 12]
  Conv2dShape conv2;  // -> [N, 16, 8, 8]
  Pool2dShape pool2;  // -> [N, 16, 4, 4]
  LinearShape fc1;    // [N, 256] -> [N, 120]
  LinearShape fc2;    // -> [N, 84]
  LinearShape fc3;    // -> [N, 10]
};
LenetShapes lenet_shapes(std::int64_t N);

// PyTorch's default initialization: every weight and bias uniform in [-bound, bound) with
// bound = 1/sqrt(fan_in) of its layer (25, 150, 256, 120, 84). Reproducible on every platform:
// one std::mt19937_64 seeded with seed, tensors in state_dict order, values in row-major order,
// each value = bound * (2u - 1) with u = (draw >> 11) * 2^-53, computed in double and then
// rounded to T (so the float and the double nets start from the same numbers, rounded).
template <typename T>
LenetParams<T> lenet_init(std::uint64_t seed);

// Forward only. x: [N, 1, 28, 28]; logits: [N, 10].
template <typename T>
void lenet_forward(const LenetParams<T>& params, std::int64_t N, const T* x,
                   NonDeduced<T>* logits);

// Forward and backward of the mean softmax cross-entropy over the batch. Returns the loss;
// writes all ten gradients into grads (overwritten, resized if needed) unless grads is null,
// and the logits unless logits is null. x: [N, 1, 28, 28]; labels: [N] in [0, 10);
// logits: [N, 10].
template <typename T>
T lenet_forward_backward(const LenetParams<T>& params, std::int64_t N, const T* x,
                         const std::int32_t* labels, NonDeduced<LenetParams<T>>* grads,
                         NonDeduced<T>* logits = nullptr);

// sgd_momentum_step on each of the ten tensors: params and velocity updated in place.
template <typename T>
void lenet_sgd_step(const SgdParams& h, LenetParams<T>* params, const LenetParams<T>& grads,
                    LenetParams<T>* velocity);

}  // namespace lenet::cpu_ref
