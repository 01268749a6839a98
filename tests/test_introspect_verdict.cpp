// Verdicts for whole files (verdict.h), the driver tables (driver.h) and the GPU names
// (gpus.h), on synthetic files: modules counted by how they load, with and without --strict's
// rule; the architecture summary; what a file needs from its DT_NEEDED entries and its cubins'
// toolkit notes; the driver-branch table; the lookup of GPUs by name.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/introspect/driver.h>
#include <lenet/introspect/gpus.h>
#include <lenet/introspect/selection.h>
#include <lenet/introspect/verdict.h>

#include "support/fatbin_builders.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;

// --- the driver table ---

struct DriverCase {
  std::string text;
  int cuda;
  std::string nvidia;
};

TEST(DriverTable, DriverVersionsAndCudaVersions) {
  const std::vector<DriverCase> cases = {
      {"470.82", 11040, "470.82"},       {"470.82.01", 11040, "470.82.01"},
      {"470", 11040, "470"},             {"525.60.13", 12000, "525.60.13"},
      {"525.60.12", 11080, "525.60.12"}, {"550.54.14", 12040, "550.54.14"},
      {"570.86.10", 12080, "570.86.10"}, {"575.57.08", 12090, "575.57.08"},
      {"580.65.06", 13000, "580.65.06"}, {"580", 13000, "580"},
      {"590.44.01", 13000, "590.44.01"}, {"384.81", 9000, "384.81"},
      {"12.8", 12080, ""},               {"13.0", 13000, ""},
      {"11.4", 11040, ""},               {"12080", 12080, ""},
  };
  for (const DriverCase& c : cases) {
    std::string why;
    const std::optional<DriverSpec> spec = parse_driver(c.text, &why);
    ASSERT_TRUE(spec) << c.text << ": " << why;
    EXPECT_EQ(spec->cuda_version, c.cuda) << c.text;
    EXPECT_EQ(spec->nvidia_version, c.nvidia) << c.text;
  }
  std::string why;
  EXPECT_EQ(parse_driver("470.82", &why)->description(), "NVIDIA driver 470.82 (CUDA 11.4)");
  EXPECT_EQ(parse_driver("12.8", &why)->description(), "a driver for CUDA 12.8");
  for (const char* bad : {"abc", "", "12.8.1", "1.2.3.4", "12.800", "-1", "470.x"}) {
    EXPECT_FALSE(parse_driver(bad, &why)) << bad;
    EXPECT_NE(why.find("neither a driver version"), std::string::npos) << why;
  }
  EXPECT_FALSE(parse_driver("375.26", &why));
  EXPECT_NE(why.find("older than 384.81"), std::string::npos) << why;
}

TEST(DriverTable, MinimumBranchAndMinorVersionCompatibility) {
  EXPECT_EQ(min_driver_branch(11), 450);
  EXPECT_EQ(min_driver_branch(12), 525);
  EXPECT_EQ(min_driver_branch(13), 580);
  EXPECT_EQ(min_driver_branch(10), 0);
  EXPECT_TRUE(driver_runs_runtime(12020, 12));  // a 12.2 driver starts a 12.8 runtime
  EXPECT_TRUE(driver_runs_runtime(13000, 12));
  EXPECT_FALSE(driver_runs_runtime(12090, 13));
  EXPECT_FALSE(driver_runs_runtime(11040, 13));
  EXPECT_EQ(highest_cuda_of_driver(0), 0);
  EXPECT_EQ(highest_cuda_of_driver(999), 13000);
}

// --- GPU names ---

TEST(GpuNames, MarketingNamesAndDeviceNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"RTX 3080 Ti", "8.6"},    {"GeForce GTX 1080", "6.1"},  {"A100", "8.0"},
      {"H100", "9.0"},           {"L4", "8.9"},                {"Jetson Orin", "8.7"},
      {"RTX 5090", "12.0"},      {"DGX Spark", "12.1"},        {"rtx3080ti", "8.6"},
      {"geforce-rtx-4090", "8.9"}, {"T4", "7.5"},              {"B200", "10.0"},
      {"NVIDIA H100 80GB HBM3", "9.0"}, {"NVIDIA A100-SXM4-80GB", "8.0"},
      {"NVIDIA GeForce RTX 3080 Ti Laptop GPU", "8.6"}, {"Tesla V100-SXM2-16GB", "7.0"},
  };
  for (const auto& [name, cc] : cases) {
    const std::optional<GpuModel> gpu = find_gpu(name);
    ASSERT_TRUE(gpu) << name;
    EXPECT_EQ(to_string(gpu->cc), cc) << name << " -> " << gpu->name;
  }
  EXPECT_EQ(find_gpu("RTX 3080 Ti")->name, "GeForce RTX 3080 Ti");
  EXPECT_EQ(find_gpu("rtx 3080")->name, "GeForce RTX 3080");
  EXPECT_EQ(find_gpu("A10")->name, "A10");
  EXPECT_EQ(find_gpu("NVIDIA A10")->name, "A10");
}

