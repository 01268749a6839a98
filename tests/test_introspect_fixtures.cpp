// Real binaries from nvcc, built at build time from tests/fixtures/doctor_kernels.cu with varied
// flags (tests/CMakeLists.txt): each listing, the selection table on them (with the 'a' and 'f'
// rules and the environment variables), and hostile versions of them. Without nvcc the build
// has no fixtures and these tests skip; the synthetic files of the other introspect tests
// still run.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/introspect/elf.h>
#include <lenet/introspect/fatbin.h>
#include <lenet/introspect/selection.h>

#include "support/fatbin_builders.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;

#if defined(LENET_FIXTURE_DIR)
constexpr const char* kFixtureDir = LENET_FIXTURE_DIR;
#else
constexpr const char* kFixtureDir = nullptr;
#endif

// Every test reads fixtures: without them it skips.
class NvccFixtures : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kFixtureDir == nullptr) {
      GTEST_SKIP() << "this build has no CUDA compiler, so the nvcc fixtures were not built";
    }
  }
};
class NvccFixtureVerdicts : public NvccFixtures {};
class NvccFixtureRobustness : public NvccFixtures {};

std::string fixture(const std::string& name) { return std::string(kFixtureDir) + "/" + name; }

Bytes read_bytes(const std::string& path) { return lenet::test::read_file<Bytes>(path); }

FileInfo headers_only(const std::string& path) {
  ReadOptions options;
  options.decode_payloads = false;
  return inspect_file(path, options);
}

// "cubin sm_75 none, ptx compute_75 zstd": kind, arch and compression of each entry.
std::string listing(const FatbinContainer& c) {
  std::string out;
  for (const FatbinEntry& e : c.entries) {
    out += (out.empty() ? "" : ", ") + to_string(e.kind) + " " + e.arch + " " +
           to_string(e.compression);
  }
  return out;
}

