// gather_batch and record_step: a batch gathered from a resident data set at the position a
// device counter holds, normalized as normalize_u8 does; a step's loss and count recorded in a
// window of device slots, and the counter advanced.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/normalize.h>
#include <lenet/kernels/batch.h>

#include "support/compare.h"
#include "support/device.h"
#include "support/random.h"
#include "support/throws.h"

namespace {

using lenet::test::DeviceArray;

constexpr std::int64_t kPixels = 28 * 28;

// A small data set of `count` random images and labels, and a shuffled order over it.
struct DataSet {
  std::int64_t count;
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  std::vector<std::int32_t> order;
};

DataSet data_set(std::int64_t count, std::uint64_t seed) {
  DataSet d{count, lenet::test::random_bytes(count * kPixels, seed),
            lenet::test::random_labels(count, 10, seed + 1), std::vector<std::int32_t>(count)};
  std::iota(d.order.begin(), d.order.end(), 0);
  std::shuffle(d.order.begin(), d.order.end(), std::mt19937_64(seed + 2));
  return d;
}

// Batch b (of batch_size) of the order, n images, on the device; x and labels come back.
struct Gathered {
  std::vector<float> x;
  std::vector<std::int32_t> labels;
};

Gathered gather(const DataSet& d, std::int64_t b, std::int64_t batch_size, std::int64_t n) {
  const DeviceArray<std::uint8_t> images(d.images);
  const DeviceArray<std::int32_t> labels(d.labels), order(d.order);
  const DeviceArray<std::int64_t> cursor(std::vector<std::int64_t>{b});
  DeviceArray<float> x = lenet::test::poisoned<float>(n * kPixels);
  DeviceArray<std::int32_t> batch_labels = lenet::test::poisoned<std::int32_t>(n);
  lenet::kernels::gather_batch(n, batch_size, kPixels, images.get(), labels.get(), order.get(),
                               cursor.get(), 0.5f, 0.5f, x.get(), batch_labels.get());
  EXPECT_EQ(cursor.download(), std::vector<std::int64_t>{b}) << "gather leaves the counter";
  return {x.download(), batch_labels.download()};
}

// The rows the order names, normalized by the double reference.
Gathered reference(const DataSet& d, std::int64_t b, std::int64_t batch_size, std::int64_t n) {
  Gathered want{std::vector<float>(n * kPixels), std::vector<std::int32_t>(n)};
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = d.order[b * batch_size + i];
    std::vector<double> row(kPixels);
    lenet::cpu_ref::normalize_u8<double>(kPixels, d.images.data() + j * kPixels, row.data(), 0.5,
                                         0.5);
    for (std::int64_t p = 0; p < kPixels; ++p) {
      want.x[i * kPixels + p] = static_cast<float>(row[p]);
    }
    want.labels[i] = d.labels[j];
  }
  return want;
}

TEST(BatchKernel, GatherTakesTheBatchTheCounterNames) {
  const DataSet d = data_set(300, 5);
  // First and middle full batches of 64, and the short last one (300 = 4 * 64 + 44).
  for (const auto& [b, n] : {std::pair<std::int64_t, std::int64_t>{0, 64}, {2, 64}, {4, 44}}) {
    SCOPED_TRACE("batch " + std::to_string(b));
    const Gathered got = gather(d, b, 64, n);
    const Gathered want = reference(d, b, 64, n);
    EXPECT_TRUE(lenet::test::all_close(got.x, want.x, 1e-6, 1e-6));
    EXPECT_EQ(got.labels, want.labels);
  }
}

TEST(BatchKernel, RecordStepFillsTheWindowAndAdvancesTheCounter) {
  constexpr std::int64_t kWindow = 3;
  DeviceArray<float> loss(1), losses = lenet::test::poisoned<float>(kWindow);
  DeviceArray<std::int64_t> correct(1), corrects = lenet::test::poisoned<std::int64_t>(kWindow);
  DeviceArray<std::int64_t> cursor(std::vector<std::int64_t>{5});  // slot 5 % 3 = 2 first
  for (int step = 0; step < 4; ++step) {
    loss.upload({0.5f + static_cast<float>(step)});
    correct.upload({std::int64_t{10} + step});
    lenet::kernels::record_step(loss.get(), correct.get(), cursor.get(), kWindow, losses.get(),
                                corrects.get());
  }
  // Steps at cursor 5, 6, 7, 8 went to slots 2, 0, 1, 2: the last overwrote the first.
  EXPECT_EQ(cursor.download(), std::vector<std::int64_t>{9});
  EXPECT_EQ(losses.download(), (std::vector<float>{1.5f, 2.5f, 3.5f}));
  EXPECT_EQ(corrects.download(), (std::vector<std::int64_t>{11, 12, 13}));
}

TEST(BatchKernel, LaunchersCheckTheirArguments) {
  DeviceArray<std::uint8_t> images(kPixels);
  DeviceArray<std::int32_t> labels(1), order(1), batch_labels(1);
  DeviceArray<std::int64_t> cursor(1);
  DeviceArray<float> x(kPixels);
  const auto gather_call = [&](std::int64_t n, std::int64_t batch_size, std::int64_t pixels,
                               float stddev, const std::int32_t* order_ptr) {
    return [=, &images, &labels, &cursor, &x, &batch_labels] {
      lenet::kernels::gather_batch(n, batch_size, pixels, images.get(), labels.get(), order_ptr,
                                   cursor.get(), 0.5f, stddev, x.get(), batch_labels.get());
    };
  };
  using lenet::test::throws_invalid_argument;
  EXPECT_TRUE(throws_invalid_argument(gather_call(0, 1, kPixels, 0.5f, order.get()),
                                      {"gather_batch: n must be in [1, batch_size = 1]"}));
  EXPECT_TRUE(throws_invalid_argument(gather_call(2, 1, kPixels, 0.5f, order.get()),
                                      {"gather_batch: n must be in"}));
  EXPECT_TRUE(throws_invalid_argument(gather_call(1, 1, 0, 0.5f, order.get()),
                                      {"gather_batch: pixels must be >= 1"}));
  EXPECT_TRUE(throws_invalid_argument(gather_call(1, 1, kPixels, 0.0f, order.get()),
                                      {"gather_batch: stddev must be"}));
  EXPECT_TRUE(throws_invalid_argument(gather_call(1, 1, kPixels, 0.5f, nullptr),
                                      {"gather_batch: order is null"}));
  DeviceArray<float> loss(1), losses(1);
  DeviceArray<std::int64_t> correct(1), corrects(1);
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        lenet::kernels::record_step(loss.get(), correct.get(), cursor.get(), 0, losses.get(),
                                    corrects.get());
      },
      {"record_step: window must be >= 1, got 0"}));
  EXPECT_TRUE(throws_invalid_argument(
      [&] {
        lenet::kernels::record_step(loss.get(), correct.get(), nullptr, 1, losses.get(),
                                    corrects.get());
      },
      {"record_step: cursor is null"}));
}

}  // namespace
