#include <lenet/engine/safetensors.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include <lenet/error.h>

namespace lenet::engine {
namespace {

// ordered_json keeps the header's key order, which is the tie-break between tensors that start
// at the same offset (empty ones).
using Json = nlohmann::ordered_json;

// The reference implementation's limit; lenet's own headers are about 2 kB.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";
constexpr std::uint64_t kBytesPerElement = 4;
// The largest element count whose byte size fits in the int64 shapes and offsets.
constexpr std::uint64_t kMaxElements =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / kBytesPerElement;
// Containers in a valid header: the top object (depth 0), tensor entries and __metadata__
// (depth 1), shape and data_offsets (depth 2). Anything deeper is refused while parsing, so a
// hostile header cannot make the parser build a deep tree.
constexpr int kMaxContainerDepth = 2;

std::string error_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// A header value for a message: one line whatever characters it holds, and short even when a
// hostile file puts megabytes into it.
std::string excerpt(const Json& v) {
  constexpr std::size_t kMaxChars = 80;
  std::string text = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return text;
}

// Parser messages quote the bytes they stopped at, which in a hostile file may be invalid UTF-8,
// control characters or megabytes of one unterminated string.
std::string printable(const std::string& text) {
  constexpr std::size_t kMaxChars = 200;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    if (out.size() >= kMaxChars) return out + "...";
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

// A name as a JSON string literal: "conv1.weight".
std::string quote_name(const std::string& s) { return excerpt(Json(s)); }

std::string offsets_text(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

[[noreturn]] void fail(const std::string& path, const std::string& defect) {
  throw CheckpointError(path + ": " + defect);
}

[[noreturn]] void fail_errno(const std::string& path, const std::string& what, int err) {
  fail(path, what + ": " + error_text(err));
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void check_tensors(const SafetensorsFile& file) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    const NamedTensor& t = file.tensors[i];
    LENET_CHECK(!t.name.empty(), "save_safetensors: tensor " << i << " has an empty name");
    LENET_CHECK(t.name != kMetadataKey, "save_safetensors: tensor "
                                            << i << " is named " << kMetadataKey
                                            << ", which the format reserves");
    LENET_CHECK(names.insert(t.name).second,
                "save_safetensors: tensor name " << quote_name(t.name) << " appears twice");
    bool has_zero = false;
    for (std::int64_t d : t.shape) {
      LENET_CHECK(d >= 0, "save_safetensors: tensor " << quote_name(t.name) << ": shape "
                                                      << shape_text(t.shape)
                                                      << " has a negative dimension");
      has_zero = has_zero || d == 0;
    }
    std::uint64_t count = has_zero ? 0 : 1;
    for (std::int64_t d : t.shape) {
      if (has_zero) break;
      LENET_CHECK(count <= kMaxElements / static_cast<std::uint64_t>(d),
                  "save_safetensors: tensor " << quote_name(t.name) << ": shape "
                                              << shape_text(t.shape) << " is too large");
      count *= static_cast<std::uint64_t>(d);
    }
    LENET_CHECK(count == t.data.size(), "save_safetensors: tensor "
                                            << quote_name(t.name) << ": shape "
                                            << shape_text(t.shape) << " has " << count
                                            << " elements but data has " << t.data.size());
  }
}

// The header JSON, padded with spaces to a multiple of 8 bytes so that the data buffer starts
// aligned (as the reference implementation writes it).
std::string header_text(const SafetensorsFile& file) {
  Json header = Json::object();
  if (!file.metadata.empty()) {
    Json metadata = Json::object();
    for (const auto& [key, value] : file.metadata) metadata[key] = value;
    header[kMetadataKey] = std::move(metadata);
  }
  std::uint64_t offset = 0;
  for (const NamedTensor& t : file.tensors) {
    const std::uint64_t bytes = t.data.size() * kBytesPerElement;
    Json entry = Json::object();
    entry["dtype"] = "F32";
    entry["shape"] = t.shape;
    entry["data_offsets"] = Json::array({offset, offset + bytes});
    header[t.name] = std::move(entry);
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::type_error& e) {
    throw std::invalid_argument(
        std::string("save_safetensors: a tensor name or metadata string is not valid UTF-8: ") +
        e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void append_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string file_bytes(const SafetensorsFile& file) {
  const std::string header = header_text(file);
  std::uint64_t data_bytes = 0;
  for (const NamedTensor& t : file.tensors) data_bytes += t.data.size() * kBytesPerElement;
  std::string out;
  out.reserve(8 + header.size() + data_bytes);
  append_le(out, header.size(), 8);
  out += header;
  for (const NamedTensor& t : file.tensors) {
    for (float f : t.data) {
      std::uint32_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      append_le(out, bits, 4);  // byte by byte: little-endian on any host
    }
  }
  return out;
}

// 0 when all of bytes reached fd, else the errno of the write that failed.
int write_all(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::uint64_t read_le(const unsigned char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads count bytes at offset into out; false when the file ends first.
bool read_at(const std::string& path, int fd, std::uint64_t offset, std::uint64_t count,
             unsigned char* out) {
  while (count > 0) {
    const ssize_t n = ::pread(fd, out, count, static_cast<off_t>(offset));
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      fail_errno(path, "cannot read", err);
    }
    if (n == 0) return false;
    out += n;
    offset += static_cast<std::uint64_t>(n);
    count -= static_cast<std::uint64_t>(n);
  }
  return true;
}

// Rejects duplicate keys (the JSON parser would keep only the last one) and containers nested
// deeper than a safetensors header has.
class HeaderGuard {
 public:
  explicit HeaderGuard(const std::string& path) : path_(path) {}

  bool operator()(int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth > kMaxContainerDepth) {
          fail(path_, "header nests JSON " + std::to_string(depth + 1) +
                          " levels deep; a safetensors header has at most " +
                          std::to_string(kMaxContainerDepth + 1));
        }
        if (event == Json::parse_event_t::object_start) objects_.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        objects_.pop_back();
        break;
      case Json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!objects_.back().keys.insert(key).second) {
          if (objects_.size() == 1)
            fail(path_, "name " + quote_name(key) + " appears twice in the header");
          fail(path_, "header entry " + quote_name(objects_[objects_.size() - 2].last_key) +
                          ": key " + quote_name(key) + " appears twice");
        }
        objects_.back().last_key = key;
        break;
      }
      default:
        break;
    }
    return true;
  }

 private:
  struct Object {
    std::set<std::string> keys;
    std::string last_key;
  };
  const std::string& path_;
  std::vector<Object> objects_;
};

struct Entry {
  std::string name;
  std::vector<std::int64_t> shape;
  std::uint64_t count = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// A non-negative integer from the header, or a CheckpointError saying what `what` holds instead.
std::uint64_t unsigned_value(const std::string& where, const std::string& what, const Json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer())
    throw CheckpointError(where + what + " is negative (" + excerpt(v) + ")");
  throw CheckpointError(where + what + " is not a non-negative integer (got " + excerpt(v) + ")");
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& value,
                  std::uint64_t buffer_size) {
  const std::string where = path + ": tensor " + quote_name(name) + ": ";
  auto bad = [&](const std::string& defect) -> CheckpointError {
    return CheckpointError(where + defect);
  };
  if (!value.is_object()) {
    throw bad(std::string("header entry is ") + value.type_name() +
              ", expected an object with dtype, shape and data_offsets");
  }
  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) throw bad("dtype is missing or not a string");
  if (dtype->get_ref<const std::string&>() != "F32") {
    throw bad("dtype " + excerpt(*dtype) + " is not supported (lenet reads F32 only)");
  }

  Entry e;
  e.name = name;
  const auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) throw bad("shape is missing or not an array");
  bool has_zero = false;
  for (std::size_t i = 0; i < shape->size(); ++i) {
    const std::uint64_t d =
        unsigned_value(where, "shape dimension " + std::to_string(i), (*shape)[i]);
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw bad("shape dimension " + std::to_string(i) + " (" + std::to_string(d) +
                ") is too large");
    }
    e.shape.push_back(static_cast<std::int64_t>(d));
    has_zero = has_zero || d == 0;
  }
  e.count = has_zero ? 0 : 1;
  for (std::int64_t d : e.shape) {
    if (has_zero) break;
    if (e.count > kMaxElements / static_cast<std::uint64_t>(d)) {
      throw bad("shape " + shape_text(e.shape) + " has more elements than any file can hold");
    }
    e.count *= static_cast<std::uint64_t>(d);
  }

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2) {
    throw bad("data_offsets is missing or not an array [begin, end]");
  }
  e.begin = unsigned_value(where, "data_offsets begin", (*offsets)[0]);
  e.end = unsigned_value(where, "data_offsets end", (*offsets)[1]);
  const std::string offsets_str = offsets_text(e.begin, e.end);
  if (e.begin > e.end) throw bad("data_offsets " + offsets_str + " end before they begin");
  if (e.end > buffer_size) {
    throw bad("data_offsets " + offsets_str + " reach past the end of the " +
              std::to_string(buffer_size) + "-byte data buffer");
  }
  if (e.end - e.begin != e.count * kBytesPerElement) {
    throw bad("shape " + shape_text(e.shape) + " needs " +
              std::to_string(e.count * kBytesPerElement) + " bytes of F32 but data_offsets " +
              offsets_str + " hold " + std::to_string(e.end - e.begin));
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const Json& value) {
  if (!value.is_object()) {
    fail(path, std::string(kMetadataKey) + " is " + value.type_name() +
                   ", expected an object of strings");
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      fail(path, std::string(kMetadataKey) + " value for " + quote_name(key) + " is " +
                     v.type_name() + ", expected a string");
    }
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

// The tensors must tile the data buffer: sorted by offset, each starts where the previous one
// ended, and the last one ends at the end of the file. Anything else is a gap (bytes no tensor
// owns, room for a polyglot file), an overlap, or trailing data.
void check_tiling(const std::string& path, const std::vector<Entry>& entries,
                  std::uint64_t buffer_size) {
  std::uint64_t expected = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin > expected) {
      fail(path, "bytes " + std::to_string(expected) + " to " + std::to_string(e.begin) +
                     " of the data buffer belong to no tensor (a gap before tensor " +
                     quote_name(e.name) + ")");
    }
    if (e.begin < expected) {
      fail(path, "tensor " + quote_name(e.name) + " at data_offsets " +
                     offsets_text(e.begin, e.end) + " overlaps tensor " +
                     quote_name(previous->name) + " at " +
                     offsets_text(previous->begin, previous->end));
    }
    expected = e.end;
    previous = &e;
  }
  if (expected != buffer_size) {
    fail(path, "the tensors end at byte " + std::to_string(expected) + " of the " +
                   std::to_string(buffer_size) + "-byte data buffer (" +
                   std::to_string(buffer_size - expected) + " bytes of trailing data)");
  }
}

}  // namespace

