// cuda_doctor as a user runs it: listings and verdicts in text and JSON, a bad file among good
// ones, bad flags, hypothetical GPUs against this build, and the environment variables.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fatbin_builders.h"
#include "support/run.h"

namespace {

using nlohmann::json;
using namespace lenet::introspect;
using namespace lenet::introspect::synth;

using Result = lenet::test::CommandResult;

// cuda_doctor with args, after the environment assignments in env.
Result run(const std::string& args, const std::string& env = "") {
  return lenet::test::run_command(env + " " + LENET_CUDA_DOCTOR + " " + args,
                                  lenet::test::Stderr::kSeparate);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

json parse(const Result& r) {
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << r.out << r.err;
    return json::object();
  }
}

// A bare fatbin of one container: sm_86 cubin and compute_120 PTX, each naming kernel k.
std::string good_fatbin() {
  EntrySpec cubin;
  cubin.arch = 86;
  cubin.payload = make_cubin(86, {{"_Z1kPf"}});
  EntrySpec ptx;
  ptx.kind = 1;
  ptx.arch = 120;
  ptx.major = 9;
  ptx.minor = 0;
  ptx = compressed(ptx, kFlagZstd, bytes_of(ptx_text("sm_120", {"_Z1kPf"})));
  return write_temp_file("doctor_good.fatbin",
                         make_container({make_entry(cubin), make_entry(ptx)}));
}

bool built_with_release_list() {
#if defined(LENET_KERNELS_ARCHITECTURES)
  return std::string(LENET_KERNELS_ARCHITECTURES) == LENET_RELEASE_ARCHITECTURES;
#else
  return false;
#endif
}

TEST(CudaDoctorApp, InspectListsEntriesAndVerdicts) {
  const std::string path = good_fatbin();
  const Result r = run("inspect " + path + " --sm 86,121,61");
  EXPECT_EQ(r.status, 1) << "sm_61 gets \"does not load\"\n" << r.out << r.err;
  EXPECT_TRUE(contains(r.out, path + ": fatbin, 1 fatbin container")) << r.out;
  EXPECT_TRUE(contains(r.out, "  images: its one module: sm_86 cubin, compute_120 PTX")) << r.out;
  EXPECT_TRUE(contains(r.out, "cubin sm_86")) << r.out;
  EXPECT_TRUE(contains(r.out, "zstd -> ")) << r.out;
  EXPECT_TRUE(contains(r.out, "PTX ISA 9.0")) << r.out;
  EXPECT_TRUE(contains(r.out, "sm_86 (compute capability 8.6): loads\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "its one module: cubin sm_86")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "sm_121 (compute capability 12.1): loads only through PTX JIT (slow first "
                       "start)"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "its one module: ptx-jit compute_120")) << r.out;
  EXPECT_TRUE(contains(r.out, "sm_61 (compute capability 6.1): does not load")) << r.out;
  EXPECT_TRUE(contains(r.out, "its one module: none: cudaErrorNoKernelImageForDevice (209)"))
      << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(run("inspect " + path + " --sm 86,121").status, 0);
  EXPECT_EQ(run("inspect " + path + " --sm 86 --strict").status, 0);
}

TEST(CudaDoctorApp, GpuNamesAndTheirErrors) {
  const std::string path = good_fatbin();
  const Result r = run("inspect " + path + " --gpu 'RTX 3080 Ti' --gpu 'GeForce GTX 1080'");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "GeForce RTX 3080 Ti (sm_86, compute capability 8.6): loads\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "GeForce GTX 1080 (sm_61, compute capability 6.1): does not load"))
      << r.out;
  const json j = parse(run("inspect " + path + " --gpu H100 --json"));
  EXPECT_EQ(j["query"]["targets"][0]["gpu"], "H100");
  EXPECT_EQ(j["files"][0]["verdict"][0]["sm"], "sm_90");
  EXPECT_EQ(j["files"][0]["verdict"][0]["outcome"], "does-not-load");

  const Result unknown = run("inspect " + path + " --gpu 'RTX 3008'");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_TRUE(contains(unknown.err, "--gpu: no GPU named 'RTX 3008' in the table; closest: "))
      << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "GeForce RTX 3080")) << unknown.err;
}

