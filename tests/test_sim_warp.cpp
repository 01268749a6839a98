// Warp shuffles, votes and __syncwarp in the simulator, lane by lane against CUDA's documented
// semantics, with full and partial masks; misuse is refused.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/kernels.h>
#include <lenet/sim/options.h>

#include "launch.h"
#include "sim/device_vector.h"
#include "sim/warp_kernels.cuh"

namespace {

using lenet::sim::Options;
using lenet::sim::Order;
using lenet::sim::ScopedOptions;
using lenet::sim::testing::DeviceVector;

constexpr unsigned kThreads = 64;  // two warps: results must not leak between them
constexpr long long kUntouched = -1;

// in[t] = 1000 * warp + 7 * lane + 1: distinct, and recognisable in a failure message.
std::vector<int> probe_input() {
  std::vector<int> in(kThreads);
  for (unsigned t = 0; t < kThreads; ++t) in[t] = static_cast<int>(1000 * (t / 32) + 7 * (t % 32) + 1);
  return in;
}

std::vector<long long> run_probe(WarpProbe probe) {
  const DeviceVector<int> in(probe_input());
  DeviceVector<long long> out(kThreads, kUntouched);
  LENET_LAUNCH(warp_probe_kernel, 1, kThreads, 0, nullptr, probe, in.get(), out.get());
  return out.to_host();
}

// expected(warp_base, lane, in) for every thread.
template <typename Expected>
void expect_lanes(WarpProbe probe, Expected expected) {
  const std::vector<int> in = probe_input();
  for (const Order order : {Order::kForward, Order::kReverse, Order::kRandom}) {
    Options o;
    o.order = order;
    o.seed = 5;
    const ScopedOptions scoped(o);
    const std::vector<long long> out = run_probe(probe);
    for (unsigned t = 0; t < kThreads; ++t) {
      const unsigned base = t - t % 32;
      EXPECT_EQ(out[t], expected(base, t % 32, in))
          << "thread " << t << " (lane " << t % 32 << "), order "
          << lenet::sim::to_string(order, 5);
    }
  }
}

TEST(SimWarp, ShflIndexIsTakenModuloTheWidth) {
  expect_lanes(WarpProbe::kShflRotate, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane + 3) % 32]);
  });
  expect_lanes(WarpProbe::kShflWidth8, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane / 8) * 8 + 2]);
  });
}

TEST(SimWarp, ShflUpKeepsOwnValueBelowTheSegmentStart) {
  expect_lanes(WarpProbe::kShflUp1, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane >= 1 ? lane - 1 : lane)]);
  });
  expect_lanes(WarpProbe::kShflUp3Width8,
               [](unsigned base, unsigned lane, const std::vector<int>& in) {
                 return static_cast<long long>(in[base + (lane % 8 >= 3 ? lane - 3 : lane)]);
               });
}

TEST(SimWarp, ShflDownKeepsOwnValuePastTheSegmentEnd) {
  expect_lanes(WarpProbe::kShflDown4Width16,
               [](unsigned base, unsigned lane, const std::vector<int>& in) {
                 return static_cast<long long>(in[base + (lane % 16 + 4 < 16 ? lane + 4 : lane)]);
               });
}

TEST(SimWarp, ShflXorReachesEarlierSegmentsButNotLaterOnes) {
  expect_lanes(WarpProbe::kShflXor1, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane ^ 1)]);
  });
  // Width 8, lane mask 8: lanes 8-15 read lanes 0-7 (an earlier group); lanes 0-7 would read
  // lanes 8-15 (a later group) and keep their own value; likewise for 16-23 and 24-31.
  expect_lanes(WarpProbe::kShflXor8Width8,
               [](unsigned base, unsigned lane, const std::vector<int>& in) {
                 const unsigned j = lane ^ 8;
                 return static_cast<long long>(in[base + (j <= (lane / 8) * 8 + 7 ? j : lane)]);
               });
}

