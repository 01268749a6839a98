// The sim backend: the handwritten kernels in the CPU simulator (built with LENET_SIM).
#include "kernel_backend.inc"

#include <memory>
#include <string>

#include <lenet/sim/options.h>

namespace lenet::engine {

std::unique_ptr<Backend> make_sim_backend(int threads) {
  lenet::sim::set_threads(threads > 0 ? threads : 0);
  const int used = lenet::sim::options().threads;
  return std::make_unique<KernelBackend>(
      "sim", "CUDA kernels in the CPU simulator, " + std::to_string(used) +
                 (used == 1 ? " thread" : " threads"));
}

}  // namespace lenet::engine
