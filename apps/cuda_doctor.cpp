// cuda_doctor: what GPU code a binary holds, whether the CUDA driver loads it on a GPU, and why;
// with a GPU, whether that prediction held. Thin: flags, printing and exit codes over
// lenet::introspect. docs/compute-capability.md, fatbins.md and troubleshooting.md use it.
//   cuda_doctor                          this machine (toolkit, driver, GPUs) and this build of lenet
//   cuda_doctor --sm 86 | --gpu "RTX 3090"   this build's verdict for GPUs that are not here
//   cuda_doctor inspect FILE... [--sm CC] [--gpu NAME] [--driver V] [--strict] [--kernels] [--json]
//   cuda_doctor scan DIR... [--sm CC] [--gpu NAME] [--driver V] [--strict] [--json]
//   exit 0: done; 1: a file could not be read, or something judged does not run (a GPU or
//   driver gets "does not load"; with --strict, any module that cannot load); 2: bad flags.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <lenet/introspect/device.h>
#include <lenet/introspect/driver.h>
#include <lenet/introspect/fatbin.h>
#include <lenet/introspect/gpus.h>
#include <lenet/introspect/selection.h>
#include <lenet/introspect/verdict.h>

#if defined(LENET_DOCTOR_HAS_KERNELS)
#include <cuda_runtime_api.h>

#include <lenet/kernels/loaded_code.h>
#endif

namespace li = lenet::introspect;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSelf = "/proc/self/exe";
#if defined(LENET_DOCTOR_HAS_KERNELS)
constexpr int kBuildRuntime = CUDART_VERSION;  // the CUDA runtime this build links
#else
constexpr int kBuildRuntime = 0;
#endif
// Text output names the kernels of at most this many modules that cannot load, and at most
// this many kernels of each; --json names them all.
constexpr std::size_t kFailedModulesShown = 10;
constexpr std::size_t kKernelsShown = 3;

// A GPU to judge for: from --sm (a compute capability) or --gpu (a name from the table).
struct Target {
  li::ComputeCapability cc;
  std::string gpu;  // "GeForce RTX 3080 Ti"; empty for --sm

  std::string label() const {
    const std::string cc_text = "compute capability " + li::to_string(cc);
    if (gpu.empty()) return li::sm_name(cc) + " (" + cc_text + ")";
    return gpu + " (" + li::sm_name(cc) + ", " + cc_text + ")";
  }
};

struct Options {
  std::vector<std::string> sm;
  std::vector<std::string> gpu;
  std::string driver;
  bool json = false;
  bool kernels = false;
  bool strict = false;
  bool version = false;
  std::vector<std::string> files;
  std::vector<std::string> dirs;

  std::vector<Target> targets;          // parsed from sm and gpu
  std::optional<li::DriverSpec> driver_spec;  // parsed from driver
};

// A bad flag value: main prints it like CLI11's own errors and exits with 2.
struct FlagError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void add_target(Options& o, const Target& t) {
  const bool seen = std::any_of(o.targets.begin(), o.targets.end(), [&](const Target& other) {
    return other.cc == t.cc && other.gpu == t.gpu;
  });
  if (!seen) o.targets.push_back(t);
}

void parse_values(Options& o) {
  for (const std::string& s : o.sm) {
    const std::optional<li::ComputeCapability> cc = li::parse_compute_capability(s);
    if (!cc) {
      throw FlagError("--sm: '" + s +
                      "' is not a compute capability (write 86, 8.6 or sm_86; GPUs have no "
                      "a/f suffix)");
    }
    add_target(o, {*cc, ""});
  }
  for (const std::string& name : o.gpu) {
    const std::optional<li::GpuModel> gpu = li::find_gpu(name);
    if (!gpu) {
      std::string closest;
      for (const std::string& c : li::closest_gpus(name)) closest += (closest.empty() ? "" : ", ") + c;
      throw FlagError("--gpu: no GPU named '" + name + "' in the table; closest: " + closest +
                      " (or give its compute capability with --sm)");
    }
    add_target(o, {gpu->cc, gpu->name});
  }
  if (!o.driver.empty()) {
    std::string why;
    o.driver_spec = li::parse_driver(o.driver, &why);
    if (!o.driver_spec) throw FlagError("--driver: " + why);
  }
}

li::SelectionQuery query_for(li::ComputeCapability cc, std::optional<int> driver_version) {
  li::SelectionQuery q;
  q.cc = cc;
  q.driver_version = driver_version;
  q.jit = li::JitSettings::from_environment();
  return q;
}

std::optional<int> driver_version_of(const Options& o) {
  return o.driver_spec ? std::optional<int>(o.driver_spec->cuda_version) : std::nullopt;
}

// Everything judged about one file.
struct Judged {
  li::FileInfo info;
  li::ImageSummary summary;
  li::FileNeeds needs;
  std::vector<li::FileVerdict> verdicts;  // one per target
  std::vector<li::LoadVerdict> loads;     // one per target
  // The kernels of the modules that cannot load on some target, by container position.
  std::map<int, std::vector<li::KernelName>> failed_kernels;
};

