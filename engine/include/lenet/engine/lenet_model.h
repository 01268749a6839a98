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

// A training set and the step's bookkeeping in a backend's memory (the Trainer fills it), for
// LenetModel::queue_train_step: the images [count, 28*28] u8 and labels [count], this epoch's
// order of the images, the counter of batches done in the epoch, and the window of each step's
// loss and correct count (lenet/kernels/batch.h).
struct ResidentData {
  const std::uint8_t* images = nullptr;
  const std::int32_t* labels = nullptr;
  const std::int32_t* order = nullptr;
  std::int64_t* cursor = nullptr;
  std::int64_t window = 1;
  float* losses = nullptr;
  std::int64_t* corrects = nullptr;
};

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
  // One SGD-momentum step on every parameter with the gradients of backward(): one op over the
  // flat buffer that holds them all.
  void sgd_step(const SgdParams& h);

  // A whole training step that reads and writes only the backend's memory, so that it can be
  // captured once (Backend::capture) and replayed for every batch: gather batch *data.cursor of
  // n images (of batch_size), forward, count the correct rows, backward, SGD, then record the
  // loss and the count in the window and advance the counter. Queues ops only; waits for
  // nothing.
  void queue_train_step(const ResidentData& data, std::int64_t n, std::int64_t batch_size,
                        const SgdParams& h, float mean = 0.5f, float stddev = 0.5f);

  // The mean loss of the loaded batch after forward(), without gradients (evaluation); waits.
  float forward_loss();
  // The loss of the last backward(); waits for it.
  float loss() const;
  // Rows of the loaded batch whose argmax of the logits equals the label (after forward()).
  std::int64_t correct() const;
  // The logits of the last forward(), [N, 10].
  std::vector<float> logits() const;

 private:
  // Parameter i at offsets_[i] of each flat buffer (values, gradients, velocities), each
  // tensor starting on a 256-byte boundary; the padding between tensors stays zero.
  float* p(std::size_t i) const { return values_.as<float>() + offsets_[i]; }
  float* g(std::size_t i) const { return grads_.as<float>() + offsets_[i]; }
  Buffer floats(std::int64_t n);
  void write_flat(const Buffer& flat, const HostParams& params);
  HostParams read_flat(const Buffer& flat) const;

  Backend& backend_;
  std::int64_t max_batch_;
  std::int64_t n_ = 0;  // images in the loaded batch
  std::vector<std::int64_t> offsets_;
  std::int64_t flat_size_ = 0;
  Buffer values_, grads_, velocities_;
  // Activations and their gradients for max_batch images.
  Buffer pixels_, labels_, x_, a1_, p1_, i1_, a2_, p2_, i2_, h1_, h2_, logits_;
  Buffer dlogits_, dh2_, dh1_, dp2_, da2_, dp1_, da1_;
  Buffer loss_, correct_;
};

}  // namespace lenet::engine
