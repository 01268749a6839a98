// Built instead of cudnn_backend.cpp when the build has no cudnn backend: configured without
// CUDA, or without cuDNN or cuBLAS (cmake/LenetCudnn.cmake). LENET_NO_CUDNN_REASON says which.
#include <memory>
#include <stdexcept>
#include <string>

#include <lenet/engine/backend.h>

namespace lenet::engine {

std::unique_ptr<Backend> make_cudnn_backend() {
  throw std::runtime_error(std::string("this build of lenet has no cudnn backend: ") +
                           LENET_NO_CUDNN_REASON);
}

bool cudnn_backend_built() { return false; }

}  // namespace lenet::engine
