// Warp collectives probed lane by lane. in[t] and out[t] are indexed by the thread index;
// lanes that do not take part in a case leave out[t] untouched.
#pragma once

enum class WarpProbe : int {
  kShflRotate,        // __shfl_sync(full, v, lane + 3): index taken modulo 32
  kShflWidth8,        // __shfl_sync(full, v, 2, 8): lane 2 of each group of 8
  kShflUp1,           // __shfl_up_sync(full, v, 1)
  kShflUp3Width8,     // __shfl_up_sync(full, v, 3, 8)
  kShflDown4Width16,  // __shfl_down_sync(full, v, 4, 16)
  kShflXor1,          // __shfl_xor_sync(full, v, 1)
  kShflXor8Width8,    // __shfl_xor_sync(full, v, 8, 8): later groups are out of reach
  kShflDownHalves,    // lanes 0-15 and 16-31 each shuffle down by 1 with their own half-mask
  kShflEvenLanes,     // even lanes only: __shfl_sync(0x55555555, v, lane + 2)
  kBallotFull,        // __ballot_sync(full, in[t] % 3 == 0)
  kBallotPartial,     // lanes 0-19: __ballot_sync(0x000fffff, lane odd)
  kAnyAll,            // lanes 0-7: __any_sync / __all_sync on in[t] > threshold
  kSyncWarp,          // lanes exchange through shared memory around __syncwarp
  kShflInt64,         // __shfl_xor_sync on 64-bit values
};

static __global__ void warp_probe_kernel(WarpProbe probe, const int* in, long long* out) {
  __shared__ int exchange[64];
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  const int v = in[t];
  switch (probe) {
    case WarpProbe::kShflRotate:
      out[t] = __shfl_sync(0xffffffffu, v, static_cast<int>(lane) + 3);
      break;
    case WarpProbe::kShflWidth8:
      out[t] = __shfl_sync(0xffffffffu, v, 2, 8);
      break;
    case WarpProbe::kShflUp1:
      out[t] = __shfl_up_sync(0xffffffffu, v, 1);
      break;
    case WarpProbe::kShflUp3Width8:
      out[t] = __shfl_up_sync(0xffffffffu, v, 3, 8);
      break;
    case WarpProbe::kShflDown4Width16:
      out[t] = __shfl_down_sync(0xffffffffu, v, 4, 16);
      break;
    case WarpProbe::kShflXor1:
      out[t] = __shfl_xor_sync(0xffffffffu, v, 1);
      break;
    case WarpProbe::kShflXor8Width8:
      out[t] = __shfl_xor_sync(0xffffffffu, v, 8, 8);
      break;
    case WarpProbe::kShflDownHalves:
      if (lane < 16) {
        out[t] = __shfl_down_sync(0x0000ffffu, v, 1, 16);
      } else {
        out[t] = __shfl_down_sync(0xffff0000u, v, 1, 16);
      }
      break;
    case WarpProbe::kShflEvenLanes:
      if (lane % 2 == 0) out[t] = __shfl_sync(0x55555555u, v, static_cast<int>(lane) + 2);
      break;
    case WarpProbe::kBallotFull:
      out[t] = __ballot_sync(0xffffffffu, v % 3 == 0);
      break;
    case WarpProbe::kBallotPartial:
      if (lane < 20) out[t] = __ballot_sync(0x000fffffu, lane % 2 == 1);
      break;
    case WarpProbe::kAnyAll:
      if (lane < 8) {
        const int any = __any_sync(0x000000ffu, v > in[(t / 32) * 32 + 5]);
        const int all = __all_sync(0x000000ffu, v >= in[(t / 32) * 32]);
        out[t] = any * 10 + all;
      }
      break;
    case WarpProbe::kSyncWarp:
      exchange[t] = v;
      __syncwarp();
      out[t] = exchange[(t / 32) * 32 + (lane + 1) % 32];
      break;
    case WarpProbe::kShflInt64: {
      const long long wide = static_cast<long long>(v) << 33;
      out[t] = __shfl_xor_sync(0xffffffffu, wide, 5);
      break;
    }
  }
}

// Misuse of warp collectives, each refused by the simulator.
enum class WarpMisuse : int {
  kMaskWithoutCaller,  // every lane passes mask 0x1
  kReadOutsideMask,    // lanes 0-15, mask 0x0000ffff, shuffle down by 1 over the full width
  kMissingLanes,       // full mask in a block whose last warp is partial
  kMaskMismatch,       // lanes 0-1 pass 0x3, lanes 2-3 pass 0xf
};

static __global__ void warp_misuse_kernel(WarpMisuse misuse, int* out) {
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  const int v = static_cast<int>(t);
  switch (misuse) {
    case WarpMisuse::kMaskWithoutCaller:
      out[t] = __shfl_sync(0x1u, v, 0);
      break;
    case WarpMisuse::kReadOutsideMask:
      if (lane < 16) out[t] = __shfl_down_sync(0x0000ffffu, v, 1);
      break;
    case WarpMisuse::kMissingLanes:
      out[t] = __shfl_sync(0xffffffffu, v, 0);
      break;
    case WarpMisuse::kMaskMismatch:
      if (lane < 2) {
        out[t] = __shfl_sync(0x3u, v, 0);
      } else if (lane < 4) {
        out[t] = __shfl_sync(0xfu, v, 0);
      }
      break;
  }
}
