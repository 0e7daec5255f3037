// Launchers of the dist ops' primitives on the GPU (DistKernels.cu): what
// the CUDA backend's Backend overrides enqueue on its stream. Numerics are
// the host implementation's (runtime/exec/HostDistKernels.cpp), bit for bit:
// the optimizer's f32 per-element math is shared with it, no fused
// multiply-adds, one rounding to f32 or bf16.
#ifndef VAR_RUNTIME_CUDA_DISTKERNELS_H
#define VAR_RUNTIME_CUDA_DISTKERNELS_H

#include "runtime/exec/Backend.h"

#include <cuda_runtime.h>

#include <string>
#include <vector>

namespace var::cuda {

std::string launchConvert(cudaStream_t stream, void *dst, plan::DType dstType,
                          const void *src, plan::DType srcType, int64_t count);
std::string launchAccumulate(cudaStream_t stream, float *sum,
                             const void *addend, plan::DType addendType,
                             int64_t count);
/// One launch: the update and the gradient's partial sums of squares.
std::string launchOptimizerUpdate(cudaStream_t stream,
                                  const exec::OptimizerStep &step);
/// `scratch` holds exec::kSquarePartials doubles, used in stream order.
std::string launchSumSquares(cudaStream_t stream,
                             const std::vector<exec::FlatInput> &inputs,
                             float *result, double *scratch);
std::string launchClipCoefficient(cudaStream_t stream, const float *squares,
                                  double maxNorm, float *coefficient,
                                  double *norm);

} // namespace var::cuda

#endif
