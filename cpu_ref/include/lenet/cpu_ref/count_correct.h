// Predictions and accuracy from logits.
//
//   pred[n]  = the k with the largest logits[n, k]; the first maximum wins, and a NaN wins over
//              every number (the first NaN), as torch.argmax does
//   *correct = the number of rows n with pred[n] == labels[n]
//
// T is float or double. Outputs overwritten. N >= 1, K >= 1; a label outside [0, K) throws
// naming its row. Throws std::invalid_argument naming the argument.
#pragma once

#include <cstdint>

namespace lenet::cpu_ref {

// logits: [N, K]; pred: [N].
template <typename T>
void argmax_rows(std::int64_t N, std::int64_t K, const T* logits, std::int32_t* pred);

// logits: [N, K]; labels: [N]; correct: one count.
template <typename T>
void count_correct(std::int64_t N, std::int64_t K, const T* logits, const std::int32_t* labels,
                   std::int64_t* correct);

}  // namespace lenet::cpu_ref
