// The driver's choice of image (selection.h) on synthetic modules: the release list for every
// compute capability from 7.5 to a hypothetical 13.0, the 'a' and 'f' targets, the two
// environment variables, drivers whose JIT is too old for the PTX, whole files with several
// containers, and the comparison with what a GPU reports.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/introspect/device.h>
#include <lenet/introspect/selection.h>

#include "support/fatbin_builders.h"
#include "support/scoped_env.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;
using lenet::test::ScopedEnv;

Image cubin(unsigned arch, char suffix = 0) { return {EntryKind::kCubin, arch, suffix, 0, 0}; }
Image ptx(unsigned arch, char suffix = 0, unsigned isa_major = 9, unsigned isa_minor = 0) {
  return {EntryKind::kPtx, arch, suffix, isa_major, isa_minor};
}

ComputeCapability cc(int number) { return {number / 10, number % 10}; }

// The images of every module of lenet's release list (cmake/LenetCuda.cmake):
// 75-real 80-real 86-real 89-real 90-real 100-real 110-real 120.
std::vector<Image> release_list() {
  std::vector<Image> out;
  for (unsigned arch : {75u, 80u, 86u, 89u, 90u, 100u, 110u, 120u}) out.push_back(cubin(arch));
  out.push_back(ptx(120));
  return out;
}

// One row of a selection table: the GPUs (compute capabilities as numbers, 86: 8.6) that all
// get this choice of this image, or, with kNone, no image and this error.
struct Row {
  std::vector<int> gpus;
  Choice choice;
  std::string image;  // empty for kNone
  int error = 0;
};

void expect_selection(const Selection& s, const Row& row, const std::string& context) {
  EXPECT_EQ(to_string(s.choice), to_string(row.choice)) << context << ": " << s.reason;
  EXPECT_EQ(s.image ? s.image->name() : "", row.image) << context << ": " << s.reason;
  EXPECT_EQ(s.error, row.error) << context << ": " << s.reason;
  EXPECT_FALSE(s.reason.empty()) << context;
  EXPECT_EQ(s.reason.find(". "), std::string::npos) << "not one sentence: " << s.reason;
}

// Every GPU of every row, selecting from the images of one module under the driver setup.
void expect_table(const std::vector<Image>& images, const std::vector<Row>& rows,
                  const DriverSetup& driver = {}) {
  for (const Row& row : rows) {
    for (int gpu : row.gpus) {
      expect_selection(select_image(images, query(gpu, driver)), row,
                       "sm_" + std::to_string(gpu));
    }
  }
}

constexpr Choice kExact = Choice::kExactCubin;
constexpr Choice kCompatible = Choice::kCompatibleCubin;
constexpr Choice kJit = Choice::kPtxJit;
constexpr Choice kNone = Choice::kNone;
constexpr int kNoImage = kCudaErrorNoKernelImageForDevice;

TEST(SelectionRules, ReleaseListFromTuringToAHypotheticalNextMajor) {
  expect_table(release_list(), {{{75}, kExact, "sm_75"},
                                {{80}, kExact, "sm_80"},
                                {{86}, kExact, "sm_86"},
                                {{87, 88}, kCompatible, "sm_86"},
                                {{89}, kExact, "sm_89"},
                                {{90}, kExact, "sm_90"},
                                {{100}, kExact, "sm_100"},
                                {{103}, kCompatible, "sm_100"},
                                {{110}, kExact, "sm_110"},
                                {{120}, kExact, "sm_120"},
                                {{121}, kCompatible, "sm_120"},
                                {{130}, kJit, "compute_120"},
                                {{70, 61}, kNone, "", kNoImage}});
}

