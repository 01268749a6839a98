// Runs a kernel test body once per simulator thread order:
//   for_each_thread_order([&] { run_and_compare(); });
// In the simulator (LENET_SIM) the body runs with threads in forward, reverse and seeded random
// order, each under a SCOPED_TRACE naming the order: a missing __syncthreads() or a warp
// reduction that depends on which lane runs first gives a wrong answer in at least one of them.
// On the GPU the hardware picks the order, so the body runs once.
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#if defined(LENET_SIM)
#include <lenet/sim/options.h>
#endif

namespace lenet::test {

// The seed of the random order: fixed, so a failure repeats.
inline constexpr std::uint64_t kRandomOrderSeed = 20240607;

template <typename Body>
void for_each_thread_order(Body&& body) {
#if defined(LENET_SIM)
  struct Run {
    lenet::sim::Order order;
    std::uint64_t seed;
  };
  const Run runs[] = {{lenet::sim::Order::kForward, 1},
                      {lenet::sim::Order::kReverse, 1},
                      {lenet::sim::Order::kRandom, kRandomOrderSeed}};
  for (const Run& run : runs) {
    lenet::sim::Options options = lenet::sim::options();
    options.order = run.order;
    options.seed = run.seed;
    const lenet::sim::ScopedOptions scoped(options);
    SCOPED_TRACE("simulator thread order " + lenet::sim::to_string(run.order, run.seed));
    body();
  }
#else
  body();
#endif
}

}  // namespace lenet::test
