#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/cpu_ref/conv2d.h>

#include "support/arguments.h"
#include "support/cases.h"
#include "support/compare.h"
#include "support/gradcheck.h"
#include "support/layer_inputs.h"
#include "support/random.h"

namespace {

using lenet::Conv2dShape;
using namespace lenet::cpu_ref;
using namespace lenet::test;

// x[r][c] = 4r + c + 1: 1..16 in row-major order.
std::vector<double> ramp_4x4() {
  std::vector<double> x(16);
  for (int i = 0; i < 16; ++i) x[i] = i + 1;
  return x;
}

// The definition, six loops deep: an independent check of the im2col + GEMM version.
std::vector<double> naive_conv2d(const Conv2dShape& s, const std::vector<double>& x,
                                 const std::vector<double>& w, const std::vector<double>& b) {
  std::vector<double> y(s.y_size());
  for (std::int64_t n = 0; n < s.N; ++n)
    for (std::int64_t oc = 0; oc < s.OC; ++oc)
      for (std::int64_t oh = 0; oh < s.OH(); ++oh)
        for (std::int64_t ow = 0; ow < s.OW(); ++ow) {
          double sum = b.empty() ? 0.0 : b[oc];
          for (std::int64_t c = 0; c < s.C; ++c)
            for (std::int64_t kh = 0; kh < s.KH; ++kh)
              for (std::int64_t kw = 0; kw < s.KW; ++kw) {
                const std::int64_t ih = oh * s.stride - s.pad + kh;
                const std::int64_t iw = ow * s.stride - s.pad + kw;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                sum += w[((oc * s.C + c) * s.KH + kh) * s.KW + kw] *
                       x[((n * s.C + c) * s.H + ih) * s.W + iw];
              }
          y[((n * s.OC + oc) * s.OH() + oh) * s.OW() + ow] = sum;
        }
  return y;
}

// Shapes with odd sizes, strides, padding and non-square windows.
const Conv2dShape kShapes[] = {
    {1, 1, 4, 4, 1, 3, 3, 1, 0},  {2, 3, 7, 6, 4, 3, 2, 2, 1}, {3, 2, 9, 5, 5, 5, 3, 1, 2},
    {2, 6, 12, 12, 16, 5, 5, 1, 0}, {1, 4, 5, 5, 3, 1, 1, 3, 0}, {2, 1, 6, 7, 2, 4, 4, 3, 3},
};

// Up to 150 entries of a tensor (borders and interior alike, by chance): enough to catch a
// wrong index, and seconds even in a sanitizer build.
GradCheckOptions sampled(std::size_t n, std::uint64_t seed) {
  GradCheckOptions options;
  options.indices = sample_indices(n, 150, seed);
  return options;
}

TEST(Conv2dRef, ForwardHandComputed) {
  // Diagonal filter: y(oh, ow) = x[oh][ow] + 2 x[oh+1][ow+1] + 3 x[oh+2][ow+2] + b.
  const Conv2dShape s{1, 1, 4, 4, 1, 3, 3};
  const std::vector<double> x = ramp_4x4();
  const std::vector<double> w = {1, 0, 0, 0, 2, 0, 0, 0, 3};
  const std::vector<double> b = {-1};
  std::vector<double> y = nan_filled<double>(4);
  conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
  // 1 + 2*6 + 3*11 - 1, 2 + 2*7 + 3*12 - 1, 5 + 2*10 + 3*15 - 1, 6 + 2*11 + 3*16 - 1.
  EXPECT_TRUE(all_close(y, std::vector<double>{45, 51, 69, 75}, 0, 0));

  conv2d_forward(s, x.data(), w.data(), nullptr, y.data());
  EXPECT_TRUE(all_close(y, std::vector<double>{46, 52, 70, 76}, 0, 0));
}

TEST(Conv2dRef, ForwardHandComputedStrideAndPadding) {
  // All-ones 3x3 filter, pad 1, stride 2: each output sums the part of its window that lies
  // inside the image, e.g. y(0, 0) = x[0..1][0..1] = 1 + 2 + 5 + 6.
  const Conv2dShape s{1, 1, 4, 4, 1, 3, 3, 2, 1};
  const std::vector<double> x = ramp_4x4();
  const std::vector<double> w(9, 1.0);
  std::vector<double> y = nan_filled<double>(4);
  conv2d_forward(s, x.data(), w.data(), nullptr, y.data());
  EXPECT_TRUE(all_close(y, std::vector<double>{14, 30, 57, 99}, 0, 0));
}

TEST(Conv2dRef, BackwardHandComputed) {
  const Conv2dShape s{1, 1, 4, 4, 1, 3, 3};
  const std::vector<double> x = ramp_4x4();
  const std::vector<double> w = {1, 0, 0, 0, 2, 0, 0, 0, 3};
  const std::vector<double> dy(4, 1.0);

  // Each output adds its filter onto the 3x3 patch it read: the diagonals of four shifted
  // copies of diag(1, 2, 3) overlap.
  std::vector<double> dx = nan_filled<double>(16);
  conv2d_backward_data(s, dy.data(), w.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{1, 1, 0, 0,  //
                                                1, 3, 2, 0,  //
                                                0, 2, 5, 3,  //
                                                0, 0, 3, 3},
                        0, 0));

  // dw[i][j] = sum over the 2x2 outputs of x[oh+i][ow+j] = 16i + 4j + 14; db = 4 outputs.
  std::vector<double> dw = nan_filled<double>(9), db = nan_filled<double>(1);
  conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), db.data());
  EXPECT_TRUE(all_close(dw, std::vector<double>{14, 18, 22, 30, 34, 38, 46, 50, 54}, 0, 0));
  EXPECT_TRUE(all_close(db, std::vector<double>{4}, 0, 0));
}