const NamedTensor* SafetensorsFile::find(const std::string& name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void save_safetensors(const std::string& path, const SafetensorsFile& file) {
  LENET_CHECK(!path.empty(), "save_safetensors: path is empty");
  check_tensors(file);
  const std::string bytes = file_bytes(file);

  // A fixed temporary name: a save after a crash replaces the leftover instead of piling up
  // more. Unlinking first means O_EXCL never follows a planted symlink or writes through a
  // hard link into some other file.
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    fail_errno(path, "cannot create temporary file " + temp, err);
  }
  auto abandon = [&](const std::string& what, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    fail_errno(path, what, err);
  };
  if (const int err = write_all(fd, bytes); err != 0) {
    abandon("cannot write temporary file " + temp, err);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    abandon("cannot fsync temporary file " + temp, err);
  }
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) {
    const int err = errno;
    abandon("cannot close temporary file " + temp, err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    abandon("cannot rename " + temp + " over it", err);
  }

  // Without this the rename itself may not survive a power loss.
  const std::string dir = parent_directory(path);
  const FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || (::fsync(dir_fd.get()) != 0 && errno != EINVAL)) {
    const int err = errno;
    fail_errno(path,
               "saved, but cannot fsync its directory " + dir +
                   " (the new checkpoint may not survive a power loss)",
               err);
  }
}