TEST(CudaDoctorApp, InspectJsonFollowsTheSchema) {
  const std::string path = good_fatbin();
  const Result r = run("inspect " + path + " --json --sm 8.6 --sm sm_61 --kernels");
  ASSERT_EQ(r.status, 1) << r.out << r.err;
  const json j = parse(r);
  ASSERT_TRUE(j.contains("files"));
  ASSERT_EQ(j["files"].size(), 1u);
  const json& file = j["files"][0];
  EXPECT_EQ(file["path"], path);
  ASSERT_EQ(file["containers"].size(), 1u);
  const json& c = file["containers"][0];
  EXPECT_EQ(c["section"], "");
  EXPECT_EQ(c["index"], 0);
  EXPECT_EQ(c["role"], "unknown");
  ASSERT_EQ(c["entries"].size(), 2u);
  const json& cubin = c["entries"][0];
  EXPECT_EQ(cubin["kind"], "cubin");
  EXPECT_EQ(cubin["arch"], "sm_86");
  EXPECT_EQ(cubin["compression"], "none");
  EXPECT_EQ(cubin["stored_size"], cubin["size"]);
  EXPECT_EQ(cubin["kernels"], json::array({"k(float*)"}));
  const json& ptx = c["entries"][1];
  EXPECT_EQ(ptx["kind"], "ptx");
  EXPECT_EQ(ptx["arch"], "compute_120");
  EXPECT_EQ(ptx["compression"], "zstd");
  EXPECT_LT(ptx["stored_size"].get<int>(), ptx["size"].get<int>());
  ASSERT_EQ(file["verdicts"].size(), 2u);
  const json& v86 = file["verdicts"][0];
  EXPECT_EQ(v86["sm"], "sm_86");
  EXPECT_EQ(v86["container"], 0);
  EXPECT_EQ(v86["choice"], "cubin");
  EXPECT_EQ(v86["image"], "sm_86");
  EXPECT_TRUE(v86["error"].is_null());
  EXPECT_FALSE(v86["reason"].get<std::string>().empty());
  const json& v61 = file["verdicts"][1];
  EXPECT_EQ(v61["sm"], "sm_61");
  EXPECT_EQ(v61["choice"], "none");
  EXPECT_TRUE(v61["image"].is_null());
  EXPECT_EQ(v61["error"], "cudaErrorNoKernelImageForDevice");
  EXPECT_EQ(file["overall"][1]["error"], "cudaErrorNoKernelImageForDevice");
  EXPECT_EQ(file["modules"], 1);
  EXPECT_EQ(file["summary"]["every_module"]["cubin"], json::array({"sm_86"}));
  EXPECT_EQ(file["summary"]["every_module"]["ptx"], json::array({"compute_120"}));
  EXPECT_EQ(file["summary"]["some_modules"]["cubin"], json::array());
  // A bare fatbin links nothing, and the synthetic cubin has no toolkit note.
  EXPECT_TRUE(file["needs"]["cuda_runtime"].is_null());
  EXPECT_TRUE(file["needs"]["min_driver"].is_null());
  EXPECT_TRUE(file["needs"]["built_by"].is_null());
  ASSERT_EQ(file["verdict"].size(), 2u);
  EXPECT_EQ(file["verdict"][0]["outcome"], "loads");
  EXPECT_EQ(file["verdict"][0]["headline"], "loads");
  EXPECT_EQ(file["verdict"][0]["modules"]["cubin"], 1);
  EXPECT_TRUE(file["verdict"][0]["error"].is_null());
  EXPECT_EQ(file["verdict"][1]["outcome"], "does-not-load");
  EXPECT_EQ(file["verdict"][1]["error"], "cudaErrorNoKernelImageForDevice");
  EXPECT_EQ(file["verdict"][1]["modules"]["none"], 1);
  ASSERT_EQ(file["verdict"][1]["cannot_load"].size(), 1u);
  EXPECT_EQ(file["verdict"][1]["cannot_load"][0]["kernels"], json::array({"k(float*)"}));
  EXPECT_EQ(file["verdict"][1]["cannot_load"][0]["images"], json::array({"sm_86", "compute_120"}));
  EXPECT_EQ(j["query"]["strict"], false);
  EXPECT_TRUE(j["query"]["driver"].is_null());
}

