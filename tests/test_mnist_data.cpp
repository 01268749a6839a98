// The MNIST reader on the real files in $MNIST_DIR (label mnist): counts, shapes and a few
// facts every copy of the dataset has. Without MNIST_DIR every test skips.
#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/engine/mnist.h>

#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace lenet::engine;

std::string mnist_dir() {
  const char* dir = std::getenv("MNIST_DIR");
  return dir ? dir : "";
}

#define LENET_REQUIRE_MNIST_DIR()                                                                    \
  do {                                                                                               \
    if (mnist_dir().empty()) {                                                                       \
      GTEST_SKIP() << "MNIST_DIR is not set: point it at the four MNIST files "                      \
                      "(scripts/download_mnist.sh fetches them) to run this test";                   \
    }                                                                                                \
  } while (0)

std::array<std::int64_t, 10> histogram(const MnistSplit& s) {
  std::array<std::int64_t, 10> h{};
  for (std::int32_t label : s.labels) ++h.at(static_cast<std::size_t>(label));
  return h;
}

double mean_pixel(const MnistSplit& s) {
  const double sum = std::accumulate(s.images.begin(), s.images.end(), 0.0);
  return sum / static_cast<double>(s.images.size()) / 255.0;
}

TEST(MnistData, CountsShapesAndLabels) {
  LENET_REQUIRE_MNIST_DIR();
  const MnistData data = load_mnist(mnist_dir());
  EXPECT_EQ(data.dir, mnist_dir());

  EXPECT_EQ(data.train.count, 60000);
  EXPECT_EQ(data.test.count, 10000);
  for (const MnistSplit* s : {&data.train, &data.test}) {
    EXPECT_EQ(s->rows, 28);
    EXPECT_EQ(s->cols, 28);
    EXPECT_EQ(s->images.size(), static_cast<std::size_t>(s->count * 28 * 28));
    EXPECT_EQ(s->labels.size(), static_cast<std::size_t>(s->count));
  }

  const std::array<std::int64_t, 10> train = histogram(data.train);
  const std::array<std::int64_t, 10> test = histogram(data.test);
  EXPECT_EQ(std::accumulate(train.begin(), train.end(), std::int64_t{0}), 60000);
  EXPECT_EQ(std::accumulate(test.begin(), test.end(), std::int64_t{0}), 10000);
  EXPECT_EQ(train, (std::array<std::int64_t, 10>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(test, (std::array<std::int64_t, 10>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));

  EXPECT_EQ(std::vector<std::int32_t>(data.train.labels.begin(), data.train.labels.begin() + 10),
            (std::vector<std::int32_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  EXPECT_EQ(std::vector<std::int32_t>(data.test.labels.begin(), data.test.labels.begin() + 10),
            (std::vector<std::int32_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
}

TEST(MnistData, PixelStatistics) {
  LENET_REQUIRE_MNIST_DIR();
  const MnistData data = load_mnist(mnist_dir());
  // The mean usually quoted for normalizing MNIST (0.1307) and its test-set counterpart.
  EXPECT_NEAR(mean_pixel(data.train), 0.1307, 5e-4);
  EXPECT_NEAR(mean_pixel(data.test), 0.1325, 5e-4);
  // Digits are white on black: every image has black corners and some fully white ink.
  for (std::int64_t i = 0; i < data.train.count; i += 997) {
    const std::uint8_t* image = data.train.images.data() + i * 28 * 28;
    EXPECT_EQ(image[0], 0) << "image " << i;
    EXPECT_EQ(image[28 * 28 - 1], 0) << "image " << i;
  }
}

TEST(MnistData, RawAndGzipCopiesReadTheSame) {
  LENET_REQUIRE_MNIST_DIR();
  const fs::path gz = fs::path(mnist_dir()) / "t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(gz)) GTEST_SKIP() << gz << " is not there (MNIST_DIR holds raw files)";
  const lenet::test::TempDir dir;
  const fs::path raw = dir.file("t10k-labels-idx1-ubyte");
  {
    gzFile in = gzopen(gz.c_str(), "rb");
    ASSERT_NE(in, nullptr);
    std::ofstream out(raw, std::ios::binary);
    char buf[4096];
    int n = 0;
    while ((n = gzread(in, buf, sizeof buf)) > 0) out.write(buf, n);
    EXPECT_EQ(n, 0);
    gzclose(in);
  }
  fs::path images = fs::path(mnist_dir()) / "t10k-images-idx3-ubyte.gz";
  if (!fs::exists(images)) images.replace_extension();
  const MnistSplit from_raw = read_mnist_split(images.string(), raw.string());
  const MnistSplit from_gz = read_mnist_split(images.string(), gz.string());
  EXPECT_EQ(fs::file_size(raw), 10008u);  // 8 header bytes and 10000 labels
  EXPECT_EQ(from_raw.labels, from_gz.labels);
  EXPECT_EQ(from_raw.count, 10000);
}

}  // namespace
