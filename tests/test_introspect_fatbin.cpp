// Fatbin containers and entries: every header field, compressed payloads, and hostile input.
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include <lenet/introspect/fatbin.h>

#include "support/fatbin_builders.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

EntrySpec cubin_entry(unsigned sm, const std::vector<CubinFunction>& functions) {
  EntrySpec e;
  e.kind = 2;
  e.arch = sm;
  e.payload = make_cubin(sm, functions);
  return e;
}

EntrySpec ptx_entry(unsigned arch, const std::vector<std::string>& entries) {
  EntrySpec e;
  e.kind = 1;
  e.arch = arch;
  e.major = 9;
  e.minor = 0;
  e.header_size = 80;
  e.payload = bytes_of(ptx_text("sm_" + std::to_string(arch), entries));
  return e;
}

std::vector<FatbinContainer> parse(const Bytes& b, bool decode = true) {
  ReadOptions options;
  options.decode_payloads = decode;
  return parse_fatbin(span(b), options);
}

// Expects reading a container of the one entry e to fail with a message that mentions part.
void expect_entry_error(const EntrySpec& e, const std::string& part) {
  expect_format_error([&] { parse(make_container({make_entry(e)})); }, part);
}

TEST(FatbinReader, ReadsEveryEntryHeaderField) {
  const Bytes cubin = make_entry(cubin_entry(86, {{"_Z6kernelPf"}}));
  const Bytes ptx = make_entry(ptx_entry(120, {"_Z6kernelPf"}));
  const Bytes file = make_container({cubin, ptx});
  const std::vector<FatbinContainer> cs = parse(file);
  ASSERT_EQ(cs.size(), 1u);
  const FatbinContainer& c = cs[0];
  EXPECT_EQ(c.index, 0);
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.size, file.size());
  ASSERT_EQ(c.entries.size(), 2u) << to_string(c);

  const FatbinEntry& e = c.entries[0];
  EXPECT_EQ(e.offset, 16u);
  EXPECT_EQ(e.kind, EntryKind::kCubin);
  EXPECT_EQ(e.raw_kind, 2);
  EXPECT_EQ(e.arch, "sm_86");
  EXPECT_EQ(e.arch_number, 86u);
  EXPECT_EQ(e.arch_suffix, 0);
  EXPECT_EQ(e.version_major, 1);
  EXPECT_EQ(e.version_minor, 8);
  EXPECT_EQ(e.flags, kFlag64Bit | kFlagLinux);
  EXPECT_EQ(e.compression, Compression::kNone);
  EXPECT_EQ(e.header_size, 64u);
  EXPECT_EQ(e.payload_offset, 16u + 64u);
  EXPECT_EQ(e.padded_size, cubin.size() - 64);
  EXPECT_EQ(e.stored_size, e.padded_size);
  EXPECT_EQ(e.uncompressed_size, e.padded_size);
  ASSERT_TRUE(e.cubin.has_value());
  EXPECT_FALSE(e.ptx.has_value());
  EXPECT_EQ(e.cubin->sm, 86u);
  ASSERT_EQ(e.cubin->kernels.size(), 1u);
  EXPECT_EQ(e.cubin->kernels[0].demangled, "kernel(float*)");

  const FatbinEntry& p = c.entries[1];
  EXPECT_EQ(p.offset, 16u + cubin.size());
  EXPECT_EQ(p.kind, EntryKind::kPtx);
  EXPECT_EQ(p.arch, "compute_120");
  EXPECT_EQ(p.version_major, 9);
  EXPECT_EQ(p.version_minor, 0);
  EXPECT_EQ(p.header_size, 80u);
  ASSERT_TRUE(p.ptx.has_value());
  EXPECT_EQ(p.ptx->isa_version, "9.0");
  EXPECT_EQ(p.ptx->target, "sm_120");
  ASSERT_EQ(p.ptx->entries.size(), 1u);
  EXPECT_EQ(p.ptx->entries[0].mangled, "_Z6kernelPf");
}