TEST(CudaDoctorApp, WithoutKernelsFlagPayloadsAreNotDecoded) {
  const Result r = run("inspect " + good_fatbin() + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = parse(r);
  for (const json& e : j["files"][0]["containers"][0]["entries"]) {
    EXPECT_FALSE(e.contains("kernels")) << e.dump();
  }
  EXPECT_FALSE(j["files"][0].contains("verdicts"));
}

TEST(CudaDoctorApp, BadFileGivesAnErrorLineAndTheNextFileIsStillListed) {
  const std::string bad = write_temp_file("doctor_bad.bin", bytes_of("not a binary at all\n"));
  const std::string good = good_fatbin();
  const Result r = run("inspect " + bad + " /nonexistent/libnothing.so " + good);
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(
      r.err, "cuda_doctor: error: " + bad + ": not an ELF file, ar archive, fatbin or PTX text"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "cuda_doctor: error: /nonexistent/libnothing.so: ")) << r.err;
  EXPECT_TRUE(contains(r.out, good + ": fatbin")) << r.out;
  EXPECT_FALSE(contains(r.out, bad + ":")) << r.out;

  const Result j = run("inspect " + bad + " " + good + " --json");
  EXPECT_EQ(j.status, 1);
  const json files = parse(j)["files"];
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(contains(files[0]["error"].get<std::string>(), "not an ELF file"));
  EXPECT_EQ(files[1]["containers"].size(), 1u);
}

TEST(CudaDoctorApp, BadFlagsExitWithTwo) {
  for (const char* args : {"--sm 9x", "--sm 90a", "--sm", "--bogus", "inspect", "--driver abc",
                           "--driver 12.8.1", "--driver 300.10", "inspect --sm 86", "--strict",
                           "scan", "--gpu Radeon"}) {
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "Run cuda_doctor --help")) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << args << "\n" << r.err;
  }
  EXPECT_TRUE(contains(run("--driver 300.10").err, "older than 384.81"));
  EXPECT_EQ(run("--help").status, 0);
  for (const char* sub : {"inspect", "scan"}) {
    const Result help = run(std::string(sub) + " --help");
    EXPECT_EQ(help.status, 0);
    for (const char* flag : {"--sm", "--gpu", "--driver", "--strict", "--json"}) {
      EXPECT_TRUE(contains(help.out, flag)) << sub << " --help lacks " << flag << "\n" << help.out;
    }
  }
  EXPECT_TRUE(contains(run("inspect --help").out, "--kernels"));
  EXPECT_TRUE(contains(run("inspect --help").out, "FILE"));
  EXPECT_TRUE(contains(run("scan --help").out, "DIR"));
}

TEST(CudaDoctorApp, VersionAndABareFileArgument) {
  const Result v = run("--version");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("cuda_doctor (lenet 0.", 0), 0u) << v.out;

  const std::string path = good_fatbin();
  const Result file = run(path);
  EXPECT_EQ(file.status, 2);
  EXPECT_TRUE(contains(file.err, "Did you mean: cuda_doctor inspect " + path)) << file.err;
  const Result dir = run(::testing::TempDir());
  EXPECT_EQ(dir.status, 2);
  EXPECT_TRUE(contains(dir.err, "Did you mean: cuda_doctor scan ")) << dir.err;
  const Result neither = run("no-such-file-here");
  EXPECT_EQ(neither.status, 2);
  EXPECT_TRUE(contains(neither.err, "Run cuda_doctor --help")) << neither.err;
}

