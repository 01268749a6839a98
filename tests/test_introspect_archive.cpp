// ar archives (static libraries) and the fatbins in their members.
#include <string>

#include <gtest/gtest.h>

#include <lenet/introspect/archive.h>
#include <lenet/introspect/fatbin.h>

#include "support/fatbin_builders.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;

// A host object holding one container: an sm_<sm> cubin with `kernel`.
Bytes object_with_kernel(unsigned sm, const std::string& kernel) {
  return make_host_object({cubin_container(sm, kernel)}, {1}).file;
}

TEST(ArchiveReader, GnuArchiveWithSymbolTableAndLongNames) {
  const Bytes archive = make_archive({{"a.o", bytes_of("odd")},  // 3 bytes: padded to 4
                                      {"a_member_with_a_long_name.cu.o", bytes_of("long")},
                                      {"b.o", bytes_of("bb")}});
  const std::vector<ArchiveMember> members = read_archive(span(archive));
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].name, "a.o");
  EXPECT_EQ(members[0].data.chars(), "odd");
  EXPECT_EQ(members[1].name, "a_member_with_a_long_name.cu.o");
  EXPECT_EQ(members[1].data.chars(), "long");
  EXPECT_EQ(members[2].name, "b.o");
  EXPECT_EQ(members[2].data.chars(), "bb");
  EXPECT_EQ(archive[members[2].data.file_offset()], 'b');
}

TEST(ArchiveReader, BsdNames) {
  const Bytes archive = make_bsd_archive(
      {{"__.SYMDEF SORTED", Bytes(8, 0)}, {"kernels_with_a_long_name.o", bytes_of("data")}});
  const std::vector<ArchiveMember> members = read_archive(span(archive));
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].name, "kernels_with_a_long_name.o");
  EXPECT_EQ(members[0].data.chars(), "data");
}

TEST(ArchiveReader, MemberSizeBeyondTheFile) {
  Bytes archive = make_archive({{"a.o", bytes_of("abcd")}});
  archive.resize(archive.size() - 2);
  expect_format_error([&] { read_archive(span(archive)); }, "member data at offset");
  const Bytes huge = bytes_of(std::string("!<arch>\n") +
                              "a.o/            0           0     0     644     9999999999`\n");
  expect_format_error([&] { read_archive(span(huge)); }, "archive member 0 at 0x8: member data");
}

TEST(ArchiveReader, MalformedHeaders) {
  Bytes archive = make_archive({{"a.o", bytes_of("abcd")}});
  Bytes bad_end = archive;
  bad_end[8 + 58] = 'x';
  expect_format_error([&] { read_archive(span(bad_end)); }, "does not end in");
  Bytes bad_size = archive;
  bad_size[8 + 48] = '-';
  expect_format_error([&] { read_archive(span(bad_size)); }, "member size '-");
  Bytes truncated = archive;
  truncated.resize(8 + 30);
  expect_format_error([&] { read_archive(span(truncated)); }, "member header");
  expect_format_error([&] { read_archive(span(bytes_of("!<thin>\n"))); }, "thin archive");
}

TEST(ArchiveReader, LongNameOutsideTheTable) {
  Bytes archive = make_archive({{"a_member_with_a_long_name.cu.o", bytes_of("x")}});
  const std::size_t field = archive.size() - 1 - 1 - 60;  // the last member's header
  ASSERT_EQ(archive[field], '/');
  archive[field + 1] = '9';
  archive[field + 2] = '9';
  expect_format_error([&] { read_archive(span(archive)); }, "outside the long-name table");
  const Bytes no_table = bytes_of(std::string("!<arch>\n") +
                                  "/5              0           0     0     644     0         `\n");
  expect_format_error([&] { read_archive(span(no_table)); }, "no long-name table");
}

TEST(ArchiveReader, InspectNamesTheMemberOfEveryContainer) {
  const Bytes a = object_with_kernel(75, "_Z5firstv");
  const Bytes b = object_with_kernel(86, "_Z6secondv");
  const Bytes archive = make_archive(
      {{"first.cu.o", a}, {"notes.txt", bytes_of("not an object")}, {"second_and_longer.cu.o", b}});
  const FileInfo info = inspect_bytes(span(archive), "libx.a");
  EXPECT_EQ(info.kind, FileKind::kArchive);
  ASSERT_EQ(info.containers.size(), 2u) << to_string(info);
  EXPECT_EQ(info.containers[0].member, "first.cu.o");
  EXPECT_EQ(info.containers[0].role, ContainerRole::kCompilationUnit);
  EXPECT_EQ(info.containers[1].member, "second_and_longer.cu.o");
  const FatbinEntry& e = info.containers[1].entries.at(0);
  EXPECT_EQ(e.arch, "sm_86");
  ASSERT_TRUE(e.cubin);
  EXPECT_EQ(e.cubin->kernels.at(0).demangled, "second()");
  // Offsets are offsets in the archive file itself.
  EXPECT_EQ(read_payload(span(archive), e), make_cubin(86, {{"_Z6secondv"}}));
}

TEST(ArchiveReader, ErrorsNameTheArchiveAndTheMember) {
  Bytes broken = object_with_kernel(75, "k");
  const ElfFile elf(span(broken));
  put_u32(broken, elf.find_section(".nv_fatbin")->offset, 0);  // no magic: zero padding...
  put_u32(broken, elf.find_section(".nv_fatbin")->offset + 4, 0x12345678);  // ...then garbage
  const Bytes archive = make_archive({{"good.o", object_with_kernel(75, "k")}, {"bad.o", broken}});
  expect_format_error([&] { inspect_bytes(span(archive), "libx.a"); },
                      "libx.a: member bad.o: section .nv_fatbin: container 0 at ");
  expect_format_error([&] { inspect_bytes(span(archive), "libx.a"); }, "bad magic 0x12345678");
}

}  // namespace
