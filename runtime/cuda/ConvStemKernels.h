// BF16 patch-GEMM convolutions (the RGB stems, ConvPatchKernels.h) fused
// into one kernel a direction: each block builds a tile of patches in
// shared memory from the input rows its windows cover and multiplies it on
// the tensor cores, so that no patch matrix goes through memory.
#ifndef VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H
#define VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Whether the patch GEMM `w` (isPatchGemm) over `dtype` runs fused: bf16,
/// at most 64 output channels, and a filter gradient of at most 32 16x16
/// tiles (vgg's 3 -> 64 3x3 stem, MobileNetV2's and EfficientNet's 3 -> 32
/// at stride 2, R(2+1)D's (1, 7, 7) 3 -> 45).
bool isFusedStem(const cpu::Window &w, plan::DType dtype);

/// Forward: each output pixel's K values from its window's taps, one f32
/// sum rounded once.
std::string fusedStemForward(CudaContext &ctx, const cpu::Window &w,
                             const cpu::TensorView &input,
                             const cpu::TensorView &weight,
                             cpu::TensorView &result);

/// Backward filter: each block sums the terms of a fixed run of tiles in
/// f32, and the blocks' sums are added in block order (the same bits every
/// run), then rounded once into the plan's (K, C, kernel...) layout.
std::string fusedStemGradWeight(CudaContext &ctx, const cpu::Window &w,
                                const cpu::TensorView &input,
                                const cpu::TensorView &grad,
                                cpu::TensorView &result);

} // namespace var::cuda

#endif // VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H