TEST(SelectionRules, ReasonsSayWhy) {
  const std::vector<Image> images = release_list();
  EXPECT_NE(select_image(images, query(86)).reason.find("matches compute capability 8.6 exactly"),
            std::string::npos);
  const std::string compatible = select_image(images, query(121)).reason;
  EXPECT_NE(compatible.find("sm_120 cubin runs on it"), std::string::npos) << compatible;
  const std::string jit = select_image(images, query(130)).reason;
  EXPECT_NE(jit.find("none of its cubins"), std::string::npos) << jit;
  EXPECT_NE(jit.find("JIT-compiles compute_120 PTX (ISA 9.0) for sm_130"), std::string::npos)
      << jit;
  const std::string old = select_image(images, query(61)).reason;
  EXPECT_NE(old.find("compute_120 needs 12.0 or newer"), std::string::npos) << old;
  EXPECT_NE(old.find("CUDA 13 compiles for sm_75 and newer"), std::string::npos) << old;
  // A GPU CUDA 13 can target gets no such note.
  const std::string missing = select_image({cubin(80)}, query(75)).reason;
  EXPECT_EQ(missing.find("CUDA 13 compiles"), std::string::npos) << missing;
  EXPECT_NE(missing.find("none of its cubins (sm_80) is for major version 7"), std::string::npos)
      << missing;
  const std::string other_major = select_image({cubin(75), cubin(80)}, query(74)).reason;
  EXPECT_NE(other_major.find("no cubin runs on 7.4 (sm_75 needs 7.5 or a later 7.x)"),
            std::string::npos)
      << other_major;
}

TEST(SelectionRules, PlainCubinRunsOnLaterMinorsOfItsMajorOnly) {
  expect_table({cubin(80)}, {{{80}, kExact, "sm_80"},
                             {{86, 89}, kCompatible, "sm_80"},
                             {{90, 75}, kNone, "", kNoImage}});
  const std::string newer_minor = select_image({cubin(86)}, query(80)).reason;
  EXPECT_NE(newer_minor.find("sm_86 needs 8.6 or a later 8.x"), std::string::npos) << newer_minor;
}

TEST(SelectionRules, ArchSpecificTargetsRunOnlyOnTheirOwnCapability) {
  // What nvcc -arch=sm_90a writes: compute_90 PTX, an sm_90a cubin, compute_90a PTX.
  const std::vector<Image> images = {ptx(90), cubin(90, 'a'), ptx(90, 'a')};
  expect_table(images, {{{90}, kExact, "sm_90a"},
                        {{100, 121}, kJit, "compute_90"},
                        {{89}, kNone, "", kNoImage}});
  expect_table({cubin(90, 'a')}, {{{90}, kExact, "sm_90a"}, {{91, 100}, kNone, "", kNoImage}});
  expect_table({ptx(90, 'a')}, {{{90}, kJit, "compute_90a"}, {{100}, kNone, "", kNoImage}});
  const std::string why = select_image({cubin(90, 'a')}, query(91)).reason;
  EXPECT_NE(why.find("sm_90a runs only on 9.0"), std::string::npos) << why;
}

TEST(SelectionRules, FamilyTargetsRunWithinTheirFamily) {
  // What nvcc -arch=sm_100f writes: compute_100 PTX, an sm_100f cubin, compute_100f PTX.
  const std::vector<Image> images = {ptx(100), cubin(100, 'f'), ptx(100, 'f')};
  expect_table(images, {{{100}, kExact, "sm_100f"},
                        {{103}, kCompatible, "sm_100f"},
                        {{110, 120}, kJit, "compute_100"},
                        {{90}, kNone, "", kNoImage}});
  EXPECT_NE(select_image(images, query(103)).reason.find("an 'f' cubin runs on its family"),
            std::string::npos);
  expect_table({cubin(103, 'f')}, {{{103}, kExact, "sm_103f"}, {{100}, kNone, "", kNoImage}});
  expect_table({cubin(120, 'f')}, {{{120}, kExact, "sm_120f"},
                                   {{121}, kCompatible, "sm_120f"},
                                   {{130}, kNone, "", kNoImage}});
  // Family PTX stays in its family, plain PTX goes anywhere newer.
  expect_table({ptx(100, 'f')},
               {{{100, 103}, kJit, "compute_100f"}, {{110}, kNone, "", kNoImage}});
}

TEST(SelectionRules, BestCompatibleImageWins) {
  expect_table({cubin(80), cubin(86)}, {{{89}, kCompatible, "sm_86"}, {{80}, kExact, "sm_80"}});
  expect_table({cubin(90), cubin(90, 'a')}, {{{90}, kExact, "sm_90a"}});
  expect_table({cubin(100), cubin(100, 'f')},
               {{{100}, kExact, "sm_100f"}, {{103}, kCompatible, "sm_100f"}});
  expect_table({ptx(75), ptx(120)}, {{{130}, kJit, "compute_120"}, {{90}, kJit, "compute_75"}});
  // A compatible cubin is loaded as it is, even when newer PTX could be JIT-compiled.
  expect_table({cubin(80), ptx(86)}, {{{86}, kCompatible, "sm_80"}});
}

