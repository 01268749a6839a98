// ByteSpan and MappedFile: the bounds-checked reads everything else is built on.
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include <lenet/introspect/bytes.h>

#include "support/fatbin_builders.h"

namespace {

using lenet::introspect::ByteSpan;
using lenet::introspect::FormatError;
using lenet::introspect::MappedFile;
using namespace lenet::introspect::synth;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

TEST(ByteSpan, ReadsLittleEndianIntegersAtAnyOffset) {
  const Bytes b = {0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  const ByteSpan s = span(b);
  EXPECT_EQ(s.u8(0), 0xff);
  EXPECT_EQ(s.u16(1), 0x0201);
  EXPECT_EQ(s.u32(1), 0x04030201u);
  EXPECT_EQ(s.u64(1), 0x0807060504030201u);
}

TEST(ByteSpan, ReadsPastTheEndThrowWithTheOffsets) {
  const Bytes b(8, 0);
  const ByteSpan s = span(b);
  EXPECT_NO_THROW(s.u32(4));
  expect_format_error([&] { s.u32(5); },
                      "at offset 0x5 (file offset 0x5) needs 0x4 bytes but only 0x3 remain");
  expect_format_error([&] { s.u64(9); }, "starts past the end");
  expect_format_error([&] { s.u8(kMax); }, "starts past the end");
}

TEST(ByteSpan, RangesThatWouldOverflowAreRejected) {
  const Bytes b(16, 0);
  const ByteSpan s = span(b);
  EXPECT_TRUE(s.contains(16, 0));
  EXPECT_FALSE(s.contains(1, kMax));  // 1 + kMax wraps to 0: must not pass
  EXPECT_FALSE(s.contains(kMax, 2));
  expect_format_error([&] { s.sub(8, kMax - 4, "payload"); }, "payload at offset 0x8");
}

TEST(ByteSpan, SubSpansKnowTheirFileOffset) {
  Bytes b(32, 0);
  put_u32(b, 20, 0xabcd);
  const ByteSpan inner = span(b).sub(16, 8, "inner").sub(4, 4, "field");
  EXPECT_EQ(inner.file_offset(), 20u);
  EXPECT_EQ(inner.u32(0), 0xabcdu);
  expect_format_error([&] { inner.u16(3); }, "file offset 0x17");
}

TEST(ByteSpan, CstringNeedsItsTerminatorInsideTheSpan) {
  const Bytes b = bytes_of(std::string("abc\0de", 6));
  EXPECT_EQ(span(b).cstring(0, "name"), "abc");
  EXPECT_EQ(span(b).cstring(3, "name"), "");
  expect_format_error([&] { span(b).cstring(4, "name"); }, "no terminating NUL");
  expect_format_error([&] { span(b).cstring(7, "name"); }, "name at offset 0x7");
}

TEST(MappedFile, MapsAFileReadOnly) {
  const Bytes content = bytes_of("mapped bytes");
  const std::string path = write_temp_file("introspect_mapped.bin", content);
  MappedFile file(path);
  EXPECT_EQ(file.path(), path);
  ASSERT_EQ(file.bytes().size(), content.size());
  EXPECT_EQ(file.bytes().chars(), "mapped bytes");

  MappedFile moved(std::move(file));
  EXPECT_EQ(moved.bytes().chars(), "mapped bytes");
  EXPECT_EQ(file.bytes().size(), 0u);  // the moved-from file owns nothing
}

TEST(MappedFile, EmptyFileIsAnEmptySpan) {
  const std::string path = write_temp_file("introspect_empty.bin", Bytes{});
  MappedFile file(path);
  EXPECT_TRUE(file.bytes().empty());
}

TEST(MappedFile, MissingFileAndDirectoryThrow) {
  EXPECT_THROW(MappedFile("/nonexistent/introspect/file.o"), std::system_error);
  EXPECT_THROW(MappedFile(::testing::TempDir()), std::runtime_error);
}

}  // namespace
