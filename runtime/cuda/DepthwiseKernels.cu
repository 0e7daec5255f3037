// Channels-last depthwise convolutions (DepthwiseKernels.h). The tile
// kernels (DepthwiseTileKernels.cu) take the common windows of channel
// counts divisible by 8 on 16-byte aligned tensors; the other shapes take
// the general kernels here, which put V = 4, 2 or 1 consecutive channels on
// a thread. Either way consecutive threads own consecutive channels, so
// that a warp reads and writes contiguous memory; products accumulate in
// f32 and round once into the result. The backward filter sums fixed tiles
// of output positions into per-chunk partials, then the partials in a fixed
// order: no atomics, the same bits every run.
#include "runtime/cuda/DepthwiseKernels.h"
#include "runtime/cuda/DepthwiseShared.cuh"

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <type_traits>

namespace var::cuda {

using cpu::TensorView;
using cpu::Window;
using depthwise::Geometry;

namespace {

using namespace depthwise;

/// V elements loaded or stored as one access.
template <typename T, int V> struct alignas(sizeof(T) * V) Pack { T v[V]; };

template <typename T, int V> __device__ inline Pack<T, V> load(const T *at) {
  return *reinterpret_cast<const Pack<T, V> *>(at);
}

/// Rounds `acc` into V consecutive elements at `to`.
template <typename T, int V>
__device__ inline void storePack(const float (&acc)[V], T *to) {
  Pack<T, V> p;
#pragma unroll
  for (int v = 0; v < V; ++v)
    fromFloat(acc[v], p.v[v]);
  *reinterpret_cast<Pack<T, V> *>(to) = p;
}

/// Row `row` = (n, d, h) of a tensor with `depth` x `height` rows a sample
/// (isDepthwise keeps row counts below 2^31: 32-bit divisions).
struct Row {
  int64_t n;
  int d, h;
};
__device__ inline Row splitRow(int64_t row, int depth, int height) {
  unsigned at = static_cast<unsigned>(row);
  Row r;
  r.h = static_cast<int>(at % height);
  at /= height;
  r.d = static_cast<int>(at % depth);
  r.n = at / depth;
  return r;
}

// ---- General kernels -----------------------------------------------------

/// Forward: block (x: output row (n, od, oh); y: a slice of the row), one
/// thread an (ow, pack of V channels) of the row, consecutive threads
/// consecutive packs. Input rows outside the input (padding) are skipped,
/// uniformly across the block; the 3x3 neighbourhood of adjacent threads
/// overlaps, so most input reads hit L1.
template <typename T, int V>
__global__ void forwardKernel(const T *x, const T *wt, T *y, Geometry g) {
  int64_t row = blockIdx.x;
  Row r = splitRow(row, g.out[0], g.out[1]);
  int packs = g.channels / V, work = g.out[2] * packs;
  T *yRow = y + row * work * V;
  for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < work;
       j += gridDim.y * blockDim.x) {
    int ow = j / packs, c = (j - ow * packs) * V;
    float acc[V] = {};
    for (int kd = 0; kd < g.kernel[0]; ++kd) {
      int id = r.d * g.stride[0] - g.padding[0] + kd * g.dilation[0];
      if (id < 0 || id >= g.in[0])
        continue;
      for (int kh = 0; kh < g.kernel[1]; ++kh) {
        int ih = r.h * g.stride[1] - g.padding[1] + kh * g.dilation[1];
        if (ih < 0 || ih >= g.in[1])
          continue;
        const T *xRow =
            x + ((r.n * g.in[0] + id) * g.in[1] + ih) * g.in[2] * g.channels +
            c;
        const T *wRow =
            wt + (kd * g.kernel[1] + kh) * g.kernel[2] * g.channels + c;
        for (int kw = 0; kw < g.kernel[2]; ++kw) {
          int iw = ow * g.stride[2] - g.padding[2] + kw * g.dilation[2];
          if (iw < 0 || iw >= g.in[2])
            continue;
          Pack<T, V> xv =
              load<T, V>(xRow + static_cast<int64_t>(iw) * g.channels);
          Pack<T, V> wv = load<T, V>(wRow + kw * g.channels);
#pragma unroll
          for (int v = 0; v < V; ++v)
            acc[v] = fmaf(toFloat(xv.v[v]), toFloat(wv.v[v]), acc[v]);
        }
      }
    }
    storePack<T, V>(acc, yRow + static_cast<int64_t>(ow) * g.channels + c);
  }
}

/// The output index reached from input index `i` by tap `k` along one
/// dimension, or -1: o * stride - padding + k * dilation = i.
__device__ inline int sourceOf(int i, int k, int stride, int padding,
                               int dilation, int outSize) {
  int t = i + padding - k * dilation;
  if (stride == 1) // most windows: no division
    return t >= 0 && t < outSize ? t : -1;
  if (t < 0 || t % stride != 0 || t / stride >= outSize)
    return -1;
  return t / stride;
}

/// Backward data, the transposed window: block (x: input row (n, id, ih);
/// y: a slice of the row), one thread an (iw, pack) of the row, gathering
/// dY * W over the taps whose window covers it (no atomics).
template <typename T, int V>
__global__ void gradInputKernel(const T *dy, const T *wt, T *dx, Geometry g) {
  int64_t row = blockIdx.x;
  Row r = splitRow(row, g.in[0], g.in[1]);
  int packs = g.channels / V, work = g.in[2] * packs;
  T *dxRow = dx + row * work * V;
  for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < work;
       j += gridDim.y * blockDim.x) {
    int iw = j / packs, c = (j - iw * packs) * V;
    float acc[V] = {};
    for (int kd = 0; kd < g.kernel[0]; ++kd) {
      int od =
          sourceOf(r.d, kd, g.stride[0], g.padding[0], g.dilation[0], g.out[0]);
      if (od < 0)
        continue;
      for (int kh = 0; kh < g.kernel[1]; ++kh) {
        int oh = sourceOf(r.h, kh, g.stride[1], g.padding[1], g.dilation[1],
                          g.out[1]);
        if (oh < 0)
          continue;
        const T *dyRow =
            dy +
            ((r.n * g.out[0] + od) * g.out[1] + oh) * g.out[2] * g.channels + c;
        const T *wRow =
            wt + (kd * g.kernel[1] + kh) * g.kernel[2] * g.channels + c;
        for (int kw = 0; kw < g.kernel[2]; ++kw) {
          int ow = sourceOf(iw, kw, g.stride[2], g.padding[2], g.dilation[2],
                            g.out[2]);
          if (ow < 0)
            continue;
          Pack<T, V> dv =
              load<T, V>(dyRow + static_cast<int64_t>(ow) * g.channels);
          Pack<T, V> wv = load<T, V>(wRow + kw * g.channels);
#pragma unroll
          for (int v = 0; v < V; ++v)
            acc[v] = fmaf(toFloat(dv.v[v]), toFloat(wv.v[v]), acc[v]);
        }
      }
    }
    storePack<T, V>(acc, dxRow + static_cast<int64_t>(iw) * g.channels + c);
  }
}

