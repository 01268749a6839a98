// The training step's bookkeeping on the device, so that no host code runs between steps: a
// batch gathered from a data set that lives in device memory, and each step's loss and correct
// count kept in device arrays the host reads once per many steps. Both read the batch's position
// from a device counter, `cursor` (batches done in the epoch), so one recorded step (a CUDA
// graph) serves every batch of the epoch.
#pragma once

#include <cstdint>

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

// For i < n, with b = *cursor and j = order[b * batch_size + i]: x[i, :] = (images[j, :] / 255 -
// mean) / stddev, as normalize_u8 computes it, and batch_labels[i] = labels[j].
//   images [count, pixels] u8, labels [count], order [count] (a permutation of the images; the
//   launcher cannot see count: every order[b * batch_size + i] must be < count), x [n, pixels],
//   batch_labels [n]. 1 <= n <= batch_size, pixels >= 1, stddev > 0.
void gather_batch(std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                  const std::uint8_t* images, const std::int32_t* labels,
                  const std::int32_t* order, const std::int64_t* cursor, float mean,
                  float stddev, float* x, std::int32_t* batch_labels,
                  cudaStream_t stream = nullptr);

// The end of a step: with b = *cursor, losses[b % window] = *loss, corrects[b % window] =
// *correct, then *cursor = b + 1. One thread; window >= 1.
void record_step(const float* loss, const std::int64_t* correct, std::int64_t* cursor,
                 std::int64_t window, float* losses, std::int64_t* corrects,
                 cudaStream_t stream = nullptr);

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
