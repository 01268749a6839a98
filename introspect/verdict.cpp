// Verdicts for whole files (verdict.h): summaries, needs, and modules counted by how they load.
#include <lenet/introspect/verdict.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>
#include <tuple>

namespace lenet::introspect {

namespace {

// Libraries whose soname carries the CUDA major they belong to (libcufft, libcusparse, libcurand
// and others number their sonames on their own, so they do not say which runtime).
constexpr std::string_view kRuntimeLibraries[] = {"libcudart", "libcublas", "libcublasLt",
                                                  "libnvrtc", "libnvJitLink"};
// Prefixes of the sonames of CUDA libraries: the driver, the toolkit's libraries, cuDNN, NCCL.
constexpr std::string_view kCudaLibraryPrefixes[] = {
    "libcuda.so", "libcudart.", "libcublas", "libcufft",  "libcurand",  "libcusparse",
    "libcusolver", "libcudnn",  "libnccl",   "libnvrtc",  "libnvJitLink", "libnvToolsExt",
    "libcupti",   "libnpp",    "libcufile", "libnvshmem", "libnvjpeg",  "libcudss"};

// Sort key of an architecture name: the number, then plain before 'a' before 'f'.
std::tuple<unsigned, char> arch_key(const Image& image) { return {image.arch, image.suffix}; }

std::vector<std::string> names_sorted(const std::set<std::tuple<unsigned, char>>& keys,
                                      EntryKind kind) {
  std::vector<std::string> out;
  for (const auto& [arch, suffix] : keys) out.push_back(arch_name(kind, arch, suffix));
  return out;
}

std::string plural(int n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// "sm_75, sm_80 cubins, compute_120 PTX"
std::string image_list(const std::vector<std::string>& cubins, const std::vector<std::string>& ptx) {
  std::vector<std::string> parts;
  if (!cubins.empty()) parts.push_back(join(cubins) + (cubins.size() > 1 ? " cubins" : " cubin"));
  if (!ptx.empty()) parts.push_back(join(ptx) + " PTX");
  return join(parts);
}

// "13.0.88" -> {13, 0, 88}, for ordering toolkit versions.
std::vector<int> version_numbers(const std::string& version) {
  std::vector<int> out;
  int value = 0;
  bool any = false;
  for (const char c : version) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      any = true;
    } else if (c == '.') {
      out.push_back(value);
      value = 0;
    }
  }
  if (any) out.push_back(value);
  return out;
}

// The CUDA major in a soname such as "libcudart.so.13" when its library is one of
// kRuntimeLibraries; nothing otherwise.
std::optional<int> runtime_major_of(const std::string& soname) {
  const std::size_t so = soname.find(".so.");
  if (so == std::string::npos) return std::nullopt;
  const std::string_view base(soname.data(), so);
  if (std::find(std::begin(kRuntimeLibraries), std::end(kRuntimeLibraries), base) ==
      std::end(kRuntimeLibraries)) {
    return std::nullopt;
  }
  const std::string_view rest = std::string_view(soname).substr(so + 4);
  const std::size_t end = rest.find('.');
  const std::string_view digits = rest.substr(0, end);
  if (digits.empty() || digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoi(std::string(digits));
}

bool is_cuda_library(const std::string& soname) {
  return std::any_of(std::begin(kCudaLibraryPrefixes), std::end(kCudaLibraryPrefixes),
                     [&](std::string_view p) { return soname.rfind(p, 0) == 0; });
}

// The images of each module of a file, the way the verdicts count modules.
std::vector<std::vector<Image>> module_images(const FileInfo& info) {
  std::vector<std::vector<Image>> out;
  if (info.cubin) out.push_back({Image{EntryKind::kCubin, info.cubin->sm, 0, 0, 0}});
  if (info.ptx) {
    if (const std::optional<Image> image = image_of(*info.ptx)) out.push_back({*image});
  }
  for (const FatbinContainer& c : info.containers) {
    if (counts_as_module(c)) out.push_back(images_of(c));
  }
  return out;
}

// What the modules that cannot load have in common, for the headline.
std::string failed_modules_phrase(int count, const std::vector<int>& errors) {
  const auto all = [&](int code) {
    return std::all_of(errors.begin(), errors.end(), [code](int e) { return e == code; });
  };
  const std::string modules = count == 1 ? "1 module" : std::to_string(count) + " modules";
  if (all(kCudaErrorNoKernelImageForDevice)) return modules + " with kernels only for other GPUs";
  if (all(kCudaErrorUnsupportedPtxVersion)) {
    return modules + " whose PTX is too new for the driver's JIT";
  }
  if (all(kCudaErrorJitCompilationDisabled)) {
    return modules + " that need the PTX JIT, which CUDA_DISABLE_PTX_JIT=1 forbids";
  }
  return modules + " that cannot load";
}

}  // namespace

bool counts_as_module(const FatbinContainer& container) {
  return is_loadable(container) && may_hold_kernels(container);
}

ImageSummary summarize_images(const FileInfo& info) {
  ImageSummary s;
  using Keys = std::set<std::tuple<unsigned, char>>;
  Keys every_cubin, every_ptx, some_cubin, some_ptx;
  bool first = true;
  for (const std::vector<Image>& images : module_images(info)) {
    Keys cubin, ptx;
    for (const Image& i : images) {
      if (i.kind == EntryKind::kCubin) cubin.insert(arch_key(i));
      if (i.kind == EntryKind::kPtx) ptx.insert(arch_key(i));
    }
    some_cubin.insert(cubin.begin(), cubin.end());
    some_ptx.insert(ptx.begin(), ptx.end());
    if (first) {
      every_cubin = cubin;
      every_ptx = ptx;
      first = false;
    } else {
      Keys a, b;
      std::set_intersection(every_cubin.begin(), every_cubin.end(), cubin.begin(), cubin.end(),
                            std::inserter(a, a.end()));
      std::set_intersection(every_ptx.begin(), every_ptx.end(), ptx.begin(), ptx.end(),
                            std::inserter(b, b.end()));
      every_cubin = std::move(a);
      every_ptx = std::move(b);
    }
    ++s.modules;
  }
  for (const auto& k : every_cubin) some_cubin.erase(k);
  for (const auto& k : every_ptx) some_ptx.erase(k);
  s.every_cubin = names_sorted(every_cubin, EntryKind::kCubin);
  s.every_ptx = names_sorted(every_ptx, EntryKind::kPtx);
  s.some_cubin = names_sorted(some_cubin, EntryKind::kCubin);
  s.some_ptx = names_sorted(some_ptx, EntryKind::kPtx);
  return s;
}

std::string to_string(const ImageSummary& s) {
  if (s.modules == 0) return "no module with kernels";
  const std::string every = image_list(s.every_cubin, s.every_ptx);
  const std::string some = image_list(s.some_cubin, s.some_ptx);
  std::string out = (s.modules == 1 ? "its one module: " : "every module: ") +
                    (every.empty() ? std::string("no common image") : every);
  if (!some.empty()) out += "; some modules: " + some;
  return out;
}

FileNeeds needs_of(const FileInfo& info) {
  FileNeeds n;
  for (const std::string& soname : info.needed) {
    if (!is_cuda_library(soname)) continue;
    n.cuda_libraries.push_back(soname);
    if (const std::optional<int> major = runtime_major_of(soname)) {
      if (!n.cuda_runtime || *major > *n.cuda_runtime) {
        n.cuda_runtime = *major;
        n.runtime_from = soname;
      }
    }
  }
  std::set<std::string> toolkits;
  if (info.cubin && !info.cubin->toolkit.empty()) toolkits.insert(info.cubin->toolkit);
  for (const FatbinContainer& c : info.containers) {
    if (!c.toolkit.empty()) toolkits.insert(c.toolkit);
  }
  n.built_by.assign(toolkits.begin(), toolkits.end());
  std::sort(n.built_by.begin(), n.built_by.end(), [](const std::string& a, const std::string& b) {
    return version_numbers(a) > version_numbers(b);
  });
  if (!n.cuda_runtime && !n.built_by.empty()) {
    const std::vector<int> newest = version_numbers(n.built_by.front());
    if (!newest.empty()) {
      n.cuda_runtime = newest.front();
      n.runtime_from = "the toolkit of its cubins (" + n.built_by.front() + ")";
    }
  }
  if (n.cuda_runtime) n.min_driver = min_driver_branch(*n.cuda_runtime);
  return n;
}

bool is_cuda_bearing(const FileInfo& info) {
  return !info.containers.empty() || info.cubin || info.ptx ||
         std::any_of(info.needed.begin(), info.needed.end(), is_cuda_library);
}

std::string to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kLoads: return "loads";
    case Outcome::kLoadsThroughJit: return "loads-through-jit";
    case Outcome::kLoadsExceptSome: return "loads-except";
    case Outcome::kDoesNotLoad: return "does-not-load";
    case Outcome::kNoVerdict: return "no-verdict";
  }
  return "?";
}

