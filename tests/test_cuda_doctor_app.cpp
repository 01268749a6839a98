// cuda_doctor as a user runs it: listings and verdicts in text and JSON, a bad file among good
// ones, bad flags, hypothetical GPUs against this build, and the environment variables.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_introspect_builders.h"

namespace {

using nlohmann::json;
using namespace lenet::introspect;
using namespace lenet::introspect::synth;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

Result run(const std::string& args, const std::string& env = "") {
  const std::string err_path =
      ::testing::TempDir() + "cuda_doctor_stderr." + std::to_string(getpid());
  const std::string cmd = env + " " + LENET_CUDA_DOCTOR + " " + args + " 2>" + err_path;
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::remove(err_path.c_str());
  return r;
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
  const Bytes text = bytes_of(ptx_text("sm_120", {"_Z1kPf"}));
  ptx.flags |= kFlagZstd;
  ptx.payload = zstd_compress(text);
  ptx.uncompressed_size = text.size();
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
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, path + ": fatbin, 1 fatbin container")) << r.out;
  EXPECT_TRUE(contains(r.out, "cubin sm_86")) << r.out;
  EXPECT_TRUE(contains(r.out, "zstd -> ")) << r.out;
  EXPECT_TRUE(contains(r.out, "PTX ISA 9.0")) << r.out;
  EXPECT_TRUE(contains(r.out, "sm_86 (compute capability 8.6): cubin sm_86")) << r.out;
  EXPECT_TRUE(contains(r.out, "sm_121 (compute capability 12.1): ptx-jit compute_120")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "sm_61 (compute capability 6.1): none: "
                       "cudaErrorNoKernelImageForDevice (209)"))
      << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CudaDoctorApp, InspectJsonFollowsTheSchema) {
  const std::string path = good_fatbin();
  const Result r = run("inspect " + path + " --json --sm 8.6 --sm sm_61 --kernels");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
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
                           "--driver 12.8.1", "inspect --sm 86"}) {
    const Result r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "Run cuda_doctor --help")) << args << "\n" << r.err;
  }
  EXPECT_EQ(run("--help").status, 0);
  const Result help = run("inspect --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(contains(help.out, "FILE")) << help.out;
}

TEST(CudaDoctorApp, HypotheticalGpusAgainstThisBuild) {
  const Result r86 = run("--sm 86");
  const Result r61 = run("--sm 61");
  ASSERT_EQ(r86.status, 0) << r86.out << r86.err;
  ASSERT_EQ(r61.status, 0) << r61.out << r61.err;
  EXPECT_TRUE(contains(r86.out, "this build of lenet")) << r86.out;
  EXPECT_FALSE(contains(r86.out, "this machine")) << r86.out;
#if defined(LENET_KERNELS_LIBRARY)
  EXPECT_TRUE(contains(r61.out,
                       "sm_61 (compute capability 6.1): none: "
                       "cudaErrorNoKernelImageForDevice (209)"))
      << r61.out;
  EXPECT_TRUE(contains(r61.out, "CUDA 13 compiles for sm_75 and newer")) << r61.out;
  if (built_with_release_list()) {
    EXPECT_TRUE(contains(r86.out, "sm_86 (compute capability 8.6): cubin sm_86 (all ")) << r86.out;
  }
#else
  EXPECT_TRUE(contains(r86.out, "no GPU code")) << r86.out;
  EXPECT_TRUE(contains(r86.out, "sm_86 (compute capability 8.6): no verdict")) << r86.out;
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
  const Result old_driver = run("--sm 130 --driver 12.8");
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
  ASSERT_EQ(r.status, 0) << r.err;
  const json file = parse(r)["files"][0];
  EXPECT_EQ(file["kind"], "ar archive");
  int relu = 0;
  for (const json& c : file["containers"]) {
    EXPECT_EQ(c["section"], ".nv_fatbin");
    EXPECT_EQ(c["role"], "compilation-unit");
    EXPECT_TRUE(c.contains("member"));
    for (const json& e : c["entries"]) {
      for (const json& k : e["kernels"]) {
        if (k.get<std::string>().rfind("relu_forward_kernel(", 0) == 0) ++relu;
      }
    }
  }
  // relu.cu and image.cu (which asks the driver which image it loaded) hold the ReLU kernels.
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
}

}  // namespace
