#include <lenet/engine/mnist.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

namespace lenet::engine {
namespace {

namespace fs = std::filesystem;

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint32_t kSide = 28;
constexpr std::int32_t kMaxLabel = 9;
constexpr const char* kDownloadHint = "scripts/download_mnist.sh DIR downloads them";

static_assert(kMnistMaxFileBytes < std::numeric_limits<uInt>::max(),
              "zlib counts input and output in uInt");

[[noreturn]] void fail(const std::string& path, const std::string& defect) {
  throw DataError(path + ": " + defect);
}

std::string hex32(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
  return s.str();
}

std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

std::string too_large(std::uint64_t limit) {
  return "more than the " + std::to_string(limit >> 20) +
         " MiB the reader accepts (a limit against decompression bombs); not an MNIST file";
}

Bytes read_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_directory(st)) fail(path, "is a directory, not a file");
  if (fs::exists(st) && !fs::is_regular_file(st)) fail(path, "is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot get its size: " + ec.message());
  if (size > kMnistMaxFileBytes) fail(path, "is " + std::to_string(size) + " bytes, " + too_large(kMnistMaxFileBytes));
  Bytes bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) {
    fail(path, "read error: got " + std::to_string(in.gcount()) + " of its " + std::to_string(size) + " bytes");
  }
  return bytes;
}

bool is_gzip(const Bytes& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

class Inflater {
 public:
  explicit Inflater(const std::string& path) {
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
      fail(path, std::string("cannot start zlib: ") + (zs_.msg ? zs_.msg : "unknown error"));
    }
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream* get() { return &zs_; }

 private:
  z_stream zs_{};
};

// Decompresses every gzip member (as `cat a.gz b.gz` makes) or throws: a stream that ends
// early, fails its CRC or length check, or is followed by bytes that are not another member
// never comes back as a partial result.
Bytes gunzip(const std::string& path, const Bytes& in) {
  Inflater inflater(path);
  z_stream* zs = inflater.get();
  zs->next_in = const_cast<Bytef*>(in.data());
  zs->avail_in = static_cast<uInt>(in.size());
  const std::size_t limit = kMnistMaxFileBytes;
  Bytes out;
  std::size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() > limit) fail(path, "decompresses to " + too_large(limit));
      out.resize(std::min(std::max<std::size_t>(out.size() * 2, 1 << 20), limit + 1));
    }
    zs->next_out = out.data() + produced;
    zs->avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(zs, Z_NO_FLUSH);
    produced = out.size() - zs->avail_out;
    if (produced > limit) fail(path, "decompresses to " + too_large(limit));
    if (rc == Z_OK) continue;
    if (rc == Z_STREAM_END) {
      if (zs->avail_in == 0) break;
      if (zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b) {
        inflateReset(zs);
        continue;
      }
      fail(path, std::to_string(zs->avail_in) + " trailing bytes after the gzip stream");
    }
    const std::string at = " (after " + std::to_string(in.size() - zs->avail_in) + " of " +
                           std::to_string(in.size()) + " compressed bytes)";
    if (rc == Z_BUF_ERROR) {
      // Output space was free, so inflate stopped for want of input.
      fail(path, "truncated gzip stream: it ends before its end marker" + at);
    }
    if (rc == Z_MEM_ERROR) fail(path, "out of memory while decompressing" + at);
    fail(path, std::string("corrupt gzip stream: ") + (zs->msg ? zs->msg : "invalid data") + at);
  }
  out.resize(produced);
  return out;
}

// An IDX file's dimensions, and its data (the bytes after the header).
struct Idx {
  std::vector<std::uint32_t> dims;
  Bytes data;
};

Idx read_idx(const std::string& path, std::uint32_t magic, std::uint32_t ndims) {
  Bytes bytes = read_file(path);
  if (is_gzip(bytes)) bytes = gunzip(path, bytes);
  const char* kind = magic == kImagesMagic ? "images" : "labels";
  if (bytes.empty()) fail(path, "is empty; expected IDX " + std::string(kind));
  if (bytes.size() < 4) {
    fail(path, "truncated: " + std::to_string(bytes.size()) + " bytes, too short for the 4-byte IDX magic");
  }
  const std::uint32_t found = be32(bytes.data());
  if (found != magic) {
    std::string why = "bad magic " + hex32(found) + ", expected " + hex32(magic) + " (IDX " + kind +
                      ": unsigned bytes, " + std::to_string(ndims) + (ndims == 1 ? " dimension)" : " dimensions)");
    if (found == kImagesMagic) why += "; this is an IDX images file";
    if (found == kLabelsMagic) why += "; this is an IDX labels file";
    if ((found >> 16) != 0) why += "; not an IDX file";
    fail(path, why);
  }
  const std::size_t header = 4 + 4 * std::size_t{ndims};
  if (bytes.size() < header) {
    fail(path, "truncated header: " + std::to_string(bytes.size()) + " bytes, the IDX " + kind + " header needs " +
                   std::to_string(header));
  }
  Idx idx;
  for (std::uint32_t d = 0; d < ndims; ++d) idx.dims.push_back(be32(bytes.data() + 4 + 4 * d));
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  idx.data = std::move(bytes);
  return idx;
}

