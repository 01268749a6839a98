// The safetensors file layer: byte-exact format, defensive loading, atomic saving.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/engine/safetensors.h>

#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace lenet::engine;
using lenet::test::read_file;
using lenet::test::TempDir;
using lenet::test::write_file;

std::string u64_le(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A file assembled from the byte-level spec: u64 header length, the header, the data buffer.
std::string st_bytes(const std::string& header, const std::string& data = "") {
  return u64_le(header.size()) + header + data;
}

std::vector<float> seeded_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Several tensors, including a scalar, an empty tensor and float values whose bits a careless
// conversion would change (negative zero, a NaN with a payload, a denormal, infinity).
SafetensorsFile sample_file() {
  SafetensorsFile file;
  file.tensors.push_back({"conv1.weight", {2, 1, 3, 3}, seeded_values(18, 1)});
  const std::uint32_t nan_bits = 0x7fc01234u;
  float nan_with_payload;
  std::memcpy(&nan_with_payload, &nan_bits, sizeof nan_with_payload);
  const std::vector<float> special = {-0.0f, nan_with_payload,
                                      std::numeric_limits<float>::denorm_min(),
                                      -std::numeric_limits<float>::infinity(), 1e38f};
  file.tensors.push_back({"special", {5}, special});
  file.tensors.push_back({"step", {}, {42.0f}});
  file.tensors.push_back({"empty", {0, 4}, {}});
  file.tensors.push_back({"fc1.bias", {7}, seeded_values(7, 2)});
  file.metadata = {{"epoch", "3"}, {"rng", "1234 5678"}, {"note", "quote \" and\nnewline"}};
  return file;
}

// Bitwise: NaN payloads and the sign of zero must survive.
void expect_same(const SafetensorsFile& got, const SafetensorsFile& want) {
  ASSERT_EQ(got.tensors.size(), want.tensors.size());
  for (std::size_t i = 0; i < want.tensors.size(); ++i) {
    const NamedTensor& g = got.tensors[i];
    const NamedTensor& w = want.tensors[i];
    EXPECT_EQ(g.name, w.name) << "tensor " << i;
    EXPECT_EQ(g.shape, w.shape) << w.name;
    ASSERT_EQ(g.data.size(), w.data.size()) << w.name;
    for (std::size_t k = 0; k < w.data.size(); ++k) {
      std::uint32_t gb, wb;
      std::memcpy(&gb, &g.data[k], 4);
      std::memcpy(&wb, &w.data[k], 4);
      ASSERT_EQ(gb, wb) << w.name << " element " << k;
    }
  }
  EXPECT_EQ(got.metadata, want.metadata);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no CheckpointError";
  return "";
}

std::string load_error(const std::string& path) {
  return message_of([&] { load_safetensors(path); });
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(SafetensorsFile, FindReturnsTheTensorOrNull) {
  const SafetensorsFile file = sample_file();
  ASSERT_NE(file.find("step"), nullptr);
  EXPECT_EQ(file.find("step")->data, std::vector<float>{42.0f});
  EXPECT_EQ(file.find("fc1.bias"), &file.tensors[4]);
  EXPECT_EQ(file.find("fc1"), nullptr);
  EXPECT_EQ(file.find(""), nullptr);
}

TEST(SafetensorsFile, RoundTripIsBitwiseEqual) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  const SafetensorsFile file = sample_file();
  save_safetensors(path, file);
  expect_same(load_safetensors(path), file);
  EXPECT_FALSE(exists(path + ".tmp"));
}

TEST(SafetensorsFile, RoundTripOfTheLeNetStateDictShapes) {
  TempDir dir;
  const std::string path = dir.file("lenet.safetensors");
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes = {
      {"conv1.weight", {6, 1, 5, 5}},  {"conv1.bias", {6}},
      {"conv2.weight", {16, 6, 5, 5}}, {"conv2.bias", {16}},
      {"fc1.weight", {120, 256}},      {"fc1.bias", {120}},
      {"fc2.weight", {84, 120}},       {"fc2.bias", {84}},
      {"fc3.weight", {10, 84}},        {"fc3.bias", {10}}};
  SafetensorsFile file;
  unsigned seed = 10;
  for (const auto& [name, shape] : shapes) {
    std::size_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
    file.tensors.push_back({name, shape, seeded_values(n, seed++)});
  }
  save_safetensors(path, file);
  expect_same(load_safetensors(path), file);
}

TEST(SafetensorsFile, EmptyFileRoundTrips) {
  TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  save_safetensors(path, SafetensorsFile{});
  EXPECT_EQ(read_file(path), st_bytes("{}      "));
  const SafetensorsFile loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.tensors.empty());
  EXPECT_TRUE(loaded.metadata.empty());
}

