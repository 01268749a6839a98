// The reference's elementwise and per-row formulas, written once as inline templates over the
// float type: cpu_ref's ops instantiate them for float and double after checking their
// arguments, and the cpu backend's fast ops (engine/cpu/cpu_ops.cpp) for float, compiled into
// each instruction set's copy with that copy's flags. Nothing here checks shapes or pointers.
#pragma once

#include <cmath>
#include <cstdint>

#include <lenet/shapes.h>

namespace lenet::cpu_ref::formulas {

// SGD with momentum and weight decay, the rule written at SgdParams; the hyperparameters are
// rounded to T once. p, g, v: [n].
template <typename T>
inline void sgd_momentum_step(const SgdParams& h, std::int64_t n, T* p, const T* g, T* v) {
  const T lr = static_cast<T>(h.lr);
  const T momentum = static_cast<T>(h.momentum);
  const T weight_decay = static_cast<T>(h.weight_decay);
  for (std::int64_t i = 0; i < n; ++i) {
    const T g_decayed = g[i] + weight_decay * p[i];
    v[i] = momentum * v[i] + g_decayed;
    p[i] -= lr * v[i];
  }
}

// Max pooling's rule: a candidate replaces the best so far when it is strictly greater (so
// the first maximum in window order wins), or when it is a NaN and the best is not (so a NaN
// wins and is never replaced). & and | instead of && and ||: no branches, so a compiler can
// turn the selects of a pooling loop into vector blends.
template <typename T>
inline bool pool_takes(T candidate, T best) {
  return (candidate > best) | ((candidate != candidate) & (best == best));
}

// One plane [H, W] of x -> y and idx [OH, OW]: each output scans its K x K window in row-major
// order with pool_takes; idx is the winner's index in the plane.
template <typename T>
inline void maxpool2d_plane(const Pool2dShape& s, const T* x_p, T* y_p, std::int32_t* idx_p) {
  const std::int64_t OH = s.OH(), OW = s.OW();
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      std::int64_t best = (oh * s.stride) * s.W + ow * s.stride;
      for (std::int64_t i = 0; i < s.K; ++i) {
        for (std::int64_t j = 0; j < s.K; ++j) {
          const std::int64_t at = (oh * s.stride + i) * s.W + (ow * s.stride + j);
          if (pool_takes(x_p[at], x_p[best])) best = at;
        }
      }
      y_p[oh * OW + ow] = x_p[best];
      idx_p[oh * OW + ow] = static_cast<std::int32_t>(best);
    }
  }
}

// The mean over N rows of -log softmax(logits[n])[labels[n]] into *loss, and when dlogits is not
// null its gradient dlogits [N, K] = (softmax(logits[n]) - onehot(labels[n])) / N. Labels lie
// in [0, K) (the callers check).
template <typename T>
inline void softmax_cross_entropy(std::int64_t N, std::int64_t K, const T* logits,
                                  const std::int32_t* labels, T* loss, T* dlogits) {
  T total = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const T* row = logits + n * K;
    // Subtracting the row maximum keeps every exp in (0, 1]: the sum cannot overflow and at
    // least one term is 1, so the log is finite.
    T row_max = row[0];
    for (std::int64_t k = 1; k < K; ++k) row_max = row[k] > row_max ? row[k] : row_max;
    T sum = 0;
    for (std::int64_t k = 0; k < K; ++k) sum += std::exp(row[k] - row_max);
    // -log softmax[label] = log_sum_exp - row[label], grouped so that two huge, equal logits
    // cancel exactly before the small log(sum) is added.
    total += (row_max - row[labels[n]]) + std::log(sum);
    if (dlogits != nullptr) {
      T* d = dlogits + n * K;
      for (std::int64_t k = 0; k < K; ++k) {
        const T p = std::exp(row[k] - row_max) / sum;
        d[k] = (p - (k == labels[n] ? T(1) : T(0))) / static_cast<T>(N);
      }
    }
  }
  *loss = total / static_cast<T>(N);
}

}  // namespace lenet::cpu_ref::formulas