SafetensorsFile load_safetensors(const std::string& path) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    fail_errno(path, "cannot open", err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    fail_errno(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const std::uint64_t file_size = static_cast<std::uint64_t>(st.st_size);

  unsigned char prefix[8];
  if (file_size < sizeof prefix || !read_at(path, fd.get(), 0, sizeof prefix, prefix)) {
    fail(path, "file is " + std::to_string(file_size) +
                   " bytes, too short for the 8-byte header length of a safetensors file");
  }
  const std::uint64_t header_size = read_le(prefix, 8);
  if (header_size > kMaxHeaderBytes) {
    fail(path, "header length " + std::to_string(header_size) + " is over the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file?)");
  }
  if (header_size > file_size - 8) {
    fail(path, "header length " + std::to_string(header_size) + " is larger than the " +
                   std::to_string(file_size - 8) + " bytes after it (truncated file?)");
  }
  std::string header(header_size, '\0');
  if (!read_at(path, fd.get(), 8, header_size, reinterpret_cast<unsigned char*>(header.data()))) {
    fail(path, "file ended inside the header");
  }
  if (header.empty() || header[0] != '{') fail(path, "header does not start with '{'");
  // The JSON parser takes a NUL byte for the end of its input and would ignore what follows.
  if (const std::size_t nul = header.find('\0'); nul != std::string::npos) {
    fail(path, "header has a NUL byte at offset " + std::to_string(8 + nul));
  }

  Json json;
  try {
    json = Json::parse(header, HeaderGuard(path));
  } catch (const Json::exception& e) {
    fail(path, "header is not valid JSON: " + printable(e.what()));
  }

  const std::uint64_t buffer_size = file_size - 8 - header_size;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : json.items()) {
    if (key == kMetadataKey) {
      file.metadata = parse_metadata(path, value);
    } else {
      entries.push_back(parse_entry(path, key, value, buffer_size));
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  check_tiling(path, entries, buffer_size);

  // Validated: the buffer is exactly the tensors' bytes, so its size is what they claim.
  std::vector<unsigned char> buffer(buffer_size);
  if (!read_at(path, fd.get(), 8 + header_size, buffer_size, buffer.data())) {
    fail(path, "file ended inside the data buffer");
  }
  file.tensors.reserve(entries.size());
  for (Entry& e : entries) {
    NamedTensor t{std::move(e.name), std::move(e.shape), std::vector<float>(e.count)};
    const unsigned char* p = buffer.data() + e.begin;
    for (std::uint64_t i = 0; i < e.count; ++i, p += kBytesPerElement) {
      const auto bits = static_cast<std::uint32_t>(read_le(p, 4));
      std::memcpy(&t.data[i], &bits, sizeof bits);
    }
    file.tensors.push_back(std::move(t));
  }
  return file;
}

}  // namespace lenet::engine
