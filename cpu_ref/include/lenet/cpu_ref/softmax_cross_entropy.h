// Softmax cross-entropy over rows of logits, mean over the batch (PyTorch's
// cross_entropy(logits, labels) with reduction "mean"), and its gradient.
//
//   loss            = (1/N) * sum over n of -log softmax(logits[n])[label[n]]
//   softmax(row)[k] = exp(row[k]) / sum over j of exp(row[j])
//   dlogits[n, k]   = (softmax(logits[n])[k] - (k == label[n])) / N
// Stable: each row subtracts its maximum before exp, so logits of 1e4 do not overflow.
// Non-finite logits are not an error: they flow through IEEE arithmetic into the loss.
//
// T is float or double. Each call validates its arguments, throwing std::invalid_argument
// that names the function and the argument; a label outside [0, K) names its row.
#pragma once

#include <cstdint>

#include <lenet/cpu_ref/non_deduced.h>

namespace lenet::cpu_ref {

// logits, dlogits: [N, K]; labels: [N]; loss: one scalar. dlogits may be null (loss only) and
// must not overlap logits. N >= 1, K >= 1.
template <typename T>
void softmax_cross_entropy(std::int64_t N, std::int64_t K, const T* logits,
                           const std::int32_t* labels, T* loss, NonDeduced<T>* dlogits);

}  // namespace lenet::cpu_ref
