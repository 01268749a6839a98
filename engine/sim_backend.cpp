// The sim backend: the handwritten kernels in the CPU simulator (built with LENET_SIM).
#include "kernel_backend.inc"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include <lenet/sim/options.h>

namespace lenet::engine {

std::unique_ptr<Backend> make_sim_backend(int threads) {
  lenet::sim::set_threads(threads > 0 ? threads : 0);
  // 0 means one OS thread per hardware thread: name the number it stands for.
  const int setting = lenet::sim::options().threads;
  const int used = setting > 0 ? setting
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::make_unique<KernelBackend>(
      "sim", "CUDA kernels in the CPU simulator, " + std::to_string(used) +
                 (used == 1 ? " thread" : " threads"));
}

}  // namespace lenet::engine
