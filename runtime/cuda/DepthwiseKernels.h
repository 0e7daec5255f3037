// Channels-last depthwise convolutions (one filter per channel) with our
// own kernels (DepthwiseKernels.cu), forward, backward data and backward
// filter, deterministic; ConvKernels.cu routes them here instead of cuDNN,
// whose NHWC depthwise algorithms run far below memory bandwidth.
#ifndef VAR_RUNTIME_CUDA_DEPTHWISEKERNELS_H
#define VAR_RUNTIME_CUDA_DEPTHWISEKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Whether the kernels take the convolution `w`: channels-last, as many
/// groups as input and output channels (I/groups = 1, O = groups), a
/// 1-D to 3-D window whose sizes fit in int.
bool isDepthwise(const cpu::Window &w);

/// The calls below take a window isDepthwise accepts, checked tensors of
/// one element type (f32 or bf16), weights (C, 1, kernel...).

/// Y = X * W: `input` (N, spatial..., C), `result` (N, out..., C).
std::string depthwiseForward(CudaContext &ctx, const cpu::Window &w,
                             const cpu::TensorView &input,
                             const cpu::TensorView &weight,
                             cpu::TensorView &result);

/// dX from dY (`grad`, (N, out..., C)) and W.
std::string depthwiseGradInput(CudaContext &ctx, const cpu::Window &w,
                               const cpu::TensorView &grad,
                               const cpu::TensorView &weight,
                               cpu::TensorView &result);

/// dW from X and dY, summed over N * out positions in a fixed order.
std::string depthwiseGradWeight(CudaContext &ctx, const cpu::Window &w,
                                const cpu::TensorView &input,
                                const cpu::TensorView &grad,
                                cpu::TensorView &result);

} // namespace var::cuda

#endif