// Judges `info` for every target; names the kernels of the modules that cannot load, reading
// them from `path` when the payloads were not decoded.
Judged judge(li::FileInfo info, const std::string& path, const Options& o) {
  Judged j;
  j.info = std::move(info);
  const auto judge_all = [&] {
    j.verdicts.clear();
    for (const Target& t : o.targets) {
      j.verdicts.push_back(li::judge_file(j.info, query_for(t.cc, driver_version_of(o))));
    }
  };
  judge_all();
  std::optional<li::MappedFile> file;
  const auto any_failed = [&] {
    return std::any_of(j.verdicts.begin(), j.verdicts.end(), [](const li::FileVerdict& v) {
      return std::any_of(v.containers.begin(), v.containers.end(), [](const li::ContainerVerdict& c) {
        return c.selection.choice == li::Choice::kNone;
      });
    });
  };
  if (any_failed()) {
    file.emplace(path);
    if (li::decode_failed_modules(file->bytes(), j.info, j.verdicts)) judge_all();
  }
  j.summary = li::summarize_images(j.info);
  j.needs = li::needs_of(j.info);
  for (const li::FileVerdict& v : j.verdicts) j.loads.push_back(li::judge_load(v, j.needs, o.driver_spec));
  for (const li::LoadVerdict& l : j.loads) {
    for (const int c : l.failed) {
      if (j.failed_kernels.count(c) == 0) {
        j.failed_kernels[c] = li::module_kernels(file->bytes(), j.info.containers[c]);
      }
    }
  }
  return j;
}

// --- text ---

std::string choice_text(const li::Selection& s) {
  if (s.choice == li::Choice::kNone) {
    if (s.error == 0) return "no verdict";
    return "none: " + li::cuda_error_name(s.error) + " (" + std::to_string(s.error) + ")";
  }
  return li::to_string(s.choice) + " " + s.image->name();
}

std::string entry_line(const li::FatbinEntry& e, bool kernels) {
  char buf[160];
  std::string sizes = std::to_string(e.stored_size) + " bytes";
  if (e.compression != li::Compression::kNone) {
    sizes += " " + li::to_string(e.compression) + " -> " + std::to_string(e.uncompressed_size);
  }
  std::snprintf(buf, sizeof buf, "    %-5s %-13s %-30s at %s", li::to_string(e.kind).c_str(),
                e.arch.c_str(), sizes.c_str(), li::hex(e.offset).c_str());
  std::string line = buf;
  if (e.kind == li::EntryKind::kPtx) {
    line += "  PTX ISA " + std::to_string(e.version_major) + "." + std::to_string(e.version_minor);
  }
  if (kernels) {
    const std::vector<li::KernelName>* names = nullptr;
    if (e.cubin) names = &e.cubin->kernels;
    if (e.ptx) names = &e.ptx->entries;
    if (names != nullptr) {
      line += "\n      kernels:";
      if (names->empty()) line += " (none)";
      for (const li::KernelName& k : *names) line += "\n        " + k.demangled;
    }
  }
  return line;
}

std::string container_line(const li::FatbinContainer& c, std::size_t position) {
  std::string line = "  container " + std::to_string(position) + ": ";
  if (!c.member.empty()) line += "member " + c.member + ", ";
  if (!c.section.empty()) line += c.section + " #" + std::to_string(c.index) + ", ";
  line += li::to_string(c.role) + ", at " + li::hex(c.offset) + ", " + li::hex(c.size) +
          " bytes, " + std::to_string(c.entries.size()) + " entries";
  if (!c.toolkit.empty()) line += ", built by " + c.toolkit;
  return line;
}