TEST(GpuNames, UnknownNamesGetTheClosest) {
  for (const char* unknown : {"RTX 3008", "H1000", "Radeon 7900", ""}) {
    EXPECT_FALSE(find_gpu(unknown)) << unknown;
  }
  const std::vector<std::string> closest = closest_gpus("RTX 3008");
  ASSERT_EQ(closest.size(), 3u);
  EXPECT_NE(std::find(closest.begin(), closest.end(), "GeForce RTX 3080"), closest.end())
      << closest[0] << ", " << closest[1] << ", " << closest[2];
  EXPECT_EQ(closest_gpus("H1000", 1).front(), "H100");
}

TEST(GpuNames, EveryTableNameFindsItself) {
  for (const GpuModel& gpu : known_gpus()) {
    const std::optional<GpuModel> found = find_gpu(gpu.name);
    ASSERT_TRUE(found) << gpu.name;
    EXPECT_EQ(found->name, gpu.name);
    EXPECT_GE(gpu.cc.major, 5);
  }
}

// --- whole files ---

Bytes entry(std::uint16_t kind, unsigned arch, const std::string& kernel, char suffix = 0) {
  EntrySpec e;
  e.kind = kind;
  e.arch = arch;
  if (suffix == 'a') e.flags |= kFlagArchA;
  if (kind == 1) {
    e.major = 9;
    e.minor = 0;
    e.payload = bytes_of(ptx_text("sm_" + std::to_string(arch), {kernel}));
  } else {
    e.payload = make_cubin(arch, {{kernel}});
  }
  return make_entry(e);
}

Bytes cubin_entry(unsigned arch, const std::string& kernel, char suffix = 0) {
  return entry(2, arch, kernel, suffix);
}
Bytes ptx_entry(unsigned arch, const std::string& kernel) { return entry(1, arch, kernel); }

// A library of three modules: two with sm_80 and sm_90 cubins (one with compute_90 PTX too),
// one with sm_80 and sm_90a cubins of another kernel, and one for sm_75 only.
FileInfo library() {
  const HostFatbin f = make_host_executable(
      {make_container({cubin_entry(80, "_Z1av"), cubin_entry(90, "_Z1av")}),
       make_container({cubin_entry(80, "_Z1bv"), cubin_entry(90, "_Z1bv"), ptx_entry(90, "_Z1bv")}),
       make_container({cubin_entry(80, "_Z1cv"), cubin_entry(90, "_Z1cv", 'a')}),
       make_container({cubin_entry(75, "_Z14turing_kernelv")})},
      {1, 1, 1, 1});
  return inspect_bytes(span(f.file), "library.so");
}

LoadVerdict judge_for(const FileInfo& info, int cc, const FileNeeds& needs = {},
                      const std::optional<DriverSpec>& driver = std::nullopt) {
  SelectionQuery q;
  q.cc = {cc / 10, cc % 10};
  if (driver) q.driver_version = driver->cuda_version;
  return judge_load(judge_file(info, q), needs, driver);
}

