// The layers' ops on NVIDIA's libraries, queued on one stream: what the cudnn backend runs
// (cudnn_backend.cpp) and what bench/ops.cu times the handwritten kernels against. Same shapes,
// argument order and checks as the kernel launchers (lenet/kernels/*.h). Not installed: the
// cuDNN and cuBLAS headers stay inside cudnn_ops.cpp.
//
//   conv2d forward, backward data, backward filter   cuDNN, one fixed algorithm each
//   the conv bias and its gradient                   cudnnAddTensor, cudnnConvolutionBackwardBias
//   relu forward and backward                        cudnnActivationForward, ...Backward
//   linear forward and backward                      cuBLAS SGEMM; the bias and its gradient as
//                                                    a convolution's, on a [N, out, 1, 1] tensor
//   maxpool2d forward and backward                   cuDNN pooling, for the benchmark only: it
//                                                    has no argmax indices (its backward reads x
//                                                    and y), so the backend keeps the kernels
//
// Float32 throughout: cuDNN is held to FMA math (its default allows TF32 tensor cores on Ampere
// and newer), and cuBLAS's default math mode has no TF32.
//
// Algorithms: fixed, neither searched (cudnnFind*) nor guessed (cudnnGet*_v7), so that every run
// computes the same bits, as the handwritten kernels do, and a benchmark times the same code
// each time. Each is deterministic and takes any NCHW float shape:
//   forward          IMPLICIT_PRECOMP_GEMM: implicit GEMM with precomputed indices, the classic
//                    fp32 kernel, a small workspace
//   backward data    ALGO_1 (ALGO_0 adds with atomics: not deterministic)
//   backward filter  ALGO_1 (ALGO_0 and ALGO_3 add with atomics)
//
// Failures of cuDNN or cuBLAS throw std::runtime_error naming the call and the status; bad
// shapes and null pointers std::invalid_argument, as the launchers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <cuda_runtime_api.h>

#include <lenet/shapes.h>

namespace lenet::engine {

class CudnnOps {
 public:
  // Creates the cuDNN and cuBLAS handles (bound to stream) and their workspaces.
  explicit CudnnOps(cudaStream_t stream);
  ~CudnnOps();
  CudnnOps(const CudnnOps&) = delete;
  CudnnOps& operator=(const CudnnOps&) = delete;

  // "cuDNN 9.19.0, cuBLAS 13.0.2": the libraries loaded at run time.
  static std::string versions();

  void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y);
  void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
  void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* db);
  // x may be the forward's input or its output in relu_backward: y > 0 exactly where x > 0.
  void relu_forward(std::int64_t n, const float* x, float* y);
  void relu_backward(std::int64_t n, const float* dy, const float* x, float* dx);
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y);
  void linear_backward(const LinearShape& s, const float* dy, const float* x, const float* w,
                       float* dx, float* dw, float* db);
  // cuDNN's max pooling (deterministic, NaN propagated): y only, and dx from x, y and dy.
  void maxpool2d_forward(const Pool2dShape& s, const float* x, float* y);
  void maxpool2d_backward(const Pool2dShape& s, const float* x, const float* y, const float* dy,
                          float* dx);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lenet::engine
