// Linear layer as three Eigen GEMMs over row-major views of the buffers.
#include <lenet/cpu_ref/linear.h>

#include "eigen_maps.h"

namespace lenet::cpu_ref {

using detail::ConstMatrixMap;
using detail::ConstRowVectorMap;
using detail::MatrixMap;

template <typename T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const NonDeduced<T>* b, T* y) {
  constexpr const char* kOp = "linear_forward";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, x, w, y);
  const ConstMatrixMap<T> x_mat(x, s.N, s.in);
  const ConstMatrixMap<T> w_mat(w, s.out, s.in);
  MatrixMap<T> y_mat(y, s.N, s.out);
  y_mat.noalias() = x_mat * w_mat.transpose();
  if (b != nullptr) y_mat.rowwise() += ConstRowVectorMap<T>(b, s.out);
}

template <typename T>
void linear_backward(const LinearShape& s, const T* dy, const T* x, const T* w,
                     NonDeduced<T>* dx, T* dw, NonDeduced<T>* db) {
  constexpr const char* kOp = "linear_backward";
  s.check(kOp);
  LENET_CHECK_NOT_NULL(kOp, dy, x, w, dw);
  const ConstMatrixMap<T> dy_mat(dy, s.N, s.out);
  const ConstMatrixMap<T> x_mat(x, s.N, s.in);
  const ConstMatrixMap<T> w_mat(w, s.out, s.in);
  if (dx != nullptr) MatrixMap<T>(dx, s.N, s.in).noalias() = dy_mat * w_mat;
  MatrixMap<T>(dw, s.out, s.in).noalias() = dy_mat.transpose() * x_mat;
  if (db != nullptr) detail::RowVectorMap<T>(db, s.out) = dy_mat.colwise().sum();
}

template void linear_forward<float>(const LinearShape&, const float*, const float*, const float*,
                                    float*);
template void linear_forward<double>(const LinearShape&, const double*, const double*,
                                     const double*, double*);
template void linear_backward<float>(const LinearShape&, const float*, const float*, const float*,
                                     float*, float*, float*);
template void linear_backward<double>(const LinearShape&, const double*, const double*,
                                      const double*, double*, double*, double*);

}  // namespace lenet::cpu_ref