TEST(LoadVerdicts, ModulesCountedByHowTheyLoad) {
  const FileInfo lib = library();
  const LoadVerdict h100 = judge_for(lib, 90);
  EXPECT_EQ(h100.outcome, Outcome::kLoadsExceptSome);
  EXPECT_EQ(h100.headline, "loads, except 1 module with kernels only for other GPUs");
  EXPECT_EQ(h100.counts.exact, 3);
  EXPECT_EQ(h100.counts.none, 1);
  EXPECT_EQ(h100.failed, std::vector<int>{3});
  EXPECT_FALSE(h100.fails(false));  // a library: fine
  EXPECT_TRUE(h100.fails(true));    // one's own program: a kernel may be launched there

  const LoadVerdict ampere = judge_for(lib, 86);
  EXPECT_EQ(ampere.outcome, Outcome::kLoadsExceptSome);
  EXPECT_EQ(ampere.counts.compatible, 3);

  const LoadVerdict turing = judge_for(lib, 75);
  EXPECT_EQ(turing.headline, "loads, except 3 modules with kernels only for other GPUs");
  EXPECT_EQ(turing.failed, (std::vector<int>{0, 1, 2}));

  const LoadVerdict pascal = judge_for(lib, 61);
  EXPECT_EQ(pascal.outcome, Outcome::kDoesNotLoad);
  EXPECT_EQ(pascal.headline, "does not load");
  EXPECT_EQ(pascal.error, kCudaErrorNoKernelImageForDevice);
  EXPECT_TRUE(pascal.fails(false));
  EXPECT_NE(pascal.reason.find("none of its 4 modules with kernels loads"), std::string::npos)
      << pascal.reason;
}

TEST(LoadVerdicts, JitAndLoadsAndNoVerdict) {
  const HostFatbin ptx_only = make_host_executable(
      {make_container({ptx_entry(75, "_Z1av")}), make_container({ptx_entry(80, "_Z1bv")})}, {1, 1});
  const FileInfo ptx = inspect_bytes(span(ptx_only.file), "ptx.so");
  const LoadVerdict jit = judge_for(ptx, 90);
  EXPECT_EQ(jit.outcome, Outcome::kLoadsThroughJit);
  EXPECT_EQ(jit.headline, "loads only through PTX JIT (slow first start)");
  EXPECT_FALSE(jit.fails(true));
  const LoadVerdict partly = judge_for(ptx, 75);
  EXPECT_EQ(partly.outcome, Outcome::kLoadsExceptSome);

  const HostFatbin mixed = make_host_executable(
      {make_container({cubin_entry(90, "_Z1av")}), make_container({ptx_entry(80, "_Z1bv")})},
      {1, 1});
  const LoadVerdict some_jit = judge_for(inspect_bytes(span(mixed.file), "m.so"), 90);
  EXPECT_EQ(some_jit.headline, "loads, 1 of 2 modules only through PTX JIT (slow first start)");

  const HostFatbin cubins = make_host_executable({make_container({cubin_entry(90, "_Z1av")})}, {1});
  const LoadVerdict loads = judge_for(inspect_bytes(span(cubins.file), "c.so"), 90);
  EXPECT_EQ(loads.outcome, Outcome::kLoads);
  EXPECT_EQ(loads.headline, "loads");
  EXPECT_FALSE(loads.fails(true));

  const HostFatbin none = make_host_executable({}, {});
  const LoadVerdict nothing = judge_for(inspect_bytes(span(none.file), "n.so"), 90);
  EXPECT_EQ(nothing.outcome, Outcome::kNoVerdict);
  EXPECT_FALSE(nothing.fails(true));
}

TEST(LoadVerdicts, DriverTooOldForTheRuntimeOrThePtx) {
  const FileInfo lib = library();
  FileNeeds needs;
  needs.cuda_runtime = 13;
  needs.runtime_from = "libcudart.so.13";
  std::string why;
  const LoadVerdict old = judge_for(lib, 90, needs, parse_driver("470.82", &why));
  EXPECT_EQ(old.outcome, Outcome::kDoesNotLoad);
  EXPECT_EQ(old.error, kCudaErrorInsufficientDriver);
  EXPECT_TRUE(old.fails(false));
  EXPECT_NE(old.reason.find("newer than the CUDA 11.4 that NVIDIA driver 470.82 supports"),
            std::string::npos)
      << old.reason;
  EXPECT_NE(old.reason.find("driver branch R580 or newer"), std::string::npos) << old.reason;
  EXPECT_EQ(judge_for(lib, 90, needs, parse_driver("580.65.06", &why)).outcome,
            Outcome::kLoadsExceptSome);
  // Nothing in the file starts a runtime (no module, no CUDA library linked): no verdict.
  FileInfo archive;
  archive.kind = FileKind::kArchive;
  EXPECT_EQ(judge_for(archive, 90, needs, parse_driver("470.82", &why)).outcome, Outcome::kNoVerdict);
  // A runtime the file does not name: nothing to compare the driver with.
  EXPECT_EQ(judge_for(lib, 90, {}, parse_driver("470.82", &why)).outcome,
            Outcome::kLoadsExceptSome);

  // PTX ISA 9.0 on a 12.8 driver: the JIT refuses it.
  const HostFatbin ptx_only =
      make_host_executable({make_container({ptx_entry(75, "_Z1av")})}, {1});
  const LoadVerdict too_new =
      judge_for(inspect_bytes(span(ptx_only.file), "p.so"), 86, {}, parse_driver("12.8", &why));
  EXPECT_EQ(too_new.outcome, Outcome::kDoesNotLoad);
  EXPECT_EQ(too_new.error, kCudaErrorUnsupportedPtxVersion);
}

