// Named shapes for parameterized op tests, printed in full in gtest's messages:
//   class MaxPool2dKernel : public ::testing::TestWithParam<ShapeCase<Pool2dShape>> {};
//   INSTANTIATE_TEST_SUITE_P(
//       Lenet, MaxPool2dKernel,
//       ::testing::ValuesIn(at_lenet_batches<Pool2dShape>(
//           {{"pool1", {1, 6, 24, 24, 2, 2}}, {"pool2", {1, 16, 8, 8, 2, 2}}})),
//       CaseName());
// runs pool1_n1, pool1_n64, pool1_n100, pool2_n1, ...
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lenet/shapes.h>

namespace lenet::test {

// Every field of a shape, for messages: "{N 1, C 6, H 24, W 24, K 2, stride 2}".
inline std::string describe(const Conv2dShape& s) {
  std::ostringstream os;
  os << "{N " << s.N << ", C " << s.C << ", H " << s.H << ", W " << s.W << ", OC " << s.OC
     << ", KH " << s.KH << ", KW " << s.KW << ", stride " << s.stride << ", pad " << s.pad << "}";
  return os.str();
}
inline std::string describe(const Pool2dShape& s) {
  std::ostringstream os;
  os << "{N " << s.N << ", C " << s.C << ", H " << s.H << ", W " << s.W << ", K " << s.K
     << ", stride " << s.stride << "}";
  return os.str();
}
inline std::string describe(const LinearShape& s) {
  std::ostringstream os;
  os << "{N " << s.N << ", in " << s.in << ", out " << s.out << "}";
  return os.str();
}
inline std::string describe(const ClassScoresShape& s) {
  std::ostringstream os;
  os << "{N " << s.N << ", K " << s.K << "}";
  return os.str();
}

// One test case: a name that becomes part of the test's name, and a shape.
template <typename Shape>
struct ShapeCase {
  std::string name;
  Shape s;
};

template <typename Shape>
void PrintTo(const ShapeCase<Shape>& c, std::ostream* os) {
  *os << c.name << " " << describe(c.s);
}

// The case's name as the test name's suffix, for INSTANTIATE_TEST_SUITE_P.
struct CaseName {
  template <typename Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& info) const {
    return info.param.name;
  }
};

// The batch sizes LeNet runs at: one image, the training batch, the evaluation batch.
inline constexpr std::int64_t kLenetBatches[] = {1, 64, 100};

// Each layer at each of kLenetBatches, named "<layer>_n<N>"; the layers' own N is ignored.
template <typename Shape>
std::vector<ShapeCase<Shape>> at_lenet_batches(std::initializer_list<ShapeCase<Shape>> layers) {
  std::vector<ShapeCase<Shape>> cases;
  for (const ShapeCase<Shape>& layer : layers) {
    for (const std::int64_t N : kLenetBatches) {
      ShapeCase<Shape> c{layer.name + "_n" + std::to_string(N), layer.s};
      c.s.N = N;
      cases.push_back(c);
    }
  }
  return cases;
}

// Rows of class scores named "n<N>_k<K>", for softmax and argmax tests.
inline std::vector<ShapeCase<ClassScoresShape>> class_score_cases(
    std::initializer_list<ClassScoresShape> shapes) {
  std::vector<ShapeCase<ClassScoresShape>> cases;
  for (const ClassScoresShape& s : shapes) {
    cases.push_back({"n" + std::to_string(s.N) + "_k" + std::to_string(s.K), s});
  }
  return cases;
}

}  // namespace lenet::test
