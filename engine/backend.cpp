// The defaults of Backend: the fused ops as two calls, and the cpu backend's step bookkeeping
// and capture (backend.h).
#include <lenet/engine/backend.h>

#include <utility>

#include <lenet/cpu_ref/normalize.h>
#include <lenet/error.h>

namespace lenet::engine {

namespace {

// replay() runs the recorded function again: on the host there is nothing to batch up.
class RepeatedCall final : public StepGraph {
 public:
  explicit RepeatedCall(std::function<void()> record) : record_(std::move(record)) {}
  void replay() override { record_(); }

 private:
  std::function<void()> record_;
};

}  // namespace

void Backend::gather_batch(std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                           const std::uint8_t* images, const std::int32_t* labels,
                           const std::int32_t* order, const std::int64_t* cursor, float mean,
                           float stddev, float* x, std::int32_t* batch_labels) {
  LENET_CHECK(n >= 1 && n <= batch_size,
              "gather_batch: n must be in [1, batch_size = " << batch_size << "], got " << n);
  LENET_CHECK_NOT_NULL("gather_batch", images, labels, order, cursor, x, batch_labels);
  const std::int64_t first = *cursor * batch_size;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = order[first + i];
    cpu_ref::normalize_u8<float>(pixels, images + j * pixels, x + i * pixels, mean, stddev);
    batch_labels[i] = labels[j];
  }
}

void Backend::record_step(const float* loss, const std::int64_t* correct, std::int64_t* cursor,
                          std::int64_t window, float* losses, std::int64_t* corrects) {
  LENET_CHECK(window >= 1, "record_step: window must be >= 1, got " << window);
  LENET_CHECK_NOT_NULL("record_step", loss, correct, cursor, losses, corrects);
  const std::int64_t slot = *cursor % window;
  losses[slot] = *loss;
  corrects[slot] = *correct;
  *cursor += 1;
}

void Backend::conv2d_forward_relu(const Conv2dShape& s, const float* x, const float* w,
                                  const float* b, float* y) {
  conv2d_forward(s, x, w, b, y);
  relu_forward(s.y_size(), y, y);
}

void Backend::conv2d_backward_data_relu(const Conv2dShape& s, const float* dy, const float* w,
                                        const float* x, float* dx) {
  LENET_CHECK_NOT_NULL("conv2d_backward_data_relu", x);
  conv2d_backward_data(s, dy, w, dx);
  relu_backward(s.x_size(), dx, x, dx);
}

void Backend::conv2d_relu_maxpool2d_forward(const Conv2dShape& c, const Pool2dShape& p,
                                            const float* x, const float* w, const float* b,
                                            float* a, float* y, std::int32_t* idx) {
  conv2d_forward_relu(c, x, w, b, a);
  maxpool2d_forward(p, a, y, idx);
}

void Backend::linear_forward_relu(const LinearShape& s, const float* x, const float* w,
                                  const float* b, float* y) {
  linear_forward(s, x, w, b, y);
  relu_forward(s.y_size(), y, y);
}

void Backend::linear_backward_relu(const LinearShape& s, const float* dy, const float* x,
                                   const float* w, float* dx, float* dw, float* db) {
  LENET_CHECK_NOT_NULL("linear_backward_relu", dx);
  linear_backward(s, dy, x, w, dx, dw, db);
  relu_backward(s.x_size(), dx, x, dx);
}

std::unique_ptr<StepGraph> Backend::capture(std::function<void()> record) {
  return std::make_unique<RepeatedCall>(std::move(record));
}

}  // namespace lenet::engine
