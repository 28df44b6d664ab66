#include "flowmatch/native/linear.h"

#include <cblas.h>

namespace flowmatch::native {

void linear_forward(const float* x, int64_t rows, int64_t in, const float* weight, int64_t out, float* y, bool accumulate) {
  if (rows == 1)  // one point: a matrix-vector product, which reads W once instead of packing it as sgemm does
    return cblas_sgemv(CblasRowMajor, CblasNoTrans, int(out), int(in), 1.0f, weight, int(in), x, 1, accumulate ? 1.0f : 0.0f,
                       y, 1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(out), int(in), 1.0f, x, int(in), weight, int(in),
              accumulate ? 1.0f : 0.0f, y, int(out));
}

void linear_input_grad(const float* dy, int64_t rows, int64_t out, const float* weight, int64_t in, float* dx, bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(in), int(out), 1.0f, dy, int(out), weight, int(in),
              accumulate ? 1.0f : 0.0f, dx, int(in));
}

void linear_weight_grad(const float* dy, int64_t dy_stride, const float* x, int64_t rows, int64_t out, int64_t in,
                        float* weight_grad) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(out), int(in), int(rows), 1.0f, dy, int(dy_stride), x, int(in),
              1.0f, weight_grad, int(in));
}

void bias_grad(const float* dy, int64_t dy_stride, int64_t rows, int64_t out, float* bias_grad) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < out; ++j) bias_grad[j] += dy[r * dy_stride + j];
}

}  // namespace flowmatch::native
