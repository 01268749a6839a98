// The driver's choice of image, reproduced from its documented rules (selection.h).
#include <lenet/introspect/selection.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace lenet::introspect {

namespace {

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view digits) {
  int v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Order of preference among images that can run: the higher architecture first; at the same
// number the more specific target ('a', then 'f', then plain), as it was built for this GPU.
int suffix_rank(char suffix) { return suffix == 'a' ? 2 : (suffix == 'f' ? 1 : 0); }

bool better(const Image& a, const Image& b) {
  if (a.arch != b.arch) return a.arch > b.arch;
  return suffix_rank(a.suffix) > suffix_rank(b.suffix);
}

bool ptx_isa_at_most(const Image& ptx, PtxIsaVersion max) {
  return ptx.ptx_major < max.major || (ptx.ptx_major == max.major && ptx.ptx_minor <= max.minor);
}

std::string isa_string(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

std::string names_of(const std::vector<Image>& images) {
  std::string out;
  for (const Image& i : images) out += (out.empty() ? "" : ", ") + i.name();
  return out;
}

std::vector<Image> of_kind(const std::vector<Image>& images, EntryKind kind) {
  std::vector<Image> out;
  std::copy_if(images.begin(), images.end(), std::back_inserter(out),
               [kind](const Image& i) { return i.kind == kind; });
  return out;
}

const Image* best_of(const std::vector<Image>& images, ComputeCapability cc,
                     const PtxIsaVersion* max_isa = nullptr) {
  const Image* best = nullptr;
  for (const Image& i : images) {
    if (!runs_on(i, cc)) continue;
    if (max_isa != nullptr && !ptx_isa_at_most(i, *max_isa)) continue;
    if (best == nullptr || better(i, *best)) best = &i;
  }
  return best;
}

// Why one image does not run on cc: "sm_90a runs only on 9.0".
std::string why_not(const Image& image, ComputeCapability cc) {
  const ComputeCapability t = image.target();
  if (image.suffix == 'a') return image.name() + " runs only on " + to_string(t);
  if (image.kind == EntryKind::kCubin || image.suffix == 'f') {
    if (t.major != cc.major) {
      return image.name() + " runs only on " + std::to_string(t.major) + ".x";
    }
    return image.name() + " needs " + to_string(t) + " or a later " + std::to_string(t.major) +
           ".x";
  }
  return image.name() + " needs " + to_string(t) + " or newer";
}

// The clause that says why no cubin of the module runs on cc.
std::string no_cubin_clause(const std::vector<Image>& cubins, ComputeCapability cc) {
  if (cubins.empty()) return "the module has no cubin";
  std::vector<Image> same_major;
  std::copy_if(cubins.begin(), cubins.end(), std::back_inserter(same_major),
               [cc](const Image& i) { return i.target().major == cc.major; });
  if (same_major.empty()) {
    return "none of its cubins (" + names_of(cubins) + ") is for major version " +
           std::to_string(cc.major) + " (a cubin runs only on its own major)";
  }
  std::string out;
  for (const Image& i : same_major) out += (out.empty() ? "" : ", ") + why_not(i, cc);
  return "no cubin runs on " + to_string(cc) + " (" + out + ")";
}

// The clause that says why no PTX of the module can be JIT-compiled for cc.
std::string no_ptx_clause(const std::vector<Image>& ptx, ComputeCapability cc) {
  if (ptx.empty()) return "it has no PTX to JIT-compile";
  std::string out;
  for (const Image& i : ptx) out += (out.empty() ? "" : ", ") + why_not(i, cc);
  return "its PTX does not fit either (" + out + ")";
}

std::string ptx_description(const Image& ptx) {
  return ptx.name() + " PTX (ISA " + isa_string(ptx.ptx_major, ptx.ptx_minor) + ")";
}

Selection failure(int error, std::string reason) {
  Selection s;
  s.choice = Choice::kNone;
  s.error = error;
  s.reason = std::move(reason);
  return s;
}

// Appended when nothing runs on a GPU older than anything CUDA 13 can target.
std::string too_old_note(ComputeCapability cc) {
  if (cc.number() >= kOldestCuda13Target.number()) return "";
  return "; CUDA 13 compiles for " + sm_name(kOldestCuda13Target) +
         " and newer, so no CUDA 13 build runs on a " + to_string(cc) +
         " GPU: build with CUDA 12 for it";
}

int severity(const Selection& s) {
  switch (s.choice) {
    case Choice::kExactCubin: return 0;
    case Choice::kCompatibleCubin: return 1;
    case Choice::kPtxJit: return 2;
    case Choice::kNone: return 3;
  }
  return 3;
}

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::strtol(value, nullptr, 10) != 0;
}


}  // namespace

