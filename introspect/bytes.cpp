#include <lenet/introspect/bytes.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

namespace lenet::introspect {

std::string hex(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

void ByteSpan::require(std::uint64_t offset, std::uint64_t count, std::string_view what) const {
  if (contains(offset, count)) return;
  std::string msg(what);
  if (offset > size_) {
    msg += " at offset " + hex(offset) + " starts past the end of the " + hex(size_) +
           " bytes there are";
  } else {
    msg += " at offset " + hex(offset) + " (file offset " + hex(file_offset_ + offset) +
           ") needs " + hex(count) + " bytes but only " + hex(size_ - offset) + " remain";
  }
  throw FormatError(msg);
}

std::uint64_t ByteSpan::read_le(std::uint64_t offset, int bytes) const {
  static constexpr std::string_view kNames[] = {
      "", "1-byte field", "2-byte field", "", "4-byte field", "", "", "", "8-byte field"};
  require(offset, static_cast<std::uint64_t>(bytes), kNames[bytes]);
  // Byte by byte: no alignment requirement, and the same result on any host byte order.
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | data_[offset + i];
  return value;
}

std::uint8_t ByteSpan::u8(std::uint64_t offset) const {
  return static_cast<std::uint8_t>(read_le(offset, 1));
}
std::uint16_t ByteSpan::u16(std::uint64_t offset) const {
  return static_cast<std::uint16_t>(read_le(offset, 2));
}
std::uint32_t ByteSpan::u32(std::uint64_t offset) const {
  return static_cast<std::uint32_t>(read_le(offset, 4));
}
std::uint64_t ByteSpan::u64(std::uint64_t offset) const { return read_le(offset, 8); }

ByteSpan ByteSpan::sub(std::uint64_t offset, std::uint64_t count, std::string_view what) const {
  require(offset, count, what);
  return ByteSpan(data_ + offset, count, file_offset_ + offset);
}

ByteSpan ByteSpan::from(std::uint64_t offset, std::string_view what) const {
  require(offset, 0, what);
  return ByteSpan(data_ + offset, size_ - offset, file_offset_ + offset);
}

std::string_view ByteSpan::cstring(std::uint64_t offset, std::string_view what) const {
  require(offset, 0, what);
  const void* nul = offset < size_ ? std::memchr(data_ + offset, 0, size_ - offset) : nullptr;
  if (nul == nullptr) {
    throw FormatError(std::string(what) + " at offset " + hex(offset) +
                      " has no terminating NUL before the end of its table (" + hex(size_) +
                      " bytes)");
  }
  return std::string_view(reinterpret_cast<const char*>(data_ + offset),
                          static_cast<const std::uint8_t*>(nul) - (data_ + offset));
}

std::string_view ByteSpan::chars() const {
  return std::string_view(reinterpret_cast<const char*>(data_), size_);
}

bool ByteSpan::starts_with(std::string_view prefix) const {
  return size_ >= prefix.size() && chars().substr(0, prefix.size()) == prefix;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open '" + path + "'");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "cannot stat '" + path + "'");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("'" + path + "' is not a regular file");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  // mmap rejects a length of 0; an empty file is an empty span.
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), "cannot map '" + path + "'");
    }
    data_ = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
}

MappedFile::~MappedFile() { unmap(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace lenet::introspect
