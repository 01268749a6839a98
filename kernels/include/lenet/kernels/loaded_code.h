// Which code of this library the CUDA driver actually loaded for the current device: the answer
// of cudaFuncGetAttributes for one of the library's kernels. (An "image" here and in
// lenet::introspect is one cubin or PTX entry of a fatbin, never a picture.) lenet::introspect predicts
// the same from the fatbins (select_image); cuda_doctor compares the two.
#pragma once

#include <lenet/kernels/runtime.h>

namespace lenet::kernels {
inline namespace LENET_KERNELS_ABI {

struct LoadedCode {
  // cudaFuncAttributes::binaryVersion: the SM of the machine code that runs, 10 * major +
  // minor: 90 for an sm_90 cubin; for PTX JIT-compiled by the driver, the device's own (121).
  int binary_version = 0;
  // cudaFuncAttributes::ptxVersion: the virtual architecture the code came from (120 for
  // compute_120 PTX; a cubin reports the one nvcc compiled it from, 90 for sm_90).
  int ptx_version = 0;
  // True in lenet_kernels_sim, whose kernels run on the CPU: both versions are then 0.
  bool simulator = false;
};

// Loads the module of a kernel of this library on the current device if it is not loaded yet
// (which is when the driver chooses the image) and reports its versions. Throws lenet::CudaError
// when no image fits (cudaErrorNoKernelImageForDevice, 209), when the driver cannot JIT-compile the
// PTX (222, 223), or without a usable device (35, 100).
LoadedCode loaded_code();

}  // namespace LENET_KERNELS_ABI
}  // namespace lenet::kernels