std::vector<std::string> kernel_names(const FatbinEntry& e) {
  std::vector<std::string> out;
  const std::vector<KernelName>* names = e.cubin ? &e.cubin->kernels : &e.ptx->entries;
  for (const KernelName& k : *names) out.push_back(k.demangled);
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string> kBothKernels = {"fill_kernel", "scale_kernel(float*, float, int)"};

// Where a container sits, what it is for, and its entries (as listing() writes them).
void expect_container(const FatbinContainer& c, const std::string& section, ContainerRole role,
                      const std::string& entries) {
  EXPECT_EQ(c.section, section) << to_string(c);
  EXPECT_EQ(c.role, role) << to_string(c);
  EXPECT_EQ(listing(c), entries) << to_string(c);
}

// One compilation unit of .nv_fatbin with these entries, each decoded, naming both kernels.
void expect_object(const std::string& name, const std::string& expected) {
  const FileInfo info = inspect_file(fixture(name));
  EXPECT_EQ(info.kind, FileKind::kHostElf);
  ASSERT_EQ(info.containers.size(), 1u) << to_string(info);
  const FatbinContainer& c = info.containers[0];
  expect_container(c, ".nv_fatbin", ContainerRole::kCompilationUnit, expected);
  for (const FatbinEntry& e : c.entries) {
    ASSERT_TRUE(e.cubin || e.ptx) << to_string(e);
    EXPECT_EQ(kernel_names(e), kBothKernels) << to_string(e);
    if (e.kind == EntryKind::kPtx) {
      EXPECT_GE(e.version_major, 9) << "nvcc 13 writes PTX ISA 9.x: " << to_string(e);
      EXPECT_EQ(e.ptx->isa_version,
                std::to_string(e.version_major) + "." + std::to_string(e.version_minor));
    }
    if (e.compression != Compression::kNone) {
      EXPECT_LT(e.stored_size, e.uncompressed_size) << to_string(e);
    } else {
      EXPECT_EQ(e.stored_size, e.uncompressed_size) << to_string(e);
    }
  }
  // Reading only the headers gives the same entries, undecoded.
  const FileInfo fast = headers_only(fixture(name));
  ASSERT_EQ(fast.containers.size(), 1u);
  EXPECT_EQ(listing(fast.containers[0]), expected);
  for (const FatbinEntry& e : fast.containers[0].entries) EXPECT_FALSE(e.cubin || e.ptx);
}

TEST_F(NvccFixtures, DefaultFlags) {
  // nvcc 13.0 defaults to sm_75: the cubin stored as is, the PTX compressed with ZSTD.
  expect_object("default.o", "cubin sm_75 none, ptx compute_75 zstd");
}

TEST_F(NvccFixtures, NoCompress) {
  expect_object("no_compress.o", "cubin sm_75 none, ptx compute_75 none");
}

TEST_F(NvccFixtures, CompressModeSize) {
  expect_object("compress_size.o", "cubin sm_75 zstd, ptx compute_75 zstd");
}

TEST_F(NvccFixtures, CompressModeSpeedCompressAll) {
  expect_object("compress_speed_all.o", "cubin sm_75 lz4, ptx compute_75 lz4");
}

TEST_F(NvccFixtures, PtxOnly) {
  expect_object("ptx_only.o", "ptx compute_75 zstd");
}

TEST_F(NvccFixtures, ArchSpecificSm90a) {
  expect_object("sm_90a.o", "ptx compute_90 zstd, cubin sm_90a none, ptx compute_90a zstd");
  const FileInfo info = inspect_file(fixture("sm_90a.o"));
  const FatbinEntry& cubin = info.containers[0].entries[1];
  EXPECT_EQ(cubin.arch_suffix, 'a');
  EXPECT_NE(cubin.flags & kFlagArchA, 0u);
  EXPECT_EQ(cubin.cubin->sm, 90u);  // the suffix is only in the entry flags
  EXPECT_EQ(info.containers[0].entries[2].ptx->target, "sm_90a");
}

TEST_F(NvccFixtures, FamilySm100f) {
  expect_object("sm_100f.o", "ptx compute_100 zstd, cubin sm_100f none, ptx compute_100f zstd");
  const FileInfo info = inspect_file(fixture("sm_100f.o"));
  EXPECT_NE(info.containers[0].entries[1].flags & kFlagArchF, 0u);
  EXPECT_EQ(info.containers[0].entries[2].ptx->target, "sm_100f");
}

TEST_F(NvccFixtures, BareFatbinCubinAndPtx) {
  const FileInfo fatbin = inspect_file(fixture("sm_86.fatbin"));
  EXPECT_EQ(fatbin.kind, FileKind::kFatbin);
  ASSERT_EQ(fatbin.containers.size(), 1u);
  EXPECT_EQ(fatbin.containers[0].role, ContainerRole::kUnknown);
  EXPECT_EQ(fatbin.containers[0].offset, 0u);
  EXPECT_EQ(listing(fatbin.containers[0]), "cubin sm_86 none, ptx compute_86 zstd");

  const FileInfo cubin = inspect_file(fixture("sm_86.cubin"));
  EXPECT_EQ(cubin.kind, FileKind::kCubin);
  ASSERT_TRUE(cubin.cubin);
  EXPECT_EQ(cubin.cubin->sm, 86u);
  EXPECT_EQ(cubin.cubin->kernels.size(), 2u);

  const FileInfo ptx = inspect_file(fixture("compute_75.ptx"));
  EXPECT_EQ(ptx.kind, FileKind::kPtx);
  ASSERT_TRUE(ptx.ptx);
  EXPECT_EQ(ptx.ptx->target, "sm_75");
  EXPECT_EQ(ptx.ptx->entries.size(), 2u);
}

TEST_F(NvccFixtures, RdcStaticLibrary) {
  const FileInfo info = inspect_file(fixture("librdc.a"));
  EXPECT_EQ(info.kind, FileKind::kArchive);
  ASSERT_EQ(info.containers.size(), 1u) << to_string(info);
  const FatbinContainer& c = info.containers[0];
  EXPECT_EQ(c.member, "rdc.o");
  expect_container(c, "__nv_relfatbin", ContainerRole::kRelocatable,
                   "cubin sm_80 zstd, ptx compute_80 zstd");
  EXPECT_EQ(kernel_names(c.entries[0]), kBothKernels);
}

TEST_F(NvccFixtures, ProgramDeviceLinkedAgainstTheRdcLibrary) {
  const FileInfo info = inspect_file(fixture("rdc_program"));
  EXPECT_EQ(info.kind, FileKind::kHostElf);
  // .nv_fatbin holds only the device-link output, with the kernels; the objects' relocatable
  // images stay behind in __nv_relfatbin, never loaded.
  ASSERT_GE(info.containers.size(), 2u) << to_string(info);
  const FatbinContainer& link = info.containers[0];
  expect_container(link, ".nv_fatbin", ContainerRole::kDeviceLink, "cubin sm_80 none");
  // The device link keeps only the kernels the program references.
  EXPECT_EQ(kernel_names(link.entries[0]),
            std::vector<std::string>{"scale_kernel(float*, float, int)"});
  int with_kernels = 0;
  for (std::size_t i = 1; i < info.containers.size(); ++i) {
    EXPECT_EQ(info.containers[i].section, "__nv_relfatbin");
    EXPECT_EQ(info.containers[i].role, ContainerRole::kRelocatable);
    if (may_hold_kernels(info.containers[i])) ++with_kernels;
  }
  EXPECT_EQ(with_kernels, 1) << to_string(info);
}

// --- the selection table on the fixtures ---

// One row of a verdict table: the GPUs (compute capabilities as numbers, 86: 8.6) that all get
// this choice of this image, or, with "none", no image and this error.
struct Row {
  std::vector<int> gpus;
  std::string choice;  // "cubin", "compatible-cubin", "ptx-jit", "none"
  std::string image;   // empty with "none"
  int error = 0;
};

void expect_verdicts(const std::string& name, const std::vector<Row>& rows,
                     const DriverSetup& driver = {}) {
  const FileInfo info = headers_only(fixture(name));
  for (const Row& row : rows) {
    for (int gpu : row.gpus) {
      const FileVerdict v = judge_file(info, query(gpu, driver));
      const std::string where = name + " on sm_" + std::to_string(gpu);
      EXPECT_EQ(to_string(v.overall.choice), row.choice) << where << ": " << v.overall.reason;
      EXPECT_EQ(v.overall.image ? v.overall.image->name() : "", row.image)
          << where << ": " << v.overall.reason;
      EXPECT_EQ(v.overall.error, row.error) << where << ": " << v.overall.reason;
    }
  }
}

constexpr int k209 = kCudaErrorNoKernelImageForDevice;

TEST_F(NvccFixtureVerdicts, DefaultSm75WithPtx) {
  const std::vector<int> later = {80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121, 130};
  expect_verdicts("default.o", {{{75}, "cubin", "sm_75"},
                                {later, "ptx-jit", "compute_75"},
                                {{61}, "none", "", k209}});
  expect_verdicts("default.o", {{{75}, "ptx-jit", "compute_75"}}, kForcePtxJit);
  expect_verdicts("default.o", {{{75}, "cubin", "sm_75"}, {{86}, "none", "", 223}},
                  kDisablePtxJit);
  expect_verdicts("default.o", {{{75}, "cubin", "sm_75"}, {{86}, "none", "", 222}},
                  driver_version(12080));
}

TEST_F(NvccFixtureVerdicts, PtxOnly) {
  expect_verdicts("ptx_only.o", {{{75, 121}, "ptx-jit", "compute_75"}, {{70}, "none", "", k209}});
  expect_verdicts("ptx_only.o", {{{75}, "none", "", 223}}, kDisablePtxJit);
  expect_verdicts("ptx_only.o", {{{75}, "ptx-jit", "compute_75"}}, driver_version(13000));
}

TEST_F(NvccFixtureVerdicts, ArchSpecificSm90a) {
  expect_verdicts("sm_90a.o", {{{90}, "cubin", "sm_90a"},
                               {{100, 103, 110, 120, 121}, "ptx-jit", "compute_90"},
                               {{89, 75}, "none", "", k209}});
  expect_verdicts("sm_90a.o",
                  {{{90}, "ptx-jit", "compute_90a"}, {{100}, "ptx-jit", "compute_90"}},
                  kForcePtxJit);
}

TEST_F(NvccFixtureVerdicts, FamilySm100f) {
  expect_verdicts("sm_100f.o", {{{100}, "cubin", "sm_100f"},
                                {{103}, "compatible-cubin", "sm_100f"},
                                {{110, 120, 121}, "ptx-jit", "compute_100"},
                                {{90, 86}, "none", "", k209}});
  expect_verdicts("sm_100f.o",
                  {{{103}, "ptx-jit", "compute_100f"}, {{110}, "ptx-jit", "compute_100"}},
                  kForcePtxJit);
  expect_verdicts("sm_100f.o",
                  {{{103}, "compatible-cubin", "sm_100f"}, {{110}, "none", "", 223}},
                  kDisablePtxJit);
}

TEST_F(NvccFixtureVerdicts, RdcProgramLoadsOnlyItsDeviceLinkOutput) {
  // The compute_80 PTX left in __nv_relfatbin does not help a 9.0 GPU: it is never loaded.
  expect_verdicts("rdc_program", {{{80}, "cubin", "sm_80"},
                                  {{86, 89}, "compatible-cubin", "sm_80"},
                                  {{90, 75}, "none", "", k209}});
  const FileVerdict v = judge_file(inspect_file(fixture("rdc_program")), {{8, 6}, {}, {}});
  ASSERT_EQ(v.containers.size(), 1u);
  EXPECT_EQ(v.containers[0].container, 0);
}

TEST_F(NvccFixtureVerdicts, RdcLibraryHasNoVerdict) {
  const FileVerdict v = judge_file(headers_only(fixture("librdc.a")), {{8, 0}, {}, {}});
  EXPECT_TRUE(v.containers.empty());
  EXPECT_EQ(v.overall.error, 0);
  EXPECT_NE(v.overall.reason.find("relocatable"), std::string::npos) << v.overall.reason;
}

// --- hostile versions of real files ---

// Reads `bytes` from an allocation of exactly their size, so that AddressSanitizer sees any
// read past the end; true when the reader threw FormatError, false when it returned.
bool format_error_from(const Bytes& bytes, const std::string& what) {
  const std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[bytes.size() + 1]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  try {
    inspect_bytes(ByteSpan(exact.get(), bytes.size()), what);
    return false;
  } catch (const FormatError&) {
    return true;
  }
}

TEST_F(NvccFixtureRobustness, RealFatbinTruncatedAtEveryOffset) {
  for (const char* name : {"sm_86.fatbin"}) {
    const Bytes fatbin = read_bytes(fixture(name));
    ASSERT_GT(fatbin.size(), kContainerHeaderSize);
    EXPECT_FALSE(format_error_from(fatbin, name));
    // The container header declares the size of what follows, so every shorter prefix breaks it.
    for (std::size_t n = 0; n < fatbin.size(); ++n) {
      EXPECT_TRUE(format_error_from(Bytes(fatbin.begin(), fatbin.begin() + n), name))
          << name << " truncated to " << n << " bytes";
    }
  }
}

// The .nv_fatbin section of a real object, as a bare fatbin.
Bytes fatbin_section(const std::string& name) {
  const Bytes file = read_bytes(fixture(name));
  const ElfFile elf(span(file));
  const ElfSection* section = elf.find_section(".nv_fatbin");
  if (section == nullptr) return {};
  const ByteSpan bytes = elf.section_bytes(*section);
  return Bytes(bytes.data(), bytes.data() + bytes.size());
}

TEST_F(NvccFixtureRobustness, CompressedFatbinsTruncatedAtEveryOffset) {
  for (const char* name : {"compress_size.o", "compress_speed_all.o"}) {
    Bytes fatbin = fatbin_section(name);
    // The section ends with zero padding after the container: cut it to the container itself.
    ASSERT_GT(fatbin.size(), kContainerHeaderSize) << name;
    fatbin.resize(kContainerHeaderSize + ByteSpan(fatbin.data(), fatbin.size()).u64(8));
    EXPECT_FALSE(format_error_from(fatbin, name));
    for (std::size_t n = 1; n < fatbin.size(); ++n) {
      EXPECT_TRUE(format_error_from(Bytes(fatbin.begin(), fatbin.begin() + n), name))
          << name << " truncated to " << n << " bytes";
    }
  }
}

TEST_F(NvccFixtureRobustness, SizesAndOffsetsPastTheEnd) {
  const Bytes fatbin = read_bytes(fixture("sm_86.fatbin"));
  const std::uint64_t entry = kContainerHeaderSize;  // the first entry's header
  const auto broken = [&](std::uint64_t offset, std::uint64_t value, int size) {
    Bytes b = fatbin;
    put(b, offset, value, size);
    return b;
  };
  const auto expect_error = [](const Bytes& b, const std::string& part) {
    expect_format_error([&] { inspect_bytes(span(b), "sm_86.fatbin"); }, part);
  };
  expect_error(broken(8, std::uint64_t{1} << 62, 8), "container entries");
  expect_error(broken(8, fatbin.size(), 8), "container entries");
  expect_error(broken(entry + 0x04, 0x7fffffff, 4), "entry header");
  expect_error(broken(entry + 0x04, 8, 4), "smaller than");
  expect_error(broken(entry + 0x08, std::uint64_t{1} << 63, 8), "entry payload");
  expect_error(broken(entry + 0x08, fatbin.size(), 8), "entry payload");
  // The second entry is the ZSTD-compressed PTX: its sizes are checked too.
  const ByteSpan whole = span(fatbin);
  const std::uint64_t second = entry + whole.u32(entry + 0x04) + whole.u64(entry + 0x08);
  expect_error(broken(second + 0x10, 0xffffffff, 4), "compressed size");
  expect_error(broken(second + 0x38, std::uint64_t{1} << 40, 8), "uncompressed size");
  expect_error(broken(second + 0x38, 3, 8), "ZSTD frame holds");
}

TEST_F(NvccFixtureRobustness, EveryDamagedByteOfARealFatbin) {
  const Bytes fatbin = read_bytes(fixture("sm_86.fatbin"));
  for (std::size_t i = 0; i < fatbin.size(); ++i) {
    Bytes damaged = fatbin;
    damaged[i] ^= 0xff;
    const std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[damaged.size()]);
    std::copy(damaged.begin(), damaged.end(), exact.get());
    try {
      inspect_bytes(ByteSpan(exact.get(), damaged.size()), "damaged");
    } catch (const FormatError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": " << e.what();
    }
  }
}

TEST_F(NvccFixtureRobustness, EmptyNonElfAndSectionTableOutsideTheFile) {
  expect_format_error([] { inspect_file(write_temp_file("doctor_empty", {})); }, "empty file");
  expect_format_error(
      [] { inspect_file(write_temp_file("doctor_text", bytes_of("just some text\n"))); },
      "not an ELF file, ar archive, fatbin or PTX text");
  Bytes object = read_bytes(fixture("default.o"));
  ASSERT_GT(object.size(), 64u);
  Bytes outside = object;
  put_u64(outside, 0x28, object.size() + 64);  // e_shoff past the end
  expect_format_error([&] { inspect_file(write_temp_file("doctor_shoff", outside)); },
                      "section table");
  Bytes huge = object;
  put_u64(huge, 0x28, std::uint64_t{1} << 63);
  expect_format_error([&] { inspect_file(write_temp_file("doctor_shoff_huge", huge)); },
                      "section table");
}

}  // namespace