// Data longer or shorter than the header says is an error either way: a short file is a
// truncated download, a long one is not the file the header describes.
void check_length(const std::string& path, std::uint64_t have, std::uint64_t need, const std::string& what) {
  if (have < need) {
    fail(path, "truncated: the header says " + what + " (" + std::to_string(need) + " bytes) but only " +
                   std::to_string(have) + " bytes follow it");
  }
  if (have > need) fail(path, std::to_string(have - need) + " trailing bytes after the " + what + " the header says");
}

MnistSplit read_images(const std::string& path) {
  Idx idx = read_idx(path, kImagesMagic, 3);
  const std::uint32_t count = idx.dims[0], rows = idx.dims[1], cols = idx.dims[2];
  if (rows != kSide || cols != kSide) {
    fail(path, "images are " + std::to_string(rows) + "x" + std::to_string(cols) + ", expected 28x28");
  }
  if (count == 0) fail(path, "holds no images (its header says 0)");
  const std::string what = std::to_string(count) + " images of 28x28";
  check_length(path, idx.data.size(), std::uint64_t{count} * rows * cols, what);
  MnistSplit split;
  split.count = count;
  split.rows = rows;
  split.cols = cols;
  split.images = std::move(idx.data);
  return split;
}

std::vector<std::int32_t> read_labels(const std::string& path) {
  const Idx idx = read_idx(path, kLabelsMagic, 1);
  const std::uint32_t count = idx.dims[0];
  if (count == 0) fail(path, "holds no labels (its header says 0)");
  check_length(path, idx.data.size(), count, std::to_string(count) + " labels");
  std::vector<std::int32_t> labels(idx.data.begin(), idx.data.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] > kMaxLabel) {
      fail(path, "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) + " is above 9");
    }
  }
  return labels;
}

}  // namespace

MnistSplit read_mnist_split(const std::string& images_path, const std::string& labels_path) {
  MnistSplit split = read_images(images_path);
  split.labels = read_labels(labels_path);
  const auto labels = static_cast<std::int64_t>(split.labels.size());
  if (labels != split.count) {
    throw DataError(images_path + " has " + std::to_string(split.count) + " images but " + labels_path + " has " +
                    std::to_string(labels) + " labels; they must match");
  }
  return split;
}

MnistData load_mnist(const std::string& dir) {
  const std::string expected = std::string("expected ") + kMnistTrainImages + ", " + kMnistTrainLabels + ", " +
                               kMnistTestImages + " and " + kMnistTestLabels + ", each as NAME.gz or NAME; " +
                               kDownloadHint + ", or pass --data DIR or set MNIST_DIR";
  if (dir.empty()) throw DataError(std::string("MNIST directory name is empty; ") + expected);
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, "MNIST directory does not exist; " + expected);
  if (!fs::is_directory(dir, ec)) fail(dir, "is not a directory; " + expected);

  std::string paths[4];
  std::string missing;
  int n_missing = 0;
  const char* names[4] = {kMnistTrainImages, kMnistTrainLabels, kMnistTestImages, kMnistTestLabels};
  for (int i = 0; i < 4; ++i) {
    const std::string gz = (fs::path(dir) / (std::string(names[i]) + ".gz")).string();
    const std::string raw = (fs::path(dir) / names[i]).string();
    if (fs::exists(gz, ec)) {
      paths[i] = gz;
    } else if (fs::exists(raw, ec)) {
      paths[i] = raw;
    } else {
      missing += (n_missing++ ? ", " : "") + std::string(names[i]) + "[.gz]";
    }
  }
  if (n_missing > 0) {
    fail(dir, "missing " + std::to_string(n_missing) + " of the 4 MNIST files (" + missing + "); " + expected);
  }
  MnistData data;
  data.dir = dir;
  data.train = read_mnist_split(paths[0], paths[1]);
  data.test = read_mnist_split(paths[2], paths[3]);
  return data;
}

std::string resolve_mnist_dir(const std::string& data_flag) {
  if (!data_flag.empty()) return data_flag;
  const char* env = std::getenv("MNIST_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "data/mnist";
}

}  // namespace lenet::engine
