// cuda_doctor: what GPU code a binary holds, which image the CUDA driver loads from it on a GPU,
// and why; with a GPU, whether that prediction held. Thin: flags, printing and exit codes over
// lenet::introspect. docs/compute-capability.md, fatbins.md and troubleshooting.md use it.
//   cuda_doctor                          this machine, this build of lenet, a verdict per GPU
//   cuda_doctor --sm 86[,90,...]         this build's verdict for GPUs that are not here
//   cuda_doctor inspect FILE... [--sm 86[,90,...]] [--kernels] [--json]
//   exit 0: done; 1: a file could not be read, or this machine cannot run this build; 2: bad flags.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <lenet/introspect/device.h>
#include <lenet/introspect/fatbin.h>
#include <lenet/introspect/selection.h>

#if defined(LENET_DOCTOR_HAS_KERNELS)
#include <cuda_runtime_api.h>

#include <lenet/kernels/image.h>
#endif

namespace li = lenet::introspect;
using nlohmann::json;

namespace {

constexpr const char* kSelf = "/proc/self/exe";
#if defined(LENET_DOCTOR_HAS_KERNELS)
constexpr int kBuildRuntime = CUDART_VERSION;  // the CUDA runtime this build links
#else
constexpr int kBuildRuntime = 0;
#endif

struct Options {
  std::vector<std::string> sm;
  std::string driver;
  bool json = false;
  bool kernels = false;
  std::vector<std::string> files;