TEST(SimWarp, HalfWarpsShuffleIndependentlyWithPartialMasks) {
  expect_lanes(WarpProbe::kShflDownHalves,
               [](unsigned base, unsigned lane, const std::vector<int>& in) {
                 return static_cast<long long>(in[base + (lane % 16 == 15 ? lane : lane + 1)]);
               });
}

TEST(SimWarp, EvenLanesShuffleAmongThemselves) {
  expect_lanes(WarpProbe::kShflEvenLanes,
               [](unsigned base, unsigned lane, const std::vector<int>& in) {
                 return lane % 2 == 0 ? static_cast<long long>(in[base + (lane + 2) % 32])
                                      : kUntouched;
               });
}

TEST(SimWarp, BallotWithFullAndPartialMasks) {
  expect_lanes(WarpProbe::kBallotFull, [](unsigned base, unsigned, const std::vector<int>& in) {
    unsigned bits = 0;
    for (unsigned l = 0; l < 32; ++l) {
      if (in[base + l] % 3 == 0) bits |= 1u << l;
    }
    return static_cast<long long>(bits);
  });
  expect_lanes(WarpProbe::kBallotPartial, [](unsigned, unsigned lane, const std::vector<int>&) {
    return lane < 20 ? static_cast<long long>(0x000aaaaau) : kUntouched;
  });
}

TEST(SimWarp, AnyAndAllOverAPartialMask) {
  // Lanes 0-7 vote: any(v > in[lane 5]) is true (lanes 6, 7); all(v >= in[lane 0]) is true.
  expect_lanes(WarpProbe::kAnyAll, [](unsigned, unsigned lane, const std::vector<int>&) {
    return lane < 8 ? 11LL : kUntouched;
  });
}

TEST(SimWarp, SyncwarpOrdersSharedMemoryWithinTheWarp) {
  expect_lanes(WarpProbe::kSyncWarp, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane + 1) % 32]);
  });
}

TEST(SimWarp, ShufflesCarry64BitValues) {
  expect_lanes(WarpProbe::kShflInt64, [](unsigned base, unsigned lane, const std::vector<int>& in) {
    return static_cast<long long>(in[base + (lane ^ 5)]) << 33;
  });
}

std::string misuse_message(WarpMisuse misuse, unsigned threads) {
  DeviceVector<int> out(threads, -1);
  try {
    LENET_LAUNCH(warp_misuse_kernel, 1, threads, 0, nullptr, misuse, out.get());
  } catch (const lenet::sim::BarrierDivergence& e) {
    return std::string("divergence: ") + e.what();
  } catch (const lenet::sim::SimError& e) {
    return std::string("error: ") + e.what();
  }
  return "no error";
}

TEST(SimWarp, MisuseIsRefused) {
  const ScopedOptions scoped(Options{});
  std::string m = misuse_message(WarpMisuse::kMaskWithoutCaller, 32);
  EXPECT_EQ(m.rfind("error: ", 0), 0u) << m;
  EXPECT_NE(m.find("does not name the calling lane 1"), std::string::npos) << m;
  EXPECT_NE(m.find("thread (1,0,0)"), std::string::npos) << m;

  m = misuse_message(WarpMisuse::kReadOutsideMask, 32);
  EXPECT_EQ(m.rfind("error: ", 0), 0u) << m;
  EXPECT_NE(m.find("lane 15 reads lane 16, which is not in the mask"), std::string::npos) << m;

  m = misuse_message(WarpMisuse::kMissingLanes, 48);
  EXPECT_EQ(m.rfind("error: ", 0), 0u) << m;
  EXPECT_NE(m.find("has 16 lanes"), std::string::npos) << m;

  m = misuse_message(WarpMisuse::kMaskMismatch, 32);
  EXPECT_EQ(m.rfind("divergence: ", 0), 0u) << m;
  EXPECT_NE(m.find("mask 0x0000000f"), std::string::npos) << m;
}

}  // namespace
