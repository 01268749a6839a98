#include <lenet/engine/lenet_model.h>

#include <algorithm>
#include <vector>

#include <lenet/error.h>

namespace lenet::engine {

namespace ref = lenet::cpu_ref;

namespace {
constexpr std::int64_t kPixels = ref::kLenetInputPixels;
constexpr std::int64_t kClasses = ref::kLenetClasses;
}  // namespace

LenetModel::LenetModel(Backend& backend, std::int64_t max_batch)
    : backend_(backend), max_batch_(max_batch) {
  LENET_CHECK(max_batch >= 1, "LenetModel: max_batch must be >= 1, got " << max_batch);
  // Every activation buffer is at most 6*24*24 = 3456 floats per image; keep the byte counts
  // far from overflowing size_t and int64_t.
  LENET_CHECK(max_batch <= (std::int64_t{1} << 40),
              "LenetModel: max_batch " << max_batch << " is too large");
  constexpr std::int64_t kAlign = 64;  // floats: 256 bytes, cudaMalloc's alignment
  const HostParams shapes;
  for (const auto& t : shapes.tensors) {
    offsets_.push_back(flat_size_);
    flat_size_ += (static_cast<std::int64_t>(t.data.size()) + kAlign - 1) / kAlign * kAlign;
  }
  for (Buffer* flat : {&values_, &grads_, &velocities_}) {
    *flat = floats(flat_size_);
    backend_.zero(flat->data(), flat->bytes());
  }
  const ref::LenetShapes s = ref::lenet_shapes(max_batch);
  pixels_ = backend_.allocate(static_cast<std::size_t>(max_batch * kPixels));
  labels_ = backend_.allocate(static_cast<std::size_t>(max_batch) * sizeof(std::int32_t));
  x_ = floats(max_batch * kPixels);
  a1_ = floats(s.conv1.y_size());
  p1_ = floats(s.pool1.y_size());
  i1_ = backend_.allocate(static_cast<std::size_t>(s.pool1.y_size()) * sizeof(std::int32_t));
  a2_ = floats(s.conv2.y_size());
  p2_ = floats(s.pool2.y_size());
  i2_ = backend_.allocate(static_cast<std::size_t>(s.pool2.y_size()) * sizeof(std::int32_t));
  h1_ = floats(s.fc1.y_size());
  h2_ = floats(s.fc2.y_size());
  logits_ = floats(s.fc3.y_size());
  dlogits_ = floats(s.fc3.y_size());
  dh2_ = floats(s.fc2.y_size());
  dh1_ = floats(s.fc1.y_size());
  dp2_ = floats(s.pool2.y_size());
  da2_ = floats(s.conv2.y_size());
  dp1_ = floats(s.pool1.y_size());
  da1_ = floats(s.conv1.y_size());
  loss_ = floats(1);
  correct_ = backend_.allocate(sizeof(std::int64_t));
}

Buffer LenetModel::floats(std::int64_t n) {
  return backend_.allocate(static_cast<std::size_t>(n) * sizeof(float));
}

// One copy each way for the whole set: the tensors laid out at their offsets, zeros between.
void LenetModel::write_flat(const Buffer& flat, const HostParams& params) {
  std::vector<float> host(static_cast<std::size_t>(flat_size_), 0.0f);
  for (std::size_t i = 0; i < offsets_.size(); ++i) {
    std::copy(params[i].data.begin(), params[i].data.end(), host.begin() + offsets_[i]);
  }
  backend_.upload(flat.data(), host.data(), host.size() * sizeof(float));
}

HostParams LenetModel::read_flat(const Buffer& flat) const {
  std::vector<float> host(static_cast<std::size_t>(flat_size_));
  backend_.download(host.data(), flat.data(), host.size() * sizeof(float));
  HostParams out;
  for (std::size_t i = 0; i < offsets_.size(); ++i) {
    std::copy_n(host.begin() + offsets_[i], out[i].data.size(), out[i].data.begin());
  }
  return out;
}

void LenetModel::set_parameters(const HostParams& params) {
  params.check("LenetModel::set_parameters");
  write_flat(values_, params);
}

HostParams LenetModel::parameters() const { return read_flat(values_); }

void LenetModel::set_momentum(const HostParams& momentum) {
  momentum.check("LenetModel::set_momentum");
  write_flat(velocities_, momentum);
}

HostParams LenetModel::momentum() const { return read_flat(velocities_); }

HostParams LenetModel::gradients() const { return read_flat(grads_); }

void LenetModel::load_batch(std::int64_t N, const std::uint8_t* images, const std::int32_t* labels,
                            float mean, float stddev) {
  LENET_CHECK(N >= 1 && N <= max_batch_,
              "LenetModel::load_batch: N must be in [1, " << max_batch_ << "], got " << N);
  for (std::int64_t i = 0; i < N; ++i) {
    LENET_CHECK(labels[i] >= 0 && labels[i] < kClasses,
                "LenetModel::load_batch: label " << i << " is " << labels[i]
                                                 << ", outside [0, " << kClasses << ")");
  }
  n_ = N;
  backend_.upload(pixels_.data(), images, static_cast<std::size_t>(N * kPixels));
  backend_.upload(labels_.data(), labels, static_cast<std::size_t>(N) * sizeof(std::int32_t));
  backend_.normalize_u8(N * kPixels, pixels_.as<std::uint8_t>(), x_.as<float>(), mean, stddev);
}

void LenetModel::forward() {
  LENET_CHECK(n_ >= 1, "LenetModel::forward: no batch loaded");
  const ref::LenetShapes s = ref::lenet_shapes(n_);
  Backend& b = backend_;
  // a1_ and a2_ hold the convolutions' outputs only where the backend stores them (backend.h);
  // nothing after the pooling reads them.
  b.conv2d_relu_maxpool2d_forward(s.conv1, s.pool1, x_.as<float>(), p(ref::kConv1Weight),
                                  p(ref::kConv1Bias), a1_.as<float>(), p1_.as<float>(),
                                  i1_.as<std::int32_t>());
  b.conv2d_relu_maxpool2d_forward(s.conv2, s.pool2, p1_.as<float>(), p(ref::kConv2Weight),
                                  p(ref::kConv2Bias), a2_.as<float>(), p2_.as<float>(),
                                  i2_.as<std::int32_t>());
  b.linear_forward_relu(s.fc1, p2_.as<float>(), p(ref::kFc1Weight), p(ref::kFc1Bias),
                        h1_.as<float>());
  b.linear_forward_relu(s.fc2, h1_.as<float>(), p(ref::kFc2Weight), p(ref::kFc2Bias),
                        h2_.as<float>());
  b.linear_forward(s.fc3, h2_.as<float>(), p(ref::kFc3Weight), p(ref::kFc3Bias),
                   logits_.as<float>());
}

void LenetModel::backward() {
  LENET_CHECK(n_ >= 1, "LenetModel::backward: no batch loaded");
  const ref::LenetShapes s = ref::lenet_shapes(n_);
  Backend& b = backend_;
  b.softmax_cross_entropy(n_, kClasses, logits_.as<float>(), labels_.as<std::int32_t>(),
                          loss_.as<float>(), dlogits_.as<float>());
  // Each ReLU's backward rides in the input gradient of the layer after it (the *_relu ops),
  // masked by that layer's input: the ReLU's output, or the max-pool of it, which is positive
  // exactly where the ReLU output it selected is.
  b.linear_backward_relu(s.fc3, dlogits_.as<float>(), h2_.as<float>(), p(ref::kFc3Weight),
                         dh2_.as<float>(), g(ref::kFc3Weight), g(ref::kFc3Bias));
  b.linear_backward_relu(s.fc2, dh2_.as<float>(), h1_.as<float>(), p(ref::kFc2Weight),
                         dh1_.as<float>(), g(ref::kFc2Weight), g(ref::kFc2Bias));
  b.linear_backward_relu(s.fc1, dh1_.as<float>(), p2_.as<float>(), p(ref::kFc1Weight),
                         dp2_.as<float>(), g(ref::kFc1Weight), g(ref::kFc1Bias));
  b.maxpool2d_backward(s.pool2, dp2_.as<float>(), i2_.as<std::int32_t>(), da2_.as<float>());
  b.conv2d_backward_filter(s.conv2, p1_.as<float>(), da2_.as<float>(), g(ref::kConv2Weight),
                           g(ref::kConv2Bias));
  b.conv2d_backward_data_relu(s.conv2, da2_.as<float>(), p(ref::kConv2Weight), p1_.as<float>(),
                              dp1_.as<float>());
  b.maxpool2d_backward(s.pool1, dp1_.as<float>(), i1_.as<std::int32_t>(), da1_.as<float>());
  b.conv2d_backward_filter(s.conv1, x_.as<float>(), da1_.as<float>(), g(ref::kConv1Weight),
                           g(ref::kConv1Bias));
}

void LenetModel::sgd_step(const SgdParams& h) {
  // The padding between tensors is 0 in all three buffers and stays 0 under the rule.
  backend_.sgd_momentum_step(h, flat_size_, values_.as<float>(), grads_.as<float>(),
                             velocities_.as<float>());
}

void LenetModel::queue_train_step(const ResidentData& data, std::int64_t n,
                                  std::int64_t batch_size, const SgdParams& h, float mean,
                                  float stddev) {
  LENET_CHECK(n >= 1 && n <= max_batch_,
              "LenetModel::queue_train_step: n must be in [1, " << max_batch_ << "], got " << n);
  n_ = n;
  backend_.gather_batch(n, batch_size, kPixels, data.images, data.labels, data.order,
                        data.cursor, mean, stddev, x_.as<float>(), labels_.as<std::int32_t>());
  forward();
  backend_.count_correct(n_, kClasses, logits_.as<float>(), labels_.as<std::int32_t>(),
                         correct_.as<std::int64_t>());
  backward();
  sgd_step(h);
  backend_.record_step(loss_.as<float>(), correct_.as<std::int64_t>(), data.cursor, data.window,
                       data.losses, data.corrects);
}

float LenetModel::forward_loss() {
  LENET_CHECK(n_ >= 1, "LenetModel::forward_loss: no batch loaded");
  // The same kernel as backward()'s first; its gradient output is scratch here.
  backend_.softmax_cross_entropy(n_, kClasses, logits_.as<float>(), labels_.as<std::int32_t>(),
                                 loss_.as<float>(), dlogits_.as<float>());
  return loss();
}

float LenetModel::loss() const {
  float value = 0.0f;
  backend_.download(&value, loss_.data(), sizeof(float));
  return value;
}

std::int64_t LenetModel::correct() const {
  LENET_CHECK(n_ >= 1, "LenetModel::correct: no batch loaded");
  backend_.count_correct(n_, kClasses, logits_.as<float>(), labels_.as<std::int32_t>(),
                         correct_.as<std::int64_t>());
  std::int64_t value = 0;
  backend_.download(&value, correct_.data(), sizeof(value));
  return value;
}

std::vector<float> LenetModel::logits() const {
  std::vector<float> out(static_cast<std::size_t>(n_ * kClasses));
  backend_.download(out.data(), logits_.data(), out.size() * sizeof(float));
  return out;
}

}  // namespace lenet::engine
