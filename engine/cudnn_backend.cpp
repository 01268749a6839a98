// The cudnn backend: the cuda backend (kernel_backend.inc) with the layers' ops on cuDNN and
// cuBLAS (cudnn_ops.h: which calls, which algorithms and why), the vendor baseline of the
// benchmarks and a second opinion in the GPU tests. Max pooling stays on the handwritten
// kernels: the interface passes argmax indices (idx) from forward to backward, and cuDNN's
// pooling has none (its backward reads x and y instead). Everything else (copies, the batch
// gather, softmax cross-entropy, SGD, the step's CUDA graph) is the cuda backend's, on the same
// stream.
#include "kernel_backend.inc"

#include <cstdint>
#include <memory>
#include <string>

#include <cuda_runtime_api.h>

#include <lenet/engine/backend.h>

#include "cudnn_ops.h"

namespace lenet::engine {
namespace {

class CudnnBackend final : public KernelBackend {
 public:
  explicit CudnnBackend(const std::string& gpu)
      : KernelBackend("cudnn", gpu + ", " + CudnnOps::versions()), ops_(stream()) {
    // cuDNN may allocate or load code the first time it meets a shape, which is the captured
    // training step's first run: a ThreadLocal capture would refuse those calls.
    set_capture_mode(cudaStreamCaptureModeRelaxed);
  }

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    ops_.conv2d_forward(s, x, w, b, y);
  }
  void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                            float* dx) override {
    ops_.conv2d_backward_data(s, dy, w, dx);
  }
  void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* db) override {
    ops_.conv2d_backward_filter(s, x, dy, dw, db);
  }
  // LenetModel passes relu_backward the forward's output, kept in place (cudnn_ops.h).
  void relu_forward(std::int64_t n, const float* x, float* y) override {
    ops_.relu_forward(n, x, y);
  }
  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) override {
    ops_.relu_backward(n, dy, x, dx);
  }
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    ops_.linear_forward(s, x, w, b, y);
  }
  void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                       float* dx, float* dw, float* db) override {
    ops_.linear_backward(s, dy, x, w, dx, dw, db);
  }
  // The fused forms as two vendor calls each (Backend's defaults), not the base's fused kernels.
  void conv2d_forward_relu(const Conv2dShape& s, const float* x, const float* w, const float* b,
                           float* y) override {
    Backend::conv2d_forward_relu(s, x, w, b, y);
  }
  void conv2d_backward_data_relu(const Conv2dShape& s, const float* dy, const float* w,
                                 const float* x, float* dx) override {
    Backend::conv2d_backward_data_relu(s, dy, w, x, dx);
  }
  void conv2d_relu_maxpool2d_forward(const Conv2dShape& c, const Pool2dShape& p, const float* x,
                                     const float* w, const float* b, float* a, float* y,
                                     std::int32_t* idx) override {
    Backend::conv2d_relu_maxpool2d_forward(c, p, x, w, b, a, y, idx);
  }
  void linear_forward_relu(const LinearShape& s, const float* x, const float* w, const float* b,
                           float* y) override {
    Backend::linear_forward_relu(s, x, w, b, y);
  }
  void linear_backward_relu(const LinearShape& s, const float* dy, const float* x,
                            const float* w, float* dx, float* dw, float* db) override {
    Backend::linear_backward_relu(s, dy, x, w, dx, dw, db);
  }

 private:
  CudnnOps ops_;  // destroyed before the base's stream; it waits for its work itself
};

}  // namespace

std::unique_ptr<Backend> make_cudnn_backend() {
  // The cuda backend's checks first (a driver, a device, an image of the kernels this backend
  // still runs), with its errors and its description of the GPU. cudnnCreate then fails if
  // cuDNN cannot run on this GPU; the self-check runs every op.
  return std::make_unique<CudnnBackend>(make_cuda_backend()->device());
}

bool cudnn_backend_built() { return true; }

}  // namespace lenet::engine