TEST(SelectionRules, ForcePtxJitIgnoresCubins) {
  expect_table(release_list(), {{{121}, kJit, "compute_120"}, {{86}, kNone, "", kNoImage}},
               kForcePtxJit);
  expect_table({cubin(75), ptx(75)}, {{{75}, kJit, "compute_75"}}, kForcePtxJit);
  expect_table({cubin(75)}, {{{75}, kNone, "", kNoImage}}, kForcePtxJit);
  expect_table({ptx(90), cubin(90, 'a'), ptx(90, 'a')}, {{{90}, kJit, "compute_90a"}},
               kForcePtxJit);
  const std::string why = select_image({cubin(75)}, query(75, kForcePtxJit)).reason;
  EXPECT_NE(why.find("CUDA_FORCE_PTX_JIT=1 makes the driver ignore the cubins"), std::string::npos)
      << why;
  EXPECT_NE(why.find("it has no PTX"), std::string::npos) << why;
}

TEST(SelectionRules, DisablePtxJitLeavesOnlyCubins) {
  expect_table(release_list(),
               {{{121}, kCompatible, "sm_120"},
                {{130}, kNone, "", kCudaErrorJitCompilationDisabled},
                {{61}, kNone, "", kNoImage}},
               kDisablePtxJit);
  expect_table({ptx(75)}, {{{86}, kNone, "", kCudaErrorJitCompilationDisabled}}, kDisablePtxJit);
  const std::string why = select_image(release_list(), query(130, kDisablePtxJit)).reason;
  EXPECT_NE(why.find("CUDA_DISABLE_PTX_JIT=1 forbids JIT-compiling its compute_120 PTX"),
            std::string::npos)
      << why;
}

TEST(SelectionRules, BothVariablesLeaveNothing) {
  expect_table({cubin(75), ptx(75)}, {{{75}, kNone, "", kCudaErrorJitCompilationDisabled}},
               kBothJitVariables);
}

TEST(SelectionRules, DriverTooOldForThePtx) {
  // nvcc 13.0 writes PTX ISA 9.0; a 12.8 driver's JIT accepts up to 8.7.
  const int kTooOld = kCudaErrorUnsupportedPtxVersion;
  expect_table(release_list(),
               {{{130}, kNone, "", kTooOld},
                {{86}, kExact, "sm_86"},
                {{121}, kCompatible, "sm_120"}},
               driver_version(12080));
  expect_table(release_list(), {{{130}, kNone, "", kTooOld}}, driver_version(12090));
  expect_table(release_list(), {{{130}, kJit, "compute_120"}}, driver_version(13000));
  expect_table(release_list(), {{{130}, kJit, "compute_120"}}, driver_version(13020));
  const std::string why = select_image(release_list(), query(130, driver_version(12080))).reason;
  EXPECT_NE(why.find("compute_120 PTX (ISA 9.0) is newer than PTX ISA 8.7"), std::string::npos)
      << why;
  EXPECT_NE(why.find("driver 12.8"), std::string::npos) << why;
  // Among several PTX images, the best one the JIT accepts.
  expect_table({ptx(75, 0, 8, 0), ptx(120, 0, 9, 0)}, {{{130}, kJit, "compute_75"}},
               driver_version(12080));
  expect_table({ptx(86, 0, 8, 5)}, {{{86}, kJit, "compute_86"}}, driver_version(12060));
  expect_table({ptx(86, 0, 8, 7)}, {{{86}, kNone, "", kTooOld}}, driver_version(12060));
  expect_table({ptx(75, 0, 7, 0)}, {{{75}, kNone, "", kTooOld}}, driver_version(10020));
}

