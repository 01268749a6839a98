// The device-side bookkeeping of a training step (lenet/kernels/batch.h): gather_batch, one
// thread per pixel of the batch in a grid-stride loop, and record_step, one thread.
#include <lenet/kernels/batch.h>

#include <cmath>
#include <cstdint>

#include <lenet/shapes.h>

#include "launch.h"

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

namespace {

constexpr int kBlockSize = 256;

// Thread t of the grid-stride loop handles pixel p = t % pixels of batch row i = t / pixels:
// consecutive threads read consecutive bytes of one image (coalesced) and write consecutive
// floats of x. The batch's first index into order comes from the device counter.
__global__ void gather_batch_kernel(std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                                    const std::uint8_t* images, const std::int32_t* labels,
                                    const std::int32_t* order, const std::int64_t* cursor,
                                    float mean, float stddev, float* x,
                                    std::int32_t* batch_labels) {
  const std::int64_t first = *cursor * batch_size;
  for (const std::int64_t t : grid_stride(n * pixels)) {
    const std::int64_t i = t / pixels, p = t % pixels;
    const std::int64_t j = order[first + i];
    x[t] = (static_cast<float>(images[j * pixels + p]) / 255.0f - mean) / stddev;
    if (p == 0) batch_labels[i] = labels[j];
  }
}

__global__ void record_step_kernel(const float* loss, const std::int64_t* correct,
                                   std::int64_t* cursor, std::int64_t window, float* losses,
                                   std::int64_t* corrects) {
  const std::int64_t slot = *cursor % window;
  losses[slot] = *loss;
  corrects[slot] = *correct;
  *cursor += 1;
}

}  // namespace

void gather_batch(std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                  const std::uint8_t* images, const std::int32_t* labels,
                  const std::int32_t* order, const std::int64_t* cursor, float mean,
                  float stddev, float* x, std::int32_t* batch_labels, cudaStream_t stream) {
  constexpr const char* kOp = "gather_batch";
  LENET_CHECK(n >= 1 && n <= batch_size,
              kOp << ": n must be in [1, batch_size = " << batch_size << "], got " << n);
  LENET_CHECK(pixels >= 1, kOp << ": pixels must be >= 1, got " << pixels);
  const std::int64_t elements = ::lenet::detail::checked_product(kOp, "x [n, pixels]", {n, pixels});
  LENET_CHECK(std::isfinite(mean), kOp << ": mean must be finite, got " << mean);
  LENET_CHECK(std::isfinite(stddev) && stddev > 0.0f,
              kOp << ": stddev must be finite and > 0, got " << stddev);
  LENET_CHECK_NOT_NULL(kOp, images, labels, order, cursor, x, batch_labels);
  LENET_LAUNCH(gather_batch_kernel, detail::grid_1d(elements, kBlockSize), kBlockSize, 0,
               stream, n, batch_size, pixels, images, labels, order, cursor, mean, stddev, x,
               batch_labels);
}

void record_step(const float* loss, const std::int64_t* correct, std::int64_t* cursor,
                 std::int64_t window, float* losses, std::int64_t* corrects,
                 cudaStream_t stream) {
  constexpr const char* kOp = "record_step";
  LENET_CHECK(window >= 1, kOp << ": window must be >= 1, got " << window);
  LENET_CHECK_NOT_NULL(kOp, loss, correct, cursor, losses, corrects);
  LENET_LAUNCH(record_step_kernel, 1, 1, 0, stream, loss, correct, cursor, window, losses,
               corrects);
}

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