/// Threads of a backward-filter pass-1 block: blockDim.x (pairs) times
/// blockDim.y (ways) is at most this.
constexpr int kPartialThreads = 256;

/// Backward filter, pass 1: block (x: a chunk of `rowsPerChunk` output
/// rows; y: a slice of the (tap, pack) pairs, numbered tap * packs + pack
/// so that a warp reads consecutive channels). Thread (x, y) sums dY * X of
/// its pair over the chunk's rows, ow in the y-th of blockDim.y equal
/// parts of the row (more threads on a chunk where channels are few); the
/// parts are then summed in order of y into partial[chunk][tap][channel].
template <typename T, int V>
__global__ void gradWeightPartialKernel(const T *x, const T *dy, float *partial,
                                        Geometry g, int rowsPerChunk) {
  __shared__ float parts[kPartialThreads * V];
  int packs = g.channels / V, taps = g.taps();
  int pair = blockIdx.y * blockDim.x + threadIdx.x;
  bool active = pair < taps * packs;
  int tap = pair / packs, c = (pair - tap * packs) * V;
  int kw = tap % g.kernel[2], kh = tap / g.kernel[2] % g.kernel[1],
      kd = tap / (g.kernel[2] * g.kernel[1]);
  int64_t first = static_cast<int64_t>(blockIdx.x) * rowsPerChunk;
  int64_t last = active ? min(g.outRows(), first + rowsPerChunk) : first;
  // This thread's part of the row, within the ow range whose tap kw lands
  // inside the input.
  int shift = kw * g.dilation[2] - g.padding[2];
  int owBegin = shift >= 0 ? 0 : (-shift + g.stride[2] - 1) / g.stride[2];
  int owEnd = g.in[2] - 1 - shift < 0
                  ? 0
                  : min(g.out[2], (g.in[2] - 1 - shift) / g.stride[2] + 1);
  owBegin = max(owBegin, g.out[2] * static_cast<int>(threadIdx.y) /
                             static_cast<int>(blockDim.y));
  owEnd = min(owEnd, g.out[2] * static_cast<int>(threadIdx.y + 1) /
                         static_cast<int>(blockDim.y));
  float acc[V] = {};
  for (int64_t row = first; row < last; ++row) {
    Row r = splitRow(row, g.out[0], g.out[1]);
    int id = r.d * g.stride[0] - g.padding[0] + kd * g.dilation[0];
    int ih = r.h * g.stride[1] - g.padding[1] + kh * g.dilation[1];
    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1])
      continue;
    const T *xRow =
        x + ((r.n * g.in[0] + id) * g.in[1] + ih) * g.in[2] * g.channels + c;
    const T *dyRow = dy + row * g.out[2] * g.channels + c;