// "0-8, 11, 14-15": container positions, runs of consecutive ones as ranges; at most `limit`
// runs, then "...".
std::string positions(const std::vector<int>& list, std::size_t limit = 12) {
  std::string out;
  std::size_t runs = 0;
  for (std::size_t i = 0; i < list.size();) {
    if (runs++ == limit) return out + ", ...";
    std::size_t j = i;
    while (j + 1 < list.size() && list[j + 1] == list[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(list[i]);
    if (j > i) out += "-" + std::to_string(list[j]);
    i = j + 1;
  }
  return out;
}

// "sm_80, sm_86 cubins; compute_80 PTX (ISA 9.0)": the images of one module.
std::string image_summary(const li::FatbinContainer& c) {
  std::string cubins;
  int cubin_count = 0;
  std::string ptx;
  std::string other;
  for (const li::FatbinEntry& e : c.entries) {
    if (e.kind == li::EntryKind::kCubin) {
      cubins += (cubins.empty() ? "" : ", ") + e.arch;
      ++cubin_count;
    } else if (e.kind == li::EntryKind::kPtx) {
      ptx += (ptx.empty() ? "" : ", ") + e.arch + " PTX (ISA " + std::to_string(e.version_major) +
             "." + std::to_string(e.version_minor) + ")";
    } else {
      other += (other.empty() ? "" : ", ") + e.arch;
    }
  }
  std::string out = cubins.empty() ? "no cubin" : cubins + (cubin_count > 1 ? " cubins" : " cubin");
  out += "; " + (ptx.empty() ? std::string("no PTX") : ptx);
  if (!other.empty()) out += "; " + other;
  return out;
}

std::string needs_text(const li::FileNeeds& n) {
  std::string out;
  if (n.cuda_runtime) {
    out = "the CUDA " + std::to_string(*n.cuda_runtime) + " runtime (" + n.runtime_from + ")";
    if (n.min_driver > 0) out += ", so driver R" + std::to_string(n.min_driver) + " or newer";
  } else {
    out = "no CUDA runtime that it names";
  }
  if (!n.built_by.empty()) {
    std::string list;
    for (const std::string& b : n.built_by) list += (list.empty() ? "" : ", ") + b;
    out += "; built by CUDA " + list;
  }
  return out;
}

std::string kernel_list(const std::vector<li::KernelName>& kernels, std::size_t limit) {
  if (kernels.empty()) return "kernels unknown";
  std::string out;
  for (std::size_t i = 0; i < kernels.size() && i < limit; ++i) {
    out += (out.empty() ? "" : ", ") + kernels[i].demangled;
  }
  if (kernels.size() > limit) {
    out += " (+" + std::to_string(kernels.size() - limit) + " more; --json lists them all)";
  }
  return out;
}

// One verdict: the headline, the reason, the modules counted by how they load, the groups of
// modules that agree, and the modules that cannot load with their kernels.
void print_verdict(const li::FileVerdict& v, const li::LoadVerdict& load, const Judged& judged,
                   const std::string& label) {
  std::printf("  %s: %s\n      %s\n", label.c_str(), load.headline.c_str(), load.reason.c_str());
  if (v.containers.empty()) return;
  const li::ModuleCounts& n = load.counts;
  using Key = std::tuple<int, std::string, int>;
  std::map<Key, std::vector<int>> groups;
  std::vector<Key> order;
  for (const li::ContainerVerdict& c : v.containers) {
    const li::Selection& s = c.selection;
    const Key key{static_cast<int>(s.choice), s.image ? s.image->name() : "", s.error};
    if (groups.find(key) == groups.end()) order.push_back(key);
    groups[key].push_back(c.container);
  }
  if (groups.size() > 1) {
    std::printf("      modules with kernels: %d exact cubin, %d compatible cubin, %d PTX JIT, "
                "%d cannot load\n",
                n.exact, n.compatible, n.jit, n.none);
  }
  for (const Key& key : order) {
    const std::vector<int>& list = groups[key];
    const li::ContainerVerdict* first = nullptr;
    for (const li::ContainerVerdict& c : v.containers) {
      if (c.container == list.front()) first = &c;
    }
    const std::string which = list.size() == 1 && v.containers.size() == 1
                                  ? "its one module"
                                  : (list.size() == v.containers.size()
                                         ? "all " + std::to_string(list.size()) + " modules"
                                         : "container" + std::string(list.size() > 1 ? "s " : " ") +
                                               positions(list));
    std::printf("      %s: %s\n", which.c_str(), choice_text(first->selection).c_str());
  }
  // The kernels that cannot run matter where others can; when none can, the reason says it all.
  if (load.counts.none == n.total() && n.total() > 1) return;
  std::size_t shown = 0;
  for (const int c : load.failed) {
    if (shown++ == kFailedModulesShown) {
      std::printf("      ... and %zu more modules that cannot load\n",
                  load.failed.size() - kFailedModulesShown);
      break;
    }
    const li::ContainerVerdict* cv = nullptr;
    for (const li::ContainerVerdict& x : v.containers) {
      if (x.container == c) cv = &x;
    }
    std::printf("      cannot load: container %d (%s)%s\n", c,
                image_summary(judged.info.containers[c]).c_str(),
                cv && cv->selection.reason != load.reason ? (": " + cv->selection.reason).c_str()
                                                          : "");
    const auto k = judged.failed_kernels.find(c);
    if (k != judged.failed_kernels.end()) {
      std::printf("        kernels: %s\n", kernel_list(k->second, kKernelsShown).c_str());
    }
  }
}

void print_file(const Judged& j, const Options& o) {
  const li::FileInfo& info = j.info;
  std::printf("%s: %s", info.path.c_str(), li::to_string(info.kind).c_str());
  if (info.cubin) {
    std::printf(" sm_%u (the 'a'/'f' suffix is recorded only in fatbins)\n", info.cubin->sm);
    if (o.kernels) {
      for (const li::KernelName& k : info.cubin->kernels)
        std::printf("    %s\n", k.demangled.c_str());
    }
  } else if (info.ptx) {
    std::printf(", PTX ISA %s, .target %s\n", info.ptx->isa_version.c_str(),
                info.ptx->target.c_str());
    if (o.kernels) {
      for (const li::KernelName& k : info.ptx->entries)
        std::printf("    %s\n", k.demangled.c_str());
    }
  } else {
    std::printf(", %zu fatbin container%s\n", info.containers.size(),
                info.containers.size() == 1 ? "" : "s");
  }
  std::printf("  images: %s\n", li::to_string(j.summary).c_str());
  std::printf("  needs:  %s\n", needs_text(j.needs).c_str());
  for (std::size_t i = 0; i < info.containers.size(); ++i) {
    const li::FatbinContainer& c = info.containers[i];
    std::printf("%s\n", container_line(c, i).c_str());
    for (const li::FatbinEntry& e : c.entries) std::printf("%s\n", entry_line(e, o.kernels).c_str());
  }
  if (!j.verdicts.empty()) {
    std::printf("verdicts%s:\n",
                o.driver_spec ? (" with " + o.driver_spec->description()).c_str() : "");
  }
  for (std::size_t i = 0; i < j.verdicts.size(); ++i) {
    print_verdict(j.verdicts[i], j.loads[i], j, o.targets[i].label());
  }
}

// --- JSON ---

json kernels_json(const std::vector<li::KernelName>& names) {
  json out = json::array();
  for (const li::KernelName& k : names) out.push_back(k.demangled);
  return out;
}

json selection_json(const li::Selection& s) {
  return {{"choice", li::to_string(s.choice)},
          {"image", s.image ? json(s.image->name()) : json(nullptr)},
          {"error", s.error != 0 ? json(li::cuda_error_name(s.error)) : json(nullptr)},
          {"reason", s.reason}};
}

json summary_json(const li::ImageSummary& s) {
  return {{"every_module", {{"cubin", s.every_cubin}, {"ptx", s.every_ptx}}},
          {"some_modules", {{"cubin", s.some_cubin}, {"ptx", s.some_ptx}}}};
}

json needs_json(const li::FileNeeds& n) {
  return {{"cuda_runtime", n.cuda_runtime ? json(std::to_string(*n.cuda_runtime)) : json(nullptr)},
          {"min_driver", n.min_driver > 0 ? json(std::to_string(n.min_driver)) : json(nullptr)},
          {"built_by", n.built_by.empty() ? json(nullptr) : json(n.built_by)},
          {"cuda_libraries", n.cuda_libraries}};
}

json target_json(const Target& t) {
  json out = {{"sm", li::sm_name(t.cc)}};
  if (!t.gpu.empty()) out["gpu"] = t.gpu;
  return out;
}

json load_json(const li::LoadVerdict& l, const Target& t, const Judged& j) {
  json out = target_json(t);
  json failed = json::array();
  for (const int c : l.failed) {
    std::vector<std::string> images;
    for (const li::Image& i : li::images_of(j.info.containers[c])) images.push_back(i.name());
    json item = {{"container", c}, {"images", images}};
    const auto k = j.failed_kernels.find(c);
    item["kernels"] = k != j.failed_kernels.end() ? kernels_json(k->second) : json::array();
    failed.push_back(std::move(item));
  }
  out.update({{"outcome", li::to_string(l.outcome)},
              {"headline", l.headline},
              {"reason", l.reason},
              {"error", l.error != 0 ? json(li::cuda_error_name(l.error)) : json(nullptr)},
              {"modules",
               {{"cubin", l.counts.exact},
                {"compatible_cubin", l.counts.compatible},
                {"ptx_jit", l.counts.jit},
                {"none", l.counts.none}}},
              {"cannot_load", failed}});
  return out;
}

json file_json(const Judged& j, const Options& o, bool listing) {
  const li::FileInfo& info = j.info;
  json out = {{"path", info.path}, {"kind", li::to_string(info.kind)}};
  if (listing) {
    json containers = json::array();
    for (const li::FatbinContainer& c : info.containers) {
      json entries = json::array();
      for (const li::FatbinEntry& e : c.entries) {
        json entry = {{"kind", li::to_string(e.kind)},
                      {"arch", e.arch},
                      {"compression", li::to_string(e.compression)},
                      {"stored_size", e.stored_size},
                      {"size", e.uncompressed_size},
                      {"offset", e.offset}};
        if (e.kind == li::EntryKind::kPtx) {
          entry["ptx_isa"] = std::to_string(e.version_major) + "." + std::to_string(e.version_minor);
        }
        // Present only when the payloads were decoded (--kernels, or the build's own images).
        if (e.cubin) entry["kernels"] = kernels_json(e.cubin->kernels);
        if (e.ptx) entry["kernels"] = kernels_json(e.ptx->entries);
        entries.push_back(std::move(entry));
      }
      std::string role = li::to_string(c.role);
      std::replace(role.begin(), role.end(), ' ', '-');
      if (c.role == li::ContainerRole::kUnknown) role = "unknown";
      json container = {{"section", c.section}, {"index", c.index}, {"role", role},
                        {"offset", c.offset},   {"size", c.size},   {"entries", entries},
                        {"toolkit", c.toolkit.empty() ? json(nullptr) : json(c.toolkit)}};
      if (!c.member.empty()) container["member"] = c.member;
      containers.push_back(std::move(container));
    }
    out["containers"] = std::move(containers);
    if (info.cubin) {
      out["cubin"] = {{"arch", "sm_" + std::to_string(info.cubin->sm)},
                      {"kernels", kernels_json(info.cubin->kernels)}};
    }
    if (info.ptx) {
      out["ptx"] = {{"ptx_isa", info.ptx->isa_version},
                    {"target", info.ptx->target},
                    {"kernels", kernels_json(info.ptx->entries)}};
    }
  }
  out["modules"] = j.summary.modules;
  out["summary"] = summary_json(j.summary);
  out["needs"] = needs_json(j.needs);
  if (!j.verdicts.empty()) {
    json list = json::array();
    json overall = json::array();
    json verdict = json::array();
    for (std::size_t i = 0; i < j.verdicts.size(); ++i) {
      const li::FileVerdict& v = j.verdicts[i];
      for (const li::ContainerVerdict& c : v.containers) {
        json item = {{"sm", li::sm_name(v.cc)}, {"container", c.container}};
        item.update(selection_json(c.selection));
        list.push_back(std::move(item));
      }
      json item = {{"sm", li::sm_name(v.cc)},
                   {"container", v.worst_container >= 0 ? json(v.worst_container) : json(nullptr)}};
      item.update(selection_json(v.overall));
      overall.push_back(std::move(item));
      verdict.push_back(load_json(j.loads[i], o.targets[i], j));
    }
    if (listing) out["verdicts"] = std::move(list);
    out["overall"] = std::move(overall);
    out["verdict"] = std::move(verdict);
  }
  return out;
}

json query_json(const Options& o) {
  json targets = json::array();
  for (const Target& t : o.targets) targets.push_back(target_json(t));
  json driver = nullptr;
  if (o.driver_spec) {
    driver = {{"cuda", li::cuda_version_string(o.driver_spec->cuda_version)},
              {"nvidia", o.driver_spec->nvidia_version.empty()
                             ? json(nullptr)
                             : json(o.driver_spec->nvidia_version)}};
  }
  return {{"targets", targets}, {"driver", driver}, {"strict", o.strict}};
}

void print_json(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

std::string error_line(const std::string& path, const std::exception& e) {
  // inspect_file's messages start with the path already; others do not.
  const std::string what = e.what();
  return what.rfind(path + ":", 0) == 0 ? what : path + ": " + what;
}

bool fails(const Judged& j, bool strict) {
  return std::any_of(j.loads.begin(), j.loads.end(),
                     [strict](const li::LoadVerdict& l) { return l.fails(strict); });
}

// --- inspect FILE... ---

int inspect(const Options& o) {
  li::ReadOptions read;
  read.decode_payloads = o.kernels;
  read.read_toolkit = true;
  int status = 0;
  json files = json::array();
  for (const std::string& path : o.files) {
    try {
      const Judged j = judge(li::inspect_file(path, read), path, o);
      if (fails(j, o.strict)) status = 1;
      if (o.json) {
        files.push_back(file_json(j, o, true));
      } else {
        print_file(j, o);
        std::fflush(stdout);
      }
    } catch (const std::exception& e) {
      std::fflush(stdout);
      const std::string line = error_line(path, e);
      std::fprintf(stderr, "cuda_doctor: error: %s\n", line.c_str());
      if (o.json) files.push_back({{"path", path}, {"error", line}});
      status = 1;
    }
  }
  if (o.json) print_json({{"query", query_json(o)}, {"files", files}});
  return status;
}

// --- scan DIR... ---

// True when the file starts like an ELF file of 64 bits or an ar archive: the only files that
// can carry CUDA code (or link CUDA libraries) that the reader reads. Reads 8 bytes.
bool worth_reading(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  if (!in.read(head, sizeof head)) return false;
  const std::string_view h(head, sizeof head);
  return (h.substr(0, 4) == "\x7f" "ELF" && h[4] == 2) || h == "!<arch>\n";
}

std::string scan_line(const Judged& j, const std::string& shown_path) {
  std::string line = shown_path + ": ";
  line += j.summary.modules == 0 ? "no module with kernels"
                                 : std::to_string(j.summary.modules) +
                                       (j.summary.modules == 1 ? " module: " : " modules, ") +
                                       li::to_string(j.summary);
  return line + "; needs " + needs_text(j.needs);
}

int scan(const Options& o) {
  li::ReadOptions read;
  read.decode_payloads = false;  // headers and toolkit notes only: fast on gigabytes
  read.read_toolkit = true;
  int status = 0;
  int files_seen = 0;
  int unreadable = 0;
  std::vector<Judged> found;
  std::vector<std::string> shown;
  json errors = json::array();
  for (const std::string& dir : o.dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      std::fprintf(stderr, "cuda_doctor: error: %s: not a directory\n", dir.c_str());
      errors.push_back({{"path", dir}, {"error", "not a directory"}});
      status = 1;
      continue;
    }
    std::vector<fs::path> paths;
    // Symbolic links are not followed: the files they point at are seen where they are.
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
         end;
         it != end; it.increment(ec)) {
      if (ec) break;
      if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
      paths.push_back(it->path());
    }
    if (ec) {
      std::fprintf(stderr, "cuda_doctor: error: %s: %s\n", dir.c_str(), ec.message().c_str());
      status = 1;
    }
    std::sort(paths.begin(), paths.end());
    for (const fs::path& p : paths) {
      ++files_seen;
      if (!worth_reading(p)) continue;
      try {
        li::FileInfo info = li::inspect_file(p.string(), read);
        if (!li::is_cuda_bearing(info)) continue;
        found.push_back(judge(std::move(info), p.string(), o));
        shown.push_back(p.string());
      } catch (const std::exception& e) {
        const std::string line = error_line(p.string(), e);
        std::fprintf(stderr, "cuda_doctor: error: %s\n", line.c_str());
        errors.push_back({{"path", p.string()}, {"error", line}});
        ++unreadable;
        status = 1;
      }
    }
  }

  // The environment's verdict per target: it runs there when no file fails.
  struct Overall {
    int loads = 0, jit = 0, except = 0, fail = 0;
    std::vector<std::string> failing;
  };
  std::vector<Overall> overall(o.targets.size());
  for (std::size_t f = 0; f < found.size(); ++f) {
    for (std::size_t i = 0; i < o.targets.size(); ++i) {
      const li::LoadVerdict& l = found[f].loads[i];
      Overall& s = overall[i];
      if (l.fails(o.strict)) {
        ++s.fail;
        s.failing.push_back(shown[f]);
        status = 1;
      } else if (l.outcome == li::Outcome::kLoadsExceptSome) {
        ++s.except;
      } else if (l.outcome == li::Outcome::kLoadsThroughJit) {
        ++s.jit;
      } else if (l.outcome == li::Outcome::kLoads) {
        ++s.loads;
      }
    }
  }
  const std::string driver = o.driver_spec ? " with " + o.driver_spec->description() : "";
  const auto environment_line = [&](std::size_t i) {
    const Overall& s = overall[i];
    std::string line = "on " + o.targets[i].label() + driver + ": ";
    if (s.fail > 0) {
      std::string list;
      for (std::size_t k = 0; k < s.failing.size() && k < 3; ++k) {
        list += (list.empty() ? "" : ", ") + fs::path(s.failing[k]).filename().string();
      }
      if (s.failing.size() > 3) list += ", ...";
      return line + "will not run: " + std::to_string(s.fail) + " of " +
             std::to_string(found.size()) + " CUDA files " +
             (o.strict ? "have modules that cannot load" : "do not load") + " (" + list + ")";
    }
    line += "will run: every CUDA file loads";
    if (s.except > 0) {
      line += " (" + std::to_string(s.except) + " with modules only for other GPUs, as libraries have)";
    }
    if (s.jit > 0) line += "; " + std::to_string(s.jit) + " only through PTX JIT (slow first start)";
    return line;
  };

  if (o.json) {
    json files = json::array();
    for (const Judged& j : found) files.push_back(file_json(j, o, false));
    json env = json::array();
    for (std::size_t i = 0; i < o.targets.size(); ++i) {
      json item = target_json(o.targets[i]);
      item.update({{"runs", overall[i].fail == 0},
                   {"files_that_fail", overall[i].failing},
                   {"text", environment_line(i)}});
      env.push_back(std::move(item));
    }
    print_json({{"query", query_json(o)},
                {"files_seen", files_seen},
                {"files", files},
                {"errors", errors},
                {"environment", env}});
    return status;
  }
  for (std::size_t f = 0; f < found.size(); ++f) {
    std::printf("%s\n", scan_line(found[f], shown[f]).c_str());
    for (std::size_t i = 0; i < o.targets.size(); ++i) {
      const li::LoadVerdict& l = found[f].loads[i];
      std::printf("    %s: %s%s\n", li::sm_name(o.targets[i].cc).c_str(), l.headline.c_str(),
                  l.outcome == li::Outcome::kDoesNotLoad ? (": " + l.reason).c_str() : "");
    }
  }
  std::printf("%zu CUDA files among %d files%s\n", found.size(), files_seen,
              unreadable > 0 ? (", " + std::to_string(unreadable) + " unreadable").c_str() : "");
  for (std::size_t i = 0; i < o.targets.size(); ++i) {
    std::printf("%s\n", environment_line(i).c_str());
  }
  return status;
}

// --- this machine and this build ---

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

json failure_json(const li::CudaFailure& f) {
  return {{"call", f.call},
          {"code", f.code},
          {"name", f.name},
          {"message", f.message},
          {"cause", f.cause}};
}

struct Toolkit {
  std::optional<li::ToolkitInfo> info;
  std::string why_not;
};

json machine_json(const li::MachineInfo& m, const Toolkit& t) {
  json devices = json::array();
  for (const li::DeviceInfo& d : m.devices) {
    devices.push_back({{"index", d.index},
                       {"name", d.name},
                       {"sm", li::sm_name(d.cc)},
                       {"compute_capability", li::to_string(d.cc)},
                       {"multiprocessors", d.multiprocessors},
                       {"memory_bytes", d.memory_bytes}});
  }
  json toolkit = nullptr;
  if (t.info) {
    toolkit = {{"nvcc", t.info->nvcc},
               {"found_by", t.info->found_by},
               {"version", t.info->version},
               {"cuda", li::cuda_version_string(t.info->cuda_version)}};
  }
  return {{"cuda_runtime",
           m.has_cuda_runtime ? json(li::cuda_version_string(m.runtime_version)) : json(nullptr)},
          {"cuda_driver",
           m.driver_version > 0 ? json(li::cuda_version_string(m.driver_version)) : json(nullptr)},
          {"nvidia_driver", m.nvidia_driver.empty() ? json(nullptr) : json(m.nvidia_driver)},
          {"toolkit", toolkit},
          {"versions",
           li::explain_versions(t.info ? t.info->cuda_version : 0, m.driver_version)},
          {"note", m.has_cuda_runtime ? (m.nvidia_driver.empty() ? m.nvidia_driver_note : "")
                                      : li::kNoCudaRuntime},
          {"devices", devices},
          {"error", m.failure ? failure_json(*m.failure) : json(nullptr)}};
}

void print_machine(const li::MachineInfo& m, const Toolkit& t) {
  std::printf("this machine\n");
  if (t.info) {
    std::printf("  CUDA toolkit:   nvcc %s (%s, found through %s): builds for CUDA %s\n",
                t.info->version.c_str(), t.info->nvcc.c_str(), t.info->found_by.c_str(),
                li::cuda_version_string(t.info->cuda_version).c_str());
  } else {
    std::printf("  CUDA toolkit:   none: %s\n", t.why_not.c_str());
  }
  if (!m.has_cuda_runtime) {
    std::printf("  CUDA runtime:   none (%s: configured without CUDA)\n", li::kNoCudaRuntime);
  } else {
    std::printf("  CUDA runtime:   %s (linked into this program)\n",
                li::cuda_version_string(m.runtime_version).c_str());
    if (m.driver_version > 0) {
      std::printf("  CUDA driver:    supports CUDA %s (cudaDriverGetVersion %d)\n",
                  li::cuda_version_string(m.driver_version).c_str(), m.driver_version);
    } else {
      std::printf("  CUDA driver:    none (cudaDriverGetVersion reports 0)\n");
    }
  }
  if (!m.nvidia_driver.empty()) {
    std::printf("  NVIDIA driver:  %s (from NVML)\n", m.nvidia_driver.c_str());
  } else {
    std::printf("  NVIDIA driver:  unknown: %s\n", m.nvidia_driver_note.c_str());
  }
  std::printf("  versions:       %s\n",
              li::explain_versions(t.info ? t.info->cuda_version : 0, m.driver_version).c_str());
  if (m.failure) {
    std::printf("  GPUs:           none usable: %s failed with %s (%d): %s\n",
                m.failure->call.c_str(), m.failure->name.c_str(), m.failure->code,
                m.failure->cause.c_str());
  }
  for (const li::DeviceInfo& d : m.devices) {
    std::printf("  GPU %d:          %s, compute capability %s (%s), %d SMs, %s\n", d.index,
                d.name.c_str(), li::to_string(d.cc).c_str(), li::sm_name(d.cc).c_str(),
                d.multiprocessors, gib(d.memory_bytes).c_str());
  }
}

void print_build(const li::FileInfo& self, const std::string& exe) {
  std::printf("this build of lenet (%s, read through %s)\n", exe.c_str(), kSelf);
  std::map<std::string, std::vector<int>> modules;  // image summary -> containers
  int loadable = 0;
  for (std::size_t i = 0; i < self.containers.size(); ++i) {
    const li::FatbinContainer& c = self.containers[i];
    if (!li::counts_as_module(c)) continue;
    ++loadable;
    modules[image_summary(c)].push_back(static_cast<int>(i));
  }
  if (loadable == 0) {
    std::printf("  no GPU code: this build has no CUDA kernels (configured without CUDA)\n");
    return;
  }
  for (const auto& [summary, list] : modules) {
    if (modules.size() == 1) {
      std::printf("  %d modules (fatbin containers with kernels), each with %s\n", loadable,
                  summary.c_str());
    } else {
      std::printf("  containers %s: %s\n", positions(list).c_str(), summary.c_str());
    }
  }
}

std::string exe_path() {
  char buf[4096];
  const ssize_t n = readlink(kSelf, buf, sizeof buf - 1);
  if (n <= 0) return kSelf;
  buf[n] = '\0';
  return buf;
}

struct Confirmed {
  bool ok = true;
  json as_json;
  std::string text;
};

// Asks the driver which image it loaded for lenet's kernels on device `index`, and compares.
Confirmed confirm_on_device(int index, const li::FileVerdict& v) {
  Confirmed out;
#if defined(LENET_DOCTOR_HAS_KERNELS)
  const li::Selection& predicted = v.overall;
  if (cudaSetDevice(index) != cudaSuccess) {
    static_cast<void>(cudaGetLastError());
    out.text = "cannot select the device (cudaSetDevice)";
    out.ok = false;
    out.as_json = {{"matches", false}, {"text", out.text}};
    return out;
  }
  try {
    const lenet::kernels::LoadedCode loaded = lenet::kernels::loaded_code();
    const li::Confirmation c =
        li::confirm(predicted, v.cc, li::LoadedImage{loaded.binary_version, loaded.ptx_version});
    out.ok = c.matches;
    out.text = c.text;
    out.as_json = {{"matches", c.matches},
                   {"binary_version", loaded.binary_version},
                   {"ptx_version", loaded.ptx_version},
                   {"text", c.text}};
  } catch (const lenet::CudaError& e) {
    out.ok = predicted.choice == li::Choice::kNone && predicted.error == e.code();
    out.text = std::string(out.ok ? "as predicted: " : "NOT as predicted: ") +
               "loading the kernels failed with " + li::cuda_error_name(e.code());
    out.as_json = {
        {"matches", out.ok}, {"error", li::cuda_error_name(e.code())}, {"text", out.text}};
  }
#else
  static_cast<void>(index);
  static_cast<void>(v);
  out.text = "this build has no CUDA kernels to load";
  out.as_json = {{"matches", nullptr}, {"text", out.text}};
#endif
  return out;
}

int doctor(Options o) {
  li::ReadOptions read;
  read.decode_payloads = true;  // the program's own fatbins are small: name every kernel
  const std::string exe = exe_path();
  std::optional<Judged> self;
  std::string self_error;

  int status = 0;
  std::optional<li::MachineInfo> machine;
  Toolkit toolkit;
  std::vector<std::string> labels;
  if (o.targets.empty()) {
    machine = li::query_machine();
    toolkit.info = li::find_toolkit(&toolkit.why_not);
    if (!machine->has_cuda_runtime || machine->failure || machine->devices.empty()) status = 1;
    if (!o.driver_spec && machine->driver_version > 0) {
      o.driver_spec = li::DriverSpec{machine->driver_version, machine->nvidia_driver};
    }
    for (const li::DeviceInfo& d : machine->devices) {
      o.targets.push_back({d.cc, ""});
      labels.push_back("GPU " + std::to_string(d.index) + " (" + d.name + ", " + li::sm_name(d.cc) + ")");
    }
  } else {
    for (const Target& t : o.targets) labels.push_back(t.label());
  }
  try {
    li::FileInfo info = li::inspect_file(kSelf, read);
    info.path = exe;
    self = judge(std::move(info), kSelf, o);
    // This program links its CUDA runtime statically: it needs what it was built with.
    if (kBuildRuntime > 0) {
      self->needs.cuda_runtime = kBuildRuntime / 1000;
      self->needs.runtime_from = "linked in statically, CUDA " + li::cuda_version_string(kBuildRuntime);
      self->needs.min_driver = li::min_driver_branch(kBuildRuntime / 1000);
      for (std::size_t i = 0; i < o.targets.size(); ++i) {
        self->loads[i] = li::judge_load(self->verdicts[i], self->needs, o.driver_spec);
      }
    }
  } catch (const std::exception& e) {
    self_error = e.what();
  }

  std::vector<Confirmed> confirmations;
  if (self && machine) {
    for (std::size_t i = 0; i < machine->devices.size(); ++i) {
      confirmations.push_back(confirm_on_device(machine->devices[i].index, self->verdicts[i]));
      if (!confirmations.back().ok) status = 1;
    }
  }
  // This build is one's own program: every kernel may be launched, so any module that cannot
  // load is a failure (as --strict).
  if (self && fails(*self, true)) status = 1;

  if (o.json) {
    json out;
    out["machine"] = machine ? machine_json(*machine, toolkit) : json(nullptr);
    out["query"] = query_json(o);
    if (machine) {
      json list = json::array();
      for (std::size_t i = 0; i < confirmations.size(); ++i) {
        json item = {{"device", machine->devices[i].index},
                     {"sm", li::sm_name(machine->devices[i].cc)}};
        item.update(confirmations[i].as_json);
        list.push_back(std::move(item));
      }
      out["confirmations"] = std::move(list);
    }
    out["files"] = json::array(
        {self ? file_json(*self, o, true) : json{{"path", exe}, {"error", self_error}}});
    print_json(out);
  } else {
    if (machine) print_machine(*machine, toolkit);
    if (self) {
      print_build(self->info, exe);
      std::printf("  needs:  %s\n", needs_text(self->needs).c_str());
      if (machine && machine->devices.empty()) {
        std::printf(
            "verdicts: no GPU to judge here; cuda_doctor --sm 86 or --gpu \"RTX 3090\" gives the "
            "verdict for a GPU of compute capability 8.6\n");
      } else {
        std::printf("verdicts%s:\n",
                    o.driver_spec ? (" with " + o.driver_spec->description()).c_str() : "");
      }
      for (std::size_t i = 0; i < o.targets.size(); ++i) {
        print_verdict(self->verdicts[i], self->loads[i], *self, labels[i]);
        if (i < confirmations.size()) {
          std::printf("      loaded: %s\n", confirmations[i].text.c_str());
        }
      }
    }
  }
  if (!self) {
    std::fflush(stdout);
    std::fprintf(stderr, "cuda_doctor: error: cannot read this program (%s): %s\n", exe.c_str(),
                 self_error.c_str());
    return 1;
  }
  return status;
}

// The flags that choose what to judge for, on the main command and on each subcommand, so that
// each one's --help lists them.
void add_query_flags(CLI::App* app, Options& o, bool strict) {
  app->add_option("--sm", o.sm,
                  "Compute capabilities to judge for (86, 8.6 or sm_86; a comma-separated list)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("CC[,CC...]");
  app->add_option("--gpu", o.gpu,
                  "GPUs to judge for, by name (\"RTX 3080 Ti\", \"H100\", \"Jetson Orin\"); "
                  "repeat for more")
      ->allow_extra_args(false)
      ->type_name("NAME");
  app->add_option("--driver", o.driver,
                  "Judge for this driver: an NVIDIA driver version as nvidia-smi prints it "
                  "(470.82, 580.65.06) or a CUDA version (12.8)")
      ->type_name("VERSION");
  app->add_flag("--json", o.json, "Print JSON instead of text");
  if (strict) {
    app->add_flag("--strict", o.strict,
                  "Fail (exit 1) when any module with kernels cannot load, not only when none "
                  "does: the check for one's own program");
  }
}

// --kernels, for the commands that read fatbins one by one (not scan, which only lists).
void add_kernels_flag(CLI::App* app, Options& o) {
  app->add_flag("--kernels", o.kernels,
                "Decompress every payload and list its kernels (slower on large libraries)");
}

// A file or directory given without a subcommand: the command the user probably meant.
std::optional<std::string> suggestion(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    std::error_code ec;
    if (fs::is_directory(arg, ec)) return "cuda_doctor scan " + arg;
    if (fs::exists(arg, ec)) return "cuda_doctor inspect " + arg;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "cuda_doctor: which GPU code a binary holds, whether the CUDA driver loads it on a GPU, "
      "and why.\nWithout a subcommand: this machine (toolkit, driver, runtime, GPUs) and this "
      "build of lenet, with a verdict for each GPU; with --sm or --gpu, for those GPUs instead."};
  app.add_flag("--version", o.version, "Print cuda_doctor's version and exit");
  add_query_flags(&app, o, false);
  add_kernels_flag(&app, o);
  // A subcommand that reads the paths of its one positional argument, with the query flags.
  const auto add_reader = [&](const char* name, const char* about, const char* positional,
                              std::vector<std::string>& paths, const char* paths_about,
                              const char* path_type) {
    CLI::App* cmd = app.add_subcommand(name, about);
    cmd->add_option(positional, paths, paths_about)->required()->type_name(path_type);
    add_query_flags(cmd, o, true);
    return cmd;
  };
  CLI::App* inspect_cmd = add_reader(
      "inspect",
      "List the fatbins of ELF files, static libraries, fatbins, cubins or PTX files, what "
      "they need from the driver, and with --sm/--gpu a verdict per GPU",
      "files", o.files, "Files to read", "FILE");
  add_kernels_flag(inspect_cmd, o);
  CLI::App* scan_cmd = add_reader(
      "scan",
      "One line per CUDA file under directories (a Python environment, a conda env, /usr/lib): "
      "its images and what it needs; with --sm/--gpu/--driver a verdict per file and for all",
      "dirs", o.dirs, "Directories to scan", "DIR");
  try {
    app.parse(argc, argv);
    if (o.version) {
      std::printf("cuda_doctor (lenet %s)%s\n", li::lenet_version().c_str(),
                  kBuildRuntime > 0
                      ? (", CUDA runtime " + li::cuda_version_string(kBuildRuntime)).c_str()
                      : ", without CUDA runtime");
      return 0;
    }
    parse_values(o);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // the help of the subcommand it was asked for
  } catch (const CLI::ExtrasError& e) {
    const std::optional<std::string> hint = suggestion(argc, argv);
    std::fprintf(stderr, "cuda_doctor: %s\n%s", e.what(),
                 hint ? ("Did you mean: " + *hint + "\n").c_str()
                      : "Run cuda_doctor --help for the flags.\n");
    return 2;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cuda_doctor: %s\nRun cuda_doctor --help for the flags.\n", e.what());
    return 2;
  } catch (const FlagError& e) {
    std::fprintf(stderr, "cuda_doctor: %s\nRun cuda_doctor --help for the flags.\n", e.what());
    return 2;
  }
  try {
    if (inspect_cmd->parsed()) return inspect(o);
    if (scan_cmd->parsed()) return scan(o);
    return doctor(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cuda_doctor: error: %s\n", e.what());
    return 1;
  }
}