LoadVerdict judge_load(const FileVerdict& verdict, const FileNeeds& needs,
                       const std::optional<DriverSpec>& driver) {
  LoadVerdict out;
  out.cc = verdict.cc;
  // A bare cubin or PTX file is one module, judged in `overall` only.
  std::vector<std::pair<int, const Selection*>> modules;
  for (const ContainerVerdict& c : verdict.containers) modules.push_back({c.container, &c.selection});
  if (modules.empty() && (verdict.overall.choice != Choice::kNone || verdict.overall.error != 0)) {
    modules.push_back({-1, &verdict.overall});
  }
  std::vector<int> errors;
  const Selection* first_failure = nullptr;
  const Selection* first_jit = nullptr;
  for (const auto& [container, s] : modules) {
    switch (s->choice) {
      case Choice::kExactCubin: ++out.counts.exact; break;
      case Choice::kCompatibleCubin: ++out.counts.compatible; break;
      case Choice::kPtxJit:
        ++out.counts.jit;
        if (first_jit == nullptr) first_jit = s;
        break;
      case Choice::kNone:
        ++out.counts.none;
        errors.push_back(s->error);
        if (container >= 0) out.failed.push_back(container);
        if (first_failure == nullptr) first_failure = s;
        break;
    }
  }
  const int total = out.counts.total();
  const int loading = total - out.counts.none;

  // The runtime starts when a program or library of this file is loaded: files without modules
  // that link no CUDA library (static libraries of relocatable code) start nothing.
  const bool starts_runtime = total > 0 || !needs.cuda_libraries.empty();
  if (starts_runtime && needs.cuda_runtime && driver &&
      !driver_runs_runtime(driver->cuda_version, *needs.cuda_runtime)) {
    const int runtime = *needs.cuda_runtime;
    out.outcome = Outcome::kDoesNotLoad;
    out.error = kCudaErrorInsufficientDriver;
    out.headline = "does not load";
    const int branch = min_driver_branch(runtime);
    const std::string cuda = cuda_version_string(driver->cuda_version);
    const std::string newer_than =
        driver->nvidia_version.empty()
            ? "newer than the driver's CUDA " + cuda
            : "newer than the CUDA " + cuda + " that NVIDIA driver " + driver->nvidia_version +
                  " supports";
    out.reason = "it needs the CUDA " + std::to_string(runtime) + " runtime (" + needs.runtime_from +
                 "), " + newer_than +
                 ", so the runtime's first call fails with cudaErrorInsufficientDriver (35)" +
                 (branch > 0 ? ": CUDA " + std::to_string(runtime) + " needs driver branch R" +
                                   std::to_string(branch) + " or newer"
                             : "");
    return out;
  }
  if (total == 0) {
    out.headline = "no verdict";
    out.reason = verdict.overall.reason;
    return out;
  }
  const std::string on = " on " + to_string(verdict.cc);
  // When every module has the same reason, the file's verdict has it too.
  const bool agree = std::all_of(modules.begin(), modules.end(), [&](const auto& m) {
    return m.second->reason == modules.front().second->reason;
  });
  const std::string& common = modules.front().second->reason;
  if (loading == 0) {
    out.outcome = Outcome::kDoesNotLoad;
    out.error = first_failure->error;
    out.headline = "does not load";
    out.reason = agree ? common
                       : "none of its " + std::to_string(total) +
                                  " modules with kernels loads" + on + " (the first: " +
                                  first_failure->reason + ")";
  } else if (out.counts.none > 0) {
    out.outcome = Outcome::kLoadsExceptSome;
    out.headline = "loads, except " + failed_modules_phrase(out.counts.none, errors);
    out.reason = std::to_string(loading) + " of " + plural(total, "module") +
                 " with kernels load" + on + "; a library that picks its kernels per GPU never "
                 "launches the others there, while a program that launches one of them fails "
                 "(--strict counts them as failures)";
  } else if (out.counts.jit > 0) {
    out.outcome = Outcome::kLoadsThroughJit;
    out.headline = out.counts.jit == total
                       ? "loads only through PTX JIT (slow first start)"
                       : "loads, " + std::to_string(out.counts.jit) + " of " +
                             plural(total, "module") + " only through PTX JIT (slow first start)";
    out.reason = agree ? common
                       : "the driver JIT-compiles their PTX for " + sm_name(verdict.cc) +
                                  " when the program starts, and keeps the result in its cache "
                                  "(e.g. " +
                                  first_jit->image->description() + ")";
  } else {
    out.outcome = Outcome::kLoads;
    out.headline = "loads";
    out.reason = agree ? common
                       : "all " + plural(total, "module") + " with kernels load a cubin as it is" +
                                  on + " (" + std::to_string(out.counts.exact) + " exact, " +
                                  std::to_string(out.counts.compatible) + " compatible)";
  }
  return out;
}