TEST(CudaDoctorApp, HypotheticalGpusAgainstThisBuild) {
  const Result r75 = run("--sm 75");
  const Result r61 = run("--sm 61");
  EXPECT_TRUE(contains(r75.out, "this build of lenet")) << r75.out;
  EXPECT_FALSE(contains(r75.out, "this machine")) << r75.out;
#if defined(LENET_KERNELS_LIBRARY)
  // Every build compiles for sm_75 (CUDA 13's oldest target) or for PTX that reaches it.
  EXPECT_EQ(r75.status, 0) << r75.out << r75.err;
  EXPECT_TRUE(contains(r75.out, "sm_75 (compute capability 7.5): loads")) << r75.out;
  EXPECT_TRUE(contains(r75.out, "  needs:  the CUDA 13 runtime (linked in statically, CUDA 13."))
      << r75.out;
  EXPECT_EQ(r61.status, 1) << "a requested GPU that gets \"does not load\"\n" << r61.out;
  EXPECT_TRUE(contains(r61.out, "sm_61 (compute capability 6.1): does not load")) << r61.out;
  EXPECT_TRUE(contains(r61.out, "none: cudaErrorNoKernelImageForDevice (209)")) << r61.out;
  EXPECT_TRUE(contains(r61.out, "CUDA 13 compiles for sm_75 and newer")) << r61.out;
  if (built_with_release_list()) {
    const Result r86 = run("--gpu 'RTX 3090'");
    EXPECT_EQ(r86.status, 0) << r86.out;
    EXPECT_TRUE(contains(r86.out, "GeForce RTX 3090 (sm_86, compute capability 8.6): loads\n"))
        << r86.out;
    EXPECT_TRUE(contains(r86.out, "all 10 modules: cubin sm_86")) << r86.out;
  }
  // This build links the CUDA 13 runtime: a driver for CUDA 12.x cannot start it.
  const Result old = run("--sm 75 --driver 570.86.10");
  EXPECT_EQ(old.status, 1) << old.out;
  EXPECT_TRUE(contains(old.out, "verdicts with NVIDIA driver 570.86.10 (CUDA 12.8):")) << old.out;
  EXPECT_TRUE(contains(old.out, "cudaErrorInsufficientDriver (35)")) << old.out;
#else
  EXPECT_EQ(r75.status, 0) << r75.out << r75.err;
  EXPECT_TRUE(contains(r75.out, "no GPU code")) << r75.out;
  EXPECT_TRUE(contains(r75.out, "sm_75 (compute capability 7.5): no verdict")) << r75.out;
#endif
}

