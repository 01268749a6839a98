// The parts of device.h that need no CUDA: NVML through dlopen, the meaning of CUDA errors,
// the comparison of a loaded image with the prediction, and the one-line banner.
#include <lenet/introspect/device.h>

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include "device_runtime.h"

namespace lenet::introspect {

namespace {

// NVML's C API, declared here so that building needs neither nvml.h nor the library: the
// functions return nvmlReturn_t, an int enum whose 0 is NVML_SUCCESS.
using NvmlInit = int (*)();
using NvmlShutdown = int (*)();
using NvmlSystemGetDriverVersion = int (*)(char* version, unsigned length);
constexpr unsigned kNvmlDriverVersionLength = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

std::string describe(const Selection& s, ComputeCapability cc) {
  switch (s.choice) {
    case Choice::kExactCubin: return s.image->description();
    case Choice::kCompatibleCubin: return s.image->description() + " (compatible)";
    case Choice::kPtxJit: return s.image->description() + " JIT-compiled for " + sm_name(cc);
    case Choice::kNone: break;
  }
  if (s.error == 0) return "none (the program holds no GPU code with kernels)";
  return "no image (" + cuda_error_name(s.error) + ")";
}

std::string versions_of(const LoadedImage& loaded) {
  return "binaryVersion " + std::to_string(loaded.binary_version) + ", ptxVersion " +
         std::to_string(loaded.ptx_version);
}

}  // namespace

std::optional<std::string> nvidia_driver_version(std::string* why_not) {
  const std::unique_ptr<void, int (*)(void*)> lib(
      dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL),
      [](void* h) { return h ? dlclose(h) : 0; });
  if (!lib) {
    *why_not = "NVML (libnvidia-ml.so.1, installed with the NVIDIA driver) is not present";
    return std::nullopt;
  }
  const auto init = reinterpret_cast<NvmlInit>(dlsym(lib.get(), "nvmlInit_v2"));
  const auto shutdown = reinterpret_cast<NvmlShutdown>(dlsym(lib.get(), "nvmlShutdown"));
  const auto get_version =
      reinterpret_cast<NvmlSystemGetDriverVersion>(dlsym(lib.get(), "nvmlSystemGetDriverVersion"));
  if (init == nullptr || shutdown == nullptr || get_version == nullptr) {
    *why_not = "libnvidia-ml.so.1 lacks nvmlInit_v2, nvmlShutdown or nvmlSystemGetDriverVersion";
    return std::nullopt;
  }
  if (const int rc = init(); rc != 0) {
    *why_not = "nvmlInit_v2 failed with NVML error " + std::to_string(rc) +
               " (the kernel module may not be loaded)";
    return std::nullopt;
  }
  char version[kNvmlDriverVersionLength] = {};
  const int rc = get_version(version, kNvmlDriverVersionLength);
  shutdown();
  if (rc != 0) {
    *why_not = "nvmlSystemGetDriverVersion failed with NVML error " + std::to_string(rc);
    return std::nullopt;
  }
  version[kNvmlDriverVersionLength - 1] = '\0';
  return std::string(version);
}

