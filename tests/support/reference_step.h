// One SGD step of a backend's LenetModel against the double-precision reference network
// (cpu_ref::lenet_forward_backward and lenet_sgd_step): loss, gradients, weights and momentum.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/lenet.h>
#include <lenet/engine/backend.h>
#include <lenet/engine/lenet_model.h>

#include "support/compare.h"
#include "support/synthetic_mnist.h"

namespace lenet::test {

// The normalized batch (p/255 - 0.5)/0.5 in double, as the reference network takes it.
inline std::vector<double> normalized(const engine::MnistSplit& split, std::int64_t n) {
  std::vector<double> x(static_cast<std::size_t>(n * 28 * 28));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (split.images[i] / 255.0 - 0.5) / 0.5;
  return x;
}

// Every tensor of out within atol + rtol*|want| of the reference's.
inline ::testing::AssertionResult params_close(const engine::HostParams& out,
                                               const cpu_ref::LenetParams<double>& want,
                                               double atol, double rtol) {
  for (std::size_t i = 0; i < out.tensors.size(); ++i) {
    auto r = all_close(out[i].data, want[i].data, atol, rtol);
    if (!r) return r << " (tensor " << out[i].name << ")";
  }
  return ::testing::AssertionSuccess();
}

// One step on a batch of n synthetic images, weight decay included, compared after backward
// and after the SGD update.
inline void expect_step_matches_reference(engine::Backend& backend, std::int64_t n, double atol,
                                          double rtol) {
  const engine::MnistSplit batch = synthetic_mnist(n, 11);
  const SgdParams sgd{0.05, 0.9, 1e-3};
  cpu_ref::LenetParams<double> params = cpu_ref::lenet_init<double>(5);
  cpu_ref::LenetParams<double> grads, velocity;
  const std::vector<double> x = normalized(batch, n);
  const double ref_loss =
      cpu_ref::lenet_forward_backward(params, n, x.data(), batch.labels.data(), &grads);

  engine::LenetModel model(backend, n);
  model.set_parameters(cpu_ref::lenet_init<float>(5));
  model.load_batch(n, batch.images.data(), batch.labels.data());
  model.forward();
  model.backward();
  EXPECT_NEAR(model.loss(), ref_loss, 1e-5 * std::fabs(ref_loss) + 1e-6);
  EXPECT_TRUE(params_close(model.gradients(), grads, atol, rtol));
  cpu_ref::lenet_sgd_step(sgd, &params, grads, &velocity);
  model.sgd_step(sgd);
  EXPECT_TRUE(params_close(model.parameters(), params, atol, rtol));
  EXPECT_TRUE(params_close(model.momentum(), velocity, atol, rtol));
}

}  // namespace lenet::test
