// The one interface the engine trains through. Four executors implement it:
//   cpu   - the cpu backend's own ops (engine/cpu: batch-level GEMMs through Eigen, one copy
//           per instruction set), the batch split over threads
//   sim   - the handwritten CUDA kernels run by the CPU simulator (lenet::kernels_sim)
//   cuda  - the handwritten CUDA kernels on a GPU (lenet::kernels)
//   cudnn - cuDNN and cuBLAS on a GPU, our kernels where they have no counterpart (pooling with
//           indices, softmax cross-entropy, SGD, the batch gather)
// Pointers passed to the ops are the backend's own memory (from allocate()); shapes and
// argument order are those of the kernel launchers and the reference. Ops are queued in call
// order (sim and cuda: on one stream of the backend's own) and may still run when they return;
// a copy to or from the host, or synchronize(), waits for everything queued before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <lenet/shapes.h>

namespace lenet::engine {

class Backend;

// Memory owned by a backend: device memory for cuda and sim, host memory for cpu. Move-only;
// freed by its destructor.
class Buffer {
 public:
  Buffer() = default;
  Buffer(void* data, std::size_t bytes, void (*release)(void*)) noexcept
      : data_(data), bytes_(bytes), release_(release) {}
  ~Buffer() { reset(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  void reset() noexcept {
    if (data_ != nullptr && release_ != nullptr) release_(data_);
    data_ = nullptr;
    bytes_ = 0;
  }

 private:
  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    std::swap(release_, other.release_);
  }
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  void (*release_)(void*) = nullptr;
};

// The code a backend's ops run, for the startup lines: which image of the kernels the CUDA
// driver loaded, if any.
struct KernelCode {
  enum class Kind {
    kHost,       // cpu: the cpu backend's own ops, compiled for this CPU; no kernel image
    kSimulator,  // sim: the CUDA kernel source, run by the CPU simulator
    kGpu,        // cuda: the module the CUDA driver loaded for the current GPU
  };
  Kind kind = Kind::kHost;
  // kGpu only (0 otherwise), as lenet::kernels::loaded_code() reports them:
  // binaryVersion is the SM of the machine code that runs (90 for an sm_90 cubin; the GPU's own
  // for PTX the driver JIT-compiled); ptxVersion the virtual architecture it came from.
  int binary_version = 0;
  int ptx_version = 0;
};

// A recorded sequence of a backend's ops, replayed as one unit (Backend::capture).
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // Queues the recorded ops again, in order, on the buffers they were recorded with.
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", "sim", "cuda" or "cudnn".
  virtual std::string name() const = 0;
  // What it runs on, for the startup line: "NVIDIA H100 (sm_90)", "CPU, 2 threads", ...
  virtual std::string device() const = 0;
  // What its ops run. This default (kHost) is the cpu backend's answer; sim and cuda ask their
  // kernel library (cuda: loads the kernels' module if no op has yet, and throws
  // lenet::CudaError when the driver has no image for this GPU).
  virtual KernelCode kernel_code() const { return KernelCode{}; }