TEST(SelectionRules, ModulesWithoutLoadableImages) {
  const Selection empty = select_image({}, query(86));
  EXPECT_EQ(empty.error, kCudaErrorNoKernelImageForDevice);
  EXPECT_NE(empty.reason.find("the module has no cubin"), std::string::npos) << empty.reason;
  const Image lto{EntryKind::kLtoIr, 89, 0, 0, 0};
  const Selection only_lto = select_image({lto}, query(89));
  EXPECT_EQ(only_lto.error, kCudaErrorNoKernelImageForDevice);
  EXPECT_NE(only_lto.reason.find("LTO-IR is never loaded"), std::string::npos) << only_lto.reason;
  EXPECT_FALSE(runs_on(lto, cc(89)));
}

TEST(PtxIsaTable, NewestPtxEachDriverAccepts) {
  const auto isa = [](int driver) {
    const std::optional<PtxIsaVersion> v = max_ptx_isa_version(driver);
    return v ? std::to_string(v->major) + "." + std::to_string(v->minor) : std::string("none");
  };
  // Driver version (as cudaDriverGetVersion) and the newest PTX ISA its JIT accepts; 13020 is
  // newer than the table (at least its last entry), 10020 older.
  const std::pair<int, const char*> table[] = {
      {11000, "7.0"}, {11080, "7.8"}, {12000, "8.0"}, {12010, "8.1"}, {12020, "8.2"},
      {12030, "8.3"}, {12040, "8.4"}, {12050, "8.5"}, {12060, "8.5"}, {12080, "8.7"},
      {12090, "8.8"}, {13000, "9.0"}, {13020, "9.0"}, {10020, "none"}};
  for (const auto& [driver, newest] : table) EXPECT_EQ(isa(driver), newest) << driver;
  EXPECT_EQ(cuda_version_string(13000), "13.0");
  EXPECT_EQ(cuda_version_string(12080), "12.8");
}

TEST(ComputeCapabilityParsing, AcceptsTheUsualSpellings) {
  const auto text = [](const std::string& s) {
    const std::optional<ComputeCapability> c = parse_compute_capability(s);
    return c ? to_string(*c) : std::string("invalid");
  };
  const std::pair<const char*, const char*> good[] = {
      {"86", "8.6"}, {"8.6", "8.6"}, {"sm_86", "8.6"}, {"120", "12.0"},
      {"12.1", "12.1"}, {"sm_121", "12.1"}, {"130", "13.0"}};
  for (const auto& [spelling, capability] : good) {
    EXPECT_EQ(text(spelling), capability) << "'" << spelling << "'";
  }
  for (const char* bad : {"", "8", "90a", "sm_90a", "1234", "8.10", "0.5", "086", "x86", "8.", ".6",
                          "sm_", "compute_86", "-86"}) {
    EXPECT_EQ(text(bad), "invalid") << "'" << bad << "'";
  }
  EXPECT_EQ(sm_name(cc(121)), "sm_121");
}

TEST(JitSettings, ReadsBothVariablesAsTheDriverDoes) {
  // A variable counts as set when its value is a non-zero number.
  struct Case {
    const char* force;    // CUDA_FORCE_PTX_JIT (nullptr: unset)
    const char* disable;  // CUDA_DISABLE_PTX_JIT
    bool force_ptx_jit;
    bool disable_ptx_jit;
  };
  for (const Case& c : {Case{"1", nullptr, true, false}, Case{"0", "1", false, true},
                        Case{"", "yes", false, false}}) {
    const ScopedEnv force("CUDA_FORCE_PTX_JIT", c.force);
    const ScopedEnv disable("CUDA_DISABLE_PTX_JIT", c.disable);
    const JitSettings s = JitSettings::from_environment();
    const std::string vars = std::string("CUDA_FORCE_PTX_JIT=") + (c.force ? c.force : "(unset)") +
                             " CUDA_DISABLE_PTX_JIT=" + (c.disable ? c.disable : "(unset)");
    EXPECT_EQ(s.force_ptx_jit, c.force_ptx_jit) << vars;
    EXPECT_EQ(s.disable_ptx_jit, c.disable_ptx_jit) << vars;
  }
}

// --- whole files ---

Bytes entry_bytes(std::uint16_t kind, unsigned arch, const Bytes& payload, std::uint16_t major = 1,
                  std::uint16_t minor = 8) {
  EntrySpec e;
  e.kind = kind;
  e.arch = arch;
  e.major = major;
  e.minor = minor;
  e.payload = payload;
  return make_entry(e);
}

