// The MNIST reader on small IDX files the tests write, raw and gzip-compressed: every defect
// is one DataError that names the file and the defect.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/engine/mnist.h>

#include "support/scoped_env.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace lenet::engine;
using Bytes = std::vector<std::uint8_t>;

void put_be32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

Bytes idx(std::uint32_t magic, std::initializer_list<std::uint32_t> dims, const Bytes& data) {
  Bytes b;
  put_be32(b, magic);
  for (std::uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes pixels(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, 255);
  Bytes p(n);
  for (auto& v : p) v = static_cast<std::uint8_t>(dist(rng));
  return p;
}

Bytes images_file(std::uint32_t count, std::uint32_t rows = 28, std::uint32_t cols = 28, unsigned seed = 1) {
  return idx(0x803, {count, rows, cols}, pixels(std::size_t{count} * rows * cols, seed));
}

Bytes labels_file(const Bytes& labels) {
  return idx(0x801, {static_cast<std::uint32_t>(labels.size())}, labels);
}

Bytes gzip(const Bytes& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes head(const Bytes& b, std::size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)); }

// Runs f, which must throw DataError whose one-line message contains every part.
void expect_data_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no DataError thrown; expected one containing '" << *parts.begin() << "'";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "not one line: " << what;
    for (const std::string& part : parts) {
      EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
    }
  }
}

class MnistReader : public ::testing::Test {
 protected:
  // Writes a file into the test's own directory and returns its path.
  std::string write(const std::string& name, const Bytes& bytes) { return tmp_.write(name, bytes); }

  const lenet::test::TempDir tmp_;
  const fs::path dir_ = tmp_.path();

  // A valid split: 3 images, 3 labels.
  const Bytes good_images_ = images_file(3);
  const Bytes good_labels_ = labels_file({0, 9, 4});
};

void expect_split(const MnistSplit& s, const Bytes& images, const Bytes& labels) {
  EXPECT_EQ(s.count, static_cast<std::int64_t>(labels.size()) - 8);
  EXPECT_EQ(s.rows, 28);
  EXPECT_EQ(s.cols, 28);
  EXPECT_EQ(s.images, Bytes(images.begin() + 16, images.end()));
  EXPECT_EQ(s.labels, std::vector<std::int32_t>(labels.begin() + 8, labels.end()));
}

TEST_F(MnistReader, ReadsRawFiles) {
  const MnistSplit s = read_mnist_split(write("i", good_images_), write("l", good_labels_));
  expect_split(s, good_images_, good_labels_);
  EXPECT_EQ(s.images.size(), 3u * 28 * 28);
  EXPECT_EQ(s.labels, (std::vector<std::int32_t>{0, 9, 4}));
}

TEST_F(MnistReader, ReadsGzipFiles) {
  expect_split(read_mnist_split(write("i.gz", gzip(good_images_)), write("l.gz", gzip(good_labels_))), good_images_,
               good_labels_);
  expect_split(read_mnist_split(write("i2.gz", gzip(good_images_)), write("l2", good_labels_)), good_images_,
               good_labels_);
}

TEST_F(MnistReader, ReadsGzipFilesOfSeveralMembers) {
  // `cat a.gz b.gz` is a valid gzip file that decompresses to both contents in turn.
  const Bytes split_images = concat(gzip(head(good_images_, 100)), gzip(Bytes(good_images_.begin() + 100, good_images_.end())));
  expect_split(read_mnist_split(write("i.gz", split_images), write("l.gz", gzip(good_labels_))), good_images_,
               good_labels_);
}

TEST_F(MnistReader, DetectsGzipByMagicNotByName) {
  expect_split(read_mnist_split(write("images.raw", gzip(good_images_)), write("labels.gz", good_labels_)),
               good_images_, good_labels_);
}

TEST_F(MnistReader, LargerImageCountsReadCompletely) {
  // Larger than zlib's and the reader's first output buffer (1 MiB), so the buffer must grow.
  const Bytes images = images_file(2000, 28, 28, 7);
  Bytes labels_data(2000);
  for (std::size_t i = 0; i < labels_data.size(); ++i) labels_data[i] = static_cast<std::uint8_t>(i % 10);
  const Bytes labels = labels_file(labels_data);
  expect_split(read_mnist_split(write("i.gz", gzip(images)), write("l.gz", gzip(labels))), images, labels);
}

