// The workspace copies of channels-last cuDNN convolutions (see
// ConvScratchKernels.h): the filter between the plan's (O, C, taps) and
// cuDNN's KRSC (O, taps, Cp), the activations between (rows, C) and
// (rows, Cp). The copies move bits (zeros are +0 in f32 and bf16), so
// they are exact and deterministic.
#include "runtime/cuda/ConvScratchKernels.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <type_traits>

namespace var::cuda {

using cpu::Window;

int64_t cudnnInputChannels(const Window &w, plan::DType dtype) {
  int64_t align = 16 / plan::getDTypeBytes(dtype); // channels in 16 bytes
  if (!w.channelsLast || w.groups != 1 || w.inChannels > kMaxPaddedChannels ||
      w.inChannels % align == 0)
    return w.inChannels;
  return (w.inChannels + align - 1) / align * align;
}

ConvScratch convScratchOf(const Window &w, plan::DType dtype) {
  ConvScratch s;
  s.outChannels = w.outChannels;
  s.channels = w.inChannels / w.groups;
  s.paddedChannels = cudnnInputChannels(w, dtype) / w.groups;
  s.taps = cpu::product(w.kernel);
  s.rows = w.batch * cpu::product(w.in);
  s.elementBytes = static_cast<size_t>(plan::getDTypeBytes(dtype));
  s.channelPadding = s.paddedChannels != s.channels;
  s.filterCopy = w.channelsLast && s.outChannels * s.channels * s.taps > 0 &&
                 (s.channelPadding || (s.channels > 1 && s.taps > 1));
  return s;
}

namespace {

/// The plan's (O, C, taps) filter into cuDNN's (O, taps, Cp), zeros in
/// channels C..Cp-1; one thread an element of the copy (n of them).
template <typename T>
__global__ void toCudnnFilterKernel(const T *from, T *to, int64_t channels,
                                    int64_t padded, int64_t taps, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t c = i % padded, t = i / padded % taps, o = i / (padded * taps);
    to[i] = c < channels ? from[(o * channels + c) * taps + t] : T(0);
  }
}

/// cuDNN's (O, taps, Cp) filter, its first C channels, into the plan's
/// (O, C, taps); one thread an element of the plan's filter (n of them).
template <typename T>
__global__ void fromCudnnFilterKernel(const T *from, T *to, int64_t channels,
                                      int64_t padded, int64_t taps, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t t = i % taps, c = i / taps % channels, o = i / (channels * taps);
    to[i] = from[(o * taps + t) * padded + c];
  }
}

/// (rows, C) into (rows, Cp), zeros in channels C..Cp-1: one thread a
/// 16-byte chunk of the copy (8 bf16 or 4 f32 channels; Cp is a multiple),
/// written with one store; the input, at any element address, read element
/// by element (a warp's reads are still consecutive: 32 chunks cover
/// 32 * 16 / (Cp * sizeof(T)) rows).
template <typename T>
__global__ void padChannelsKernel(const T *from, uint4 *to, int64_t channels,
                                  int64_t padded, int64_t chunks) {
  constexpr int kPer = 16 / sizeof(T);
  int64_t chunksPerRow = padded / kPer;
  VAR_GRID_STRIDE(i, chunks) {
    int64_t row = i / chunksPerRow, first = i % chunksPerRow * kPer;
    union {
      T element[kPer];
      uint4 bits;
    } chunk;
#pragma unroll
    for (int k = 0; k < kPer; ++k)
      chunk.element[k] =
          first + k < channels ? from[row * channels + first + k] : T(0);
    to[i] = chunk.bits;
  }
}

/// (rows, Cp), its first C channels, into (rows, C); one thread an element
/// of the result (n of them).
template <typename T>
__global__ void unpadChannelsKernel(const T *from, T *to, int64_t channels,
                                    int64_t padded, int64_t n) {
  VAR_GRID_STRIDE(i, n) { to[i] = from[i / channels * padded + i % channels]; }
}