std::optional<Image> image_of(const PtxInfo& ptx) {
  // ".target sm_90a" -> compute_90a; ".version 9.0" -> ISA 9.0.
  std::string_view target = ptx.target;
  if (target.rfind("sm_", 0) != 0) return std::nullopt;
  target.remove_prefix(3);
  Image image;
  image.kind = EntryKind::kPtx;
  if (!target.empty() && (target.back() == 'a' || target.back() == 'f')) {
    image.suffix = target.back();
    target.remove_suffix(1);
  }
  if (!is_digits(target) || target.size() > 4) return std::nullopt;
  image.arch = static_cast<unsigned>(to_int(target));
  const std::size_t dot = ptx.isa_version.find('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string_view isa = ptx.isa_version;
  if (!is_digits(isa.substr(0, dot)) || !is_digits(isa.substr(dot + 1)) || isa.size() > 8) {
    return std::nullopt;
  }
  image.ptx_major = static_cast<unsigned>(to_int(isa.substr(0, dot)));
  image.ptx_minor = static_cast<unsigned>(to_int(isa.substr(dot + 1)));
  return image;
}

std::optional<ComputeCapability> parse_compute_capability(std::string_view text) {
  if (text.rfind("sm_", 0) == 0) text.remove_prefix(3);
  if (const std::size_t dot = text.find('.'); dot != std::string_view::npos) {
    const std::string_view major = text.substr(0, dot);
    const std::string_view minor = text.substr(dot + 1);
    if (!is_digits(major) || major.size() > 2 || major[0] == '0' || !is_digits(minor) ||
        minor.size() != 1) {
      return std::nullopt;
    }
    return ComputeCapability{to_int(major), to_int(minor)};
  }
  if (!is_digits(text) || text.size() < 2 || text.size() > 3 || text[0] == '0') {
    return std::nullopt;
  }
  const int n = to_int(text);
  return ComputeCapability{n / 10, n % 10};
}

std::string sm_name(ComputeCapability cc) { return "sm_" + std::to_string(cc.number()); }

std::string to_string(ComputeCapability cc) {
  return std::to_string(cc.major) + "." + std::to_string(cc.minor);
}

std::string Image::description() const {
  return name() + (kind == EntryKind::kPtx ? " PTX" : (kind == EntryKind::kCubin ? " cubin" : ""));
}

std::vector<Image> images_of(const FatbinContainer& container) {
  std::vector<Image> out;
  for (const FatbinEntry& e : container.entries) {
    Image image;
    image.kind = e.kind;
    image.arch = e.arch_number;
    image.suffix = e.arch_suffix;
    if (e.kind == EntryKind::kPtx) {
      image.ptx_major = e.version_major;
      image.ptx_minor = e.version_minor;
    }
    out.push_back(image);
  }
  return out;
}

bool runs_on(const Image& image, ComputeCapability cc) {
  const ComputeCapability t = image.target();
  if (image.kind != EntryKind::kCubin && image.kind != EntryKind::kPtx) return false;
  if (image.suffix == 'a') return t == cc;
  if (image.kind == EntryKind::kCubin || image.suffix == 'f') {
    return t.major == cc.major && t.minor <= cc.minor;
  }
  return t.number() <= cc.number();
}

std::optional<PtxIsaVersion> max_ptx_isa_version(int driver_version) {
  struct Row {
    int cuda;
    PtxIsaVersion isa;
  };
  // From the release notes of each toolkit (the PTX ISA document lists the version each CUDA
  // release introduced); nvcc 13.0 writes ".version 9.0".
  static constexpr Row kTable[] = {
      {11000, {7, 0}}, {11010, {7, 1}}, {11020, {7, 2}}, {11030, {7, 3}}, {11040, {7, 4}},
      {11050, {7, 5}}, {11060, {7, 6}}, {11070, {7, 7}}, {11080, {7, 8}}, {12000, {8, 0}},
      {12010, {8, 1}}, {12020, {8, 2}}, {12030, {8, 3}}, {12040, {8, 4}}, {12050, {8, 5}},
      {12060, {8, 5}}, {12080, {8, 7}}, {12090, {8, 8}}, {13000, {9, 0}},
  };
  std::optional<PtxIsaVersion> out;
  for (const Row& row : kTable) {
    if (row.cuda <= driver_version) out = row.isa;
  }
  return out;
}

std::string cuda_version_string(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

JitSettings JitSettings::from_environment() {
  JitSettings s;
  s.force_ptx_jit = env_flag("CUDA_FORCE_PTX_JIT");
  s.disable_ptx_jit = env_flag("CUDA_DISABLE_PTX_JIT");
  return s;
}

std::string to_string(Choice choice) {
  switch (choice) {
    case Choice::kExactCubin: return "cubin";
    case Choice::kCompatibleCubin: return "compatible-cubin";
    case Choice::kPtxJit: return "ptx-jit";
    case Choice::kNone: return "none";
  }
  return "?";
}

std::string cuda_error_name(int code) {
  switch (code) {
    case 0: return "cudaSuccess";
    case kCudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case kCudaErrorNoDevice: return "cudaErrorNoDevice";
    case kCudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
    case kCudaErrorUnsupportedPtxVersion: return "cudaErrorUnsupportedPtxVersion";
    case kCudaErrorJitCompilationDisabled: return "cudaErrorJitCompilationDisabled";
    default: return "cudaError " + std::to_string(code);
  }
}

Selection select_image(const std::vector<Image>& images, const SelectionQuery& query) {
  const ComputeCapability cc = query.cc;
  const std::vector<Image> cubins = of_kind(images, EntryKind::kCubin);
  const std::vector<Image> ptx = of_kind(images, EntryKind::kPtx);

  std::string no_cubin;
  if (query.jit.force_ptx_jit) {
    no_cubin = "CUDA_FORCE_PTX_JIT=1 makes the driver ignore the cubins";
  } else if (const Image* cubin = best_of(cubins, cc)) {
    Selection s;
    s.image = *cubin;
    if (cubin->arch == static_cast<unsigned>(cc.number())) {
      s.choice = Choice::kExactCubin;
      s.reason = cubin->description() + " matches compute capability " + to_string(cc) +
                 " exactly, so the driver loads it as it is";
    } else {
      s.choice = Choice::kCompatibleCubin;
      s.reason = "no cubin is built for " + to_string(cc) + ", but the " + cubin->description() +
                 " runs on it (" +
                 (cubin->suffix == 'f' ? "an 'f' cubin runs on its family, "
                                       : "a cubin runs on the later minors of its major, ") +
                 std::to_string(cubin->target().major) + ".x from " + to_string(cubin->target()) +
                 "), so the driver loads it as it is";
    }
    return s;
  } else {
    no_cubin = no_cubin_clause(cubins, cc);
  }

  const Image* compatible = best_of(ptx, cc);
  if (compatible == nullptr) {
    const bool only_lto = cubins.empty() && ptx.empty() &&
                          std::any_of(images.begin(), images.end(),
                                      [](const Image& i) { return i.kind == EntryKind::kLtoIr; });
    return failure(kCudaErrorNoKernelImageForDevice,
                   no_cubin + ", and " +
                       (only_lto ? "LTO-IR is never loaded as it is (a device link with -dlto "
                                   "turns it into a cubin)"
                                 : no_ptx_clause(ptx, cc)) +
                       too_old_note(cc));
  }
  if (query.jit.disable_ptx_jit) {
    return failure(kCudaErrorJitCompilationDisabled,
                   no_cubin + ", and CUDA_DISABLE_PTX_JIT=1 forbids JIT-compiling its " +
                       compatible->name() + " PTX");
  }
  std::optional<PtxIsaVersion> max_isa;
  if (query.driver_version) {
    max_isa = max_ptx_isa_version(*query.driver_version);
    if (!max_isa) {
      return failure(
          kCudaErrorUnsupportedPtxVersion,
          no_cubin + ", and the JIT of driver " + cuda_version_string(*query.driver_version) +
              " (older than CUDA 11.0) cannot compile its " + ptx_description(*compatible));
    }
  }
  const Image* accepted = max_isa ? best_of(ptx, cc, &*max_isa) : compatible;
  if (accepted == nullptr) {
    return failure(kCudaErrorUnsupportedPtxVersion,
                   no_cubin + ", and its " + ptx_description(*compatible) +
                       " is newer than PTX ISA " + isa_string(max_isa->major, max_isa->minor) +
                       ", the newest that the JIT of driver " +
                       cuda_version_string(*query.driver_version) + " accepts");
  }
  Selection s;
  s.choice = Choice::kPtxJit;
  s.image = *accepted;
  s.reason = no_cubin + ", so the driver JIT-compiles " + ptx_description(*accepted) + " for " +
             sm_name(cc);
  return s;
}

bool is_loadable(const FatbinContainer& container) {
  return container.role != ContainerRole::kRelocatable;
}

bool may_hold_kernels(const FatbinContainer& container) {
  for (const FatbinEntry& e : container.entries) {
    if (e.kind != EntryKind::kCubin && e.kind != EntryKind::kPtx) continue;
    if (!e.cubin && !e.ptx) return true;  // not decoded: it may
    if (e.cubin && !e.cubin->kernels.empty()) return true;
    if (e.ptx && !e.ptx->entries.empty()) return true;
  }
  return false;
}

FileVerdict judge_file(const FileInfo& info, const SelectionQuery& query) {
  FileVerdict v;
  v.cc = query.cc;
  if (info.kind == FileKind::kCubin || info.kind == FileKind::kPtx) {
    // A bare image is one module: the program that loads it (cuModuleLoad) gets this verdict.
    std::optional<Image> image;
    if (info.cubin) {
      image = Image{EntryKind::kCubin, info.cubin->sm, 0, 0, 0};
    } else if (info.ptx) {
      image = image_of(*info.ptx);
    }
    if (!image) {
      v.overall = failure(0, "the PTX names no target of the form sm_XY, so there is no verdict");
    } else {
      v.overall = select_image({*image}, query);
    }
    return v;
  }
  bool relocatable = false;
  for (std::size_t i = 0; i < info.containers.size(); ++i) {
    const FatbinContainer& c = info.containers[i];
    if (!is_loadable(c)) {
      relocatable = true;
      continue;
    }
    if (!may_hold_kernels(c)) continue;
    v.containers.push_back({static_cast<int>(i), select_image(images_of(c), query)});
  }
  if (v.containers.empty()) {
    v.overall =
        failure(0, relocatable ? "it holds only relocatable device code (-rdc), which the driver "
                                 "never loads as it is: judge the program it is device-linked into"
                               : "it holds no GPU code with kernels, so nothing is loaded from it");
    return v;
  }
  const ContainerVerdict* worst = &v.containers.front();
  for (const ContainerVerdict& c : v.containers) {
    if (severity(c.selection) > severity(worst->selection)) worst = &c;
  }
  v.overall = worst->selection;
  v.worst_container = worst->container;
  return v;
}

}  // namespace lenet::introspect