  virtual Buffer allocate(std::size_t bytes) = 0;
  // Copies between host memory and this backend's memory, after all queued work; both finish
  // before they return, so the host may reuse src, or read dst, at once.
  virtual void upload(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void download(void* dst, const void* src, std::size_t bytes) = 0;
  // Within this backend's memory, queued like an op.
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void zero(void* dst, std::size_t bytes) = 0;
  // Waits for all queued work.
  virtual void synchronize() = 0;

  virtual void normalize_u8(std::int64_t n, const std::uint8_t* pixels, float* y, float mean,
                            float stddev) = 0;
  virtual void conv2d_forward(const Conv2dShape& s, const float* x, const float* w,
                              const float* b, float* y) = 0;
  virtual void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                                    float* dx) = 0;
  virtual void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy,
                                      float* dw, float* db) = 0;
  virtual void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y,
                                 std::int32_t* idx) = 0;
  virtual void maxpool2d_backward(const Pool2dShape& s, const float* dy, const std::int32_t* idx,
                                  float* dx) = 0;
  virtual void relu_forward(std::int64_t n, const float* x, float* y) = 0;
  virtual void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) = 0;
  virtual void linear_forward(const LinearShape& s, const float* x, const float* w,
                              const float* b, float* y) = 0;
  virtual void linear_backward(const LinearShape& s, const float* dy, const float* x,
                               const float* w, float* dx, float* dw, float* db) = 0;
  // *loss: one float in this backend's memory.
  virtual void softmax_cross_entropy(std::int64_t N, std::int64_t K, const float* logits,
                                     const std::int32_t* labels, float* loss,
                                     float* dlogits) = 0;
  // *correct: one int64 in this backend's memory.
  virtual void count_correct(std::int64_t N, std::int64_t K, const float* logits,
                             const std::int32_t* labels, std::int64_t* correct) = 0;
  virtual void sgd_momentum_step(const SgdParams& h, std::int64_t n, float* p, const float* g,
                                 float* v) = 0;

  // The fused forms the model runs (LenetModel): a layer and the ReLU after it, forward, and a
  // layer's input gradient through the ReLU that produced its input x (directly or through a
  // max-pool), backward: dx = 0 where x <= 0. These defaults call the op and then relu_forward
  // or relu_backward; sim and cuda run one kernel each (lenet/kernels/conv2d.h, linear.h),
  // with bitwise the same results.
  virtual void conv2d_forward_relu(const Conv2dShape& s, const float* x, const float* w,
                                   const float* b, float* y);
  virtual void conv2d_backward_data_relu(const Conv2dShape& s, const float* dy, const float* w,
                                         const float* x, float* dx);
  virtual void linear_forward_relu(const LinearShape& s, const float* x, const float* w,
                                   const float* b, float* y);
  // A convolution layer's forward pass: conv2d_forward_relu (c) and then maxpool2d_forward (p)
  // of its output. a: [N, OC, OH, OW], where this default, the two calls, leaves the
  // convolution's output; sim and cuda run one kernel that never stores it (a is then left as
  // it was).
  virtual void conv2d_relu_maxpool2d_forward(const Conv2dShape& c, const Pool2dShape& p,
                                             const float* x, const float* w, const float* b,
                                             float* a, float* y, std::int32_t* idx);
  // dx must not be null.
  virtual void linear_backward_relu(const LinearShape& s, const float* dy, const float* x,
                                    const float* w, float* dx, float* dw, float* db);

  // The training step's bookkeeping, so that no host code runs between steps (contracts:
  // lenet/kernels/batch.h): a batch gathered and normalized from a data set resident in this
  // backend's memory at the position *cursor holds, and the step's loss and correct count
  // stored in slot *cursor % window of two arrays, the counter advanced. These defaults are the
  // cpu backend's, for memory the host can read: sim and cuda run the kernels.
  virtual void gather_batch(std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                            const std::uint8_t* images, const std::int32_t* labels,
                            const std::int32_t* order, const std::int64_t* cursor, float mean,
                            float stddev, float* x, std::int32_t* batch_labels);
  virtual void record_step(const float* loss, const std::int64_t* correct, std::int64_t* cursor,
                           std::int64_t window, float* losses, std::int64_t* corrects);

  // Records the ops that record() queues, for replay as one unit. sim and cuda capture their
  // stream into a CUDA graph: replay() is then one launch for the whole sequence (the simulator
  // captures and replays as a GPU does). This default, the cpu backend's, has no launches to
  // save: replay() calls record() again. So record() runs only at replays, may only queue ops
  // (no copy to or from the host, no synchronize) on buffers that outlive the graph, and must
  // queue the same ops each time.
  virtual std::unique_ptr<StepGraph> capture(std::function<void()> record);
};

// threads <= 0: one per hardware thread.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);
// threads: OS threads the simulator runs blocks on; <= 0: one per hardware thread.
std::unique_ptr<Backend> make_sim_backend(int threads = 0);
// A GPU backend on the current device. It first runs a one-element kernel, so a GPU this build
// has no image for fails here (lenet::CudaError 209) rather than in the first training step.
// Throws lenet::CudaError without a usable GPU (35: no driver or one too old, 100: no device),
// std::runtime_error when this build has no CUDA.
std::unique_ptr<Backend> make_cuda_backend();

// Whether this build contains the cuda backend.
bool cuda_backend_built();
// The cuda backend with cuDNN (convolutions, ReLU) and cuBLAS (linear layers) in place of those
// kernels (engine/cudnn_backend.cpp): the vendor baseline. Throws as make_cuda_backend(), and
// std::runtime_error when this build has no cuDNN; cudnn_backend_built() says whether it has.
std::unique_ptr<Backend> make_cudnn_backend();
bool cudnn_backend_built();

// --device auto: the cuda backend when it can run here, else cpu, and why, in one sentence.
struct AutoChoice {
  std::unique_ptr<Backend> backend;
  std::string reason;
};
AutoChoice make_auto_backend(int cpu_threads = 0);

// Why the cuda backend cannot run, from the error make_cuda_backend() threw.
std::string explain_cuda_failure(int cuda_error_code, const std::string& what);

}  // namespace lenet::engine