  std::vector<li::ComputeCapability> ccs;  // parsed from sm
  std::optional<int> driver_version;       // parsed from driver
};

// A bad flag value: main prints it like CLI11's own errors and exits with 2.
struct FlagError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void parse_values(Options& o) {
  for (const std::string& s : o.sm) {
    const std::optional<li::ComputeCapability> cc = li::parse_compute_capability(s);
    if (!cc) {
      throw FlagError("--sm: '" + s +
                      "' is not a compute capability (write 86, 8.6 or sm_86; GPUs have no "
                      "a/f suffix)");
    }
    if (std::find(o.ccs.begin(), o.ccs.end(), *cc) == o.ccs.end()) o.ccs.push_back(*cc);
  }
  if (!o.driver.empty()) {
    // "12.8" or "12080", as cudaDriverGetVersion reports it.
    const std::string& d = o.driver;
    const std::size_t dot = d.find('.');
    const auto digits = [](const std::string& s) {
      return !s.empty() && s.size() <= 5 &&
             std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dot != std::string::npos && digits(d.substr(0, dot)) && digits(d.substr(dot + 1)) &&
        d.size() - dot - 1 <= 2) {
      o.driver_version = std::stoi(d.substr(0, dot)) * 1000 + std::stoi(d.substr(dot + 1)) * 10;
    } else if (dot == std::string::npos && digits(d) && d.size() >= 4) {
      o.driver_version = std::stoi(d);
    } else {
      throw FlagError("--driver: '" + d + "' is not a CUDA version (write 12.8 or 12080)");
    }
  }
}

li::SelectionQuery query_for(li::ComputeCapability cc, const std::optional<int>& driver) {
  li::SelectionQuery q;
  q.cc = cc;
  q.driver_version = driver;
  q.jit = li::JitSettings::from_environment();
  return q;
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
  return line;
}

// "0-8, 11, 14-15": container positions, runs of consecutive ones as ranges.
std::string positions(const std::vector<int>& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size();) {
    std::size_t j = i;
    while (j + 1 < list.size() && list[j + 1] == list[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(list[i]);
    if (j > i) out += "-" + std::to_string(list[j]);
    i = j + 1;
  }
  return out;
}

// One verdict: a line with the choice, then the reason; containers that agree are told once.
void print_verdict(const li::FileVerdict& v, const std::string& label) {
  std::printf("  %s: %s", label.c_str(), choice_text(v.overall).c_str());
  if (v.containers.empty()) {
    std::printf("\n      %s\n", v.overall.reason.c_str());
    return;
  }
  using Key = std::tuple<int, std::string, int, std::string>;
  std::map<Key, std::vector<int>> groups;
  std::vector<Key> order;
  for (const li::ContainerVerdict& c : v.containers) {
    const li::Selection& s = c.selection;
    const Key key{static_cast<int>(s.choice), s.image ? s.image->name() : "", s.error, s.reason};
    if (groups.find(key) == groups.end()) order.push_back(key);
    groups[key].push_back(c.container);
  }
  if (groups.size() == 1) {
    const std::size_t n = v.containers.size();
    std::printf(" (%s)\n      %s\n",
                n == 1 ? "its one module" : ("all " + std::to_string(n) + " modules").c_str(),
                v.overall.reason.c_str());
    return;
  }
  std::printf(" (the worst of %zu modules, container %d: its kernels get this verdict)\n",
              v.containers.size(), v.worst_container);
  for (const Key& key : order) {
    const std::vector<int>& list = groups[key];
    const li::ContainerVerdict* first = nullptr;
    for (const li::ContainerVerdict& c : v.containers) {
      if (c.container == list.front()) first = &c;
    }
    std::printf("      container%s %s: %s: %s\n", list.size() > 1 ? "s" : "",
                positions(list).c_str(), choice_text(first->selection).c_str(),
                first->selection.reason.c_str());
  }
}

void print_file(const li::FileInfo& info, const std::vector<li::FileVerdict>& verdicts,
                bool kernels) {
  std::printf("%s: %s", info.path.c_str(), li::to_string(info.kind).c_str());
  if (info.cubin) {
    std::printf(" sm_%u (the 'a'/'f' suffix is recorded only in fatbins)\n", info.cubin->sm);
    if (kernels) {
      for (const li::KernelName& k : info.cubin->kernels)
        std::printf("    %s\n", k.demangled.c_str());
    }
  } else if (info.ptx) {
    std::printf(", PTX ISA %s, .target %s\n", info.ptx->isa_version.c_str(),
                info.ptx->target.c_str());
    if (kernels) {
      for (const li::KernelName& k : info.ptx->entries)
        std::printf("    %s\n", k.demangled.c_str());
    }
  } else {
    std::printf(", %zu fatbin container%s\n", info.containers.size(),
                info.containers.size() == 1 ? "" : "s");
  }
  for (std::size_t i = 0; i < info.containers.size(); ++i) {
    const li::FatbinContainer& c = info.containers[i];
    std::printf("%s\n", container_line(c, i).c_str());
    for (const li::FatbinEntry& e : c.entries) std::printf("%s\n", entry_line(e, kernels).c_str());
  }
  if (!verdicts.empty()) std::printf("verdicts:\n");
  for (const li::FileVerdict& v : verdicts) {
    print_verdict(v, li::sm_name(v.cc) + " (compute capability " + li::to_string(v.cc) + ")");
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

json file_json(const li::FileInfo& info, const std::vector<li::FileVerdict>& verdicts) {
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
                      {"offset", c.offset},   {"size", c.size},   {"entries", entries}};
    if (!c.member.empty()) container["member"] = c.member;
    containers.push_back(std::move(container));
  }
  json out = {{"path", info.path}, {"kind", li::to_string(info.kind)}, {"containers", containers}};
  if (info.cubin) {
    out["cubin"] = {{"arch", "sm_" + std::to_string(info.cubin->sm)},
                    {"kernels", kernels_json(info.cubin->kernels)}};
  }
  if (info.ptx) {
    out["ptx"] = {{"ptx_isa", info.ptx->isa_version},
                  {"target", info.ptx->target},
                  {"kernels", kernels_json(info.ptx->entries)}};
  }
  if (!verdicts.empty()) {
    json list = json::array();
    json overall = json::array();
    for (const li::FileVerdict& v : verdicts) {
      for (const li::ContainerVerdict& c : v.containers) {
        json item = {{"sm", li::sm_name(v.cc)}, {"container", c.container}};
        item.update(selection_json(c.selection));
        list.push_back(std::move(item));
      }
      json item = {{"sm", li::sm_name(v.cc)},
                   {"container", v.worst_container >= 0 ? json(v.worst_container) : json(nullptr)}};
      item.update(selection_json(v.overall));
      overall.push_back(std::move(item));
    }
    out["verdicts"] = std::move(list);
    out["overall"] = std::move(overall);
  }
  return out;
}

void print_json(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

// --- inspect FILE... ---

int inspect(const Options& o) {
  li::ReadOptions read;
  read.decode_payloads = o.kernels;
  int status = 0;
  json files = json::array();
  for (const std::string& path : o.files) {
    try {
      const li::FileInfo info = li::inspect_file(path, read);
      std::vector<li::FileVerdict> verdicts;
      for (const li::ComputeCapability cc : o.ccs) {
        verdicts.push_back(li::judge_file(info, query_for(cc, o.driver_version)));
      }
      if (o.json) {
        files.push_back(file_json(info, verdicts));
      } else {
        print_file(info, verdicts, o.kernels);
        std::fflush(stdout);
      }
    } catch (const std::exception& e) {
      std::fflush(stdout);
      // inspect_file's messages start with the path already; others do not.
      const std::string what = e.what();
      const std::string line = what.rfind(path + ":", 0) == 0 ? what : path + ": " + what;
      std::fprintf(stderr, "cuda_doctor: error: %s\n", line.c_str());
      if (o.json) files.push_back({{"path", path}, {"error", line}});
      status = 1;
    }
  }
  if (o.json) print_json({{"files", files}});
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

json machine_json(const li::MachineInfo& m) {
  json devices = json::array();
  for (const li::DeviceInfo& d : m.devices) {
    devices.push_back({{"index", d.index},
                       {"name", d.name},
                       {"sm", li::sm_name(d.cc)},
                       {"compute_capability", li::to_string(d.cc)},
                       {"multiprocessors", d.multiprocessors},
                       {"memory_bytes", d.memory_bytes}});
  }
  return {{"cuda_runtime",
           m.has_cuda_runtime ? json(li::cuda_version_string(m.runtime_version)) : json(nullptr)},
          {"cuda_driver",
           m.driver_version > 0 ? json(li::cuda_version_string(m.driver_version)) : json(nullptr)},
          {"nvidia_driver", m.nvidia_driver.empty() ? json(nullptr) : json(m.nvidia_driver)},
          {"note", m.has_cuda_runtime ? (m.nvidia_driver.empty() ? m.nvidia_driver_note : "")
                                      : li::kNoCudaRuntime},
          {"devices", devices},
          {"error", m.failure ? failure_json(*m.failure) : json(nullptr)}};
}

void print_machine(const li::MachineInfo& m) {
  std::printf("this machine\n");
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

// "sm_75, sm_80 cubins; compute_120 PTX (ISA 9.0)": the images of one module.
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

void print_build(const li::FileInfo& self, const std::string& exe) {
  std::printf("this build of lenet (%s, read through %s)\n", exe.c_str(), kSelf);
  std::map<std::string, std::vector<int>> modules;  // image summary -> containers
  int loadable = 0;
  for (std::size_t i = 0; i < self.containers.size(); ++i) {
    const li::FatbinContainer& c = self.containers[i];
    if (!li::is_loadable(c) || !li::may_hold_kernels(c)) continue;
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
    const lenet::kernels::ImageVersion loaded = lenet::kernels::loaded_image_version();
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

int doctor(const Options& o) {
  li::ReadOptions read;
  read.decode_payloads = true;  // the program's own fatbins are small: name every kernel
  const std::string exe = exe_path();
  std::optional<li::FileInfo> self;
  std::string self_error;
  try {
    self = li::inspect_file(kSelf, read);
    self->path = exe;
  } catch (const std::exception& e) {
    self_error = e.what();
  }

  int status = 0;
  json out;
  struct DeviceVerdict {
    std::string label;
    Confirmed confirmed;
  };
  std::vector<li::FileVerdict> verdicts;
  std::vector<DeviceVerdict> devices;
  std::optional<li::MachineInfo> machine;
  if (o.ccs.empty()) {
    machine = li::query_machine();
    if (!machine->has_cuda_runtime || machine->failure || machine->devices.empty()) status = 1;
  }
  if (self && machine) {
    const std::optional<int> driver =
        o.driver_version
            ? o.driver_version
            : (machine->driver_version > 0 ? std::optional<int>(machine->driver_version)
                                           : std::nullopt);
    for (const li::DeviceInfo& d : machine->devices) {
      verdicts.push_back(li::judge_file(*self, query_for(d.cc, driver)));
      DeviceVerdict dv{"GPU " + std::to_string(d.index) + " (" + li::sm_name(d.cc) + ")",
                       confirm_on_device(d.index, verdicts.back())};
      if (!dv.confirmed.ok || verdicts.back().overall.choice == li::Choice::kNone) status = 1;
      devices.push_back(std::move(dv));
    }
  } else if (self) {
    // Hypothetical GPUs: nothing of this machine is asked.
    for (const li::ComputeCapability cc : o.ccs) {
      verdicts.push_back(li::judge_file(*self, query_for(cc, o.driver_version)));
    }
  }

  // A driver older than the runtime stops the program before any image is chosen.
  std::string runtime_note;
  if (o.driver_version && kBuildRuntime > 0 && *o.driver_version < kBuildRuntime) {
    runtime_note = "a driver for CUDA " + li::cuda_version_string(*o.driver_version) +
                   " cannot run this build at all: its CUDA " +
                   li::cuda_version_string(kBuildRuntime) +
                   " runtime fails the first call with cudaErrorInsufficientDriver (35); the "
                   "verdicts below say what the images alone would give";
  }

  if (o.json) {
    out["machine"] = machine ? machine_json(*machine) : json(nullptr);
    if (!runtime_note.empty()) out["note"] = runtime_note;
    if (machine) {
      json confirmations = json::array();
      for (std::size_t i = 0; i < devices.size(); ++i) {
        json item = {{"device", machine->devices[i].index},
                     {"sm", li::sm_name(machine->devices[i].cc)}};
        item.update(devices[i].confirmed.as_json);
        confirmations.push_back(std::move(item));
      }
      out["confirmations"] = std::move(confirmations);
    }
    out["files"] = json::array(
        {self ? file_json(*self, verdicts) : json{{"path", exe}, {"error", self_error}}});
    print_json(out);
  } else {
    if (machine) print_machine(*machine);
    if (self) {
      print_build(*self, exe);
      if (!runtime_note.empty()) std::printf("  note: %s\n", runtime_note.c_str());
      if (machine && machine->devices.empty()) {
        std::printf(
            "verdicts: no GPU to judge here; cuda_doctor --sm 86 gives the verdict for "
            "a GPU of compute capability 8.6\n");
      } else {
        std::printf("verdicts:\n");
      }
      for (std::size_t i = 0; i < verdicts.size(); ++i) {
        const li::FileVerdict& v = verdicts[i];
        if (machine) {
          print_verdict(v, devices[i].label);
          std::printf("      loaded: %s\n", devices[i].confirmed.text.c_str());
        } else {
          print_verdict(v, li::sm_name(v.cc) + " (compute capability " + li::to_string(v.cc) + ")");
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

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "cuda_doctor: which GPU code a binary holds, which image the CUDA driver loads from it on "
      "a GPU, and why.\nWithout a subcommand: this machine (driver, runtime, GPUs) and this "
      "build of lenet, with a verdict for each GPU."};
  app.fallthrough();
  app.add_option("--sm", o.sm,
                 "Compute capabilities to judge (86, 8.6 or sm_86; a comma-separated list); "
                 "without a subcommand, hypothetical GPUs instead of this machine's")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("CC[,CC...]");
  app.add_option("--driver", o.driver,
                 "Judge for a driver of this CUDA version (12.8 or 12080): its JIT accepts "
                 "only PTX up to that version's PTX ISA")
      ->type_name("VERSION");
  app.add_flag("--json", o.json, "Print JSON instead of text");
  app.add_flag("--kernels", o.kernels,
               "Decompress every payload and list its kernels (slower on large libraries)");
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect",
                         "List the fatbins of ELF files, static libraries, fatbins, "
                         "cubins or PTX files; with --sm, the verdicts");
  inspect_cmd->add_option("files", o.files, "Files to read")->required()->type_name("FILE");
  try {
    app.parse(argc, argv);
    parse_values(o);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // the help of the subcommand it was asked for
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cuda_doctor: %s\nRun cuda_doctor --help for the flags.\n", e.what());
    return 2;
  } catch (const FlagError& e) {
    std::fprintf(stderr, "cuda_doctor: %s\nRun cuda_doctor --help for the flags.\n", e.what());
    return 2;
  }
  try {
    return inspect_cmd->parsed() ? inspect(o) : doctor(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cuda_doctor: error: %s\n", e.what());
    return 1;
  }
}