// The exact bytes the spec prescribes, so that other implementations read what lenet writes.
TEST(SafetensorsSave, WritesTheBytesTheSpecDescribes) {
  TempDir dir;
  const std::string path = dir.file("x.safetensors");
  SafetensorsFile file;
  file.tensors.push_back({"w", {2}, {1.0f, -2.5f}});
  file.tensors.push_back({"b", {1, 1}, {0.5f}});
  file.metadata = {{"format", "pt"}};
  save_safetensors(path, file);

  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string data = std::string("\x00\x00\x80\x3f", 4) + std::string("\x00\x00\x20\xc0", 4) +
                           std::string("\x00\x00\x00\x3f", 4);
  EXPECT_EQ(read_file(path), st_bytes(header, data));
}

TEST(SafetensorsSave, PadsTheHeaderToAMultipleOfEightBytes) {
  TempDir dir;
  for (int len = 1; len <= 9; ++len) {
    const std::string path = dir.file("pad.safetensors");
    SafetensorsFile file;
    file.tensors.push_back({std::string(static_cast<std::size_t>(len), 'n'), {1}, {1.0f}});
    save_safetensors(path, file);
    const std::string bytes = read_file(path);
    std::uint64_t n = 0;
    for (std::size_t i = 8; i-- > 0;) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    EXPECT_EQ(n % 8, 0u) << "name length " << len;
    EXPECT_EQ(bytes.size(), 8 + n + 4) << "name length " << len;
    EXPECT_TRUE(bytes[8 + n - 1] == ' ' || bytes[8 + n - 1] == '}');
  }
}

TEST(SafetensorsSave, ReplacesAnExistingFileCompletely) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  SafetensorsFile big;
  big.tensors.push_back({"a", {1000}, seeded_values(1000, 3)});
  big.tensors.push_back({"b", {500}, seeded_values(500, 4)});
  big.metadata = {{"epoch", "1"}};
  save_safetensors(path, big);
  const auto big_size = fs::file_size(path);

  SafetensorsFile small;
  small.tensors.push_back({"c", {3}, {1.0f, 2.0f, 3.0f}});
  save_safetensors(path, small);
  expect_same(load_safetensors(path), small);
  EXPECT_LT(fs::file_size(path), big_size);
  const std::string fresh = dir.file("fresh.safetensors");
  save_safetensors(fresh, small);
  EXPECT_EQ(read_file(path), read_file(fresh));  // nothing of the old file is left
  EXPECT_FALSE(exists(path + ".tmp"));
}

TEST(SafetensorsSave, ReplacesALeftoverTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  write_file(path + ".tmp", std::string(10000, 'x'));  // as a killed save would leave it
  const SafetensorsFile file = sample_file();
  save_safetensors(path, file);
  expect_same(load_safetensors(path), file);
  EXPECT_FALSE(exists(path + ".tmp"));
}

void expect_invalid_save(const SafetensorsFile& file, const std::string& needle) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  try {
    save_safetensors(path, file);
    ADD_FAILURE() << "no std::invalid_argument for " << needle;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(path + ".tmp"));
}

TEST(SafetensorsSave, RejectsBadTensorsBeforeTouchingTheDisk) {
  auto with = [](std::vector<NamedTensor> tensors) {
    SafetensorsFile f;
    f.tensors = std::move(tensors);
    return f;
  };
  expect_invalid_save(with({{"", {1}, {1.0f}}}), "empty name");
  expect_invalid_save(with({{"a", {1}, {1.0f}}, {"a", {1}, {2.0f}}}), "\"a\" appears twice");
  expect_invalid_save(with({{"__metadata__", {1}, {1.0f}}}), "reserves");
  expect_invalid_save(with({{"a", {2, 3}, std::vector<float>(5)}}),
                      "shape [2, 3] has 6 elements but data has 5");
  expect_invalid_save(with({{"a", {}, {}}}), "shape [] has 1 elements but data has 0");
  expect_invalid_save(with({{"a", {-1}, {}}}), "negative dimension");
  expect_invalid_save(with({{"a", {1LL << 40, 1LL << 40}, {}}}), "too large");
  expect_invalid_save(with({{"bad\xff", {1}, {1.0f}}}), "not valid UTF-8");
}

