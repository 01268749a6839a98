// The project's own static GPU library, read with the fatbin reader: it must hold a cubin for
// every architecture of its CUDA_ARCHITECTURES list and PTX where the list asks for it, with
// the ReLU kernels (relu.cu) and the image probe (loaded_code.cu) in each, named inside the GPU
// build's namespace lenet::kernels::cuda. The toolkit here ships no cuobjdump, so this is the
// check.
//
// LENET_KERNELS_LIBRARY (path of liblenet_kernels.a) and LENET_KERNELS_ARCHITECTURES (the
// list, space-separated: "75-real 80-real ... 120") come from tests/CMakeLists.txt.
#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/introspect/fatbin.h>

namespace {

using namespace lenet::introspect;

struct ExpectedImages {
  std::set<std::string> cubins;  // "sm_75", "sm_90a"
  std::set<std::string> ptx;     // "compute_120"
};

// CMake's CUDA_ARCHITECTURES: "75-real" is a cubin only, "75-virtual" PTX only, "75" both;
// a suffix ("90a", "100f") carries over to the image names.
ExpectedImages expected_images(const std::string& list) {
  ExpectedImages out;
  std::istringstream words(list);
  std::string word;
  while (words >> word) {
    std::string arch = word;
    bool cubin = true;
    bool ptx = true;
    if (const std::size_t dash = word.find('-'); dash != std::string::npos) {
      arch = word.substr(0, dash);
      const std::string kind = word.substr(dash + 1);
      EXPECT_TRUE(kind == "real" || kind == "virtual") << "unknown suffix in " << word;
      cubin = kind == "real";
      ptx = kind == "virtual";
    }
    EXPECT_TRUE(!arch.empty() && std::isdigit(static_cast<unsigned char>(arch[0])))
        << "not an architecture: " << word;
    if (cubin) out.cubins.insert("sm_" + arch);
    if (ptx) out.ptx.insert("compute_" + arch);
  }
  return out;
}

// True when names hold kernel, a file-local kernel of the GPU library: every name of the
// library lives in lenet::kernels::cuda, the kernels of an op file in its unnamed namespace.
bool names_kernel(const std::vector<KernelName>& names, const std::string& kernel) {
  const std::string qualified = "lenet::kernels::cuda::(anonymous namespace)::" + kernel + "(";
  return std::any_of(names.begin(), names.end(),
                     [&](const KernelName& k) { return k.demangled.rfind(qualified, 0) == 0; });
}

TEST(KernelsLibrary, ArchitectureListParsing) {
  const ExpectedImages e = expected_images("75-real 90a-real 100f-virtual 120");
  EXPECT_EQ(e.cubins, (std::set<std::string>{"sm_75", "sm_90a", "sm_120"}));
  EXPECT_EQ(e.ptx, (std::set<std::string>{"compute_100f", "compute_120"}));
}

TEST(KernelsLibrary, HoldsTheImagesOfItsArchitectureList) {
  const std::string list = LENET_KERNELS_ARCHITECTURES;
  if (list == "all" || list == "all-major" || list == "native") {
    GTEST_SKIP() << "CUDA_ARCHITECTURES=" << list << " names no fixed list to check against";
  }
  const ExpectedImages expected = expected_images(list);
  ASSERT_FALSE(expected.cubins.empty() && expected.ptx.empty()) << "empty list: '" << list << "'";

  const FileInfo info = inspect_file(LENET_KERNELS_LIBRARY);
  ASSERT_EQ(info.kind, FileKind::kArchive) << info.path;
  ASSERT_FALSE(info.containers.empty()) << to_string(info);

  int relu_containers = 0;
  int probe_containers = 0;
  for (const FatbinContainer& c : info.containers) {
    // Every compilation unit of the library is compiled for the same list.
    std::set<std::string> cubins;
    std::set<std::string> ptx;
    for (const FatbinEntry& e : c.entries) {
      if (e.kind == EntryKind::kCubin) {
        EXPECT_TRUE(cubins.insert(e.arch).second) << e.arch << " twice";
      } else if (e.kind == EntryKind::kPtx) {
        EXPECT_TRUE(ptx.insert(e.arch).second) << e.arch << " twice";
      }
    }
    EXPECT_EQ(cubins, expected.cubins) << to_string(c);
    EXPECT_EQ(ptx, expected.ptx) << to_string(c);

    // relu.cu's container names both ReLU kernels in every image, cubin and PTX alike;
    // loaded_code.cu's names its probe kernel, whose loaded image tells which one the driver chose.
    const auto in_a_cubin = [&](const char* kernel) {
      return std::any_of(c.entries.begin(), c.entries.end(), [&](const FatbinEntry& e) {
        return e.cubin && names_kernel(e.cubin->kernels, kernel);
      });
    };
    std::vector<std::string> kernels;
    if (in_a_cubin("relu_forward_kernel")) {
      ++relu_containers;
      kernels = {"relu_forward_kernel", "relu_backward_kernel"};
    } else if (in_a_cubin("probe_kernel")) {
      ++probe_containers;
      kernels = {"probe_kernel"};
    }
    for (const std::string& kernel : kernels) {
      for (const FatbinEntry& e : c.entries) {
        ASSERT_TRUE(e.cubin || e.ptx) << "not decoded: " << to_string(e);
        const std::vector<KernelName>& names = e.cubin ? e.cubin->kernels : e.ptx->entries;
        EXPECT_TRUE(names_kernel(names, kernel)) << kernel << " missing in " << to_string(e);
      }
    }
  }
  EXPECT_EQ(relu_containers, 1) << to_string(info);
  EXPECT_EQ(probe_containers, 1) << to_string(info);
}

}  // namespace
