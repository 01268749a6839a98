// Verdicts for whole files, as users ask them: will this library (cuBLAS, PyTorch's
// libtorch_cuda.so, one's own program) run on this GPU with this driver?
//
// A file holds many modules (fatbin containers), and libraries carry kernel sets for particular
// GPUs that they pick among at run time: cuBLAS has modules with only an sm_75 cubin of some
// kernels, and still runs on an H100. So a file is judged by counting its modules with kernels
// by how they load, not by its worst module:
//   "loads"                                          every module loads from a cubin
//   "loads only through PTX JIT (slow first start)"  every module loads, some from PTX
//   "loads, except N modules ..."                    some modules load, N cannot
//   "does not load"                                  no module loads, or the driver is older
//                                                    than the CUDA runtime the file needs (35)
// A library's "loads, except" is normal; for one's own program, whose every kernel may be
// launched, any module that cannot load is a failure (cuda_doctor --strict).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lenet/introspect/driver.h>
#include <lenet/introspect/fatbin.h>
#include <lenet/introspect/selection.h>

namespace lenet::introspect {

// The modules a verdict counts: loadable containers that may hold kernels (is_loadable and
// may_hold_kernels in selection.h).
bool counts_as_module(const FatbinContainer& container);

// The architectures of a file's modules, like torch.cuda.get_arch_list(): those in every module
// and those only in some, sorted by number ("sm_86", "sm_90a", "compute_120"). A bare cubin or
// PTX file is one module.
struct ImageSummary {
  int modules = 0;
  std::vector<std::string> every_cubin, every_ptx;
  std::vector<std::string> some_cubin, some_ptx;
};
ImageSummary summarize_images(const FileInfo& info);
// "every module: sm_75, sm_80 cubins, compute_120 PTX; some modules: sm_90a cubin", or
// "no module with kernels".
std::string to_string(const ImageSummary& summary);

// What a file needs from the driver.
struct FileNeeds {
  // The CUDA major of the runtime it needs: from a DT_NEEDED library whose soname carries it
  // (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libnvrtc.so.13, libnvJitLink.so.13);
  // without one, from the newest toolkit recorded in its cubins (a statically linked runtime
  // is that toolkit's). Empty when neither tells.
  std::optional<int> cuda_runtime;
  std::string runtime_from;          // "libcudart.so.13" or "the toolkit of its cubins (13.0.88)"
  int min_driver = 0;                // min_driver_branch(*cuda_runtime); 0 when unknown
  // Toolkits of its cubins, "13.0.88", newest first: those of the containers whose toolkit
  // was read (all when decoded; see ReadOptions::read_toolkit otherwise).
  std::vector<std::string> built_by;
  std::vector<std::string> cuda_libraries;  // DT_NEEDED CUDA libraries (libcudnn.so.9, ...)
};
FileNeeds needs_of(const FileInfo& info);
// True when the file has GPU code (any fatbin container, a cubin, PTX) or links a CUDA library.
bool is_cuda_bearing(const FileInfo& info);

enum class Outcome { kLoads, kLoadsThroughJit, kLoadsExceptSome, kDoesNotLoad, kNoVerdict };
// "loads", "loads-through-jit", "loads-except", "does-not-load", "no-verdict" (JSON).
std::string to_string(Outcome outcome);

struct ModuleCounts {
  int exact = 0;       // an exact cubin
  int compatible = 0;  // a compatible cubin
  int jit = 0;         // PTX JIT
  int none = 0;        // cannot load
  int total() const { return exact + compatible + jit + none; }
};

struct LoadVerdict {
  ComputeCapability cc;
  Outcome outcome = Outcome::kNoVerdict;
  ModuleCounts counts;
  int error = 0;          // with kDoesNotLoad: 35, 209, 222 or 223
  std::string headline;   // "loads, except 2 modules with kernels only for other GPUs"
  std::string reason;     // one sentence
  std::vector<int> failed;  // positions in FileInfo::containers of the modules that cannot load

  // Whether a script gating on this verdict should fail: "does not load", or with `strict` any
  // module that cannot load.
  bool fails(bool strict) const {
    return outcome == Outcome::kDoesNotLoad || (strict && counts.none > 0);
  }
};

// The verdict for a file from its module verdicts (judge_file), what it needs, and the driver
// (empty: one that runs everything).
LoadVerdict judge_load(const FileVerdict& verdict, const FileNeeds& needs,
                       const std::optional<DriverSpec>& driver);

// Decodes the payloads of the modules that cannot load in any of `verdicts` and were read
// without decoding, so that may_hold_kernels() is exact for them: a module without kernels
// must not count as one that fails (libcufft.so.12 holds a 1.9 KB sm_75 module without any).
// Returns true when it decoded any: judge the file again then. `file` as for read_payload.
bool decode_failed_modules(ByteSpan file, FileInfo& info, const std::vector<FileVerdict>& verdicts);

// The kernels of one module, decoding its payloads if they were not (the first cubin or PTX
// that names any). `file` is the whole inspected file, as read_payload takes it.
std::vector<KernelName> module_kernels(ByteSpan file, const FatbinContainer& container);

}  // namespace lenet::introspect
