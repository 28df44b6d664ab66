#pragma once
#include <cstdint>

namespace flowmatch::native {

// A Linear layer y = x W^T + b on row-major float buffers, as torch::nn::Linear stores it:
// x [rows, in], W [out, in], b [out], y [rows, out]. The products go to the BLAS (OpenBLAS's sgemm),
// on the calling thread's share of the rows; the bias is added by the activation pass that follows
// (activation.h), so the output is read once.

// y = x W^T, or y += x W^T with `accumulate`
void linear_forward(const float* x, int64_t rows, int64_t in, const float* weight, int64_t out, float* y,
                    bool accumulate = false);
// dx = dy W, or dx += dy W with `accumulate`
void linear_input_grad(const float* dy, int64_t rows, int64_t out, const float* weight, int64_t in, float* dx,
                       bool accumulate = false);
// dW += dy^T x (summed over the rows), for `out` columns of dy, whose rows lie `dy_stride` floats apart
// (a block of a wider layer's columns: dW is then that block of rows of the layer's weight gradient)
void linear_weight_grad(const float* dy, int64_t dy_stride, const float* x, int64_t rows, int64_t out, int64_t in,
                        float* weight_grad);
// db += the column sums of dy [rows, out], rows `dy_stride` floats apart
void bias_grad(const float* dy, int64_t dy_stride, int64_t rows, int64_t out, float* bias_grad);

}  // namespace flowmatch::native