TEST_F(MnistReader, LoadMnistFindsTheFourFilesRawOrGzip) {
  const Bytes test_images = images_file(2, 28, 28, 2);
  const Bytes test_labels = labels_file({7, 2});
  write("train-images-idx3-ubyte.gz", gzip(good_images_));
  write("train-labels-idx1-ubyte", good_labels_);
  write("t10k-images-idx3-ubyte", test_images);
  write("t10k-labels-idx1-ubyte.gz", gzip(test_labels));
  const MnistData data = load_mnist(dir_.string());
  EXPECT_EQ(data.dir, dir_.string());
  expect_split(data.train, good_images_, good_labels_);
  expect_split(data.test, test_images, test_labels);
}

TEST_F(MnistReader, LoadMnistPrefersGzWhenBothExist) {
  write("train-images-idx3-ubyte.gz", gzip(good_images_));
  write("train-images-idx3-ubyte", images_file(2));
  write("train-labels-idx1-ubyte.gz", gzip(good_labels_));
  write("train-labels-idx1-ubyte", labels_file({1, 1}));
  write("t10k-images-idx3-ubyte.gz", gzip(good_images_));
  write("t10k-labels-idx1-ubyte.gz", gzip(good_labels_));
  EXPECT_EQ(load_mnist(dir_.string()).train.count, 3);
}

TEST_F(MnistReader, MissingFilesAreListedWithTheDownloadScript) {
  write("train-images-idx3-ubyte.gz", gzip(good_images_));
  write("t10k-labels-idx1-ubyte", good_labels_);
  expect_data_error([&] { load_mnist(dir_.string()); },
                    {dir_.string() + ": missing 2 of the 4 MNIST files",
                     "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz])",
                     "expected train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                     "t10k-labels-idx1-ubyte, each as NAME.gz or NAME",
                     "scripts/download_mnist.sh", "--data DIR", "MNIST_DIR"});
}

TEST_F(MnistReader, MissingDirectory) {
  const std::string missing = (dir_ / "nowhere").string();
  expect_data_error([&] { load_mnist(missing); },
                    {missing + ": MNIST directory does not exist", "t10k-labels-idx1-ubyte", "scripts/download_mnist.sh"});
  const std::string file = write("plain_file", good_labels_);
  expect_data_error([&] { load_mnist(file); }, {file + ": is not a directory"});
  expect_data_error([&] { load_mnist(""); }, {"MNIST directory name is empty"});
}

TEST_F(MnistReader, MissingOrUnreadableFileInASplit) {
  const std::string labels = write("l", good_labels_);
  const std::string missing = (dir_ / "absent").string();
  expect_data_error([&] { read_mnist_split(missing, labels); }, {missing + ": cannot open: No such file or directory"});
  fs::create_directory(dir_ / "sub");
  expect_data_error([&] { read_mnist_split((dir_ / "sub").string(), labels); }, {"sub: is a directory, not a file"});
}

