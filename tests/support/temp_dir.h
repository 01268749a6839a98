// Temporary files for tests: a fresh directory that removes itself, and whole-file reads and
// writes of bytes.
//   const lenet::test::TempDir dir;                   // <gtest's TempDir()>/lenet_test_XXXXXX
//   const std::string path = dir.write("a.bin", bytes);
// Every directory is new (mkdtemp), so tests that ctest runs in parallel, from one build tree or
// from two, never share a file.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace lenet::test {

// Writes text or bytes to path, replacing the file.
inline void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << "cannot write " << path;
}
template <typename Byte>
void write_file(const std::string& path, const std::vector<Byte>& bytes) {
  static_assert(sizeof(Byte) == 1, "a vector of bytes");
  write_file(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// The whole file as a std::string, or as another container of bytes (empty when unreadable).
template <typename Bytes = std::string>
Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A new directory in gtest's TempDir() (TEST_TMPDIR, or /tmp), removed with everything in it
// when the object goes, whatever permissions a test left on it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "lenet_test_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory (the file need not exist).
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes text or bytes to `name` inside the directory and returns its path.
  std::string write(const std::string& name, std::string_view bytes) const {
    write_file(file(name), bytes);
    return file(name);
  }
  template <typename Byte>
  std::string write(const std::string& name, const std::vector<Byte>& bytes) const {
    write_file(file(name), bytes);
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// One directory for the whole test process, made on first use and removed when it exits: for
// files that helpers hand out by path, without a TempDir the test could hold.
inline const TempDir& process_temp_dir() {
  static const TempDir dir;
  return dir;
}

}  // namespace lenet::test