TEST(ImageSummaries, EveryModuleAndSomeModules) {
  const ImageSummary s = summarize_images(library());
  EXPECT_EQ(s.modules, 4);
  EXPECT_TRUE(s.every_cubin.empty());
  EXPECT_EQ(s.some_cubin, (std::vector<std::string>{"sm_75", "sm_80", "sm_90", "sm_90a"}));
  EXPECT_EQ(s.some_ptx, std::vector<std::string>{"compute_90"});
  EXPECT_EQ(to_string(s), "every module: no common image; some modules: sm_75, sm_80, sm_90, "
                          "sm_90a cubins, compute_90 PTX");

  const HostFatbin two = make_host_executable(
      {make_container({cubin_entry(120, "_Z1av"), cubin_entry(86, "_Z1av"), ptx_entry(120, "_Z1av")}),
       make_container({cubin_entry(86, "_Z1bv"), cubin_entry(120, "_Z1bv")})},
      {1, 1});
  const ImageSummary t = summarize_images(inspect_bytes(span(two.file), "two.so"));
  EXPECT_EQ(t.every_cubin, (std::vector<std::string>{"sm_86", "sm_120"}));  // by number
  EXPECT_TRUE(t.every_ptx.empty());
  EXPECT_EQ(t.some_ptx, std::vector<std::string>{"compute_120"});
  EXPECT_EQ(to_string(t), "every module: sm_86, sm_120 cubins; some modules: compute_120 PTX");
}

// A host ELF whose .dynamic section names these libraries (DT_NEEDED), with a fatbin of one
// sm_90 cubin carrying a toolkit note when `toolkit` is given.
Bytes cubin_with_note(const std::string& version_line) {
  ElfBuilder elf(kElfTypeExecutable, kElfMachineCuda);
  elf.set_abi_version(8);
  elf.set_flags(0x6000004 | (90u << 8));
  Bytes desc;
  put_u32(desc, 0, 2);
  put_u32(desc, 4, 0);
  put_u32(desc, 8, 1);
  put_u32(desc, 12, 7);
  put_u32(desc, 16, 0);
  put_u32(desc, 20, 0);
  append(desc, bytes_of(std::string("\0ptxas\0", 7) + version_line + std::string(1, '\0')));
  pad_to(desc, 4);
  Bytes note;
  put_u32(note, 0, 12);
  put_u32(note, 4, desc.size());
  put_u32(note, 8, 2000);
  append(note, bytes_of(std::string("NVIDIA Corp\0", 12)));
  append(note, desc);
  elf.add({".note.nv.tkinfo", kSectionNote, note});
  const std::uint32_t text = elf.add({".text._Z1kv", 1, Bytes(16, 0xab)});
  add_symtab(elf, {{"_Z1kv", kSymbolFunc, 1, kCudaEntryBit, static_cast<std::uint16_t>(text), 0, 16}});
  return elf.build();
}

Bytes host_with(const std::vector<std::string>& needed, const Bytes& cubin) {
  ElfBuilder elf(kElfTypeShared, kMachineX86_64);
  Bytes names(1, 0);
  Bytes dynamic;
  for (const std::string& n : needed) {
    Bytes d(16, 0);
    put_u64(d, 0, 1);  // DT_NEEDED
    put_u64(d, 8, names.size());
    append(dynamic, d);
    append(names, bytes_of(n));
    names.push_back(0);
  }
  append(dynamic, Bytes(16, 0));  // DT_NULL
  const std::uint32_t dynstr = elf.add({".dynstr", 3, names});
  elf.add({".dynamic", kSectionDynamic, dynamic, 0, dynstr, 0, 16});
  if (!cubin.empty()) {
    EntrySpec e;
    e.arch = 90;
    e.payload = cubin;
    elf.add({".nv_fatbin", 1, make_container({make_entry(e)})});
  }
  return elf.build();
}

