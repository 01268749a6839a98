// lenet::engine through the installed package: one LeNet training step (forward, backward, SGD
// with momentum) on the sim backend, the handwritten kernels in the CPU simulator, checked
// against the same step of the reference network (lenet::cpu_ref) in double. Needs no GPU; from
// a package built without CUDA it needs no CUDA toolkit either. LENET_CONSUMER_WITH_CUDA (1 when
// the package says it was built with CUDA) must agree with engine::cuda_backend_built().
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/lenet_model.h>

namespace le = lenet::engine;
namespace ref = lenet::cpu_ref;

int main() {
  try {
    if (le::cuda_backend_built() != (LENET_CONSUMER_WITH_CUDA != 0)) {
      std::printf("consumer: engine::cuda_backend_built() is %d, but lenet_WITH_CUDA says %d\n",
                  le::cuda_backend_built() ? 1 : 0, LENET_CONSUMER_WITH_CUDA);
      return 1;
    }

    // Four 28x28 images of a fixed pattern, labels 0, 3, 6, 9.
    constexpr std::int64_t kN = 4;
    constexpr std::int64_t kPixels = 28 * 28;
    std::vector<std::uint8_t> images(kN * kPixels);
    std::vector<std::int32_t> labels(kN);
    for (std::int64_t i = 0; i < kN; ++i) {
      labels[i] = static_cast<std::int32_t>(3 * i);
      for (std::int64_t p = 0; p < kPixels; ++p) {
        images[i * kPixels + p] = static_cast<std::uint8_t>((p * 37 + i * 101) % 256);
      }
    }
    const lenet::SgdParams sgd{0.05, 0.9, 1e-3};
    constexpr std::uint64_t kSeed = 5;

    auto backend = le::make_sim_backend(1);
    le::LenetModel model(*backend, kN);
    model.set_parameters(ref::lenet_init<float>(kSeed));
    model.load_batch(kN, images.data(), labels.data());
    model.forward();
    model.backward();
    const double loss = model.loss();
    model.sgd_step(sgd);
    const le::HostParams after = model.parameters();

    ref::LenetParams<double> params = ref::lenet_init<double>(kSeed), grads, velocity;
    std::vector<double> x(images.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = (images[i] / 255.0 - 0.5) / 0.5;
    const double want_loss =
        ref::lenet_forward_backward(params, kN, x.data(), labels.data(), &grads);
    ref::lenet_sgd_step(sgd, &params, grads, &velocity);

    if (!(std::fabs(loss - want_loss) <= 1e-5 * std::fabs(want_loss) + 1e-6)) {
      std::printf("consumer: sim backend loss %.7f, reference %.7f\n", loss, want_loss);
      return 1;
    }
    for (std::size_t t = 0; t < after.tensors.size(); ++t) {
      const std::vector<float>& got = after[t].data;
      const std::vector<double>& want = params[t].data;
      for (std::size_t i = 0; i < want.size(); ++i) {
        if (!(std::fabs(got[i] - want[i]) <= 1e-5 + 1e-3 * std::fabs(want[i]))) {
          std::printf("consumer: after one step %s[%zu] = %.7g, reference %.7g\n",
                      after[t].name.c_str(), i, got[i], want[i]);
          return 1;
        }
      }
    }
    std::printf("consumer: one LeNet step on the %s backend (%s): loss %.6f as the reference; "
                "all %zu parameter tensors match after SGD\n",
                backend->name().c_str(), backend->device().c_str(), loss, after.tensors.size());
    return 0;
  } catch (const std::exception& e) {
    std::printf("consumer: engine: %s\n", e.what());
    return 1;
  }
}