/// One thread an element of the spread gradient (n of them).
template <typename T>
__global__ void spreadFramesKernel(const T *grad, T *spread, int64_t outFrames,
                                   int64_t frames, int64_t stride, int64_t row,
                                   int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t within = i % row, u = i / row % frames, sample = i / (row * frames);
    int64_t t = u / stride;
    spread[i] = u % stride == 0 && t < outFrames
                    ? grad[(sample * outFrames + t) * row + within]
                    : T(0);
  }
}

/// One thread an element of the flipped filter (n of them).
template <typename T>
__global__ void flipFilterKernel(const T *filter, T *flipped,
                                 int64_t outChannels, int64_t channels,
                                 int64_t taps, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t t = i % taps, k = i / taps % outChannels,
            c = i / (taps * outChannels);
    flipped[i] = filter[(k * channels + c) * taps + taps - 1 - t];
  }
}

/// Calls `launch` with a null pointer of the unsigned type `elementBytes`
/// wide (the copies move bits, not values).
template <typename Launch>
std::string byElementWidth(size_t elementBytes, Launch launch) {
  if (elementBytes == 2)
    launch(static_cast<uint16_t *>(nullptr));
  else
    launch(static_cast<uint32_t *>(nullptr));
  VAR_CUDA_LAUNCHED();
  return {};
}

/// Calls `launch` with a null pointer of the unsigned type as wide as the
/// elements of `s` (the copies move bits, not values).
template <typename Launch>
std::string byElementWidth(const ConvScratch &s, Launch launch) {
  return byElementWidth(s.elementBytes, launch);
}

} // namespace

std::string toCudnnFilter(CudaContext &ctx, const ConvScratch &s,
                          const void *filter, void *copy) {
  int64_t n = s.outChannels * s.taps * s.paddedChannels;
  return byElementWidth(s, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    toCudnnFilterKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(filter), static_cast<T *>(copy), s.channels,
        s.paddedChannels, s.taps, n);
  });
}

std::string fromCudnnFilter(CudaContext &ctx, const ConvScratch &s,
                            const void *copy, void *filter) {
  int64_t n = s.outChannels * s.channels * s.taps;
  return byElementWidth(s, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    fromCudnnFilterKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(copy), static_cast<T *>(filter), s.channels,
        s.paddedChannels, s.taps, n);
  });
}

std::string padChannels(CudaContext &ctx, const ConvScratch &s,
                        const void *input, void *copy) {
  int64_t chunks =
      s.rows * s.paddedChannels * static_cast<int64_t>(s.elementBytes) / 16;
  return byElementWidth(s, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    padChannelsKernel<<<blocksFor(chunks), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(input), static_cast<uint4 *>(copy), s.channels,
        s.paddedChannels, chunks);
  });
}

std::string unpadChannels(CudaContext &ctx, const ConvScratch &s,
                          const void *copy, void *input) {
  int64_t n = s.rows * s.channels;
  return byElementWidth(s, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    unpadChannelsKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(copy), static_cast<T *>(input), s.channels,
        s.paddedChannels, n);
  });
}

std::string spreadFrames(CudaContext &ctx, const void *grad, void *spread,
                         int64_t count, int64_t outFrames, int64_t frames,
                         int64_t stride, int64_t plane, int64_t channels,
                         size_t elementBytes) {
  int64_t row = plane * channels, n = count * frames * row;
  return byElementWidth(elementBytes, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    spreadFramesKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(grad), static_cast<T *>(spread), outFrames,
        frames, stride, row, n);
  });
}

std::string flipFilter(CudaContext &ctx, const void *filter, void *flipped,
                       int64_t outChannels, int64_t channels, int64_t taps,
                       size_t elementBytes) {
  int64_t n = outChannels * channels * taps;
  return byElementWidth(elementBytes, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    flipFilterKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(filter), static_cast<T *>(flipped), outChannels,
        channels, taps, n);
  });
}

} // namespace var::cuda