std::optional<ToolkitInfo> find_toolkit(std::string* why_not) {
  ToolkitInfo info;
  const auto executable = [](const std::string& path) { return ::access(path.c_str(), X_OK) == 0; };
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && *home != '\0' && executable(std::string(home) + "/bin/nvcc")) {
      info.nvcc = std::string(home) + "/bin/nvcc";
      info.found_by = variable;
      break;
    }
  }
  if (info.nvcc.empty()) {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "";
    for (std::size_t start = 0; start <= dirs.size() && info.nvcc.empty();) {
      const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
      const std::string dir = dirs.substr(start, colon - start);
      if (!dir.empty() && executable(dir + "/nvcc")) {
        info.nvcc = dir + "/nvcc";
        info.found_by = "PATH";
      }
      start = colon + 1;
    }
  }
  if (info.nvcc.empty() && executable("/usr/local/cuda/bin/nvcc")) {
    info.nvcc = "/usr/local/cuda/bin/nvcc";
    info.found_by = "/usr/local/cuda";
  }
  if (info.nvcc.empty()) {
    *why_not = "no nvcc in $CUDA_HOME/bin, $CUDA_PATH/bin, on PATH or in /usr/local/cuda/bin";
    return std::nullopt;
  }
  std::string quoted = "'";
  for (const char c : info.nvcc) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((quoted + " --version 2>/dev/null").c_str(), "r"),
                                                   &::pclose);
  std::string text;
  if (pipe) {
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr && text.size() < 65536) {
      text += buf.data();
    }
  }
  // "Cuda compilation tools, release 13.0, V13.0.88"
  const std::size_t v = text.find(", V");
  if (v == std::string::npos) {
    *why_not = info.nvcc + " --version printed no \"release X.Y, VX.Y.Z\" line";
    return std::nullopt;
  }
  const std::size_t end = text.find_first_not_of("0123456789.", v + 3);
  info.version = text.substr(v + 3, end == std::string::npos ? end : end - v - 3);
  const std::size_t dot = info.version.find('.');
  if (dot == std::string::npos || dot == 0) {
    *why_not = info.nvcc + " --version gave an unreadable version '" + info.version + "'";
    return std::nullopt;
  }
  const std::size_t dot2 = info.version.find('.', dot + 1);
  info.cuda_version = std::stoi(info.version.substr(0, dot)) * 1000 +
                      std::stoi("0" + info.version.substr(dot + 1, dot2 == std::string::npos
                                                                       ? dot2
                                                                       : dot2 - dot - 1)) *
                          10;
  return info;
}

std::string explain_versions(int toolkit_cuda, int driver_cuda) {
  if (toolkit_cuda == 0 && driver_cuda == 0) {
    return "there is neither a toolkit to build CUDA programs nor a driver to run them";
  }
  if (toolkit_cuda == 0) {
    return "the driver runs programs built with CUDA up to " + cuda_version_string(driver_cuda) +
           "; no toolkit is needed for that, only to build them";
  }
  const std::string toolkit = "nvcc builds programs for the CUDA " +
                              cuda_version_string(toolkit_cuda) + " runtime";
  if (driver_cuda == 0) {
    return toolkit + ", and with no driver here they cannot run on this machine (error 35)";
  }
  const std::string driver = "the driver (nvidia-smi's \"CUDA Version\") runs runtimes up to " +
                             cuda_version_string(driver_cuda);
  if (toolkit_cuda <= driver_cuda) {
    return toolkit + " and " + driver + ", so they run here: the two versions need not be equal";
  }
  if (toolkit_cuda / 1000 == driver_cuda / 1000) {
    return toolkit + " and " + driver + ": older within the same major, so they start (minor " +
           "version compatibility), but PTX from this nvcc is too new for the driver's JIT (222)";
  }
  return toolkit + " but " + driver + ", so they fail with cudaErrorInsufficientDriver (35) " +
         "until the driver is updated";
}

std::string lenet_version() { return LENET_VERSION; }

MachineInfo query_machine() {
  MachineInfo info;
  detail::query_cuda_runtime(info);
  if (std::optional<std::string> v = nvidia_driver_version(&info.nvidia_driver_note)) {
    info.nvidia_driver = *v;
  }
  return info;
}

