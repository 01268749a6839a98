// The cudnn backend: the cuda backend (kernel_backend.inc) with the layers' ops on NVIDIA's
// libraries, the vendor baseline of the benchmarks and a second opinion in the GPU tests.
//   conv2d forward, backward data, backward filter   cuDNN, one fixed algorithm each (below)
//   the conv bias and its gradient                   cudnnAddTensor, cudnnConvolutionBackwardBias
//   relu forward and backward                        cudnnActivationForward, ...Backward
//   linear forward and backward                      cuBLAS SGEMM; the bias and its gradient as
//                                                    for the convolution (a [N, out, 1, 1] tensor)
//   maxpool2d forward and backward                   the handwritten kernels, inherited: the
//                                                    interface passes argmax indices (idx) from
//                                                    forward to backward, and cuDNN's pooling
//                                                    has none (its backward reads x and y instead)
//   everything else (copies, the batch gather, softmax cross-entropy, SGD, the step's graph)
//                                                    inherited from the cuda backend
// All on the backend's one stream (cudnnSetStream, cublasSetStream); handles and descriptors
// are created once. Float32 throughout: cuDNN is held to FMA math (no TF32 tensor cores, which
// its default math mode allows on Ampere and newer) and cuBLAS's default math mode has no TF32
// either, so this backend agrees with cpu and cuda within the same float32 tolerances.
//
// Algorithms: fixed, not searched (cudnnFind*) or guessed (cudnnGet*_v7), so that every run
// computes the same bits, as the handwritten kernels do, and a benchmark times the same code
// each time. Each is deterministic and supports any NCHW float shape:
//   forward          IMPLICIT_PRECOMP_GEMM: implicit GEMM with precomputed indices, the
//                    classic fp32 kernel; a small workspace
//   backward data    ALGO_1: deterministic (ALGO_0 adds with atomics)
//   backward filter  ALGO_1: deterministic (ALGO_0 and ALGO_3 add with atomics)
// cuDNN and cuBLAS failures throw std::runtime_error naming the call and the status.
#include "kernel_backend.inc"

#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <lenet/engine/backend.h>
#include <lenet/error.h>

