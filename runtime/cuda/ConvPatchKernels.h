// Channels-last convolutions of a few input channels (the RGB stems) as a
// GEMM over image patches, forward and backward filter: in bf16 implicit
// GEMMs on tensor cores that gather the patches into shared memory
// (ConvPatchTileKernels.cu), in f32 im2col into the workspace and cuBLAS
// (ConvPatchKernels.cu).
#ifndef VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H
#define VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Whether the convolution `w` runs as a patch GEMM: channels-last, one
/// group, at most 4 input channels (the RGB stems), a window of 2 to 64
/// taps, and row counts that fit cuBLAS's int. cuDNN runs these at 5-12
/// TFLOP/s on an H200 even on channels zero-padded to 8 (vgg11_bn's 3 -> 64
/// stem, MobileNetV2's 3 -> 32 at stride 2, R(2+1)D's (1, 7, 7) 3 -> 45);
/// as a GEMM of (rows x taps * C) patches by the (taps * C x K) filter they
/// are bound by the input's and the result's bytes instead.
bool isPatchGemm(const cpu::Window &w);

/// Whether patchGemmForward adds the bias itself in `dtype` (bf16, in the
/// GEMM's epilogue); in f32 the caller adds it after.
bool patchGemmAddsBias(plan::DType dtype);

/// Forward: result (rows x K) = patches (rows x taps * C) filter^T.
/// bf16: one kernel; each block gathers tiles of 128 rows of patches from
/// the input into shared memory and multiplies them by its group of up to
/// 64 output channels of the filter (wmma, f32 accumulators); each output
/// rounds once, and with `bias` (only in bf16: patchGemmAddsBias) then
/// adds the bias and rounds again, the bits of a separate bias pass. No
/// workspace. f32: the patches built in chunks of at most 48 MiB in the
/// workspace, one cuBLAS product a chunk.
std::string patchGemmForward(CudaContext &ctx, const cpu::Window &w,
                             const cpu::TensorView &input,
                             const cpu::TensorView &weight,
                             const cpu::TensorView *bias,
                             cpu::TensorView &result);

/// Backward filter: the (K x taps * C) gradient summed in f32 over fixed
/// slices of rows, each slice's grad^T patches into its own partial
/// matrix in the workspace, the partials then added in a fixed order (the
/// same bits every run, on every GPU) and rounded once into the plan's
/// (K, C, kernel...) layout. bf16: a block a slice of 2048 rows, patches
/// gathered into shared memory as in the forward; f32: chunks of patches
/// in the workspace, cuBLAS products of 4096-row slices.
std::string patchGemmGradWeight(CudaContext &ctx, const cpu::Window &w,
                                const cpu::TensorView &input,
                                const cpu::TensorView &grad,
                                cpu::TensorView &result);

} // namespace var::cuda

#endif // VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H