TEST(Conv2dRef, ForwardMatchesTheDefinition) {
  std::uint64_t seed = 100;
  for (const Conv2dShape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    const auto x = random_uniform(s.x_size(), -1, 1, ++seed);
    const auto w = random_uniform(s.w_size(), -1, 1, ++seed);
    const auto b = random_uniform(s.OC, -1, 1, ++seed);
    std::vector<double> y = nan_filled<double>(s.y_size());
    conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
    EXPECT_TRUE(all_close(y, naive_conv2d(s, x, w, b), 1e-12, 1e-12));
  }
}

TEST(Conv2dRef, FloatAgreesWithDouble) {
  const Conv2dShape s{2, 3, 9, 8, 4, 3, 3, 2, 1};
  EXPECT_TRUE(float_agrees_with_double(s, [&](const auto& in, auto& out) {
    conv2d_forward(s, in.x.data(), in.w.data(), in.b.data(), out.y.data());
    conv2d_backward_data(s, in.dy.data(), in.w.data(), out.dx.data());
    conv2d_backward_filter(s, in.x.data(), in.dy.data(), out.dw.data(), out.db.data());
  }));
}

TEST(Conv2dRef, BackwardOverwritesAndTakesNullBias) {
  const Conv2dShape s{2, 2, 5, 5, 3, 3, 3, 1, 1};
  const auto x = random_uniform(s.x_size(), -1, 1, 5);
  const auto w = random_uniform(s.w_size(), -1, 1, 6);
  const auto dy = random_uniform(s.y_size(), -1, 1, 7);
  std::vector<double> dx(s.x_size(), 1e6), dw(s.w_size(), 1e6), db(s.OC, 1e6);
  std::vector<double> dx2(s.x_size(), -3.0), dw2(s.w_size(), -3.0);
  conv2d_backward_data(s, dy.data(), w.data(), dx.data());
  conv2d_backward_data(s, dy.data(), w.data(), dx2.data());
  conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), db.data());
  conv2d_backward_filter(s, x.data(), dy.data(), dw2.data(), nullptr);
  EXPECT_TRUE(all_close(dx2, dx, 0, 0));
  EXPECT_TRUE(all_close(dw2, dw, 0, 0));
  double sum = 0.0;
  for (const double v : dy) sum += v;
  double db_sum = 0.0;
  for (const double v : db) db_sum += v;
  EXPECT_NEAR(db_sum, sum, 1e-12);
}

TEST(Conv2dRef, BackwardDataGradCheck) {
  std::uint64_t seed = 200;
  for (const Conv2dShape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    auto x = random_uniform(s.x_size(), -1, 1, ++seed);
    const auto w = random_uniform(s.w_size(), -1, 1, ++seed);
    const auto b = random_uniform(s.OC, -1, 1, ++seed);
    const auto r = random_uniform(s.y_size(), -1, 1, ++seed);
    std::vector<double> y(s.y_size()), dx(s.x_size());
    auto loss = [&] {
      conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
      return dot(r, y);
    };
    conv2d_backward_data(s, r.data(), w.data(), dx.data());
    EXPECT_TRUE(gradient_matches(loss, &x, dx, sampled(x.size(), seed)));
  }
}

TEST(Conv2dRef, BackwardFilterGradCheck) {
  std::uint64_t seed = 300;
  for (const Conv2dShape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    const auto x = random_uniform(s.x_size(), -1, 1, ++seed);
    auto w = random_uniform(s.w_size(), -1, 1, ++seed);
    auto b = random_uniform(s.OC, -1, 1, ++seed);
    const auto r = random_uniform(s.y_size(), -1, 1, ++seed);
    std::vector<double> y(s.y_size()), dw(s.w_size()), db(s.OC);
    auto loss = [&] {
      conv2d_forward(s, x.data(), w.data(), b.data(), y.data());
      return dot(r, y);
    };
    conv2d_backward_filter(s, x.data(), r.data(), dw.data(), db.data());
    EXPECT_TRUE(gradient_matches(loss, &w, dw, sampled(w.size(), seed)));
    EXPECT_TRUE(gradient_matches(loss, &b, db));
  }
}

// Each function applies Conv2dShape::check (its rules: test_shapes.cpp) and checks its pointers.
TEST(Conv2dRef, ChecksShapeAndPointers) {
  const Conv2dShape s{1, 2, 5, 5, 3, 3, 3};
  Conv2dShape big_pad = s;
  big_pad.pad = 3;
  const std::vector<double> x(s.x_size()), w(s.w_size()), b(s.OC), dy(s.y_size());
  std::vector<double> y(s.y_size()), dx(s.x_size()), dw(s.w_size()), db(s.OC);
  EXPECT_TRUE(checks_shape_and_pointers("conv2d_forward", s, big_pad, "pad",
                                        {"x", "w", kOptional, "y"},
                                        [](auto... a) { conv2d_forward(a...); }, x.data(),
                                        w.data(), b.data(), y.data()));
  EXPECT_TRUE(checks_shape_and_pointers("conv2d_backward_data", s, big_pad, "pad",
                                        {"dy", "w", "dx"},
                                        [](auto... a) { conv2d_backward_data(a...); },
                                        dy.data(), w.data(), dx.data()));
  EXPECT_TRUE(checks_shape_and_pointers("conv2d_backward_filter", s, big_pad, "pad",
                                        {"x", "dy", "dw", kOptional},
                                        [](auto... a) { conv2d_backward_filter(a...); },
                                        x.data(), dy.data(), dw.data(), db.data()));
}

}  // namespace