TEST(SafetensorsSave, RejectsAnEmptyPath) {
  EXPECT_THROW(save_safetensors("", SafetensorsFile{}), std::invalid_argument);
}

SafetensorsFile good_checkpoint() {
  SafetensorsFile f;
  f.tensors.push_back({"w", {4}, {1.0f, 2.0f, 3.0f, 4.0f}});
  f.metadata = {{"epoch", "1"}};
  return f;
}

SafetensorsFile new_checkpoint() {
  SafetensorsFile f;
  f.tensors.push_back({"w", {20000}, seeded_values(20000, 5)});
  f.metadata = {{"epoch", "2"}};
  return f;
}

TEST(SafetensorsSave, MissingDirectoryReportsTheErrorAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("missing/ckpt.safetensors");
  const std::string msg = message_of([&] { save_safetensors(path, good_checkpoint()); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot create temporary file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// A directory where the temporary file would go: creating it fails even for root.
TEST(SafetensorsSave, UncreatableTemporaryLeavesTheOldCheckpointIntact) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  save_safetensors(path, good_checkpoint());
  const std::string before = read_file(path);
  fs::create_directory(path + ".tmp");
  write_file(path + ".tmp/keep", "x");

  const std::string msg = message_of([&] { save_safetensors(path, new_checkpoint()); });
  EXPECT_NE(msg.find(path + ": cannot create temporary file " + path + ".tmp"), std::string::npos)
      << msg;
  EXPECT_EQ(read_file(path), before);
  expect_same(load_safetensors(path), good_checkpoint());
  EXPECT_EQ(read_file(path + ".tmp/keep"), "x");  // not ours: left alone
}

TEST(SafetensorsSave, ReadOnlyDirectoryLeavesTheOldCheckpointIntact) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  save_safetensors(path, good_checkpoint());
  const std::string before = read_file(path);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);

  const std::string msg = message_of([&] { save_safetensors(path, new_checkpoint()); });
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
  EXPECT_EQ(read_file(path), before);
  expect_same(load_safetensors(path), good_checkpoint());
}

// rename() fails when the destination is a directory: the written temporary must go.
TEST(SafetensorsSave, FailedRenameRemovesTheTemporary) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  fs::create_directory(path);
  write_file(path + "/keep", "x");
  const std::string msg = message_of([&] { save_safetensors(path, good_checkpoint()); });
  EXPECT_NE(msg.find("cannot rename " + path + ".tmp over it"), std::string::npos) << msg;
  EXPECT_FALSE(exists(path + ".tmp"));
  EXPECT_EQ(read_file(path + "/keep"), "x");
}

