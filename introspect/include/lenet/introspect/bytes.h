// Bounds-checked access to the bytes of a file that may be hostile.
//
// Every read names an offset and a size; a read that does not fit inside the span throws
// FormatError instead of touching memory outside the file. Offsets are uint64_t because the
// formats store 64-bit sizes: offset + size is never computed where it could overflow.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lenet::introspect {

// A file, or a part of one, that breaks the format it claims to have. what() names the file,
// where in it, and the defect: "libfoo.a: member a.o: section .nv_fatbin: container 0: entry 2:
// payload needs bytes [0x50, 0x2050) but the container has 0x1000".
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "0x1f": offsets and sizes in messages are hexadecimal, as xxd and readelf print them.
std::string hex(std::uint64_t value);

// A read-only view of size() bytes that remembers where it starts in the file it came from, so
// that errors and the model can report file offsets (the ones xxd shows).
class ByteSpan {
 public:
  ByteSpan() = default;
  ByteSpan(const std::uint8_t* data, std::uint64_t size, std::uint64_t file_offset = 0)
      : data_(data), size_(size), file_offset_(file_offset) {}

  const std::uint8_t* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint64_t file_offset() const { return file_offset_; }

  // True when [offset, offset + count) lies inside the span; written so that it cannot overflow.
  bool contains(std::uint64_t offset, std::uint64_t count) const {
    return offset <= size_ && count <= size_ - offset;
  }

  // Little-endian integers at offset (no alignment needed).
  std::uint8_t u8(std::uint64_t offset) const;
  std::uint16_t u16(std::uint64_t offset) const;
  std::uint32_t u32(std::uint64_t offset) const;
  std::uint64_t u64(std::uint64_t offset) const;

  // The bytes [offset, offset + count). `what` names them in the error message.
  ByteSpan sub(std::uint64_t offset, std::uint64_t count, std::string_view what) const;
  // The bytes from offset to the end.
  ByteSpan from(std::uint64_t offset, std::string_view what) const;
  // The NUL-terminated string at offset; the NUL must lie inside the span.
  std::string_view cstring(std::uint64_t offset, std::string_view what) const;
  // All bytes as characters, for text formats such as PTX.
  std::string_view chars() const;
  bool starts_with(std::string_view prefix) const;

 private:
  void require(std::uint64_t offset, std::uint64_t count, std::string_view what) const;
  std::uint64_t read_le(std::uint64_t offset, int bytes) const;

  const std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t file_offset_ = 0;
};

// A file mapped read-only into memory (mmap): the pages are read on demand, so inspecting a
// large library reads only the parts the reader touches. Throws std::system_error when the
// file cannot be opened or mapped, and std::runtime_error when it is not a regular file.
// Truncating the file while it is mapped is undefined (SIGBUS): do not inspect files that
// another process is rewriting.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  ByteSpan bytes() const { return ByteSpan(data_, size_); }

 private:
  void unmap() noexcept;

  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace lenet::introspect
