// Channels-last convolutions of a few input channels (the RGB stems) as a
// GEMM over image patches (im2col), forward and backward filter.
#ifndef VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H
#define VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Whether the convolution `w` runs as a patch GEMM: channels-last, one
/// group, at most 4 input channels (the RGB stems), a window of at most 64
/// taps, and row counts that fit cuBLAS's int. cuDNN runs these at 5-12
/// TFLOP/s on an H200 even on channels zero-padded to 8 (vgg11_bn's 3 -> 64
/// stem, MobileNetV2's 3 -> 32 at stride 2, R(2+1)D's (1, 7, 7) 3 -> 45);
/// as a GEMM of (rows x taps * C) patches by the (taps * C x K) filter they
/// are bound by the patches' bytes instead. ConvKernels.cu runs most bf16
/// ones fused instead (ConvStemKernels.h); the f32 ones and the rest here.
bool isPatchGemm(const cpu::Window &w);

/// A patch GEMM's window in 32-bit form for the kernels (isPatchGemm
/// bounds every index of a chunk below 2^31).
struct PatchShape {
  int in[3], out[3], kernel[3], stride[3], padding[3], dilation[3];
  int channels;
  int columns; // taps * channels
  int width;   // columns rounded up to 16 bytes of elements
};

PatchShape patchShapeOf(const cpu::Window &w, int64_t elementBytes);

/// Forward: result (rows x K) = patches (rows x taps * C) filter^T, the
/// patches built in chunks of at most 48 MiB in the workspace, one cuBLAS
/// product a chunk, each output rounded once.
std::string patchGemmForward(CudaContext &ctx, const cpu::Window &w,
                             const cpu::TensorView &input,
                             const cpu::TensorView &weight,
                             cpu::TensorView &result);

/// Backward filter: the (K x taps * C) gradient summed in f32 over every
/// chunk's product grad^T patches, then
/// rounded once into the plan's (K, C, kernel...) layout.
std::string patchGemmGradWeight(CudaContext &ctx, const cpu::Window &w,
                                const cpu::TensorView &input,
                                const cpu::TensorView &grad,
                                cpu::TensorView &result);

} // namespace var::cuda

#endif // VAR_RUNTIME_CUDA_CONVPATCHKERNELS_H