// The disk is "full": the process may not write files larger than a limit. SIGXFSZ would kill
// the process, so it is ignored for the test (write then fails with EFBIG); the limit and the
// disposition are restored however the test ends.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &old_limit_) != 0) throw std::runtime_error("getrlimit failed");
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = old_limit_;
    limit.rlim_cur = bytes;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) throw std::runtime_error("setrlimit failed");
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_limit_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_limit_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(SafetensorsSave, FullDiskLeavesTheOldCheckpointIntactAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  save_safetensors(path, good_checkpoint());
  const std::string before = read_file(path);

  std::string msg;
  {
    const FileSizeLimit limit(4096);  // the new checkpoint needs about 80 kB
    msg = message_of([&] { save_safetensors(path, new_checkpoint()); });
  }
  EXPECT_NE(msg.find(path + ": cannot write temporary file " + path + ".tmp"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find(std::strerror(EFBIG)), std::string::npos) << msg;
  EXPECT_FALSE(exists(path + ".tmp"));
  EXPECT_EQ(read_file(path), before);
  expect_same(load_safetensors(path), good_checkpoint());

  save_safetensors(path, new_checkpoint());  // the limit is gone again
  expect_same(load_safetensors(path), new_checkpoint());
}

// Written by hand from the spec, as another implementation would write it: unpadded, pretty
// printed, metadata last, and the header listing tensors in a different order than the data.
TEST(SafetensorsLoad, ReadsAFileAssembledFromTheSpec) {
  TempDir dir;
  const std::string path = dir.file("foreign.safetensors");
  const std::string header = R"({
  "b": {"dtype": "F32", "shape": [1, 1], "data_offsets": [8, 12]},
  "s": {"shape": [], "data_offsets": [12, 16], "dtype": "F32"},
  "e": {"dtype": "F32", "shape": [3, 0], "data_offsets": [16, 16]},
  "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
  "__metadata__": {"format": "pt", "epoch": "7"}
})";
  ASSERT_NE(header.size() % 8, 0u);
  const std::string data = std::string("\x00\x00\x80\x3f", 4) + std::string("\x00\x00\x20\xc0", 4) +
                           std::string("\x00\x00\x00\x3f", 4) + std::string("\x00\x00\x40\x40", 4);
  write_file(path, st_bytes(header, data));

  const SafetensorsFile file = load_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_EQ(file.tensors[0].name, "a");
  EXPECT_EQ(file.tensors[0].shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(file.tensors[0].data, (std::vector<float>{1.0f, -2.5f}));
  EXPECT_EQ(file.tensors[1].name, "b");
  EXPECT_EQ(file.tensors[1].shape, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(file.tensors[1].data, (std::vector<float>{0.5f}));
  EXPECT_EQ(file.tensors[2].name, "s");
  EXPECT_TRUE(file.tensors[2].shape.empty());
  EXPECT_EQ(file.tensors[2].data, (std::vector<float>{3.0f}));
  EXPECT_EQ(file.tensors[3].name, "e");
  EXPECT_EQ(file.tensors[3].shape, (std::vector<std::int64_t>{3, 0}));
  EXPECT_TRUE(file.tensors[3].data.empty());
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"epoch", "7"}}));
}

TEST(SafetensorsLoad, MissingFileNamesThePathAndTheReason) {
  TempDir dir;
  const std::string path = dir.file("nope.safetensors");
  const std::string msg = load_error(path);
  EXPECT_NE(msg.find(path + ": cannot open: No such file or directory"), std::string::npos) << msg;
}