Bytes cubin_entry(unsigned arch, const std::vector<CubinFunction>& functions) {
  return entry_bytes(2, arch, make_cubin(arch, functions));
}

Bytes ptx_entry(unsigned arch, const std::vector<std::string>& entries) {
  return entry_bytes(1, arch, bytes_of(ptx_text("sm_" + std::to_string(arch), entries)), 9, 0);
}

TEST(FileVerdicts, OnlyLoadableContainersWithKernelsAreJudged) {
  // An executable: the device-link output without kernels, then two compilation units, one
  // with the full list and one built for sm_80 only.
  const Bytes link = make_container({cubin_entry(90, {})});
  const Bytes full = make_container(
      {cubin_entry(86, {{"_Z1av"}}), cubin_entry(90, {{"_Z1av"}}), ptx_entry(120, {"_Z1av"})});
  const Bytes narrow = make_container({cubin_entry(80, {{"_Z1bv"}})});
  const Bytes file = make_host_executable({link, full, narrow}, {2, 1, 1}).file;
  const FileInfo info = inspect_bytes(span(file), "program");
  ASSERT_EQ(info.containers.size(), 3u) << to_string(info);

  const FileVerdict at90 = judge_file(info, query(90));
  ASSERT_EQ(at90.containers.size(), 2u);
  EXPECT_EQ(at90.containers[0].container, 1);
  EXPECT_EQ(at90.containers[1].container, 2);
  EXPECT_EQ(at90.containers[0].selection.choice, Choice::kExactCubin);
  EXPECT_EQ(at90.containers[1].selection.error, kCudaErrorNoKernelImageForDevice);
  // A program works only if every module loads: the worst container decides.
  EXPECT_EQ(at90.overall.error, kCudaErrorNoKernelImageForDevice);
  EXPECT_EQ(at90.worst_container, 2);

  const FileVerdict at86 = judge_file(info, query(86));
  EXPECT_EQ(at86.overall.choice, Choice::kCompatibleCubin);
  EXPECT_EQ(at86.worst_container, 2);
  const FileVerdict at130 = judge_file(info, query(130));
  EXPECT_EQ(at130.containers[0].selection.choice, Choice::kPtxJit);

  // Without decoding, the kernels of compilation units are unknown, so they are judged; the
  // device-link output is decoded all the same (it is small), and without kernels it is not.
  ReadOptions headers_only;
  headers_only.decode_payloads = false;
  const FileInfo undecoded = inspect_bytes(span(file), "program", headers_only);
  EXPECT_EQ(judge_file(undecoded, query(90)).containers.size(), 2u);
  EXPECT_FALSE(may_hold_kernels(undecoded.containers[0]));
  EXPECT_TRUE(undecoded.containers[0].entries[0].cubin);
  EXPECT_TRUE(may_hold_kernels(undecoded.containers[1]));
  EXPECT_FALSE(undecoded.containers[1].entries[0].cubin);
  EXPECT_FALSE(may_hold_kernels(info.containers[0]));
}

TEST(FileVerdicts, RelocatableDeviceCodeGetsNoVerdict) {
  const Bytes object =
      make_host_object({make_container({cubin_entry(80, {{"_Z1kv"}})})}, {}, "__nv_relfatbin").file;
  const Bytes library = make_archive({{"k.cu.o", object}});
  const FileInfo info = inspect_bytes(span(library), "libk.a");
  ASSERT_EQ(info.containers.size(), 1u);
  EXPECT_FALSE(is_loadable(info.containers[0]));
  const FileVerdict v = judge_file(info, query(80));
  EXPECT_TRUE(v.containers.empty());
  EXPECT_EQ(v.overall.choice, Choice::kNone);
  EXPECT_EQ(v.overall.error, 0);
  EXPECT_EQ(v.worst_container, -1);
  EXPECT_NE(v.overall.reason.find("relocatable device code"), std::string::npos);
}