TEST(CudaDoctorApp, ReleaseListVerdictsDriverAndEnvironment) {
  if (!built_with_release_list()) {
    GTEST_SKIP() << "lenet_kernels is not built with the release list";
  }
  const json j = parse(run("--sm 75,86,89,90,110,120,121,130 --json"));
  EXPECT_TRUE(j["machine"].is_null());
  const json& overall = j["files"][0]["overall"];
  ASSERT_EQ(overall.size(), 8u);
  const std::vector<std::pair<std::string, std::string>> expected = {{"cubin", "sm_75"},
                                                                     {"cubin", "sm_86"},
                                                                     {"cubin", "sm_89"},
                                                                     {"cubin", "sm_90"},
                                                                     {"cubin", "sm_110"},
                                                                     {"cubin", "sm_120"},
                                                                     {"compatible-cubin", "sm_120"},
                                                                     {"ptx-jit", "compute_120"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(overall[i]["choice"], expected[i].first) << overall[i].dump();
    EXPECT_EQ(overall[i]["image"], expected[i].second) << overall[i].dump();
  }
  // A 12.8 driver cannot start this build's CUDA 13 runtime (35); its images alone would give
  // 222, since their PTX ISA 9.0 is too new for that driver's JIT.
  const Result old_driver = run("--sm 130 --driver 12.8");
  EXPECT_EQ(old_driver.status, 1);
  EXPECT_TRUE(contains(old_driver.out, "cudaErrorInsufficientDriver (35)")) << old_driver.out;
  EXPECT_TRUE(contains(old_driver.out, "cudaErrorUnsupportedPtxVersion (222)")) << old_driver.out;
  const Result forced = run("--sm 86", "CUDA_FORCE_PTX_JIT=1");
  EXPECT_TRUE(contains(forced.out, "cudaErrorNoKernelImageForDevice (209)")) << forced.out;
  EXPECT_TRUE(contains(forced.out, "CUDA_FORCE_PTX_JIT=1")) << forced.out;
  const Result disabled = run("--sm 130", "CUDA_DISABLE_PTX_JIT=1");
  EXPECT_TRUE(contains(disabled.out, "cudaErrorJitCompilationDisabled (223)")) << disabled.out;
}

#if defined(LENET_KERNELS_LIBRARY)
TEST(CudaDoctorApp, InspectsOurOwnKernelLibrary) {
  const Result r =
      run(std::string("inspect ") + LENET_KERNELS_LIBRARY + " --json --kernels --sm 86");
  const json file = parse(r)["files"][0];
  // Exit 1 only when sm_86 gets "does not load" (a build without an image for it).
  EXPECT_EQ(r.status, file["verdict"][0]["outcome"] == "does-not-load" ? 1 : 0) << r.err;
  EXPECT_EQ(file["kind"], "ar archive");
  int relu = 0;
  for (const json& c : file["containers"]) {
    EXPECT_EQ(c["section"], ".nv_fatbin");
    EXPECT_EQ(c["role"], "compilation-unit");
    EXPECT_TRUE(c.contains("member"));
    for (const json& e : c["entries"]) {
      for (const json& k : e["kernels"]) {
        // "lenet::kernels::cuda::(anonymous namespace)::relu_forward_kernel(float const*, ...)"
        if (k.get<std::string>().find("lenet::kernels::cuda::(anonymous namespace)::"
                                      "relu_forward_kernel(") != std::string::npos) {
          ++relu;
        }
      }
    }
  }
  // relu.cu holds the ReLU kernels, once per image of the architecture list.
  EXPECT_GT(relu, 0);
  EXPECT_FALSE(file["verdicts"].empty());
}
#endif

TEST(CudaDoctorApp, InspectsALibraryWithoutGpuCode) {
  const Result r = run(std::string("inspect ") + LENET_INTROSPECT_LIBRARY + " --json --sm 86");
  ASSERT_EQ(r.status, 0) << r.err;
  const json file = parse(r)["files"][0];
  EXPECT_TRUE(file["containers"].empty());
  EXPECT_TRUE(file["verdicts"].empty());
  EXPECT_EQ(file["overall"][0]["choice"], "none");
  EXPECT_TRUE(file["overall"][0]["error"].is_null());
  EXPECT_EQ(file["verdict"][0]["outcome"], "no-verdict");
  EXPECT_EQ(file["modules"], 0);
}

TEST(CudaDoctorApp, ThisMachine) {
  const Result r = run("");
  EXPECT_TRUE(r.status == 0 || r.status == 1) << r.status;
  EXPECT_TRUE(contains(r.out, "this machine")) << r.out;
  EXPECT_TRUE(contains(r.out, "this build of lenet")) << r.out;
  const json j = parse(run("--json"));
  ASSERT_TRUE(j.contains("machine"));
  EXPECT_TRUE(j["machine"]["devices"].is_array());
  // Exit 0 only when a GPU is there and this build runs on it.
  if (r.status == 0) {
    EXPECT_FALSE(j["machine"]["devices"].empty());
  }
  if (j["machine"]["devices"].empty()) {
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.out, "no GPU to judge here")) << r.out;
  }
  // The toolkit next to the driver, and why their versions differ.
  EXPECT_TRUE(contains(r.out, "  CUDA toolkit:   ")) << r.out;
  EXPECT_TRUE(contains(r.out, "  versions:       ")) << r.out;
  EXPECT_TRUE(j["machine"].contains("toolkit"));
  EXPECT_FALSE(j["machine"]["versions"].get<std::string>().empty());
  const Result none = run("", "PATH=/nonexistent CUDA_HOME= CUDA_PATH=");
  if (!contains(none.out, "found through /usr/local/cuda")) {
    EXPECT_TRUE(contains(none.out, "  CUDA toolkit:   none: no nvcc in")) << none.out;
  }
}

