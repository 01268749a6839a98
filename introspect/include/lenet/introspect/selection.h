// Which image of a module the CUDA driver loads on a GPU, as a pure function of the images, the
// GPU's compute capability, the driver version and the two environment variables that steer
// the driver. docs/compute-capability.md ("How the driver chooses") explains the rules below
// with examples.
//
// The rules, for a GPU of compute capability X.Y:
//   cubin sm_XZ    runs on X.Y when Z <= Y (same major only): sm_80 runs on 8.0, 8.6, 8.9
//   cubin sm_XZa   runs only on X.Z exactly ('a': architecture-specific features)
//   cubin sm_XZf   runs on the family of X.Z: same major, minor >= Z ('f': family-specific
//                  features; sm_100f on 10.0 and 10.3, sm_120f on 12.0 and 12.1)
//   PTX compute_XZ     JIT-compiles for any X.Y at or above X.Z, whatever the major
//   PTX compute_XZa/f  only for X.Z, or its family, as the cubins
// The driver loads the best compatible cubin (the highest architecture; 'a' before 'f' before
// plain at equal numbers); without one, it JIT-compiles the best compatible PTX its JIT accepts;
// without that, loading fails: cudaErrorNoKernelImageForDevice (209), or
// cudaErrorUnsupportedPtxVersion (222) when the only usable PTX is newer than the driver's JIT,
// or cudaErrorJitCompilationDisabled (223) when CUDA_DISABLE_PTX_JIT forbids the JIT it needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lenet/introspect/fatbin.h>

namespace lenet::introspect {

// A GPU's compute capability, X.Y: 8.6 for an RTX 3090, 9.0 for an H100, 12.0 for an RTX 5090.
struct ComputeCapability {
  int major = 0;
  int minor = 0;

  int number() const { return major * 10 + minor; }  // 86, as in sm_86
  friend bool operator==(ComputeCapability a, ComputeCapability b) {
    return a.major == b.major && a.minor == b.minor;
  }
  friend bool operator!=(ComputeCapability a, ComputeCapability b) { return !(a == b); }
};

// "86", "8.6", "sm_86" or "120", "12.0", "sm_120" -> {8, 6} / {12, 0}. Nothing for anything
// else, including suffixes ("90a": a GPU has none; only images carry them).
std::optional<ComputeCapability> parse_compute_capability(std::string_view text);
std::string sm_name(ComputeCapability cc);    // "sm_86"
std::string to_string(ComputeCapability cc);  // "8.6"

// The oldest GPUs CUDA 13 compiles for: Turing, 7.5. Older ones need CUDA 12 or earlier.
inline constexpr ComputeCapability kOldestCuda13Target{7, 5};

// One image of a module, as the driver sees it.
struct Image {
  EntryKind kind = EntryKind::kCubin;  // only cubins and PTX are ever loaded
  unsigned arch = 0;                   // 86 for sm_86 or compute_86; 120 for 12.0
  char suffix = 0;                     // 'a', 'f' or 0
  unsigned ptx_major = 0;              // PTX ISA version of a PTX image (9.0 from nvcc 13.0)
  unsigned ptx_minor = 0;

