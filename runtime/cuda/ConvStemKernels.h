// BF16 patch-GEMM convolutions (the RGB stems, ConvPatchKernels.h) fused
// into one kernel a direction: each block stages the input rows that a
// tile of output pixels' windows cover in shared memory, and its lanes
// gather their patch elements from there into tensor-core fragments, so
// that no patch matrix goes through memory (stem-bench in bench/stem
// times them against the patch GEMM).
#ifndef VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H
#define VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Whether the patch GEMM `w` (isPatchGemm) over `dtype` runs fused: bf16,
/// at most 64 output channels and 160 patch columns (taps x channels), and
/// a tile's shared memory within 96 KiB (vgg's 3 -> 64 3x3 stem,
/// MobileNetV2's and EfficientNet's 3 -> 32 at stride 2, R(2+1)D's
/// (1, 7, 7) 3 -> 45 or 48).
bool isFusedStem(const cpu::Window &w, plan::DType dtype);

/// Forward: each output pixel's K values from its window's taps, one f32
/// sum rounded once.
std::string fusedStemForward(CudaContext &ctx, const cpu::Window &w,
                             const cpu::TensorView &input,
                             const cpu::TensorView &weight,
                             cpu::TensorView &result);

/// Backward filter: each block sums the terms of a fixed run of tiles in
/// f32 (the runs depend on the shape alone), and the blocks' sums are
/// added in a fixed order (the same bits every run), then rounded once
/// into the plan's (K, C, kernel...) layout.
std::string fusedStemGradWeight(CudaContext &ctx, const cpu::Window &w,
                                const cpu::TensorView &input,
                                const cpu::TensorView &grad,
                                cpu::TensorView &result);

} // namespace var::cuda

#endif // VAR_RUNTIME_CUDA_CONVSTEMKERNELS_H