std::string explain_cuda_error(int code, int runtime_version, int driver_version) {
  const std::string runtime =
      runtime_version > 0 ? "CUDA " + cuda_version_string(runtime_version) + " runtime" : "runtime";
  switch (code) {
    case kCudaErrorInsufficientDriver:
      if (driver_version == 0) {
        return "no NVIDIA driver is installed (the runtime found no libcuda.so.1), so no program "
               "can use a GPU here";
      }
      return "the NVIDIA driver supports CUDA up to " + cuda_version_string(driver_version) +
             ", older than the " + runtime +
             " this program is built with: install a newer driver (CUDA 13 needs branch R580 or "
             "newer)";
    case kCudaErrorNoDevice: {
      const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
      return std::string("the NVIDIA driver is installed but sees no GPU") +
             (visible != nullptr ? std::string(" (CUDA_VISIBLE_DEVICES=") + visible +
                                       " hides "
                                       "the others)"
                                 : " (none is present, or the kernel module does not see it)");
    }
    case kCudaErrorNoKernelImageForDevice:
      return "the program has no image (cubin or PTX) this GPU can load: it was built for other "
             "architectures";
    case kCudaErrorUnsupportedPtxVersion:
      return "the program's PTX is newer than the driver's JIT compiler accepts: install a newer "
             "driver, or build a cubin for this GPU";
    case kCudaErrorJitCompilationDisabled:
      return "the program needs its PTX JIT-compiled for this GPU, and CUDA_DISABLE_PTX_JIT=1 "
             "forbids it";
    case 3:  // cudaErrorInitializationError
      return "the CUDA driver failed to initialize (its kernel module may be missing or "
             "unusable): nvidia-smi and dmesg say more";
    case 803:  // cudaErrorSystemDriverMismatch
      return "the user-space driver (libcuda.so) and the kernel module differ in version, "
             "typically after a driver update without a reboot";
    case 804:  // cudaErrorCompatNotSupportedOnDevice
      return "a CUDA forward-compatibility package is installed, which this GPU does not "
             "support: remove it or use a driver new enough for this " +
             runtime;
    case 999:  // cudaErrorUnknown
      return "the CUDA driver failed in an unexpected way (a GPU in a bad state, or a "
             "driver/kernel module mismatch): nvidia-smi and dmesg say more";
    default: return "the CUDA runtime failed with error " + std::to_string(code);
  }
}

Confirmation confirm(const Selection& predicted, ComputeCapability cc, const LoadedImage& loaded) {
  Confirmation c;
  if (predicted.choice == Choice::kNone || !predicted.image) {
    c.text = "not as predicted: the prediction was that nothing loads, yet the kernel reports " +
             versions_of(loaded);
    return c;
  }
  const Image& image = *predicted.image;
  if (predicted.choice == Choice::kPtxJit) {
    c.matches =
        loaded.binary_version == cc.number() && loaded.ptx_version == static_cast<int>(image.arch);
  } else {
    // A cubin's ptxVersion is the virtual architecture it was compiled from, which the fatbin
    // does not record: only binaryVersion is compared.
    c.matches = loaded.binary_version == static_cast<int>(image.arch);
  }
  c.text = (c.matches ? "as predicted: " : "NOT as predicted: ") + versions_of(loaded) +
           (c.matches ? " (the " : " (the prediction was the ") + describe(predicted, cc) + ")";
  return c;
}

FileVerdict judge_self(const SelectionQuery& query) {
  return judge_file(inspect_file("/proc/self/exe"), query);
}

std::string cuda_banner(const std::optional<LoadedImage>& loaded) {
  const MachineInfo machine = query_machine();
  if (!machine.has_cuda_runtime) return std::string("GPU: none (") + kNoCudaRuntime + ")";
  CudaFailure failure;
  const std::optional<int> current = detail::current_device(machine, &failure);
  if (machine.failure) failure = *machine.failure;
  if (!current || machine.failure || *current < 0 ||
      *current >= static_cast<int>(machine.devices.size())) {
    return "GPU: none (" + failure.name + ": " + failure.cause + ")";
  }
  const DeviceInfo& device = machine.devices[static_cast<std::size_t>(*current)];

  std::string image;
  try {
    SelectionQuery query;
    query.cc = device.cc;
    if (machine.driver_version > 0) query.driver_version = machine.driver_version;
    query.jit = JitSettings::from_environment();
    const Selection predicted = judge_self(query).overall;
    if (!loaded) {
      image = describe(predicted, device.cc) + " (predicted)";
    } else if (confirm(predicted, device.cc, *loaded).matches) {
      image = describe(predicted, device.cc);
    } else {
      image = versions_of(*loaded) + " (predicted: " + describe(predicted, device.cc) + ")";
    }
  } catch (const std::exception& e) {
    image = loaded ? versions_of(*loaded) : std::string("unknown (") + e.what() + ")";
  }

  std::string driver = "CUDA " + cuda_version_string(machine.driver_version);
  if (!machine.nvidia_driver.empty()) {
    driver = "NVIDIA driver " + machine.nvidia_driver + " (" + driver + ")";
  } else {
    driver = "driver " + driver;
  }
  return "GPU " + std::to_string(device.index) + ": " + device.name + ", compute capability " +
         to_string(device.cc) + ", image " + image + ", " + driver + ", runtime " +
         cuda_version_string(machine.runtime_version);
}

}  // namespace lenet::introspect