#pragma unroll 4
    for (int ow = owBegin; ow < owEnd; ++ow) {
      Pack<T, V> xv = load<T, V>(
          xRow + static_cast<int64_t>(ow * g.stride[2] + shift) * g.channels);
      Pack<T, V> dv = load<T, V>(dyRow + static_cast<int64_t>(ow) * g.channels);
#pragma unroll
      for (int v = 0; v < V; ++v)
        acc[v] = fmaf(toFloat(dv.v[v]), toFloat(xv.v[v]), acc[v]);
    }
  }
  int self = threadIdx.y * blockDim.x + threadIdx.x;
#pragma unroll
  for (int v = 0; v < V; ++v)
    parts[self * V + v] = acc[v];
  __syncthreads();
  if (threadIdx.y != 0 || !active)
    return;
  Pack<float, V> p;
#pragma unroll
  for (int v = 0; v < V; ++v) {
    p.v[v] = parts[threadIdx.x * V + v];
    for (unsigned y = 1; y < blockDim.y; ++y)
      p.v[v] += parts[(y * blockDim.x + threadIdx.x) * V + v];
  }
  *reinterpret_cast<Pack<float, V> *>(
      partial + (static_cast<int64_t>(blockIdx.x) * taps + tap) * g.channels +
      c) = p;
}

/// Threads of a block over `work` items: whole warps, at most kThreads.
unsigned threadsFor(int64_t work) {
  int64_t warps = (work + 31) / 32;
  return static_cast<unsigned>(warps >= kThreads / 32 ? kThreads
                               : warps < 1            ? 32
                                                      : warps * 32);
}

/// The widest pack (4, 2 or 1 elements) that divides the channels and
/// keeps every access of `pointers` aligned.
int packWidth(int channels, size_t elementBytes,
              std::initializer_list<const void *> pointers) {
  for (int v : {4, 2}) {
    bool aligned = channels % v == 0;
    for (const void *p : pointers)
      aligned =
          aligned && reinterpret_cast<uintptr_t>(p) % (v * elementBytes) == 0;
    if (aligned)
      return v;
  }
  return 1;
}

/// Calls fn(T{}, std::integral_constant<int, V>{}) with the element type
/// of `dtype` and pack width `v`.
template <typename Fn> void dispatch(plan::DType dtype, int v, Fn fn) {
  auto withWidth = [&](auto element) {
    if (v == 4)
      fn(element, std::integral_constant<int, 4>{});
    else if (v == 2)
      fn(element, std::integral_constant<int, 2>{});
    else
      fn(element, std::integral_constant<int, 1>{});
  };
  if (dtype == plan::DType::BF16)
    withWidth(uint16_t{});
  else
    withWidth(float{});
}

/// The grid of the forward and backward-data kernels: one block row per
/// tensor row, enough slices of the row for one item a thread.
dim3 rowGrid(int64_t rows, int64_t work, unsigned threads) {
  int64_t slices = (work + threads - 1) / threads;
  return dim3(static_cast<unsigned>(rows),
              static_cast<unsigned>(slices > 65535 ? 65535 : slices));
}

} // namespace

bool isDepthwise(const Window &w) {
  if (!w.channelsLast || w.groups != w.inChannels ||
      w.groups != w.outChannels || w.inChannels > INT_MAX)
    return false;
  int64_t rows = w.batch * std::max(w.in[0] * w.in[1], w.out[0] * w.out[1]);
  for (int d = 0; d < 3; ++d)
    for (int64_t v : {w.in[d], w.out[d], w.kernel[d], w.stride[d],
                      w.padding[d] + w.in[d], w.dilation[d] * w.kernel[d]})
      if (v > INT_MAX / 2)
        return false;
  int64_t rowElements = std::max(w.in[2], w.out[2]) * w.inChannels;
  return rows < INT_MAX && rowElements < INT_MAX &&
         cpu::product(w.kernel) * w.inChannels < INT_MAX;
}