// --- nvcc-built fixtures: a shared and a static runtime, a library of two modules, a directory

#if defined(LENET_FIXTURE_DIR)
std::string fixture(const std::string& name) { return std::string(LENET_FIXTURE_DIR) + "/" + name; }

TEST(CudaDoctorFixtures, SharedRuntimeNeedsItsMajorsDriver) {
  const json file = parse(run("inspect " + fixture("shared_runtime") + " --json"))["files"][0];
  EXPECT_EQ(file["needs"]["cuda_runtime"], "13");
  EXPECT_EQ(file["needs"]["min_driver"], "580");
  ASSERT_TRUE(file["needs"]["built_by"].is_array()) << file["needs"].dump();
  EXPECT_EQ(file["needs"]["built_by"][0].get<std::string>().rfind("13.", 0), 0u);
  EXPECT_NE(file["needs"]["cuda_libraries"].dump().find("libcudart.so.13"), std::string::npos);
  EXPECT_EQ(file["summary"]["every_module"]["cubin"], json::array({"sm_80"}));
  EXPECT_EQ(file["summary"]["every_module"]["ptx"], json::array({"compute_80"}));
  const Result text = run("inspect " + fixture("shared_runtime"));
  EXPECT_TRUE(contains(text.out, "  needs:  the CUDA 13 runtime (libcudart.so.13), so driver R580 "
                                 "or newer; built by CUDA 13."))
      << text.out;
}

TEST(CudaDoctorFixtures, StaticRuntimeNeedsTheToolkitOfItsCubins) {
  const json file = parse(run("inspect " + fixture("static_runtime") + " --json"))["files"][0];
  EXPECT_EQ(file["needs"]["cuda_runtime"], "13");
  EXPECT_EQ(file["needs"]["min_driver"], "580");
  EXPECT_EQ(file["needs"]["cuda_libraries"], json::array());
  const Result text = run("inspect " + fixture("static_runtime") + " --gpu A100 --driver 470.82");
  EXPECT_EQ(text.status, 1);
  EXPECT_TRUE(contains(text.out, "  needs:  the CUDA 13 runtime (the toolkit of its cubins (13."))
      << text.out;
  EXPECT_TRUE(contains(text.out, "A100 (sm_80, compute capability 8.0): does not load")) << text.out;
  EXPECT_TRUE(contains(text.out, "newer than the CUDA 11.4 that NVIDIA driver 470.82 supports"))
      << text.out;
  EXPECT_EQ(run("inspect " + fixture("static_runtime") + " --gpu A100 --driver 580.65.06").status, 0);
}

TEST(CudaDoctorFixtures, LibraryWithAModuleForOtherGpus) {
  const std::string lib = fixture("libmixed.so");
  const Result h100 = run("inspect " + lib + " --gpu H100");
  EXPECT_EQ(h100.status, 0) << h100.out << h100.err;
  EXPECT_TRUE(contains(h100.out,
                       "H100 (sm_90, compute capability 9.0): loads, except 1 module with kernels "
                       "only for other GPUs"))
      << h100.out;
  EXPECT_TRUE(contains(h100.out, "modules with kernels: 1 exact cubin, 0 compatible cubin, 0 PTX "
                                 "JIT, 1 cannot load\n      container 1: cubin sm_90\n      "
                                 "container 2: none: cudaErrorNoKernelImageForDevice (209)"))
      << h100.out;
  EXPECT_TRUE(contains(h100.out, "kernels: other_only_kernel(float*, int)")) << h100.out;
  EXPECT_TRUE(contains(h100.out, "  images: every module: no common image; some modules: sm_75, "
                                 "sm_80, sm_90 cubins"))
      << h100.out;
  // --strict: the check for one's own program, whose every kernel may be launched.
  EXPECT_EQ(run("inspect " + lib + " --gpu H100 --strict").status, 1);
  const json j = parse(run("inspect " + lib + " --sm 75 --json"));
  const json& v = j["files"][0]["verdict"][0];
  EXPECT_EQ(v["outcome"], "loads-except");
  ASSERT_EQ(v["cannot_load"].size(), 1u);
  EXPECT_EQ(v["cannot_load"][0]["images"], json::array({"sm_80", "sm_90"}));
  // In the order of the cubin's symbol table, sorted by mangled name.
  EXPECT_EQ(v["cannot_load"][0]["kernels"],
            json::array({"scale_kernel(float*, float, int)", "fill_kernel"}));
  const Result pascal = run("inspect " + lib + " --sm 61");
  EXPECT_EQ(pascal.status, 1);
  EXPECT_TRUE(contains(pascal.out, "sm_61 (compute capability 6.1): does not load")) << pascal.out;
}