TEST(FileVerdicts, BareCubinsAndPtxFilesAreOneModule) {
  const Bytes cubin_file = make_cubin(86, {{"_Z1kv"}});
  const FileVerdict c = judge_file(inspect_bytes(span(cubin_file), "k.cubin"), query(89));
  EXPECT_EQ(c.overall.choice, Choice::kCompatibleCubin);
  EXPECT_EQ(c.overall.image->name(), "sm_86");

  const Bytes ptx_file = bytes_of(ptx_text("sm_90a", {"_Z1kv"}));
  const FileInfo info = inspect_bytes(span(ptx_file), "k.ptx");
  EXPECT_EQ(judge_file(info, query(90)).overall.image->name(), "compute_90a");
  EXPECT_EQ(judge_file(info, query(100)).overall.error, kCudaErrorNoKernelImageForDevice);
  EXPECT_EQ(judge_file(info, query(90, driver_version(12080))).overall.error,
            kCudaErrorUnsupportedPtxVersion);
}

// --- what a GPU reports, and what errors mean ---

TEST(Confirmation, ComparesTheLoadedVersionsWithThePrediction) {
  const Selection exact = select_image(release_list(), query(90));
  EXPECT_TRUE(confirm(exact, cc(90), {90, 90}).matches);
  EXPECT_NE(confirm(exact, cc(90), {90, 90}).text.find("as predicted"), std::string::npos);
  EXPECT_FALSE(confirm(exact, cc(90), {89, 89}).matches);
  EXPECT_NE(confirm(exact, cc(90), {89, 89}).text.find("NOT as predicted"), std::string::npos);

  const Selection compatible = select_image(release_list(), query(121));
  EXPECT_TRUE(confirm(compatible, cc(121), {120, 120}).matches);
  EXPECT_FALSE(confirm(compatible, cc(121), {121, 120}).matches);

  const Selection jit = select_image(release_list(), query(130));
  EXPECT_TRUE(confirm(jit, cc(130), {130, 120}).matches);
  EXPECT_FALSE(confirm(jit, cc(130), {130, 130}).matches);

  const Selection none = select_image(release_list(), query(61));
  EXPECT_FALSE(confirm(none, cc(61), {61, 61}).matches);
}

TEST(CudaErrors, NamesAndCauses) {
  EXPECT_EQ(cuda_error_name(209), "cudaErrorNoKernelImageForDevice");
  EXPECT_EQ(cuda_error_name(222), "cudaErrorUnsupportedPtxVersion");
  EXPECT_EQ(cuda_error_name(223), "cudaErrorJitCompilationDisabled");
  EXPECT_EQ(cuda_error_name(35), "cudaErrorInsufficientDriver");
  EXPECT_EQ(cuda_error_name(100), "cudaErrorNoDevice");
  EXPECT_EQ(cuda_error_name(12345), "cudaError 12345");
  EXPECT_NE(explain_cuda_error(35, 13000, 0).find("no NVIDIA driver is installed"),
            std::string::npos);
  const std::string old_driver = explain_cuda_error(35, 13000, 12080);
  EXPECT_NE(old_driver.find("supports CUDA up to 12.8, older than the CUDA 13.0 runtime"),
            std::string::npos)
      << old_driver;
  EXPECT_NE(explain_cuda_error(100, 13000, 13000).find("sees no GPU"), std::string::npos);
  EXPECT_NE(explain_cuda_error(999, 13000, 13000).find("nvidia-smi"), std::string::npos);
  EXPECT_NE(explain_cuda_error(77, 13000, 13000).find("error 77"), std::string::npos);
}

TEST(MachineQueries, ReportDevicesOrWhyThereAreNone) {
  const MachineInfo m = query_machine();
  if (!m.has_cuda_runtime) {
    EXPECT_TRUE(m.devices.empty());
    EXPECT_EQ(cuda_banner(), std::string("GPU: none (") + kNoCudaRuntime + ")");
    return;
  }
  EXPECT_GE(m.runtime_version, 12000);
  EXPECT_NE(m.devices.empty(), !m.failure.has_value());
  if (m.failure) {
    EXPECT_NE(m.failure->code, 0);
    EXPECT_FALSE(m.failure->cause.empty());
    EXPECT_EQ(cuda_banner().rfind("GPU: none (" + m.failure->name + ": ", 0), 0u) << cuda_banner();
  } else {
    EXPECT_EQ(cuda_banner().rfind("GPU ", 0), 0u) << cuda_banner();
  }
  if (m.nvidia_driver.empty()) {
    EXPECT_FALSE(m.nvidia_driver_note.empty());
  }
}

}  // namespace