TEST(FatbinReader, ArchNamesCarryTheTargetSuffixFromTheFlags) {
  EntrySpec a = cubin_entry(90, {});
  a.flags |= kFlagArchA;
  EntrySpec f = ptx_entry(100, {});
  f.flags |= kFlagArchF;
  EntrySpec lto;
  lto.kind = 8;
  lto.arch = 89;
  lto.payload = Bytes(24, 0x5a);
  EntrySpec unknown;
  unknown.kind = 5;
  unknown.arch = 75;
  unknown.payload = Bytes(8, 0);
  const auto cs =
      parse(make_container({make_entry(a), make_entry(f), make_entry(lto), make_entry(unknown)}));
  ASSERT_EQ(cs.at(0).entries.size(), 4u);
  EXPECT_EQ(cs[0].entries[0].arch, "sm_90a");
  EXPECT_EQ(cs[0].entries[0].arch_suffix, 'a');
  EXPECT_EQ(cs[0].entries[1].arch, "compute_100f");
  EXPECT_EQ(cs[0].entries[1].arch_suffix, 'f');
  EXPECT_EQ(cs[0].entries[2].kind, EntryKind::kLtoIr);
  EXPECT_EQ(cs[0].entries[2].arch, "lto_89");
  EXPECT_FALSE(cs[0].entries[2].cubin || cs[0].entries[2].ptx);  // LTO-IR stays opaque
  EXPECT_EQ(cs[0].entries[3].kind, EntryKind::kUnknown);
  EXPECT_EQ(cs[0].entries[3].raw_kind, 5);
  EXPECT_EQ(cs[0].entries[3].arch, "arch_75");
}

TEST(FatbinReader, LongerHeadersWithOptionsAreSkipped) {
  EntrySpec e = cubin_entry(100, {{"k"}});
  e.header_size = 112;  // sm_100+ cubins carry 0x24 bytes of options after the fixed fields
  Bytes entry = make_entry(e);
  for (std::size_t i = 0x40; i < 112; ++i) entry[i] = 0xee;
  const auto cs = parse(make_container({entry}));
  ASSERT_EQ(cs.at(0).entries.size(), 1u);
  EXPECT_EQ(cs[0].entries[0].payload_offset, 16u + 112u);
  ASSERT_TRUE(cs[0].entries[0].cubin);
  EXPECT_EQ(cs[0].entries[0].cubin->kernels.at(0).mangled, "k");
}

// The one entry of a file of one container.
FatbinEntry only_entry(const Bytes& file) { return parse(file).at(0).entries.at(0); }

TEST(FatbinReader, DecodesLz4Payloads) {
  const Bytes text = bytes_of(ptx_text("sm_75", {"lz4_kernel", "other_kernel"}));
  const EntrySpec e = compressed(ptx_entry(75, {}), kFlagLz4, text);
  const Bytes file = make_container({make_entry(e)});
  const FatbinEntry entry = only_entry(file);
  EXPECT_EQ(entry.compression, Compression::kLz4);
  EXPECT_EQ(entry.stored_size, e.payload.size());
  EXPECT_EQ(entry.uncompressed_size, text.size());
  ASSERT_TRUE(entry.ptx);
  ASSERT_EQ(entry.ptx->entries.size(), 2u);
  EXPECT_EQ(entry.ptx->entries[1].mangled, "other_kernel");
  EXPECT_EQ(read_payload(span(file), entry), text);
}

TEST(FatbinReader, DecodesZstdPayloads) {
  const Bytes cubin = make_cubin(89, {{"_Z4zstdv"}, {"_Z6helperv", false}});
  const EntrySpec e = compressed(cubin_entry(89, {}), kFlagZstd, cubin);
  const Bytes file = make_container({make_entry(e)});
  const FatbinEntry entry = only_entry(file);
  EXPECT_EQ(entry.compression, Compression::kZstd);
  ASSERT_TRUE(entry.cubin);
  ASSERT_EQ(entry.cubin->kernels.size(), 1u);  // the device function is not a kernel
  EXPECT_EQ(entry.cubin->kernels[0].demangled, "zstd()");
  EXPECT_EQ(read_payload(span(file), entry), cubin);
}

