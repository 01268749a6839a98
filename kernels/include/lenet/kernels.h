// Umbrella header of the lenet kernel library: every launcher and the device memory helpers.
// Link lenet::kernels (GPU, nvcc) or lenet::kernels_sim (the same kernels in the CPU simulator).
#pragma once

#include <lenet/error.h>
#include <lenet/kernels/memory.h>
#include <lenet/kernels/relu.h>
#include <lenet/kernels/runtime.h>
