// The MNIST reader: the four IDX files of the dataset, gzip-compressed or raw.
//
// IDX: a big-endian u32 magic (0x00000803 for images: unsigned bytes, 3 dimensions;
// 0x00000801 for labels: unsigned bytes, 1 dimension), one big-endian u32 per dimension, then
// the data, row-major. A file is gzip when it starts with the gzip magic 1f 8b, whatever its
// name. Every defect throws DataError; nothing is ever returned half read.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet::engine {

// One split: images [count, rows, cols] u8 row-major, labels [count] int32 in [0, 9].
struct MnistSplit {
  std::int64_t count = 0;
  std::int64_t rows = 0, cols = 0;
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
};

struct MnistData {
  std::string dir;
  MnistSplit train, test;
};

// A missing, unreadable or malformed data file. what() is one line that names the file and
// the defect: "data/mnist/train-labels-idx1-ubyte.gz: label 12 at index 345 is above 9".
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Largest file, and largest decompressed stream, the reader accepts: the real images file is
// 47 MB, and a cap keeps a hostile gzip file (a decompression bomb) from exhausting memory.
inline constexpr std::uint64_t kMnistMaxFileBytes = 256ull << 20;

// The four file names, without the ".gz" the download script's files carry.
inline constexpr const char* kMnistTrainImages = "train-images-idx3-ubyte";
inline constexpr const char* kMnistTrainLabels = "train-labels-idx1-ubyte";
inline constexpr const char* kMnistTestImages = "t10k-images-idx3-ubyte";
inline constexpr const char* kMnistTestLabels = "t10k-labels-idx1-ubyte";

// Reads one images file and one labels file (each gzip or raw) and checks them against each
// other. Throws DataError for a file that cannot be read, a corrupt or truncated gzip stream, a
// bad magic, a header or data shorter or longer than the header says, images that are not
// 28x28, no images at all, a label above 9, or counts that differ between the two files.
MnistSplit read_mnist_split(const std::string& images_path, const std::string& labels_path);

// The four files in dir, each as NAME.gz or NAME. When both exist, NAME.gz wins: it is the
// file the download script fetched and checked. Throws DataError when dir or any of the files
// is missing (naming all four and the download script), or for any defect of a file.
MnistData load_mnist(const std::string& dir);

// data_flag (the --data value) if not empty, else $MNIST_DIR if set and not empty, else
// "data/mnist".
std::string resolve_mnist_dir(const std::string& data_flag);

}  // namespace lenet::engine