std::string depthwiseForward(CudaContext &ctx, const Window &w,
                             const TensorView &input, const TensorView &weight,
                             TensorView &result) {
  Geometry g = geometryOf(w);
  int64_t rows = g.outRows();
  if (rows == 0)
    return {};
  std::string error;
  if (forwardByTiles(ctx, g, input, weight, result, error))
    return error;
  int v = packWidth(g.channels, plan::getDTypeBytes(input.dtype),
                    {input.data, result.data});
  int64_t work = static_cast<int64_t>(g.out[2]) * (g.channels / v);
  unsigned threads = threadsFor(work);
  dispatch(input.dtype, v, [&](auto element, auto width) {
    using T = decltype(element);
    const T *wt = nullptr;
    if (!(error = transposedFilter<T>(ctx, g, weight, &wt)).empty())
      return;
    forwardKernel<T, decltype(width)::value>
        <<<rowGrid(rows, work, threads), threads, 0, ctx.stream>>>(
            static_cast<const T *>(input.data), wt,
            static_cast<T *>(result.data), g);
  });
  if (!error.empty())
    return error;
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string depthwiseGradInput(CudaContext &ctx, const Window &w,
                               const TensorView &grad, const TensorView &weight,
                               TensorView &result) {
  Geometry g = geometryOf(w);
  int64_t rows = g.inRows();
  if (rows == 0)
    return {};
  std::string error;
  if (gradInputByTiles(ctx, g, grad, weight, result, error))
    return error;
  int v = packWidth(g.channels, plan::getDTypeBytes(grad.dtype),
                    {grad.data, result.data});
  int64_t work = static_cast<int64_t>(g.in[2]) * (g.channels / v);
  unsigned threads = threadsFor(work);
  dispatch(grad.dtype, v, [&](auto element, auto width) {
    using T = decltype(element);
    const T *wt = nullptr;
    if (!(error = transposedFilter<T>(ctx, g, weight, &wt)).empty())
      return;
    gradInputKernel<T, decltype(width)::value>
        <<<rowGrid(rows, work, threads), threads, 0, ctx.stream>>>(
            static_cast<const T *>(grad.data), wt,
            static_cast<T *>(result.data), g);
  });
  if (!error.empty())
    return error;
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string depthwiseGradWeight(CudaContext &ctx, const Window &w,
                                const TensorView &input, const TensorView &grad,
                                TensorView &result) {
  Geometry g = geometryOf(w);
  if (std::string error; gradWeightByTiles(ctx, g, input, grad, result, error))
    return error;
  int64_t rows = g.outRows();
  int v = packWidth(g.channels, plan::getDTypeBytes(input.dtype),
                    {input.data, grad.data});
  int64_t pairs = static_cast<int64_t>(g.taps()) * (g.channels / v);
  unsigned pairThreads = threadsFor(std::min<int64_t>(pairs, 128));
  unsigned ways = kPartialThreads / pairThreads;
  int64_t slices = (pairs + pairThreads - 1) / pairThreads;
  // Chunks of at least 64 positions a thread, and at most 1024 chunks (the
  // second pass then sums at most 64 partials a thread): a function of the
  // shape alone, so that the order of the sums does not depend on the
  // device.
  int64_t rowsPerChunk = std::max<int64_t>(
      {1, (rows + 1023) / 1024,
       (64 * static_cast<int64_t>(ways) + g.out[2] - 1) / g.out[2]});
  int64_t chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  int64_t count = static_cast<int64_t>(g.channels) * g.taps();
  if (slices > 65535 || rowsPerChunk > INT_MAX)
    return "depthwise convolution too large for the backward-filter kernel";
  void *memory = nullptr;
  if (std::string error =
          ctx.getWorkspace(std::max<int64_t>(chunks * count * 4, 4), &memory);
      !error.empty())
    return error;
  float *partial = static_cast<float *>(memory);
  dispatch(input.dtype, v, [&](auto element, auto width) {
    using T = decltype(element);
    if (chunks > 0)
      gradWeightPartialKernel<T, decltype(width)::value>
          <<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(slices)),
             dim3(pairThreads, ways), 0, ctx.stream>>>(
              static_cast<const T *>(input.data),
              static_cast<const T *>(grad.data), partial, g,
              static_cast<int>(rowsPerChunk));
    sumPartials<T>(ctx, g, partial, chunks, result);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace var::cuda