  std::string name() const { return arch_name(kind, arch, suffix); }  // "sm_90a", "compute_120"
  // "sm_90a cubin", "compute_120 PTX"
  std::string description() const;
  ComputeCapability target() const {
    return {static_cast<int>(arch / 10), static_cast<int>(arch % 10)};
  }
};

// The images of a container, in entry order; the PTX ISA version comes from the entry header.
std::vector<Image> images_of(const FatbinContainer& container);
// The image a PTX text is (".target sm_90a" and ".version 9.0" give compute_90a, ISA 9.0);
// nothing when its target is not of the form sm_XY.
std::optional<Image> image_of(const PtxInfo& ptx);

// Whether a cubin of this architecture runs on cc / a PTX of it can be JIT-compiled for cc, by
// the rules above. Either kind: `image.kind` says which rule applies.
bool runs_on(const Image& image, ComputeCapability cc);

// The newest PTX ISA version a driver's JIT compiler accepts, for a driver version as
// cudaDriverGetVersion reports it (13000 for CUDA 13.0, 12080 for 12.8). Each CUDA release
// brings one PTX ISA version: 11.0 -> 7.0 ... 11.8 -> 7.8, 12.0 -> 8.0 ... 12.5 -> 8.5, 12.6
// -> 8.5, 12.8 -> 8.7, 12.9 -> 8.8, 13.0 -> 9.0, 13.1 -> 9.1. A driver newer than the table
// accepts at least its last entry. Nothing for drivers older than CUDA 11.0.
struct PtxIsaVersion {
  unsigned major = 0;
  unsigned minor = 0;
};
std::optional<PtxIsaVersion> max_ptx_isa_version(int driver_version);
// 13000 -> "13.0", 12080 -> "12.8".
std::string cuda_version_string(int version);

// CUDA_FORCE_PTX_JIT=1: the driver ignores every cubin and JIT-compiles PTX instead (a module
// without PTX fails to load). CUDA_DISABLE_PTX_JIT=1: the driver never JIT-compiles (a module
// without a compatible cubin fails to load).
struct JitSettings {
  bool force_ptx_jit = false;
  bool disable_ptx_jit = false;

  // From this process's environment; a variable counts as set when its value is a non-zero
  // number, as the driver reads it.
  static JitSettings from_environment();
};

enum class Choice {
  kExactCubin,       // a cubin for exactly this compute capability
  kCompatibleCubin,  // a cubin of an older minor (or the family) that runs here as is
  kPtxJit,           // PTX the driver JIT-compiles at load time
  kNone,             // nothing loads: the launch fails with `error`
};
std::string to_string(Choice choice);  // "cubin", "compatible-cubin", "ptx-jit", "none"

inline constexpr int kCudaErrorInsufficientDriver = 35;
inline constexpr int kCudaErrorNoDevice = 100;
inline constexpr int kCudaErrorNoKernelImageForDevice = 209;
inline constexpr int kCudaErrorUnsupportedPtxVersion = 222;
inline constexpr int kCudaErrorJitCompilationDisabled = 223;
// "cudaErrorNoKernelImageForDevice" for 209 (and the other codes above); "cudaError <n>" else.
std::string cuda_error_name(int code);

struct Selection {
  Choice choice = Choice::kNone;
  std::optional<Image> image;  // the image loaded; empty when choice is kNone
  int error = 0;               // 0, or the CUDA error the first launch returns (209, 222, 223)
  std::string reason;          // one sentence
};

struct SelectionQuery {
  ComputeCapability cc;
  std::optional<int> driver_version;  // as cudaDriverGetVersion; empty: one that accepts all PTX
  JitSettings jit;
};

// The image the driver loads from `images` (one module) for the query.
Selection select_image(const std::vector<Image>& images, const SelectionQuery& query);

// --- whole files ---

// Whether the runtime registers this container as a module of its own: compilation units, the
// device-link output, and containers no wrapper names (bare fatbins). Relocatable device code
// (__nv_relfatbin) is not loaded: it is input to a device link.
bool is_loadable(const FatbinContainer& container);

// Whether a container may hold kernels: false only when its payloads were decoded and no cubin
// or PTX in it names a kernel (an executable's device-link container without -rdc, which
// inspect_file decodes even when ReadOptions::decode_payloads is off).
bool may_hold_kernels(const FatbinContainer& container);

struct ContainerVerdict {
  int container = 0;  // position in FileInfo::containers
  Selection selection;
};

struct FileVerdict {
  ComputeCapability cc;
  std::vector<ContainerVerdict> containers;  // loadable containers that may hold kernels
  // The verdict for the whole file: the first container that fails, else the first that needs
  // the JIT, else the first that needs a compatible cubin, else the first (a program works only
  // if every module loads). Without any such
  // container the choice is kNone with error 0, and the reason says why there is no verdict.
  Selection overall;
  int worst_container = -1;  // the container `overall` comes from; -1 for none
};

FileVerdict judge_file(const FileInfo& info, const SelectionQuery& query);

}  // namespace lenet::introspect
