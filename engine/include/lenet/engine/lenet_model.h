// The classic LeNet on any backend: parameters, gradients, momentum buffers and the activations
// of one batch live in the backend's memory; host code only moves batches in and numbers out.
//
//   x [N, 1, 28, 28] -> conv1 (6, 5x5) -> relu -> maxpool 2 -> conv2 (16, 5x5) -> relu
//     -> maxpool 2 -> flatten [N, 256] -> fc1 (120) -> relu -> fc2 (84) -> relu -> fc3 (10)
//     -> softmax cross-entropy
#pragma once

#include <cstdint>
#include <vector>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>

namespace lenet::engine {

using HostParams = cpu_ref::LenetParams<float>;

class LenetModel {
 public:
  // Memory for batches of up to max_batch images. Parameters and momentum start at zero.
  LenetModel(Backend& backend, std::int64_t max_batch);

  Backend& backend() const { return backend_; }
  std::int64_t max_batch() const { return max_batch_; }

  void set_parameters(const HostParams& params);
  HostParams parameters() const;
  void set_momentum(const HostParams& momentum);
  HostParams momentum() const;
  HostParams gradients() const;

  // Uploads a batch: images [N, 28*28] u8 and labels [N] in [0, 10), host memory; the pixels
  // are normalized on the backend with (p/255 - mean)/stddev.
  void load_batch(std::int64_t N, const std::uint8_t* images, const std::int32_t* labels,
                  float mean = 0.5f, float stddev = 0.5f);
  // Logits of the loaded batch.
  void forward();
  // Mean softmax cross-entropy of the loaded batch and every gradient (after forward()).
  void backward();
  // One SGD-momentum step on every parameter with the gradients of backward().
  void sgd_step(const SgdParams& h);

  // The mean loss of the loaded batch after forward(), without gradients (evaluation); waits.
  float forward_loss();
  // The loss of the last backward(); waits for it.
  float loss() const;
  // Rows of the loaded batch whose argmax of the logits equals the label (after forward()).
  std::int64_t correct() const;
  // The logits of the last forward(), [N, 10].
  std::vector<float> logits() const;

 private:
  struct Tensor {
    Buffer value, grad, velocity;
    std::int64_t size = 0;
  };
  float* p(std::size_t i) const { return params_[i].value.as<float>(); }
  float* g(std::size_t i) const { return params_[i].grad.as<float>(); }
  Buffer floats(std::int64_t n);

  Backend& backend_;
  std::int64_t max_batch_;
  std::int64_t n_ = 0;  // images in the loaded batch
  std::vector<Tensor> params_;
  // Activations and their gradients for max_batch images.
  Buffer pixels_, labels_, x_, a1_, p1_, i1_, a2_, p2_, i2_, h1_, h2_, logits_;
  Buffer dlogits_, dh2_, dh1_, dp2_, da2_, dp1_, da1_;
  Buffer loss_, correct_;
};

}  // namespace lenet::engine