TEST(FatbinReader, ContainersBackToBackWithZeroPadding) {
  const Bytes first = make_container({make_entry(cubin_entry(75, {{"a"}}))});
  const Bytes second =
      make_container({make_entry(cubin_entry(80, {{"b"}})), make_entry(ptx_entry(80, {"b"}))});
  Bytes file = first;
  file.resize(file.size() + 8, 0);
  append(file, second);
  file.resize(file.size() + 16, 0);  // trailing padding too
  const auto cs = parse(file);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].index, 0);
  EXPECT_EQ(cs[1].index, 1);
  EXPECT_EQ(cs[1].offset, first.size() + 8);
  EXPECT_EQ(cs[1].entries.size(), 2u);
  EXPECT_EQ(cs[1].entries[0].arch, "sm_80");
}

TEST(FatbinReader, WithoutDecodingOnlyHeadersAreRead) {
  EntrySpec e = cubin_entry(86, {});
  e.payload = Bytes(40, 0x77);  // not an ELF: would fail to decode
  const auto cs = parse(make_container({make_entry(e)}), /*decode=*/false);
  EXPECT_EQ(cs.at(0).entries.at(0).arch, "sm_86");
  EXPECT_FALSE(cs[0].entries[0].cubin);
  expect_entry_error(e, "not an ELF file");
}

TEST(FatbinReader, TruncatedContainerHeader) {
  Bytes file = make_container({make_entry(cubin_entry(75, {}))});
  file.resize(10);
  expect_format_error([&] { parse(file); }, "container 0 at 0x0: container header at offset 0x0");
}

TEST(FatbinReader, BadContainerMagic) {
  Bytes file = make_container({make_entry(cubin_entry(75, {}))});
  put_u32(file, 0, 0xBA55ED51);
  expect_format_error([&] { parse(file); }, "bad magic 0xba55ed51, expected 0xba55ed50");
}

TEST(FatbinReader, ContainerSizeBeyondTheBytes) {
  Bytes file = make_container({make_entry(cubin_entry(75, {}))});
  put_u64(file, 8, kMax - 8);  // 16 + size would wrap around
  expect_format_error([&] { parse(file); }, "container entries");
}

TEST(FatbinReader, TruncatedEntryHeader) {
  Bytes file = make_container({Bytes(40, 0)});
  expect_format_error([&] { parse(file); }, "entry 0 at 0x10: entry header at offset 0x0");
}

TEST(FatbinReader, EntryHeaderSmallerThanItsFields) {
  EntrySpec e = cubin_entry(75, {});
  e.header_size = 32;
  expect_entry_error(e, "entry header size 32 is smaller than the 64 bytes");
}

TEST(FatbinReader, ZeroSizeEntryWouldLoopForever) {
  EntrySpec e;
  e.header_size = 0;
  e.padded_size = 0;
  expect_entry_error(e, "entry header size 0 is smaller");
}

TEST(FatbinReader, EntryHeaderBeyondTheContainer) {
  EntrySpec e = cubin_entry(75, {});
  e.header_size = 0xffffffff;
  expect_entry_error(e, "entry header at offset 0x0");
}

TEST(FatbinReader, PayloadSizeBeyondTheContainer) {
  EntrySpec e = cubin_entry(75, {});
  e.padded_size = e.payload.size() + 4096;
  expect_entry_error(e, "entry payload at offset 0x40");
  e.padded_size = kMax;
  expect_entry_error(e, "entry payload");
}

TEST(FatbinReader, AbsurdUncompressedSize) {
  EntrySpec e = cubin_entry(75, {});
  e = compressed(e, kFlagZstd, e.payload);
  e.uncompressed_size = kMaxPayloadSize + 1;
  expect_entry_error(e, "is absurd");
  e.uncompressed_size = 0;
  expect_entry_error(e, "is absurd");
  EXPECT_THROW(decompress(span(e.payload), Compression::kZstd, kMaxPayloadSize + 1), FormatError);
}