bool decode_failed_modules(ByteSpan file, FileInfo& info, const std::vector<FileVerdict>& verdicts) {
  bool decoded = false;
  for (const FileVerdict& v : verdicts) {
    for (const ContainerVerdict& c : v.containers) {
      if (c.selection.choice != Choice::kNone) continue;
      FatbinContainer& container = info.containers.at(static_cast<std::size_t>(c.container));
      const bool undecoded = std::any_of(
          container.entries.begin(), container.entries.end(), [](const FatbinEntry& e) {
            return (e.kind == EntryKind::kCubin || e.kind == EntryKind::kPtx) && !e.cubin && !e.ptx;
          });
      if (!undecoded) continue;
      decode_entries(file, container);
      decoded = true;
    }
  }
  return decoded;
}

std::vector<KernelName> module_kernels(ByteSpan file, const FatbinContainer& container) {
  for (const FatbinEntry& e : container.entries) {
    if (e.cubin && !e.cubin->kernels.empty()) return e.cubin->kernels;
    if (e.ptx && !e.ptx->entries.empty()) return e.ptx->entries;
    if (e.cubin || e.ptx) continue;
    if (e.kind == EntryKind::kCubin) {
      const std::vector<std::uint8_t> bytes = read_payload(file, e);
      CubinInfo cubin = parse_cubin(ByteSpan(bytes.data(), bytes.size()));
      if (!cubin.kernels.empty()) return cubin.kernels;
    } else if (e.kind == EntryKind::kPtx) {
      const std::vector<std::uint8_t> bytes = read_payload(file, e);
      PtxInfo ptx = parse_ptx(ByteSpan(bytes.data(), bytes.size()).chars());
      if (!ptx.entries.empty()) return ptx.entries;
    }
  }
  return {};
}

}  // namespace lenet::introspect