TEST(FileNeeds, RuntimeFromTheSharedLibraryItLinks) {
  const Bytes file = host_with({"libc.so.6", "libcublas.so.12", "libcudart.so.12", "libcufft.so.11"},
                               cubin_with_note("Cuda compilation tools, release 12.8, V12.8.93"));
  const FileInfo info = inspect_bytes(span(file), "libshared.so");
  EXPECT_EQ(info.needed.size(), 4u);
  const FileNeeds n = needs_of(info);
  ASSERT_TRUE(n.cuda_runtime);
  EXPECT_EQ(*n.cuda_runtime, 12);
  EXPECT_EQ(n.runtime_from, "libcublas.so.12");  // the first library that names the major
  EXPECT_EQ(n.min_driver, 525);
  EXPECT_EQ(n.built_by, std::vector<std::string>{"12.8.93"});
  EXPECT_EQ(n.cuda_libraries,
            (std::vector<std::string>{"libcublas.so.12", "libcudart.so.12", "libcufft.so.11"}));
  EXPECT_TRUE(is_cuda_bearing(info));
}

TEST(FileNeeds, StaticRuntimeFromTheToolkitOfItsCubins) {
  const Bytes file =
      host_with({"libc.so.6"}, cubin_with_note("Cuda compilation tools, release 13.0, V13.0.88"));
  const FileNeeds n = needs_of(inspect_bytes(span(file), "static"));
  ASSERT_TRUE(n.cuda_runtime);
  EXPECT_EQ(*n.cuda_runtime, 13);
  EXPECT_EQ(n.runtime_from, "the toolkit of its cubins (13.0.88)");
  EXPECT_EQ(n.min_driver, 580);
  // Only a release: the version is the release.
  const Bytes release = host_with({}, cubin_with_note("Cuda compilation tools, release 12.4"));
  EXPECT_EQ(needs_of(inspect_bytes(span(release), "r")).built_by,
            std::vector<std::string>{"12.4"});
}

TEST(FileNeeds, UnknownWithoutRuntimeLibraryOrNote) {
  const Bytes file = host_with({"libcufft.so.12", "libm.so.6"}, make_cubin(90, {{"_Z1kv"}}));
  const FileInfo info = inspect_bytes(span(file), "plugin.so");
  const FileNeeds n = needs_of(info);
  EXPECT_FALSE(n.cuda_runtime);  // libcufft numbers its soname on its own
  EXPECT_EQ(n.min_driver, 0);
  EXPECT_TRUE(n.built_by.empty());
  const Bytes plain = host_with({"libc.so.6"}, {});
  EXPECT_FALSE(is_cuda_bearing(inspect_bytes(span(plain), "plain")));
}

TEST(FileNeeds, HostileDynamicAndNoteSectionsAreFormatErrors) {
  Bytes file = host_with({"libcudart.so.13"}, {});
  // Point DT_NEEDED's name past the end of .dynstr.
  ElfFile elf(span(file));
  const ElfSection* dynamic = elf.find_section(".dynamic");
  ASSERT_NE(dynamic, nullptr);
  put_u64(file, dynamic->offset + 8, 0x100000);
  expect_format_error([&] { inspect_bytes(span(file), "bad"); }, "DT_NEEDED name");

  Bytes cubin = cubin_with_note("Cuda compilation tools, release 13.0, V13.0.88");
  const ElfFile c(span(cubin));
  const ElfSection* note = c.find_section(".note.nv.tkinfo");
  ASSERT_NE(note, nullptr);
  Bytes huge_desc = cubin;
  put_u32(huge_desc, note->offset + 4, 0x7fffffff);
  expect_format_error([&] { parse_cubin(span(huge_desc)); }, "note description");
  Bytes bad_offset = cubin;
  put_u32(bad_offset, note->offset + 12 + 12 + 12, 0x10000);  // version line offset
  expect_format_error([&] { parse_cubin(span(bad_offset)); }, "toolkit version line");
}

}  // namespace
