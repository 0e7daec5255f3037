// CUDA kernels of softmax cross-entropy and its gradient: one thread a row
// (rows are samples, a few hundred at most), in double as on the CPU; the
// loss's mean over rows is one block's reduction. A label out of range
// raises the context's error flag (reported when the backend synchronizes)
// and gives a NaN, since the kernel cannot return a message.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

__device__ inline int64_t loadLabel(const void *labels, int bytes, int64_t n) {
  if (bytes == 8)
    return static_cast<const int64_t *>(labels)[n];
  return static_cast<const int32_t *>(labels)[n];
}

/// runtime/cpu's crossEntropyRow: the row's loss against the smoothed
/// target; with `grad`, also scale * (softmax - target).
__device__ double crossEntropyRow(const void *logits, int type, int64_t row,
                                  int64_t classes, int64_t label,
                                  double smoothing, double scale, void *grad,
                                  int gradType) {
  const int64_t base = row * classes;
  double peak = -INFINITY;
  for (int64_t c = 0; c < classes; ++c)
    peak = fmax(peak, static_cast<double>(loadFloat(logits, type, base + c)));
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c)
    sum += exp(loadFloat(logits, type, base + c) - peak);
  double logSum = peak + log(sum);
  double uniform = smoothing / static_cast<double>(classes);
  double loss = 0;
  for (int64_t c = 0; c < classes; ++c) {
    double logProb = loadFloat(logits, type, base + c) - logSum;
    double target = uniform + (c == label ? 1.0 - smoothing : 0.0);
    loss -= target * logProb;
    if (grad)
      storeFloat(grad, gradType, base + c,
                 static_cast<float>(scale * (exp(logProb) - target)));
  }
  return loss;
}

__global__ void crossEntropyKernel(const void *logits, int type,
                                   const void *labels, int labelBytes,
                                   int64_t rows, int64_t classes,
                                   double smoothing, void *loss, int lossType,
                                   int *errorFlag) {
  __shared__ double partial[kThreads];
  double sum = 0;
  for (int64_t n = threadIdx.x; n < rows; n += blockDim.x) {
    int64_t label = loadLabel(labels, labelBytes, n);
    if (label < 0 || label >= classes) {
      *errorFlag = kBadLabel;
      sum = NAN;
      continue;
    }
    sum += crossEntropyRow(logits, type, n, classes, label, smoothing, 0.0,
                           nullptr, 0);
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int step = blockDim.x / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    storeFloat(loss, lossType, 0,
               static_cast<float>(partial[0] / static_cast<double>(rows)));
}

__global__ void crossEntropyGradKernel(const void *logits, int type,
                                       const void *labels, int labelBytes,
                                       const void *lossGrad, int lossGradType,
                                       int64_t rows, int64_t classes,
                                       double smoothing, void *grad,
                                       int gradType, int *errorFlag) {
  double scale =
      loadFloat(lossGrad, lossGradType, 0) / static_cast<double>(rows);
  VAR_GRID_STRIDE(n, rows) {
    int64_t label = loadLabel(labels, labelBytes, n);
    if (label < 0 || label >= classes) {
      *errorFlag = kBadLabel;
      for (int64_t c = 0; c < classes; ++c)
        storeFloat(grad, gradType, n * classes + c, NAN);
      continue;
    }
    crossEntropyRow(logits, type, n, classes, label, smoothing, scale, grad,
                    gradType);
  }
}

/// Logits (N, C) as f32/bf16 and labels (N) as i64/i32.
std::string checkCrossEntropy(const OpCall &call, ElementType &type,
                              int &labelBytes, int64_t &rows,
                              int64_t &classes) {
  const TensorView &logits = call.operands[0];
  const TensorView &labels = call.operands[1];
  if (std::string error = elementTypeOf(logits, "logits", type); !error.empty())
    return error;
  if (labels.dtype != plan::DType::I64 && labels.dtype != plan::DType::I32)
    return "labels have element type " +
           std::string(plan::getDTypeName(labels.dtype)) +
           "; the CUDA kernel takes i64 and i32";
  labelBytes = labels.dtype == plan::DType::I64 ? 8 : 4;
  if (logits.shape.size() != 2)
    return "logits must be (N, classes), got " + cpu::formatShape(logits.shape);
  rows = logits.shape[0];
  classes = logits.shape[1];
  return cpu::expectShape(labels, {rows}, "labels");
}

std::string crossEntropyOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 2, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  ElementType type, lossType;
  int labelBytes;
  int64_t rows, classes;
  if (std::string error =
          checkCrossEntropy(call, type, labelBytes, rows, classes);
      !error.empty())
    return error;
  TensorView &loss = call.results[0];
  if (std::string error = elementTypeOf(loss, "loss", lossType); !error.empty())
    return error;
  if (loss.numel() != 1)
    return "loss must be a scalar, got " + cpu::formatShape(loss.shape);
  crossEntropyKernel<<<1, kThreads, 0, ctx.stream>>>(
      call.operands[0].data, type, call.operands[1].data, labelBytes, rows,
      classes, call.getFloat("label_smoothing", 0.0), loss.data, lossType,
      ctx.errorFlag);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string crossEntropyGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 3, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  ElementType type, lossGradType, gradType;
  int labelBytes;
  int64_t rows, classes;
  if (std::string error =
          checkCrossEntropy(call, type, labelBytes, rows, classes);
      !error.empty())
    return error;
  const TensorView &lossGrad = call.operands[2];
  if (std::string error = elementTypeOf(lossGrad, "loss_grad", lossGradType);
      !error.empty())
    return error;
  if (lossGrad.numel() != 1)
    return "loss_grad must be a scalar, got " +
           cpu::formatShape(lossGrad.shape);
  TensorView &grad = call.results[0];
  if (std::string error = elementTypeOf(grad, "result", gradType);
      !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(grad, call.operands[0].shape, "result");
      !error.empty())
    return error;
  crossEntropyGradKernel<<<blocksFor(rows), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, type, call.operands[1].data, labelBytes,
      lossGrad.data, lossGradType, rows, classes,
      call.getFloat("label_smoothing", 0.0), grad.data, gradType,
      ctx.errorFlag);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerLossOps(CudaOpTable &table) {
  table["var.softmax_cross_entropy"] = crossEntropyOp;
  table["var.softmax_cross_entropy_grad"] = crossEntropyGradOp;
}

} // namespace var::cuda