TEST_F(MnistReader, BadMagic) {
  const std::string labels = write("l", good_labels_);
  const std::string images = write("i", good_images_);
  expect_data_error([&] { read_mnist_split(labels, labels); },
                    {labels + ": bad magic 0x00000801, expected 0x00000803 (IDX images: unsigned bytes, 3 dimensions)",
                     "this is an IDX labels file"});
  expect_data_error([&] { read_mnist_split(images, images); },
                    {images + ": bad magic 0x00000803, expected 0x00000801 (IDX labels: unsigned bytes, 1 dimension)",
                     "this is an IDX images file"});
  const std::string zip = write("zip.gz", {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  expect_data_error([&] { read_mnist_split(zip, labels); }, {zip + ": bad magic 0x504b0304", "not an IDX file"});
  Bytes floats = good_images_;
  floats[2] = 0x0d;  // IDX float32 images
  const std::string f = write("f", floats);
  expect_data_error([&] { read_mnist_split(f, labels); }, {f + ": bad magic 0x00000d03"});
}

TEST_F(MnistReader, TruncatedHeader) {
  const std::string labels = write("l", good_labels_);
  const std::string empty = write("empty", {});
  expect_data_error([&] { read_mnist_split(empty, labels); }, {empty + ": is empty; expected IDX images"});
  const std::string three = write("three", head(good_images_, 3));
  expect_data_error([&] { read_mnist_split(three, labels); },
                    {three + ": truncated: 3 bytes, too short for the 4-byte IDX magic"});
  const std::string twelve = write("twelve.gz", gzip(head(good_images_, 12)));
  expect_data_error([&] { read_mnist_split(twelve, labels); },
                    {twelve + ": truncated header: 12 bytes, the IDX images header needs 16"});
  const std::string images = write("i", good_images_);
  const std::string short_labels = write("l4", head(good_labels_, 4));
  expect_data_error([&] { read_mnist_split(images, short_labels); },
                    {short_labels + ": truncated header: 4 bytes, the IDX labels header needs 8"});
}

TEST_F(MnistReader, TruncatedData) {
  const std::string labels = write("l", good_labels_);
  const Bytes cut = head(good_images_, good_images_.size() - 1);
  for (const std::string& images : {write("i", cut), write("i.gz", gzip(cut))}) {
    expect_data_error([&] { read_mnist_split(images, labels); },
                      {images + ": truncated: the header says 3 images of 28x28 (2352 bytes) but only 2351 bytes follow it"});
  }
  const std::string images = write("i", good_images_);
  const std::string short_labels = write("l2.gz", gzip(head(good_labels_, 10)));
  expect_data_error([&] { read_mnist_split(images, short_labels); },
                    {short_labels + ": truncated: the header says 3 labels (3 bytes) but only 2 bytes follow it"});
}

TEST_F(MnistReader, TrailingBytes) {
  const std::string labels = write("l", good_labels_);
  const std::string images = write("i.gz", gzip(concat(good_images_, Bytes(5, 0))));
  expect_data_error([&] { read_mnist_split(images, labels); },
                    {images + ": 5 trailing bytes after the 3 images of 28x28 the header says"});
  const std::string long_labels = write("l2", concat(good_labels_, {1}));
  expect_data_error([&] { read_mnist_split(write("i2", good_images_), long_labels); },
                    {long_labels + ": 1 trailing bytes after the 3 labels the header says"});
}

TEST_F(MnistReader, ImageAndLabelCountsDiffer) {
  const std::string images = write("i", good_images_);
  const std::string labels = write("l.gz", gzip(labels_file({1, 2})));
  expect_data_error([&] { read_mnist_split(images, labels); },
                    {images + " has 3 images but " + labels + " has 2 labels"});
}

TEST_F(MnistReader, ImagesThatAreNot28x28) {
  const std::string labels = write("l", good_labels_);
  const std::string wide = write("wide", images_file(3, 28, 32));
  expect_data_error([&] { read_mnist_split(wide, labels); }, {wide + ": images are 28x32, expected 28x28"});
  const std::string big = write("big.gz", gzip(images_file(3, 32, 32)));
  expect_data_error([&] { read_mnist_split(big, labels); }, {big + ": images are 32x32, expected 28x28"});
  // Dimensions whose product would overflow are rejected before anything is multiplied.
  const std::string huge = write("huge", idx(0x803, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  expect_data_error([&] { read_mnist_split(huge, labels); }, {huge + ": images are 4294967295x4294967295"});
}

TEST_F(MnistReader, NoImagesOrNoLabels) {
  const std::string none = write("none", idx(0x803, {0, 28, 28}, {}));
  expect_data_error([&] { read_mnist_split(none, write("l", good_labels_)); },
                    {none + ": holds no images (its header says 0)"});
  const std::string no_labels = write("nl", labels_file({}));
  expect_data_error([&] { read_mnist_split(write("i", good_images_), no_labels); },
                    {no_labels + ": holds no labels (its header says 0)"});
}

TEST_F(MnistReader, LabelAboveNine) {
  const std::string images = write("i", images_file(4));
  const std::string labels = write("l.gz", gzip(labels_file({1, 9, 10, 255})));
  expect_data_error([&] { read_mnist_split(images, labels); }, {labels + ": label 10 at index 2 is above 9"});
}

TEST_F(MnistReader, CorruptGzipStream) {
  const std::string labels = write("l", good_labels_);
  const Bytes gz = gzip(good_images_);
  ASSERT_GT(gz.size(), 100u);

  Bytes garbled = gz;
  for (std::size_t i = 20; i < 40; ++i) garbled[i] ^= 0x5a;
  const std::string g = write("garbled.gz", garbled);
  expect_data_error([&] { read_mnist_split(g, labels); }, {g + ": corrupt gzip stream: ", "compressed bytes)"});

  Bytes bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 1;
  const std::string c = write("crc.gz", bad_crc);
  expect_data_error([&] { read_mnist_split(c, labels); }, {c + ": corrupt gzip stream: incorrect data check"});

  Bytes bad_length = gz;
  bad_length[gz.size() - 4] ^= 1;
  const std::string l = write("length.gz", bad_length);
  expect_data_error([&] { read_mnist_split(l, labels); }, {l + ": corrupt gzip stream: incorrect length check"});

  Bytes bad_method = gz;
  bad_method[2] = 7;
  const std::string m = write("method.gz", bad_method);
  expect_data_error([&] { read_mnist_split(m, labels); }, {m + ": corrupt gzip stream: unknown compression method"});

  const std::string t = write("trailing.gz", concat(gz, {'x', 'y', 'z'}));
  expect_data_error([&] { read_mnist_split(t, labels); }, {t + ": 3 trailing bytes after the gzip stream"});
}

TEST_F(MnistReader, TruncatedGzipStream) {
  const std::string labels = write("l", good_labels_);
  const Bytes gz = gzip(good_images_);
  for (const std::size_t keep : {std::size_t{2}, std::size_t{12}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
    const std::string p = write("cut" + std::to_string(keep) + ".gz", head(gz, keep));
    expect_data_error([&] { read_mnist_split(p, labels); },
                      {p + ": truncated gzip stream: it ends before its end marker (after " + std::to_string(keep) +
                       " of " + std::to_string(keep) + " compressed bytes)"});
  }
}

TEST_F(MnistReader, DecompressionBombIsRefused) {
  // 256 gzip members of 1 MiB of zeros each and one of a single byte: one byte over the limit,
  // out of about 260 KB in.
  const Bytes member = gzip(Bytes(1 << 20, 0));
  Bytes bomb;
  for (int i = 0; i < 256; ++i) bomb.insert(bomb.end(), member.begin(), member.end());
  bomb = concat(bomb, gzip({0}));
  const std::string p = write("bomb.gz", bomb);
  expect_data_error([&] { read_mnist_split(p, write("l", good_labels_)); },
                    {p + ": decompresses to more than the 256 MiB the reader accepts (a limit against decompression "
                         "bombs); not an MNIST file"});
}

TEST_F(MnistReader, OversizedFileIsRefusedBeforeReading) {
  const std::string p = write("huge", good_images_);
  fs::resize_file(p, lenet::engine::kMnistMaxFileBytes + 1);  // sparse: costs no disk space
  expect_data_error([&] { read_mnist_split(p, write("l", good_labels_)); },
                    {p + ": is 268435457 bytes, more than the 256 MiB the reader accepts"});
}

TEST(MnistDir, FlagThenEnvironmentThenDefault) {
  const lenet::test::ScopedEnv env("MNIST_DIR", "/env/mnist");
  EXPECT_EQ(resolve_mnist_dir("/flag/mnist"), "/flag/mnist");
  EXPECT_EQ(resolve_mnist_dir(""), "/env/mnist");
  env.set("");
  EXPECT_EQ(resolve_mnist_dir(""), "data/mnist");
  env.set(nullptr);
  EXPECT_EQ(resolve_mnist_dir(""), "data/mnist");
  EXPECT_EQ(resolve_mnist_dir("x"), "x");
}

}  // namespace
