// cuDNN and cuBLAS calls for the layers' ops (cudnn_ops.h says which, and why these
// algorithms).
#include "cudnn_ops.h"

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

#include <lenet/error.h>
#include <lenet/kernels/memory.h>

namespace lenet::engine {
namespace {

namespace lk = lenet::kernels;

void check_library(bool ok, const char* status, int code, const char* expr, const char* file,
                   int line) {
  if (!ok) {
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " +
                             status + " (" + std::to_string(code) + ")");
  }
}

// "engine/cudnn_ops.cpp:120: cudnnCreate(&h): CUDNN_STATUS_NOT_INITIALIZED (1001)"
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
using PoolingDesc = LibraryObject<cudnnPoolingDescriptor_t, cudnnStatus_t,
                                  cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;

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

}  // namespace

struct CudnnOps::Impl {
  explicit Impl(cudaStream_t stream) : stream_(stream) {
    LENET_CUDNN_CHECK(cudnnSetStream(cudnn_.get(), stream_));
    LENET_CUBLAS_CHECK(cublasSetStream(cublas_.get(), stream_));
    LENET_CUBLAS_CHECK(cublasSetWorkspace(cublas_.get(), cublas_workspace_.data(),
                                          cublas_workspace_.bytes()));
    LENET_CUBLAS_CHECK(cublasSetMathMode(cublas_.get(), CUBLAS_DEFAULT_MATH));
    LENET_CUDNN_CHECK(cudnnSetActivationDescriptor(relu_.get(), CUDNN_ACTIVATION_RELU,
                                                   CUDNN_PROPAGATE_NAN, 0.0));
  }
  ~Impl() {
    // No queued work may outlive the workspaces it uses.
    static_cast<void>(LENET_CUDA_OK(cudaStreamSynchronize(stream_)));
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y) {
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
                            float* dx) {
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
                              float* db) {
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

  // x is passed to cuDNN as both x and y (cudnn_ops.h).
  void relu_forward(std::int64_t n, const float* x, float* y) {
    if (!set_vector("relu_forward", n)) return;
    LENET_CHECK_NOT_NULL("relu_forward", x, y);
    LENET_CUDNN_CHECK(cudnnActivationForward(cudnn_.get(), relu_.get(), &kOne, vector_.get(), x,
                                             &kZero, vector_.get(), y));
  }
  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) {
    if (!set_vector("relu_backward", n)) return;
    LENET_CHECK_NOT_NULL("relu_backward", dy, x, dx);
    LENET_CUDNN_CHECK(cudnnActivationBackward(cudnn_.get(), relu_.get(), &kOne, vector_.get(), x,
                                              vector_.get(), dy, vector_.get(), x, &kZero,
                                              vector_.get(), dx));
  }

  // Row-major [rows, cols] is column-major [cols, rows], the transpose, which is how cuBLAS
  // reads it: y^T = w x^T is y [N, out] = x [N, in] w^T [in, out].
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) {
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
                       float* dx, float* dw, float* db) {
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

  // pool_, x_ and y_ for s.
  void set_pool(const char* op, const Pool2dShape& s) {
    s.check(op);
    const int N = dim(s.N, op), C = dim(s.C, op), K = dim(s.K, op), S = dim(s.stride, op);
    set_nchw(x_, N, C, dim(s.H, op), dim(s.W, op));
    set_nchw(y_, N, C, dim(s.OH(), op), dim(s.OW(), op));
    LENET_CUDNN_CHECK(cudnnSetPooling2dDescriptor(pool_.get(), CUDNN_POOLING_MAX_DETERMINISTIC,
                                                  CUDNN_PROPAGATE_NAN, K, K, 0, 0, S, S));
  }
  void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y) {
    set_pool("maxpool2d_forward", s);
    LENET_CHECK_NOT_NULL("maxpool2d_forward", x, y);
    LENET_CUDNN_CHECK(cudnnPoolingForward(cudnn_.get(), pool_.get(), &kOne, x_.get(), x, &kZero,
                                          y_.get(), y));
  }
  void maxpool2d_backward(const Pool2dShape& s, const float* x, const float* y, const float* dy,
                          float* dx) {
    set_pool("maxpool2d_backward", s);
    LENET_CHECK_NOT_NULL("maxpool2d_backward", x, y, dy, dx);
    LENET_CUDNN_CHECK(cudnnPoolingBackward(cudnn_.get(), pool_.get(), &kOne, y_.get(), y,
                                           y_.get(), dy, x_.get(), x, &kZero, x_.get(), dx));
  }

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
      LENET_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capturing));
      LENET_CHECK(capturing == cudaStreamCaptureStatusNone,
                  "CudnnOps: a convolution captured into a step graph needs "
                      << bytes << " bytes of workspace, more than the "
                      << conv_workspace_.bytes() << " allocated before the capture");
      LENET_CUDA_CHECK(cudaStreamSynchronize(stream_));
      conv_workspace_ = lk::DeviceBuffer<unsigned char>(bytes);
    }
    return conv_workspace_.data();
  }

  cudaStream_t stream_;
  CudnnHandle cudnn_;
  CublasHandle cublas_;
  TensorDesc x_, y_, bias_, vector_;
  FilterDesc w_;
  ConvDesc conv_;
  ActivationDesc relu_;
  PoolingDesc pool_;
  lk::DeviceBuffer<unsigned char> cublas_workspace_{kCublasWorkspaceBytes};
  lk::DeviceBuffer<unsigned char> conv_workspace_{kInitialConvWorkspaceBytes};
};

CudnnOps::CudnnOps(cudaStream_t stream) : impl_(std::make_unique<Impl>(stream)) {}
CudnnOps::~CudnnOps() = default;

std::string CudnnOps::versions() {
  return "cuDNN " + library_version(cudnnGetProperty) + ", cuBLAS " + cublas_version();
}

void CudnnOps::conv2d_forward(const Conv2dShape& s, const float* x, const float* w,
                              const float* b, float* y) {
  impl_->conv2d_forward(s, x, w, b, y);
}
void CudnnOps::conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w,
                                    float* dx) {
  impl_->conv2d_backward_data(s, dy, w, dx);
}
void CudnnOps::conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy,
                                      float* dw, float* db) {
  impl_->conv2d_backward_filter(s, x, dy, dw, db);
}
void CudnnOps::relu_forward(std::int64_t n, const float* x, float* y) {
  impl_->relu_forward(n, x, y);
}
void CudnnOps::relu_backward(std::int64_t n, const float* dy, const float* x, float* dx) {
  impl_->relu_backward(n, dy, x, dx);
}
void CudnnOps::linear_forward(const LinearShape& s, const float* x, const float* w,
                              const float* b, float* y) {
  impl_->linear_forward(s, x, w, b, y);
}
void CudnnOps::linear_backward(const LinearShape& s, const float* dy, const float* x,
                               const float* w, float* dx, float* dw, float* db) {
  impl_->linear_backward(s, dy, x, w, dx, dw, db);
}
void CudnnOps::maxpool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  impl_->maxpool2d_forward(s, x, y);
}
void CudnnOps::maxpool2d_backward(const Pool2dShape& s, const float* x, const float* y,
                                  const float* dy, float* dx) {
  impl_->maxpool2d_backward(s, x, y, dy, dx);
}

}  // namespace lenet::engine