TEST(CudaDoctorFixtures, ScanADirectory) {
  const std::string env = fixture("env");
  const Result plain = run("scan " + env);
  EXPECT_EQ(plain.status, 0) << plain.out << plain.err;
  EXPECT_TRUE(contains(plain.out, env + "/lib/libmixed.so: 2 modules, every module: no common "
                                        "image; some modules: sm_75, sm_80, sm_90 cubins; needs "
                                        "the CUDA 13 runtime (libcudart.so.13)"))
      << plain.out;
  EXPECT_TRUE(contains(plain.out, env + "/bin/static_runtime: 1 module: its one module: sm_80 "
                                        "cubin, compute_80 PTX; needs the CUDA 13 runtime (the "
                                        "toolkit of its cubins"))
      << plain.out;
  EXPECT_TRUE(contains(plain.out, "3 CUDA files among 4 files\n")) << plain.out;
  EXPECT_FALSE(contains(plain.out, "README")) << plain.out;

  const Result h100 = run("scan " + env + " --gpu H100");
  EXPECT_EQ(h100.status, 0) << h100.out;
  EXPECT_TRUE(contains(h100.out, "    sm_90: loads, except 1 module with kernels only for other GPUs"))
      << h100.out;
  EXPECT_TRUE(contains(h100.out, "    sm_90: loads only through PTX JIT (slow first start)"))
      << h100.out;
  EXPECT_TRUE(contains(h100.out,
                       "on H100 (sm_90, compute capability 9.0): will run: every CUDA file loads "
                       "(1 with modules only for other GPUs, as libraries have); 2 only through "
                       "PTX JIT (slow first start)"))
      << h100.out;
  const Result strict = run("scan " + env + " --gpu H100 --strict");
  EXPECT_EQ(strict.status, 1);
  EXPECT_TRUE(contains(strict.out, "will not run: 1 of 3 CUDA files have modules that cannot load "
                                   "(libmixed.so)"))
      << strict.out;
  const Result old = run("scan " + env + " --sm 80 --driver 470.82");
  EXPECT_EQ(old.status, 1);
  EXPECT_TRUE(contains(old.out, "on sm_80 (compute capability 8.0) with NVIDIA driver 470.82 (CUDA "
                                "11.4): will not run: 3 of 3 CUDA files do not load"))
      << old.out;

  const json j = parse(run("scan " + env + " --sm 80 --json"));
  EXPECT_EQ(j["files_seen"], 4);
  ASSERT_EQ(j["files"].size(), 3u);
  for (const json& f : j["files"]) {
    EXPECT_EQ(f["needs"]["cuda_runtime"], "13") << f.dump();
    EXPECT_FALSE(f.contains("containers")) << "scan lists no containers";
    const bool library = f["path"].get<std::string>().find("libmixed.so") != std::string::npos;
    EXPECT_EQ(f["verdict"][0]["outcome"], library ? "loads-except" : "loads") << f.dump();
  }
  EXPECT_EQ(j["environment"][0]["runs"], true);

  const Result missing = run("scan /nonexistent/dir");
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(contains(missing.err, "cuda_doctor: error: /nonexistent/dir: not a directory"));
}
#endif

}  // namespace