TEST(FatbinReader, CompressedSizeLargerThanThePayload) {
  EntrySpec e = ptx_entry(75, {});
  e = compressed(e, kFlagZstd, e.payload);
  e.compressed_size = static_cast<std::uint32_t>(e.payload.size() + 64);
  expect_entry_error(e, "compressed size");
}

TEST(FatbinReader, ContradictoryFlags) {
  EntrySpec both = ptx_entry(75, {});
  both.flags |= kFlagLz4 | kFlagZstd;
  expect_entry_error(both, "both LZ4 and ZSTD");
  EntrySpec af = cubin_entry(100, {});
  af.flags |= kFlagArchA | kFlagArchF;
  expect_entry_error(af, "both an 'a' and an 'f'");
}

TEST(FatbinReader, CorruptOrMisdeclaredLz4Block) {
  const Bytes text = bytes_of(ptx_text("sm_75", {"k"}));
  EntrySpec e = compressed(ptx_entry(75, {}), kFlagLz4, text);
  e.uncompressed_size = text.size() + 1;  // one byte more than the block holds
  expect_entry_error(e, "LZ4");
  e.payload = Bytes(32, 0xf0);  // literal lengths running past the end
  e.uncompressed_size = text.size();
  expect_entry_error(e, "corrupt LZ4 block");
  e.uncompressed_size = 1 << 20;  // 32 bytes of LZ4 cannot hold 1 MiB
  expect_entry_error(e, "cannot hold");
}

TEST(FatbinReader, CorruptOrMisdeclaredZstdFrame) {
  const Bytes cubin = make_cubin(75, {{"k"}});
  EntrySpec e = compressed(cubin_entry(75, {}), kFlagZstd, cubin);
  e.uncompressed_size = cubin.size() + 8;
  expect_entry_error(e, "ZSTD frame holds");
  e.uncompressed_size = cubin.size();
  e.payload = Bytes(32, 0x11);
  expect_entry_error(e, "not a ZSTD frame");
  e.payload = zstd_compress(cubin);
  e.payload.resize(e.payload.size() - 6);  // truncated frame
  expect_entry_error(e, "corrupt ZSTD frame");
}

TEST(FatbinReader, CubinWhoseElfDisagreesWithTheEntry) {
  EntrySpec e = cubin_entry(86, {});
  e.payload = make_cubin(75, {});
  expect_entry_error(e, "the cubin's ELF header says sm_75 but the entry header says sm_86");
}

TEST(FatbinReader, ErrorsNameTheFileTheContainerAndTheEntry) {
  EntrySpec bad = cubin_entry(80, {});
  bad.header_size = 8;
  const Bytes second = make_container({make_entry(cubin_entry(75, {})), make_entry(bad)});
  Bytes file = make_container({make_entry(cubin_entry(75, {}))});
  const std::uint64_t second_at = file.size();
  append(file, second);
  const std::uint64_t bad_at = second_at + 16 + make_entry(cubin_entry(75, {})).size();
  expect_format_error([&] { inspect_bytes(span(file), "kernels.fatbin"); },
                      "kernels.fatbin: container 1 at " + hex(second_at) + ": entry 1 at " +
                          hex(bad_at) + ": entry header size 8");
}

TEST(FatbinReader, ToStringShowsArchCompressionAndKernels) {
  EntrySpec e = cubin_entry(90, {{"_Z3fooPf"}});
  e.flags |= kFlagArchA;
  const auto cs = parse(make_container({make_entry(e)}));
  const std::string text = to_string(cs.at(0));
  EXPECT_NE(text.find("container 0"), std::string::npos) << text;
  EXPECT_NE(text.find("cubin sm_90a"), std::string::npos) << text;
  EXPECT_NE(text.find("foo(float*)"), std::string::npos) << text;
}

}  // namespace