TEST(SafetensorsLoad, DirectoryIsNotACheckpoint) {
  TempDir dir;
  const std::string msg = load_error(dir.path().string());
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

// A header entry for one tensor.
std::string entry(const std::string& name, const std::string& shape, std::uint64_t begin,
                  std::uint64_t end, const std::string& dtype = "F32") {
  return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
         ", \"data_offsets\": [" + std::to_string(begin) + ", " + std::to_string(end) + "]}";
}

// A header object of the given members: obj({entry(...), entry(...)}).
std::string obj(const std::vector<std::string>& members) {
  std::string out = "{";
  for (std::size_t i = 0; i < members.size(); ++i) out += (i > 0 ? ", " : "") + members[i];
  return out + "}";
}

struct HostileCase {
  const char* name;
  std::string bytes;
  const char* expected;  // a part of the message
};

std::vector<HostileCase> hostile_cases() {
  const std::string four(4, '\0');
  const std::string eight(8, '\0');
  const std::string twelve(12, '\0');
  std::vector<HostileCase> c;
  c.push_back({"EmptyFile", "", "file is 0 bytes, too short for the 8-byte header length"});
  c.push_back({"ShortFile", "abcde", "file is 5 bytes, too short"});
  c.push_back({"AbsurdHeaderLength", u64_le(1ULL << 40) + "{}",
               "header length 1099511627776 is over the limit of 100000000 bytes"});
  c.push_back({"MaxHeaderLength", u64_le(~0ULL) + "{}", "is over the limit"});
  c.push_back({"HeaderLongerThanFile", u64_le(200) + "{\"a\": 1}",
               "header length 200 is larger than the 8 bytes after it"});
  c.push_back({"ZeroHeaderLength", u64_le(0), "header does not start with '{'"});
  c.push_back({"HeaderNotAnObject", st_bytes("[1, 2]  "), "header does not start with '{'"});
  c.push_back({"HeaderWithBom", st_bytes("\xef\xbb\xbf{}"), "header does not start with '{'"});
  c.push_back({"TruncatedJson", st_bytes("{\"a\": {\"dtype\": "), "header is not valid JSON"});
  c.push_back({"TrailingGarbageInHeader", st_bytes("{} x"), "header is not valid JSON"});
  c.push_back(
      {"NulPadding", st_bytes(std::string("{}\0\0", 4)), "header has a NUL byte at offset 10"});
  c.push_back({"NulThenMore", st_bytes(std::string("{}\0, \"x\": 1}", 12)), "NUL byte"});
  c.push_back({"InvalidUtf8Name", st_bytes("{\"a\xff\": 1}"),
               "ill-formed UTF-8 byte; last read: '\"a\\xff'"});
  c.push_back({"UnterminatedLongString", st_bytes("{\"" + std::string(100000, 'a')), "aaa..."});
  c.push_back({"EntryNotAnObject", st_bytes("{\"a\": 3}"),
               "tensor \"a\": header entry is number, expected an object"});
  c.push_back({"EntryIsAnArray", st_bytes("{\"a\": [1]}"), "tensor \"a\": header entry is array"});
  c.push_back({"MissingDtype",
               st_bytes("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", four),
               "tensor \"a\": dtype is missing"});
  c.push_back({"DtypeNotAString",
               st_bytes("{\"a\": {\"dtype\": 1, \"shape\": [1], \"data_offsets\": [0, 4]}}", four),
               "tensor \"a\": dtype is missing or not a string"});
  c.push_back({"UnknownDtype", st_bytes(obj({entry("fc1.weight", "[2]", 0, 4, "F16")}), four),
               "tensor \"fc1.weight\": dtype \"F16\" is not supported (lenet reads F32 only)"});
  c.push_back({"F64", st_bytes(obj({entry("a", "[1]", 0, 8, "F64")}), eight),
               "dtype \"F64\" is not supported"});
  c.push_back({"MissingShape",
               st_bytes("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", four),
               "tensor \"a\": shape is missing or not an array"});
  c.push_back({"NegativeDim", st_bytes(obj({entry("a", "[-1, 2]", 0, 4)}), four),
               "tensor \"a\": shape dimension 0 is negative (-1)"});
  c.push_back({"FractionalDim", st_bytes(obj({entry("a", "[1.5]", 0, 4)}), four),
               "shape dimension 0 is not a non-negative integer (got 1.5)"});
  c.push_back({"StringDim", st_bytes(obj({entry("a", "[\"1\"]", 0, 4)}), four),
               "shape dimension 0 is not a non-negative integer"});
  c.push_back({"DimBeyondUint64", st_bytes(obj({entry("a", "[1e30]", 0, 4)}), four),
               "shape dimension 0 is not a non-negative integer"});
  c.push_back({"DimBeyondInt64", st_bytes(obj({entry("a", "[0, 18446744073709551615]", 0, 0)})),
               "shape dimension 1 (18446744073709551615) is too large"});
  c.push_back({"ShapeProductOverflows",
               st_bytes(obj({entry("a", "[4294967296, 4294967296, 4]", 0, 0)})),
               "has more elements than any file can hold"});
  c.push_back({"ShapeDisagreesWithOffsets", st_bytes(obj({entry("a", "[3]", 0, 8)}), eight),
               "tensor \"a\": shape [3] needs 12 bytes of F32 but data_offsets [0, 8] hold 8"});
  c.push_back(
      {"ScalarWithNoBytes", st_bytes(obj({entry("a", "[]", 0, 0)})), "shape [] needs 4 bytes"});
  c.push_back({"MissingOffsets", st_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", four),
               "tensor \"a\": data_offsets is missing"});
  c.push_back(
      {"OneOffset",
       st_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4]}}", four),
       "data_offsets is missing or not an array [begin, end]"});
  c.push_back(
      {"NegativeOffset",
       st_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", four),
       "tensor \"a\": data_offsets begin is negative (-4)"});
  c.push_back({"ReversedOffsets", st_bytes(obj({entry("a", "[0]", 8, 0)}), eight),
               "data_offsets [8, 0] end before they begin"});
  c.push_back({"OffsetsPastTheBuffer", st_bytes(obj({entry("a", "[4]", 0, 16)}), eight),
               "data_offsets [0, 16] reach past the end of the 8-byte data buffer"});
  c.push_back({"TruncatedData", st_bytes(obj({entry("a", "[2]", 0, 8)}), four),
               "reach past the end of the 4-byte data buffer"});
  c.push_back(
      {"HugeOffsets",
       st_bytes(obj({entry("a", "[1]", 18446744073709551612ULL, 18446744073709551615ULL)}), four),
       "reach past the end"});
  c.push_back({"OverlappingTensors",
               st_bytes(obj({entry("a", "[2]", 0, 8), entry("b", "[2]", 4, 12)}), twelve),
               "tensor \"b\" at data_offsets [4, 12] overlaps tensor \"a\" at [0, 8]"});
  c.push_back({"AliasedTensors",
               st_bytes(obj({entry("a", "[2]", 0, 8), entry("b", "[2]", 0, 8)}), eight),
               "overlaps"});
  c.push_back({"EmptyTensorInsideAnother",
               st_bytes(obj({entry("a", "[2]", 0, 8), entry("e", "[0]", 4, 4)}), eight),
               "tensor \"e\" at data_offsets [4, 4] overlaps"});
  c.push_back({"GapBetweenTensors",
               st_bytes(obj({entry("a", "[1]", 0, 4), entry("b", "[1]", 8, 12)}), twelve),
               "bytes 4 to 8 of the data buffer belong to no tensor (a gap before tensor \"b\")"});
  c.push_back({"GapAtTheStart", st_bytes(obj({entry("a", "[1]", 4, 8)}), eight),
               "bytes 0 to 4 of the data buffer belong to no tensor"});
  c.push_back({"TrailingData", st_bytes(obj({entry("a", "[1]", 0, 4)}), eight),
               "the tensors end at byte 4 of the 8-byte data buffer (4 bytes of trailing data)"});
  c.push_back({"DataWithoutTensors", st_bytes("{}", "x"), "(1 bytes of trailing data)"});
  c.push_back({"DuplicateNames",
               st_bytes(obj({entry("a", "[1]", 0, 4), entry("a", "[1]", 4, 8)}), eight),
               "name \"a\" appears twice in the header"});
  c.push_back({"DuplicateField",
               st_bytes("{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F16\", \"shape\": [1], "
                        "\"data_offsets\": [0, 4]}}",
                        four),
               "header entry \"a\": key \"dtype\" appears twice"});
  c.push_back({"DuplicateMetadata", st_bytes("{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}"),
               "header entry \"__metadata__\": key \"k\" appears twice"});
  c.push_back({"MetadataNotAnObject", st_bytes("{\"__metadata__\": \"pt\"}"),
               "__metadata__ is string, expected an object of strings"});
  c.push_back({"MetadataValueNotAString", st_bytes("{\"__metadata__\": {\"epoch\": 3}}"),
               "__metadata__ value for \"epoch\" is number, expected a string"});
  c.push_back({"MetadataValueNested", st_bytes("{\"__metadata__\": {\"a\": {\"b\": \"c\"}}}"),
               "__metadata__ value for \"a\" is object, expected a string"});
  c.push_back({"NestedShape", st_bytes(obj({entry("a", "[[1]]", 0, 4)}), four),
               "header nests JSON 4 levels deep; a safetensors header has at most 3"});
  c.push_back({"DeeplyNested",
               st_bytes("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}"),
               "levels deep"});
  c.push_back({"NameWithNewline", st_bytes("{\"a\\nb\": 3}"), "tensor \"a\\nb\": header entry"});
  return c;
}

class SafetensorsLoadHostile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(SafetensorsLoadHostile, ThrowsCheckpointErrorNamingTheFileAndTheDefect) {
  TempDir dir;
  const std::string path = dir.file("hostile.safetensors");
  write_file(path, GetParam().bytes);
  const std::string msg = load_error(path);
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(GetParam().expected), std::string::npos)
      << "message: " << msg << "\nexpected to contain: " << GetParam().expected;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  EXPECT_LT(msg.size(), 600u) << "too long: " << msg;
}

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsLoadHostile, ::testing::ValuesIn(hostile_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
