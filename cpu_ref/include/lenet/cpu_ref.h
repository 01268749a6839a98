// Umbrella header of the CPU reference: every op, forward and backward, in float and double,
// and the classic LeNet composed from them. Link lenet::cpu_ref.
#pragma once

#include <lenet/error.h>
#include <lenet/shapes.h>
#include <lenet/cpu_ref/conv2d.h>
#include <lenet/cpu_ref/count_correct.h>
#include <lenet/cpu_ref/lenet.h>
#include <lenet/cpu_ref/linear.h>
#include <lenet/cpu_ref/maxpool2d.h>
#include <lenet/cpu_ref/normalize.h>
#include <lenet/cpu_ref/relu.h>
#include <lenet/cpu_ref/sgd_momentum.h>
#include <lenet/cpu_ref/softmax_cross_entropy.h>
