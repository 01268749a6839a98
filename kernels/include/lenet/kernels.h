// Umbrella header of the lenet kernel library: every launcher and the device memory helpers.
// Link lenet::kernels (GPU, nvcc) or lenet::kernels_sim (the same kernels in the CPU simulator).
#pragma once

#include <lenet/error.h>
#include <lenet/kernels/batch.h>
#include <lenet/kernels/conv2d.h>
#include <lenet/kernels/count_correct.h>
#include <lenet/kernels/loaded_code.h>
#include <lenet/kernels/linear.h>
#include <lenet/kernels/maxpool2d.h>
#include <lenet/kernels/memory.h>
#include <lenet/kernels/normalize.h>
#include <lenet/kernels/relu.h>
#include <lenet/kernels/runtime.h>
#include <lenet/kernels/sgd_momentum.h>
#include <lenet/kernels/softmax_cross_entropy.h>