namespace lenet::engine {
namespace {

void check_library(bool ok, const char* status, int code, const char* expr, const char* file,
                   int line) {
  if (!ok) {
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " +
                             status + " (" + std::to_string(code) + ")");
  }
}

// "engine/cudnn_backend.cpp:120: cudnnCreate(&h): CUDNN_STATUS_NOT_INITIALIZED (1001)"
#define LENET_CUDNN_CHECK(expr)                                                       \
  do {                                                                                \
    const cudnnStatus_t lenet_cudnn_status_ = (expr);                                 \
    check_library(lenet_cudnn_status_ == CUDNN_STATUS_SUCCESS,                        \
                  cudnnGetErrorString(lenet_cudnn_status_),                           \
                  static_cast<int>(lenet_cudnn_status_), #expr, __FILE__, __LINE__);  \
  } while (0)
#define LENET_CUBLAS_CHECK(expr)                                                      \
  do {                                                                                \
    const cublasStatus_t lenet_cublas_status_ = (expr);                               \
    check_library(lenet_cublas_status_ == CUBLAS_STATUS_SUCCESS,                      \
                  cublasGetStatusName(lenet_cublas_status_),                          \
                  static_cast<int>(lenet_cublas_status_), #expr, __FILE__, __LINE__); \
  } while (0)

// A cuDNN or cuBLAS object: created by the constructor, destroyed (errors ignored) by the
// destructor.
template <typename T, typename Status, Status (*Create)(T*), Status (*Destroy)(T)>
class LibraryObject {
 public:
  LibraryObject() {
    const Status status = Create(&object_);
    if constexpr (std::is_same_v<Status, cudnnStatus_t>) {
      LENET_CUDNN_CHECK(status);
    } else {
      LENET_CUBLAS_CHECK(status);
    }
  }
  ~LibraryObject() { static_cast<void>(Destroy(object_)); }
  LibraryObject(const LibraryObject&) = delete;
  LibraryObject& operator=(const LibraryObject&) = delete;

  T get() const { return object_; }

 private:
  T object_{};
};

using CudnnHandle = LibraryObject<cudnnHandle_t, cudnnStatus_t, cudnnCreate, cudnnDestroy>;
using CublasHandle = LibraryObject<cublasHandle_t, cublasStatus_t, cublasCreate_v2,
                                   cublasDestroy_v2>;
using TensorDesc = LibraryObject<cudnnTensorDescriptor_t, cudnnStatus_t,
                                 cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = LibraryObject<cudnnFilterDescriptor_t, cudnnStatus_t,
                                 cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = LibraryObject<cudnnConvolutionDescriptor_t, cudnnStatus_t,
                               cudnnCreateConvolutionDescriptor,
                               cudnnDestroyConvolutionDescriptor>;
using ActivationDesc = LibraryObject<cudnnActivationDescriptor_t, cudnnStatus_t,
                                     cudnnCreateActivationDescriptor,
                                     cudnnDestroyActivationDescriptor>;

constexpr cudnnConvolutionFwdAlgo_t kForwardAlgo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
constexpr cudnnConvolutionBwdDataAlgo_t kBackwardDataAlgo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
constexpr cudnnConvolutionBwdFilterAlgo_t kBackwardFilterAlgo =
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
// cuBLAS's workspace, given to it once (cublasSetWorkspace) so that it never allocates, in a
// captured step least of all: NVIDIA's recommendation for Hopper, more than any other GPU needs.
constexpr std::size_t kCublasWorkspaceBytes = std::size_t{32} << 20;
// The convolutions' first workspace; a shape that needs more grows it (never while capturing).
constexpr std::size_t kInitialConvWorkspaceBytes = std::size_t{4} << 20;

const float kOne = 1.0f;
const float kZero = 0.0f;

// cuDNN and cuBLAS take int dimensions.
int dim(std::int64_t v, const char* op) {
  LENET_CHECK(v <= INT_MAX, op << ": the cudnn backend takes dimensions up to " << INT_MAX
                               << ", got " << v);
  return static_cast<int>(v);
}

std::string library_version(cudnnStatus_t (*get)(libraryPropertyType, int*)) {
  int major = 0, minor = 0, patch = 0;
  LENET_CUDNN_CHECK(get(MAJOR_VERSION, &major));
  LENET_CUDNN_CHECK(get(MINOR_VERSION, &minor));
  LENET_CUDNN_CHECK(get(PATCH_LEVEL, &patch));
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  LENET_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major));
  LENET_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor));
  LENET_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch));
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

