// var.linear and its gradients through cuBLAS (cublasGemmEx, f32 compute:
// plain FMA for f32 operands, tensor cores for bf16). Row-major products
// are column-major products of the transposes. A bf16 result without a
// bias is cuBLAS's own (its f32 sums rounded once, to nearest even); one
// with a bias accumulates in an f32 workspace first (bias in it before the
// product, as the CPU does) and is rounded once by a final kernel. Also
// gemmEx, the product that channels-last pointwise convolutions share.
#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

__global__ void broadcastRowsKernel(const void *bias, int biasType, float *out,
                                    int64_t width, int64_t n) {
  VAR_GRID_STRIDE(i, n) { out[i] = loadFloat(bias, biasType, i % width); }
}

__global__ void roundKernel(const float *in, void *out, int outType,
                            int64_t n) {
  VAR_GRID_STRIDE(i, n) { storeFloat(out, outType, i, in[i]); }
}

/// Column-major C (m x n) = op(A) op(B) into `result` (row-major, so C is
/// its transpose), plus `bias` broadcast along C's columns when given.
std::string gemm(CudaContext &ctx, cublasOperation_t opA, cublasOperation_t opB,
                 int64_t m, int64_t n, int64_t k, const TensorView &a,
                 int64_t lda, const TensorView &b, int64_t ldb,
                 TensorView &result, const TensorView *bias) {
  if (a.dtype != b.dtype)
    return "operands are " + std::string(plan::getDTypeName(a.dtype)) +
           " and " + std::string(plan::getDTypeName(b.dtype)) +
           "; the product takes one element type";
  ElementType type, resultType;
  if (std::string error = elementTypeOf(a, "an operand", type); !error.empty())
    return error;
  if (std::string error = elementTypeOf(result, "result", resultType);
      !error.empty())
    return error;
  int64_t count = m * n;
  if (count == 0)
    return {};
  if (resultType != kF32 && !bias && k > 0) // cuBLAS rounds its f32 sums
    return gemmEx(ctx, opA, opB, m, n, k, a.data, lda, b.data, ldb, a.dtype,
                  result.data, result.dtype, 0.0f);
  float *c = static_cast<float *>(result.data);
  if (resultType != kF32) {
    void *workspace;
    if (std::string error = ctx.getWorkspace(count * 4, &workspace);
        !error.empty())
      return error;
    c = static_cast<float *>(workspace);
  }
  if (bias) {
    ElementType biasType;
    if (std::string error = elementTypeOf(*bias, "bias", biasType);
        !error.empty())
      return error;
    broadcastRowsKernel<<<blocksFor(count), kThreads, 0, ctx.stream>>>(
        bias->data, biasType, c, m, count);
    VAR_CUDA_LAUNCHED();
  }
  if (k == 0 && !bias)
    VAR_CUDA_TRY(
        cudaMemsetAsync(c, 0, static_cast<size_t>(count) * 4, ctx.stream));
  if (k > 0)
    if (std::string error =
            gemmEx(ctx, opA, opB, m, n, k, a.data, lda, b.data, ldb, a.dtype, c,
                   plan::DType::F32, bias ? 1.0f : 0.0f);
        !error.empty())
      return error;
  if (c != result.data) {
    roundKernel<<<blocksFor(count), kThreads, 0, ctx.stream>>>(
        c, result.data, resultType, count);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

/// Y (rows x out) = X (rows x in) W^T + b: column-major Y^T = W X^T.
std::string linearOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &weight = call.operands[1];
  int64_t rows;
  if (std::string error = cpu::checkLinear(
          input.shape, weight.shape, call.results[0].shape, "result", rows);
      !error.empty())
    return error;
  int64_t out = weight.shape[0], in = weight.shape[1];
  const TensorView *bias =
      call.operands.size() == 3 ? &call.operands[2] : nullptr;
  if (bias && bias->shape != cpu::Shape{out})
    return "bias is " + cpu::formatShape(bias->shape) + ", expected (" +
           std::to_string(out) + ")";
  return gemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, weight, in, input,
              in, call.results[0], bias);
}

/// dX (rows x in) = dY (rows x out) W: column-major dX^T = W^T dY^T.
std::string linearGradInputOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  const TensorView &weight = call.operands[1];
  int64_t rows;
  if (std::string error = cpu::checkLinear(call.results[0].shape, weight.shape,
                                           grad.shape, "grad", rows);
      !error.empty())
    return error;
  int64_t out = weight.shape[0], in = weight.shape[1];
  return gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, in, rows, out, weight, in, grad,
              out, call.results[0], nullptr);
}

/// dW (out x in) = dY^T X: column-major dW^T = X^T dY.
std::string linearGradWeightOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &grad = call.operands[1];
  int64_t rows;
  if (std::string error = cpu::checkLinear(input.shape, call.results[0].shape,
                                           grad.shape, "grad", rows);
      !error.empty())
    return error;
  int64_t out = call.results[0].shape[0], in = call.results[0].shape[1];
  return gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, in, out, rows, input, in, grad,
              out, call.results[0], nullptr);
}

} // namespace

std::string gemmEx(CudaContext &ctx, cublasOperation_t opA,
                   cublasOperation_t opB, int64_t m, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb,
                   plan::DType abType, void *c, plan::DType cType, float beta) {
  auto narrow = [](int64_t v) { return static_cast<int>(v); };
  auto cudaTypeOf = [](plan::DType dtype) {
    return dtype == plan::DType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  };
  float one = 1.0f;
  VAR_CUDA_TRY(cublasGemmEx(ctx.cublas, opA, opB, narrow(m), narrow(n),
                            narrow(k), &one, a, cudaTypeOf(abType), narrow(lda),
                            b, cudaTypeOf(abType), narrow(ldb), &beta, c,
                            cudaTypeOf(cType), narrow(m), CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
  return {};
}

void registerLinearOps(CudaOpTable &table) {
  table["var.linear"] = linearOp;
  table["var.linear_grad_input"] = linearGradInputOp;
  table["var.linear_grad_weight"] = linearGradWeightOp;
}

} // namespace var::cuda
