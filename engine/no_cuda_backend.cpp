// Built instead of cuda_backend.cpp when the project is configured without CUDA.
#include <memory>
#include <stdexcept>

#include <lenet/engine/backend.h>

namespace lenet::engine {

std::unique_ptr<Backend> make_cuda_backend() {
  throw std::runtime_error(
      "this build of lenet has no cuda backend: it was configured without CUDA (no nvcc or "
      "LENET_WITH_CUDA=OFF)");
}

bool cuda_backend_built() { return false; }

}  // namespace lenet::engine
