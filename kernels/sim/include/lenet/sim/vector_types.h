// CUDA's built-in vector types for simulator builds: dim3, uint3 and the small vectors kernels
// load and store (float2, float4, int2, int4, uint2, uint4), with CUDA's sizes and alignments.
//
// They live in lenet::sim and are brought to global scope with using-declarations, so kernel
// source reads as under nvcc while no global symbol can clash with the real CUDA runtime in a
// program that links both lenet::kernels and lenet::kernels_sim. Never include cuda_runtime.h in
// the same translation unit.
#pragma once

namespace lenet::sim {

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};

constexpr uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
constexpr float2 make_float2(float x, float y) { return float2{x, y}; }
constexpr float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
constexpr int2 make_int2(int x, int y) { return int2{x, y}; }
constexpr int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
constexpr uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
constexpr uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) {
  return uint4{x, y, z, w};
}

}  // namespace lenet::sim

using lenet::sim::dim3;
using lenet::sim::float2;
using lenet::sim::float4;
using lenet::sim::int2;
using lenet::sim::int4;
using lenet::sim::make_float2;
using lenet::sim::make_float4;
using lenet::sim::make_int2;
using lenet::sim::make_int4;
using lenet::sim::make_uint2;
using lenet::sim::make_uint3;
using lenet::sim::make_uint4;
using lenet::sim::uint2;
using lenet::sim::uint3;
using lenet::sim::uint4;
