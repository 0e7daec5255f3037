// What the two families of channels-last depthwise kernels share: the
// general kernels (DepthwiseKernels.cu) and the tile kernels
// (DepthwiseTileKernels.cu, which DepthwiseKernels.cu tries first): the
// window as both read it, the transposed filter copy, the backward filter's
// fixed-order second pass, and the tile kernels' entry points.
#ifndef VAR_RUNTIME_CUDA_DEPTHWISESHARED_CUH
#define VAR_RUNTIME_CUDA_DEPTHWISESHARED_CUH

#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <string>

namespace var::cuda::depthwise {

/// The window as the kernels read it: (D, H, W) sizes, 1-D and 2-D
/// windows padded with leading unit dimensions as in cpu::Window.
struct Geometry {
  int channels = 0;
  int in[3] = {}, out[3] = {}, kernel[3] = {};
  int stride[3] = {}, padding[3] = {}, dilation[3] = {};
  int64_t batch = 0;
  __host__ __device__ int taps() const {
    return kernel[0] * kernel[1] * kernel[2];
  }
  /// (n, d, h) rows of the output and the input.
  __host__ __device__ int64_t outRows() const {
    return batch * out[0] * out[1];
  }
  __host__ __device__ int64_t inRows() const { return batch * in[0] * in[1]; }
};

inline Geometry geometryOf(const cpu::Window &w) {
  Geometry g;
  g.channels = static_cast<int>(w.inChannels);
  g.batch = w.batch;
  for (int d = 0; d < 3; ++d) {
    g.in[d] = static_cast<int>(w.in[d]);
    g.out[d] = static_cast<int>(w.out[d]);
    g.kernel[d] = static_cast<int>(w.kernel[d]);
    g.stride[d] = static_cast<int>(w.stride[d]);
    g.padding[d] = static_cast<int>(w.padding[d]);
    g.dilation[d] = static_cast<int>(w.dilation[d]);
  }
  return g;
}

/// The tile kernels (DepthwiseTileKernels.cu) on a window and tensors they
/// take: true, with `error` what the launch gave; false (nothing launched)
/// where the general kernels must run instead.
bool forwardByTiles(CudaContext &ctx, const Geometry &g,
                    const cpu::TensorView &input, const cpu::TensorView &weight,
                    cpu::TensorView &result, std::string &error);
bool gradInputByTiles(CudaContext &ctx, const Geometry &g,
                      const cpu::TensorView &grad,
                      const cpu::TensorView &weight, cpu::TensorView &result,
                      std::string &error);
bool gradWeightByTiles(CudaContext &ctx, const Geometry &g,
                       const cpu::TensorView &input,
                       const cpu::TensorView &grad, cpu::TensorView &result,
                       std::string &error);

// The kernels below are each file's own (internal linkage): a kernel
// instantiated in two files would otherwise be registered twice.
namespace {

__device__ inline float toFloat(float v) { return v; }
__device__ inline float toFloat(uint16_t v) { return bf16BitsToFloat(v); }
__device__ inline void fromFloat(float v, float &to) { to = v; }
__device__ inline void fromFloat(float v, uint16_t &to) {
  to = floatToBf16Bits(v);
}

/// The plan's (C, 1, taps) filter as (taps, C) in element type U, read a
/// pack at a time.
template <typename T, typename U>
__global__ void transposeFilterKernel(const T *w, U *to, int channels,
                                      int taps) {
  VAR_GRID_STRIDE(i, static_cast<int64_t>(channels) * taps) {
    int64_t c = i % channels, tap = i / channels;
    fromFloat(toFloat(w[c * taps + tap]), to[i]);
  }
}

/// The (taps, C) copy of the filter (element type T) in the workspace, as
/// U, so that a thread's channels of a tap are one load: U = T for the
/// general kernels, f32 for the tile kernels (no conversion in the loop).
template <typename T, typename U>
std::string transposedFilter(CudaContext &ctx, const Geometry &g,
                             const cpu::TensorView &weight, const U **wt) {
  int64_t count = static_cast<int64_t>(g.channels) * g.taps();
  void *memory = nullptr;
  if (std::string error =
          ctx.getWorkspace(count * static_cast<int64_t>(sizeof(U)), &memory);
      !error.empty())
    return error;
  transposeFilterKernel<<<blocksFor(count), kThreads, 0, ctx.stream>>>(
      static_cast<const T *>(weight.data), static_cast<U *>(memory), g.channels,
      g.taps());
  VAR_CUDA_LAUNCHED();
  *wt = static_cast<const U *>(memory);
  return {};
}

/// Pass 2 geometry: kSumLanes consecutive (tap, channel) elements a block,
/// kSumWays threads each, thread y summing chunks y, y + kSumWays, ... in
/// order, then thread y = 0 the kSumWays sums in order.
constexpr int kSumLanes = 32, kSumWays = 16;

/// Backward filter, pass 2: dW[c][tap] = the partials of (tap, c) summed
/// over the chunks in a fixed order (fixed by the constants above, not by
/// the device), rounded once.
template <typename T>
__global__ void gradWeightSumKernel(const float *partial, T *dw, int64_t chunks,
                                    int channels, int taps) {
  __shared__ float sums[kSumWays][kSumLanes];
  int64_t count = static_cast<int64_t>(channels) * taps;
  int64_t i = static_cast<int64_t>(blockIdx.x) * kSumLanes + threadIdx.x;
  float sum = 0.0f;
  if (i < count)
#pragma unroll 8
    for (int64_t k = threadIdx.y; k < chunks; k += kSumWays)
      sum += partial[k * count + i];
  sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || i >= count)
    return;
  float total = 0.0f;
  for (int y = 0; y < kSumWays; ++y)
    total += sums[y][threadIdx.x];
  int64_t c = i % channels, tap = i / channels;
  fromFloat(total, dw[c * taps + tap]);
}

/// Pass 2 of a backward filter: dW (`result`, element type T) from the
/// `chunks` partials of each (tap, channel) at `partial`.
template <typename T>
void sumPartials(CudaContext &ctx, const Geometry &g, const float *partial,
                 int64_t chunks, cpu::TensorView &result) {
  int64_t count = static_cast<int64_t>(g.channels) * g.taps();
  gradWeightSumKernel<T>
      <<<static_cast<unsigned>((count + kSumLanes - 1) / kSumLanes),
         dim3(kSumLanes, kSumWays), 0, ctx.stream>>>(
          partial, static_cast<T *>(result.data), chunks, g.channels, g.taps());
}

} // namespace
} // namespace var::cuda::depthwise

#endif
