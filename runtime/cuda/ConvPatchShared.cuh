// What the patch-GEMM convolutions' two files share: ConvPatchKernels.cu
// (the entry points, f32 im2col and cuBLAS, the filter gradient's second
// pass) and ConvPatchTileKernels.cu (the bf16 implicit GEMMs on tensor
// cores): the window as the kernels read it, the second pass and the bf16
// kernels' entry points.
#ifndef VAR_RUNTIME_CUDA_CONVPATCHSHARED_CUH
#define VAR_RUNTIME_CUDA_CONVPATCHSHARED_CUH

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <cstdint>
#include <string>

namespace var::cuda::patch {

/// The window in 32-bit form for the kernels (isPatchGemm bounds every
/// row index below 2^31). A patch row is one output pixel's window, taps in
/// (kd, kh, kw) order with the C channels of each tap together, zero where
/// the window leaves the padded input and in the columns that round a row
/// up to `width`; the filter as a matrix has the same column order, so the
/// product sums exactly the window's terms.
struct PatchShape {
  int in[3], out[3], kernel[3], stride[3], padding[3], dilation[3];
  int channels;
  int columns; // taps * channels
  int width;   // columns rounded up to a multiple of patchShapeOf's
};

inline PatchShape patchShapeOf(const cpu::Window &w, int multiple) {
  PatchShape s{};
  for (int d = 0; d < 3; ++d) {
    s.in[d] = static_cast<int>(w.in[d]);
    s.out[d] = static_cast<int>(w.out[d]);
    s.kernel[d] = static_cast<int>(w.kernel[d]);
    s.stride[d] = static_cast<int>(w.stride[d]);
    s.padding[d] = static_cast<int>(w.padding[d]);
    s.dilation[d] = static_cast<int>(w.dilation[d]);
  }
  s.channels = static_cast<int>(w.inChannels);
  s.columns = static_cast<int>(cpu::product(w.kernel) * w.inChannels);
  s.width = (s.columns + multiple - 1) / multiple * multiple;
  return s;
}

/// Workspace offsets: 256-byte aligned.
inline int64_t aligned(int64_t bytes) { return (bytes + 255) / 256 * 256; }

/// matrix (+)= the sum of `slots` partial matrices of n f32 elements
/// (slot s at partials + s * n), in a fixed order: the same bits every run.
std::string sumSlices(CudaContext &ctx, const float *partials, int64_t slots,
                      int64_t n, float *matrix, bool accumulate);

/// The f32 (K x s.width) filter gradient `matrix` into `result`, the
/// plan's (K, C, kernel...) layout, one rounding an element.
std::string storeFilterGrad(CudaContext &ctx, const PatchShape &s,
                            const float *matrix, cpu::TensorView &result);

/// bf16 (ConvPatchTileKernels.cu): see patchGemmForward and
/// patchGemmGradWeight.
std::string tileForward(CudaContext &ctx, const cpu::Window &w,
                        const cpu::TensorView &input,
                        const cpu::TensorView &weight,
                        const cpu::TensorView *bias, cpu::TensorView &result);
std::string tileGradWeight(CudaContext &ctx, const cpu::Window &w,
                           const cpu::TensorView &input,
                           const cpu::TensorView &grad,
                           cpu::TensorView &result);

} // namespace var::cuda::patch

#endif // VAR_RUNTIME_CUDA_CONVPATCHSHARED_CUH