class CudnnBackend final : public KernelBackend {
 public:
  explicit CudnnBackend(const std::string& gpu)
      : KernelBackend("cudnn", gpu + ", cuDNN " + library_version(cudnnGetProperty) +
                                   ", cuBLAS " + cublas_version()) {
    // cuDNN may allocate or load code the first time it meets a shape, which is the captured
    // training step's first run: a ThreadLocal capture would refuse those calls.
    set_capture_mode(cudaStreamCaptureModeRelaxed);
    LENET_CUDNN_CHECK(cudnnSetStream(cudnn_.get(), stream()));
    LENET_CUBLAS_CHECK(cublasSetStream(cublas_.get(), stream()));
    LENET_CUBLAS_CHECK(cublasSetWorkspace(cublas_.get(), cublas_workspace_.data(),
                                          cublas_workspace_.bytes()));
    LENET_CUBLAS_CHECK(cublasSetMathMode(cublas_.get(), CUBLAS_DEFAULT_MATH));
    LENET_CUDNN_CHECK(cudnnSetActivationDescriptor(relu_.get(), CUDNN_ACTIVATION_RELU,
                                                   CUDNN_PROPAGATE_NAN, 0.0));
  }
  ~CudnnBackend() override {
    // The members go before the base's stream, which would wait: wait now, so no queued work
    // outlives the workspaces it uses.
    static_cast<void>(LENET_CUDA_OK(cudaStreamSynchronize(stream())));
  }
  CudnnBackend(const CudnnBackend&) = delete;
  CudnnBackend& operator=(const CudnnBackend&) = delete;

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    set_conv("conv2d_forward", s);
    LENET_CHECK_NOT_NULL("conv2d_forward", x, w, y);
    std::size_t bytes = 0;
    LENET_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        cudnn_.get(), x_.get(), w_.get(), conv_.get(), y_.get(), kForwardAlgo, &bytes));
    void* workspace = conv_workspace(bytes);
    LENET_CUDNN_CHECK(cudnnConvolutionForward(cudnn_.get(), &kOne, x_.get(), x, w_.get(), w,
                                              conv_.get(), kForwardAlgo, workspace, bytes,
                                              &kZero, y_.get(), y));
    if (b != nullptr) {
      LENET_CUDNN_CHECK(cudnnAddTensor(cudnn_.get(), &kOne, bias_.get(), b, &kOne, y_.get(), y));
    }
  }
  void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                            float* dx) override {
    set_conv("conv2d_backward_data", s);
    LENET_CHECK_NOT_NULL("conv2d_backward_data", dy, w, dx);
    std::size_t bytes = 0;
    LENET_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        cudnn_.get(), w_.get(), y_.get(), conv_.get(), x_.get(), kBackwardDataAlgo, &bytes));
    void* workspace = conv_workspace(bytes);
    LENET_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_.get(), &kOne, w_.get(), w, y_.get(), dy,
                                                   conv_.get(), kBackwardDataAlgo, workspace,
                                                   bytes, &kZero, x_.get(), dx));
  }
  void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* db) override {
    set_conv("conv2d_backward_filter", s);
    LENET_CHECK_NOT_NULL("conv2d_backward_filter", x, dy, dw);
    std::size_t bytes = 0;
    LENET_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        cudnn_.get(), x_.get(), y_.get(), conv_.get(), w_.get(), kBackwardFilterAlgo, &bytes));
    void* workspace = conv_workspace(bytes);
    LENET_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        cudnn_.get(), &kOne, x_.get(), x, y_.get(), dy, conv_.get(), kBackwardFilterAlgo,
        workspace, bytes, &kZero, w_.get(), dw));
    if (db != nullptr) {
      LENET_CUDNN_CHECK(cudnnConvolutionBackwardBias(cudnn_.get(), &kOne, y_.get(), dy, &kZero,
                                                     bias_.get(), db));
    }
  }

  // relu_backward's second argument may be the forward's input or its output (LenetModel
  // passes the output, kept in place): y > 0 exactly where x > 0, so cuDNN gets it as both.
  void relu_forward(std::int64_t n, const float* x, float* y) override {
    if (!set_vector("relu_forward", n)) return;
    LENET_CHECK_NOT_NULL("relu_forward", x, y);
    LENET_CUDNN_CHECK(cudnnActivationForward(cudnn_.get(), relu_.get(), &kOne, vector_.get(), x,
                                             &kZero, vector_.get(), y));
  }
  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) override {
    if (!set_vector("relu_backward", n)) return;
    LENET_CHECK_NOT_NULL("relu_backward", dy, x, dx);
    LENET_CUDNN_CHECK(cudnnActivationBackward(cudnn_.get(), relu_.get(), &kOne, vector_.get(), x,
                                              vector_.get(), dy, vector_.get(), x, &kZero,
                                              vector_.get(), dx));
  }

  // Row-major [rows, cols] is column-major [cols, rows], the transpose, which is how cuBLAS
  // reads it: y^T = w x^T is y [N, out] = x [N, in] w^T [in, out].
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override {
    set_linear("linear_forward", s);
    LENET_CHECK_NOT_NULL("linear_forward", x, w, y);
    const int N = static_cast<int>(s.N), in = static_cast<int>(s.in);
    const int out = static_cast<int>(s.out);  // set_linear checked that they fit
    LENET_CUBLAS_CHECK(cublasSgemm(cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, out, N, in, &kOne, w,
                                   in, x, in, &kZero, y, out));
    if (b != nullptr) {
      LENET_CUDNN_CHECK(cudnnAddTensor(cudnn_.get(), &kOne, bias_.get(), b, &kOne, y_.get(), y));
    }
  }
  // dx^T [in, N] = w^T dy^T: dx = dy w; dw^T [in, out] = x^T dy: dw = dy^T x; db sums dy's
  // rows, the bias gradient of a convolution with 1 x 1 outputs.
  void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                       float* dx, float* dw, float* db) override {
    set_linear("linear_backward", s);
    LENET_CHECK_NOT_NULL("linear_backward", dy, x, w, dw);
    const int N = static_cast<int>(s.N), in = static_cast<int>(s.in);
    const int out = static_cast<int>(s.out);  // set_linear checked that they fit
    if (dx != nullptr) {
      LENET_CUBLAS_CHECK(cublasSgemm(cublas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, in, N, out, &kOne,
                                     w, in, dy, out, &kZero, dx, in));
    }
    LENET_CUBLAS_CHECK(cublasSgemm(cublas_.get(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, N, &kOne, x,
                                   in, dy, out, &kZero, dw, in));
    if (db != nullptr) {
      LENET_CUDNN_CHECK(cudnnConvolutionBackwardBias(cudnn_.get(), &kOne, y_.get(), dy, &kZero,
                                                     bias_.get(), db));
    }
  }

 private:
  static void set_nchw(const TensorDesc& d, int n, int c, int h, int w) {
    LENET_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(d.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  }
  // x_, w_, y_, conv_ and bias_ for s, checked as the kernels check it.
  void set_conv(const char* op, const Conv2dShape& s) {
    s.check(op);
    const int OC = dim(s.OC, op), C = dim(s.C, op), pad = dim(s.pad, op);
    const int stride = dim(s.stride, op);
    set_nchw(x_, dim(s.N, op), C, dim(s.H, op), dim(s.W, op));
    set_nchw(y_, dim(s.N, op), OC, dim(s.OH(), op), dim(s.OW(), op));
    set_nchw(bias_, 1, OC, 1, 1);
    LENET_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, OC,
                                                 C, dim(s.KH, op), dim(s.KW, op)));
    LENET_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_.get(), pad, pad, stride, stride, 1, 1,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    LENET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_.get(), CUDNN_FMA_MATH));
  }
  // y_ [N, out, 1, 1] and bias_ [1, out, 1, 1], for the bias and its gradient.
  void set_linear(const char* op, const LinearShape& s) {
    s.check(op);
    dim(s.in, op);
    set_nchw(y_, dim(s.N, op), dim(s.out, op), 1, 1);
    set_nchw(bias_, 1, dim(s.out, op), 1, 1);
  }
  // vector_ [1, 1, 1, n]; false when n is 0 (nothing to do).
  bool set_vector(const char* op, std::int64_t n) {
    ElementwiseShape{n}.check(op);
    if (n == 0) return false;
    set_nchw(vector_, 1, 1, 1, dim(n, op));
    return true;
  }
  // At least bytes of workspace for a convolution (null for 0). Growing waits for the stream,
  // so it cannot happen while a step is captured: a captured step's shapes have run before
  // (the self-check's are smaller than LeNet's; a larger shape in a capture throws).
  void* conv_workspace(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    if (bytes > conv_workspace_.bytes()) {
      cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
      LENET_CUDA_CHECK(cudaStreamIsCapturing(stream(), &capturing));
      LENET_CHECK(capturing == cudaStreamCaptureStatusNone,
                  "cudnn backend: a convolution captured into a step graph needs "
                      << bytes << " bytes of workspace, more than the "
                      << conv_workspace_.bytes() << " allocated before the capture");
      synchronize();
      conv_workspace_ = lk::DeviceBuffer<unsigned char>(bytes);
    }
    return conv_workspace_.data();
  }

  CudnnHandle cudnn_;
  CublasHandle cublas_;
  TensorDesc x_, y_, bias_, vector_;
  FilterDesc w_;
  ConvDesc conv_;
  ActivationDesc relu_;
  lk::DeviceBuffer<unsigned char> cublas_workspace_{kCublasWorkspaceBytes};
  lk::DeviceBuffer<unsigned char> conv_workspace_{kInitialConvWorkspaceBytes};
};

}  // namespace

std::unique_ptr<Backend> make_cudnn_backend() {
  // The cuda backend's checks first (a driver, a device, an image of the kernels this backend
  // still runs), with its errors and its description of the GPU.
  // cudnnCreate then fails if cuDNN cannot run on this GPU; the self-check runs every op.
  return std::make_unique<CudnnBackend>(make_cuda_backend()->device());
}

bool cudnn_backend_built() { return true; }

}  // namespace lenet::engine
