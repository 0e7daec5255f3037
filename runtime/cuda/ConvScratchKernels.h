// The copies a channels-last cuDNN convolution (ConvKernels.cu) works on in
// the workspace, ahead of cuDNN's own part: the filter in cuDNN's KRSC
// layout, and for inputs with a few channels (the RGB stem) the activations
// with their channels zero-padded to 16 bytes a pixel.
#ifndef VAR_RUNTIME_CUDA_CONVSCRATCHKERNELS_H
#define VAR_RUNTIME_CUDA_CONVSCRATCHKERNELS_H

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"

#include <string>

namespace var::cuda {

/// Padding stops at 16 channels: the stems (1, 3, 4 or 5 channels) are the
/// convolutions it is for; wider odd counts (R(2+1)D's 45, 230, 460, 921
/// mid-planes) have not been measured with it.
constexpr int64_t kMaxPaddedChannels = 16;

/// The input channels cuDNN runs the convolution `w` in `dtype` with. A
/// channels-last input of one group whose channels do not fill whole 16
/// bytes a pixel (C_in % 8 != 0 in bf16, C_in % 4 != 0 in f32) and are at
/// most kMaxPaddedChannels is zero-padded to the next multiple: cuDNN has
/// no fast NHWC kernel for such channel counts (vgg's 3 -> 64 stem ran at
/// 7 TFLOP/s on an H200, the other convolutions at 150-450), and the zero
/// channels add exact zeros to every sum. Other convolutions keep C_in.
int64_t cudnnInputChannels(const cpu::Window &w, plan::DType dtype);

/// The workspace copies of one channels-last convolution. Layout, each part
/// 256-byte aligned: the filter as cuDNN reads or writes it, (O, taps, Cp),
/// when filterCopy; then the input (or, backward data, its gradient) as
/// cuDNN reads or writes it, (rows, Cp), when channelPadding; then cuDNN's
/// own workspace. C = I / groups, Cp = cudnnInputChannels / groups,
/// taps = prod(kernel), rows = N * prod(input spatial).
///
/// The plan keeps weights (O, I/groups, k...) (optimizer, checkpoints and
/// ZeRO buckets do not know layouts), but cuDNN's NHWC tensor-core kernels
/// (and most of its NHWC kernels at all) take the filter in KRSC format
/// only: an NCHW filter beside NHWC activations leaves few or no engines.
/// So the forward and backward data read a KRSC copy, and the backward
/// filter writes KRSC and is copied back into the plan's layout (the first
/// C channels of each filter): a weight is small beside the activations.
/// Depthwise (C = 1) and one-tap filters are the same in both layouts and
/// need no copy unless padded.
struct ConvScratch {
  int64_t outChannels = 0, channels = 0, paddedChannels = 0, taps = 0;
  int64_t rows = 0;
  size_t elementBytes = 0;
  bool filterCopy = false;
  bool channelPadding = false; // Cp > C: the input runs through a copy

  static size_t aligned(int64_t bytes) {
    return (static_cast<size_t>(bytes) + 255) / 256 * 256;
  }
  size_t filterBytes() const {
    return filterCopy ? aligned(outChannels * taps * paddedChannels *
                                static_cast<int64_t>(elementBytes))
                      : 0;
  }
  size_t inputBytes() const {
    return channelPadding ? aligned(rows * paddedChannels *
                                    static_cast<int64_t>(elementBytes))
                          : 0;
  }
  /// Workspace bytes ahead of cuDNN's.
  size_t reservedBytes() const { return filterBytes() + inputBytes(); }
};

/// The copies of the convolution `w` whose tensors are all of `dtype`.
ConvScratch convScratchOf(const cpu::Window &w, plan::DType dtype);

/// The plan's (O, C, taps) `filter` into cuDNN's (O, taps, Cp) `copy`,
/// zeros in channels C..Cp-1.
std::string toCudnnFilter(CudaContext &ctx, const ConvScratch &s,
                          const void *filter, void *copy);

/// The first C channels of cuDNN's (O, taps, Cp) `copy` into the plan's
/// (O, C, taps) `filter`.
std::string fromCudnnFilter(CudaContext &ctx, const ConvScratch &s,
                            const void *copy, void *filter);

/// The (rows, C) `input` into the (rows, Cp) `copy`, zeros in channels
/// C..Cp-1. `input` may start at any element; `copy` 16-byte aligned.
std::string padChannels(CudaContext &ctx, const ConvScratch &s,
                        const void *input, void *copy);

/// The first C channels of each row of the (rows, Cp) `copy` into the
/// (rows, C) `input` (any element address).
std::string unpadChannels(CudaContext &ctx, const ConvScratch &s,
                          const void *copy, void *input);

/// A strided convolution's output gradient spread for backward data as a
/// forward convolution: frames (D) u = 0, s, 2s, ... of `spread`'s `frames`
/// hold the (count, outFrames, plane, K) `grad`'s frames 0, 1, 2, ...; the
/// others, and those past the gradient's, are zeros. `elementBytes` wide
/// elements, moved as bits.
std::string spreadFrames(CudaContext &ctx, const void *grad, void *spread,
                         int64_t count, int64_t outFrames, int64_t frames,
                         int64_t stride, int64_t plane, int64_t channels,
                         size_t elementBytes);

/// The plan's (K, C, taps) `filter` flipped along its taps with K and C
/// swapped: `flipped` (C, K, taps), element [c][k][t] = filter[k][c][taps -
/// 1 - t].
std::string flipFilter(CudaContext &ctx, const void *filter, void *flipped,
                       int64_t outChannels, int64_t channels, int64_t taps,
                       size_t elementBytes);

} // namespace var::cuda

#endif
