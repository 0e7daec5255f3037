// Channels-last depthwise convolutions (DepthwiseKernels.h). The tile
// kernels take the common windows (3x3 and 5x5, stride 1 or 2, any
// padding; 1xkxk and 3x1x1 3-D windows, read as 2-D ones) of channel counts
// divisible by 8 on 16-byte aligned tensors: a thread owns 8 consecutive
// channels (one 16-byte access of bf16) of kRun consecutive columns, loads
// each input column its outputs need once and keeps the filter taps of a
// window row in registers. Other shapes take the general kernels, which
// put V = 4, 2 or 1 consecutive channels on a thread. Either way
// consecutive threads own consecutive channels, so that a warp reads and
// writes contiguous memory; products accumulate in f32 and round once into
// the result. The backward filter sums fixed tiles of output positions
// into per-chunk partials, then the partials in a fixed order: no atomics,
// the same bits every run.
#include "runtime/cuda/DepthwiseKernels.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <type_traits>

namespace var::cuda {

using cpu::TensorView;
using cpu::Window;

namespace {

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

Geometry geometryOf(const Window &w) {
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

/// V elements loaded or stored as one access.
template <typename T, int V> struct alignas(sizeof(T) * V) Pack { T v[V]; };

template <typename T, int V> __device__ inline Pack<T, V> load(const T *at) {
  return *reinterpret_cast<const Pack<T, V> *>(at);
}

__device__ inline float toFloat(float v) { return v; }
__device__ inline float toFloat(uint16_t v) { return bf16BitsToFloat(v); }
__device__ inline void fromFloat(float v, float &to) { to = v; }
__device__ inline void fromFloat(float v, uint16_t &to) {
  to = floatToBf16Bits(v);
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

// ---- Tile kernels --------------------------------------------------------

/// The convolution as the tile kernels see it: `planes` independent
/// (H, W, C) images and a kernelH x kernelW window without dilation. A
/// 2-D window, or a 3-D one of depth 1 (1 x k x k), folds the depth into
/// the planes; a k x 1 x 1 one reads each sample's (D, H * W) as (H, W).
/// planeOf keeps planes * H rows and W * C row elements below 2^31.
struct Plane {
  int planes = 0, channels = 0;
  int inH = 0, inW = 0, outH = 0, outW = 0;
  int padH = 0, padW = 0;
  int kernelH = 0, kernelW = 0, strideH = 0, strideW = 0; // dispatch only
};

/// The window's shape as template arguments of the tile kernels.
template <int KH, int KW, int SH, int SW> struct Tile {
  static constexpr int kh = KH, kw = KW, sh = SH, sw = SW;
};

/// Consecutive output (input, for the backward data) columns a thread
/// owns; a multiple of the strides.
constexpr int kRun = 4;

/// The channels a thread owns: one 16-byte access of bf16, two of f32.
constexpr int kEight = 8;

__host__ __device__ constexpr int floorDiv(int a, int b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// kEight consecutive elements at `at` (16-byte aligned) as float.
__device__ inline void loadEight(const uint16_t *at, float (&v)[kEight]) {
  uint4 raw = __ldg(reinterpret_cast<const uint4 *>(at));
  uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    v[2 * k] = __uint_as_float(words[k] << 16);
    v[2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
  }
}
__device__ inline void loadEight(const float *at, float (&v)[kEight]) {
  const float4 *f = reinterpret_cast<const float4 *>(at);
  float4 a = __ldg(f), b = __ldg(f + 1);
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w;
  v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}

/// Rounds `v` into kEight consecutive elements at `to` (16-byte aligned).
__device__ inline void storeEight(const float (&v)[kEight], uint16_t *to) {
  uint32_t words[4];
#pragma unroll
  for (int k = 0; k < 4; ++k)
    words[k] = static_cast<uint32_t>(floatToBf16Bits(v[2 * k])) |
               static_cast<uint32_t>(floatToBf16Bits(v[2 * k + 1])) << 16;
  *reinterpret_cast<uint4 *>(to) =
      make_uint4(words[0], words[1], words[2], words[3]);
}
__device__ inline void storeEight(const float (&v)[kEight], float *to) {
  float4 *f = reinterpret_cast<float4 *>(to);
  f[0] = make_float4(v[0], v[1], v[2], v[3]);
  f[1] = make_float4(v[4], v[5], v[6], v[7]);
}

/// A thread's item of the forward and backward-data tile kernels: item
/// (row * runs + run) * packs + pack, so that a warp's threads own
/// consecutive channels, then consecutive runs of a row.
struct Item {
  int row, column, channel;
};
__device__ inline Item itemOf(unsigned i, int channels, int width) {
  unsigned packs = channels / kEight, runs = (width + kRun - 1) / kRun;
  unsigned rest = i / packs;
  Item item;
  item.channel = static_cast<int>(i - rest * packs) * kEight;
  item.row = static_cast<int>(rest / runs);
  item.column = static_cast<int>(rest - item.row * runs) * kRun;
  return item;
}

/// Forward: one thread an item, kRun outputs (oh, ow0 ... ow0 + kRun - 1)
/// of 8 channels. Per window row it holds the row's KW taps and loads the
/// (kRun - 1) * SW + KW input columns the outputs cover once, each added
/// into every output whose window holds it (a tap order fixed at compile
/// time). Rows and columns outside the input (padding) are skipped.
template <typename T, typename S>
__global__ void __launch_bounds__(kThreads)
    forwardTileKernel(const T *__restrict__ x, const float *__restrict__ wt,
                      T *__restrict__ y, Plane p, unsigned items) {
  unsigned i = blockIdx.x * kThreads + threadIdx.x;
  if (i >= items)
    return;
  Item item = itemOf(i, p.channels, p.outW);
  int plane = item.row / p.outH, oh = item.row - plane * p.outH;
  int c = item.channel, ow0 = item.column, iw0 = ow0 * S::sw - p.padW;
  constexpr int kColumns = (kRun - 1) * S::sw + S::kw;
  float acc[kRun][kEight] = {};
#pragma unroll
  for (int kh = 0; kh < S::kh; ++kh) {
    int ih = oh * S::sh - p.padH + kh;
    if (ih < 0 || ih >= p.inH)
      continue;
    float w[S::kw][kEight];
#pragma unroll
    for (int kw = 0; kw < S::kw; ++kw)
      loadEight(wt + (kh * S::kw + kw) * p.channels + c, w[kw]);
    const T *xRow =
        x + (static_cast<int64_t>(plane) * p.inH + ih) * p.inW * p.channels + c;
#pragma unroll
    for (int t = 0; t < kColumns; ++t) {
      int iw = iw0 + t;
      if (iw < 0 || iw >= p.inW)
        continue;
      float v[kEight];
      loadEight(xRow + iw * p.channels, v);
#pragma unroll
      for (int r = 0; r < kRun; ++r) {
        int kw = t - r * S::sw;
        if (kw < 0 || kw >= S::kw)
          continue;
#pragma unroll
        for (int e = 0; e < kEight; ++e)
          acc[r][e] = fmaf(v[e], w[kw][e], acc[r][e]);
      }
    }
  }
  T *yRow = y + static_cast<int64_t>(item.row) * p.outW * p.channels + c;
#pragma unroll
  for (int r = 0; r < kRun; ++r)
    if (ow0 + r < p.outW)
      storeEight(acc[r], yRow + (ow0 + r) * p.channels);
}

/// Backward data as a gather: one thread an item, kRun inputs (ih, iw0 ...
/// iw0 + kRun - 1) of 8 channels, each the sum of dY * W over the taps
/// whose window covers it; no atomics. Input iw takes output ow through
/// tap kw = iw + padW - ow * SW. With iw0 a multiple of SW, iw0 + padW =
/// SW * owBase + Phase (Phase = padW mod SW, the same for every thread), so
/// input iw0 + r takes output owBase + d through tap kw where Phase + r -
/// kw = SW * d: which (r, kw, d) meet is known at compile time, and each
/// output column is loaded once for all the thread's inputs. Along H only
/// the window rows with (ih + padH - kh) divisible by SH hit.
template <typename T, typename S, int Phase>
__global__ void __launch_bounds__(kThreads)
    gradInputTileKernel(const T *__restrict__ dy, const float *__restrict__ wt,
                        T *__restrict__ dx, Plane p, unsigned items) {
  static_assert(kRun % S::sw == 0 && Phase < S::sw, "phase not uniform");
  unsigned i = blockIdx.x * kThreads + threadIdx.x;
  if (i >= items)
    return;
  Item item = itemOf(i, p.channels, p.inW);
  int plane = item.row / p.inH, ih = item.row - plane * p.inH;
  int c = item.channel, iw0 = item.column;
  int owBase = (iw0 + p.padW - Phase) / S::sw;
  constexpr int kFirst = floorDiv(Phase - (S::kw - 1), S::sw);
  constexpr int kLast = floorDiv(Phase + kRun - 1, S::sw);
  float acc[kRun][kEight] = {};
#pragma unroll
  for (int kh = 0; kh < S::kh; ++kh) {
    int t = ih + p.padH - kh;
    if (t < 0 || t % S::sh != 0 || t / S::sh >= p.outH)
      continue;
    int oh = t / S::sh;
    float w[S::kw][kEight];
#pragma unroll
    for (int kw = 0; kw < S::kw; ++kw)
      loadEight(wt + (kh * S::kw + kw) * p.channels + c, w[kw]);
    const T *dyRow =
        dy + (static_cast<int64_t>(plane) * p.outH + oh) * p.outW * p.channels +
        c;
#pragma unroll
    for (int d = kFirst; d <= kLast; ++d) {
      int ow = owBase + d;
      if (ow < 0 || ow >= p.outW)
        continue;
      float v[kEight];
      loadEight(dyRow + ow * p.channels, v);
#pragma unroll
      for (int r = 0; r < kRun; ++r)
#pragma unroll
        for (int kw = 0; kw < S::kw; ++kw) {
          if (Phase + r - kw != S::sw * d)
            continue;
#pragma unroll
          for (int e = 0; e < kEight; ++e)
            acc[r][e] = fmaf(v[e], w[kw][e], acc[r][e]);
        }
    }
  }
  T *dxRow = dx + static_cast<int64_t>(item.row) * p.inW * p.channels + c;
#pragma unroll
  for (int r = 0; r < kRun; ++r)
    if (iw0 + r < p.inW)
      storeEight(acc[r], dxRow + (iw0 + r) * p.channels);
}

/// Backward filter, pass 1, over tiles: block (x: a chunk of
/// `rowsPerChunk` output rows; y: a slice of the (kh, pack) lanes, lane
/// kh * packs + pack on threadIdx.x so that a warp reads consecutive
/// channels). The chunk's items (row, run of kRun output columns),
/// numbered row-major, go to the blockDim.y ways in turn; a thread sums
/// dY * X of its 8 channels and its window row's KW taps over its items,
/// loading the item's kRun dY columns and the (kRun - 1) * SW + KW input
/// columns under them once. The ways' sums then add up in order of way
/// into partial[chunk][tap][channel], tap by tap through shared memory.
template <typename T, typename S>
__global__ void __launch_bounds__(kThreads)
    gradWeightTileKernel(const T *__restrict__ x, const T *__restrict__ dy,
                         float *__restrict__ partial, Plane p,
                         int rowsPerChunk) {
  __shared__ float parts[kThreads][kEight];
  int lanes = blockDim.x, ways = blockDim.y;
  int packs = p.channels / kEight, pairs = S::kh * packs;
  int pair = blockIdx.y * lanes + threadIdx.x;
  int kh = pair / packs, c = (pair - kh * packs) * kEight;
  int rows = p.planes * p.outH, runs = (p.outW + kRun - 1) / kRun;
  int first = blockIdx.x * rowsPerChunk;
  int last = first + min(rowsPerChunk, rows - first);
  // Way y takes items y, y + ways, ...: steps of rowStep rows and runStep
  // runs, without a division an item.
  int rowStep = ways / runs, runStep = ways - rowStep * runs;
  int row = first + threadIdx.y / runs;
  int run = threadIdx.y - (row - first) * runs;
  constexpr int kColumns = (kRun - 1) * S::sw + S::kw;
  float acc[S::kw][kEight] = {};
  for (; pair < pairs && row < last; row += rowStep, run += runStep) {
    if (run >= runs) {
      run -= runs;
      ++row;
      if (row >= last)
        break;
    }
    int plane = row / p.outH, oh = row - plane * p.outH;
    int ih = oh * S::sh - p.padH + kh;
    if (ih < 0 || ih >= p.inH)
      continue;
    int ow0 = run * kRun, iw0 = ow0 * S::sw - p.padW;
    const T *dyRow = dy + static_cast<int64_t>(row) * p.outW * p.channels + c;
    const T *xRow =
        x + (static_cast<int64_t>(plane) * p.inH + ih) * p.inW * p.channels + c;
    float g[kRun][kEight];
#pragma unroll
    for (int r = 0; r < kRun; ++r)
      if (ow0 + r < p.outW)
        loadEight(dyRow + (ow0 + r) * p.channels, g[r]);
#pragma unroll
    for (int t = 0; t < kColumns; ++t) {
      int iw = iw0 + t;
      if (iw < 0 || iw >= p.inW)
        continue;
      float v[kEight];
      loadEight(xRow + iw * p.channels, v);
#pragma unroll
      for (int r = 0; r < kRun; ++r) {
        int kw = t - r * S::sw;
        // Past the row's end no dY: skipped, not zero (0 * inf is NaN).
        if (kw < 0 || kw >= S::kw || ow0 + r >= p.outW)
          continue;
#pragma unroll
        for (int e = 0; e < kEight; ++e)
          acc[kw][e] = fmaf(g[r][e], v[e], acc[kw][e]);
      }
    }
  }
  int self = threadIdx.y * lanes + threadIdx.x;
  float *chunkPartial =
      partial + static_cast<int64_t>(blockIdx.x) * S::kh * S::kw * p.channels;
#pragma unroll
  for (int kw = 0; kw < S::kw; ++kw) {
#pragma unroll
    for (int e = 0; e < kEight; ++e)
      parts[self][e] = acc[kw][e];
    __syncthreads();
    for (int o = self; o < lanes * kEight; o += lanes * ways) {
      int lane = o / kEight, e = o % kEight;
      int q = blockIdx.y * lanes + lane;
      if (q >= pairs)
        continue;
      float sum = 0.0f;
      for (int y = 0; y < ways; ++y)
        sum += parts[y * lanes + lane][e];
      int qh = q / packs, qc = (q - qh * packs) * kEight + e;
      chunkPartial[(qh * S::kw + kw) * p.channels + qc] = sum;
    }
    __syncthreads();
  }
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

/// The (taps, C) copy of the filter (element type T) in the workspace, as
/// U, so that a thread's channels of a tap are one load: U = T for the
/// general kernels, f32 for the tile kernels (no conversion in the loop).
template <typename T, typename U>
std::string transposedFilter(CudaContext &ctx, const Geometry &g,
                             const TensorView &weight, const U **wt) {
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

/// The grid of the forward and backward-data kernels: one block row per
/// tensor row, enough slices of the row for one item a thread.
dim3 rowGrid(int64_t rows, int64_t work, unsigned threads) {
  int64_t slices = (work + threads - 1) / threads;
  return dim3(static_cast<unsigned>(rows),
              static_cast<unsigned>(slices > 65535 ? 65535 : slices));
}

/// Calls fn(Tile<...>{}) with the window shape of `p` where the tile
/// kernels are built for it; false, and no call, otherwise.
template <typename Fn> bool withTile(const Plane &p, Fn &&fn) {
  auto is = [&](int kh, int kw, int sh, int sw) {
    return p.kernelH == kh && p.kernelW == kw && p.strideH == sh &&
           p.strideW == sw;
  };
  if (is(3, 3, 1, 1))
    fn(Tile<3, 3, 1, 1>{});
  else if (is(3, 3, 2, 2))
    fn(Tile<3, 3, 2, 2>{});
  else if (is(5, 5, 1, 1))
    fn(Tile<5, 5, 1, 1>{});
  else if (is(5, 5, 2, 2))
    fn(Tile<5, 5, 2, 2>{});
  else if (is(3, 1, 1, 1))
    fn(Tile<3, 1, 1, 1>{});
  else if (is(3, 1, 2, 1))
    fn(Tile<3, 1, 2, 1>{});
  else
    return false;
  return true;
}

/// The plane view of `g` for the tile kernels (Plane), or false where they
/// do not take it: dilation, a window spanning the depth and the image,
/// channels not in packs of 8, a window shape withTile lacks.
bool planeOf(const Geometry &g, Plane &p) {
  if (g.channels % kEight != 0)
    return false;
  int64_t planes, inH, outH, inW, outW;
  if (g.kernel[0] == 1 && g.stride[0] == 1 && g.padding[0] == 0 &&
      g.dilation[1] == 1 && g.dilation[2] == 1) {
    planes = g.batch * g.in[0];
    inH = g.in[1], outH = g.out[1], inW = g.in[2], outW = g.out[2];
    p.kernelH = g.kernel[1], p.kernelW = g.kernel[2];
    p.strideH = g.stride[1], p.strideW = g.stride[2];
    p.padH = g.padding[1], p.padW = g.padding[2];
  } else if (g.kernel[1] == 1 && g.kernel[2] == 1 && g.stride[1] == 1 &&
             g.stride[2] == 1 && g.padding[1] == 0 && g.padding[2] == 0 &&
             g.dilation[0] == 1) {
    planes = g.batch;
    inH = g.in[0], outH = g.out[0];
    inW = outW = static_cast<int64_t>(g.in[1]) * g.in[2];
    p.kernelH = g.kernel[0], p.kernelW = 1;
    p.strideH = g.stride[0], p.strideW = 1;
    p.padH = g.padding[0], p.padW = 0;
  } else {
    return false;
  }
  if (planes * std::max(inH, outH) >= INT_MAX ||
      std::max(inW, outW) * g.channels >= INT_MAX)
    return false;
  p.planes = static_cast<int>(planes), p.channels = g.channels;
  p.inH = static_cast<int>(inH), p.outH = static_cast<int>(outH);
  p.inW = static_cast<int>(inW), p.outW = static_cast<int>(outW);
  return withTile(p, [](auto) {});
}

/// The items (rows of `width` columns, kRun columns and 8 channels a
/// thread) of a forward or backward-data tile kernel, or 0 where they
/// overflow its 32-bit index.
unsigned tileItems(int64_t rows, int width, int channels) {
  int64_t items = rows * ((width + kRun - 1) / kRun) * (channels / kEight);
  return items < INT_MAX ? static_cast<unsigned>(items) : 0;
}

unsigned tileBlocks(unsigned items) {
  return (items + kThreads - 1) / kThreads;
}

/// Calls fn(T{}) with the element type of `dtype` (f32 or bf16).
template <typename Fn> void withElement(plan::DType dtype, Fn fn) {
  if (dtype == plan::DType::BF16)
    fn(uint16_t{});
  else
    fn(float{});
}

std::string forwardTiles(CudaContext &ctx, const Geometry &g, const Plane &p,
                         unsigned items, const TensorView &input,
                         const TensorView &weight, TensorView &result) {
  std::string error;
  withElement(input.dtype, [&](auto element) {
    using T = decltype(element);
    const float *wt = nullptr;
    if (!(error = transposedFilter<T>(ctx, g, weight, &wt)).empty())
      return;
    withTile(p, [&](auto tile) {
      forwardTileKernel<T, decltype(tile)>
          <<<tileBlocks(items), kThreads, 0, ctx.stream>>>(
              static_cast<const T *>(input.data), wt,
              static_cast<T *>(result.data), p, items);
    });
  });
  if (!error.empty())
    return error;
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string gradInputTiles(CudaContext &ctx, const Geometry &g, const Plane &p,
                           unsigned items, const TensorView &grad,
                           const TensorView &weight, TensorView &result) {
  std::string error;
  withElement(grad.dtype, [&](auto element) {
    using T = decltype(element);
    const float *wt = nullptr;
    if (!(error = transposedFilter<T>(ctx, g, weight, &wt)).empty())
      return;
    withTile(p, [&](auto tile) {
      using S = decltype(tile);
      auto launch = [&](auto phase) {
        gradInputTileKernel<T, S, decltype(phase)::value>
            <<<tileBlocks(items), kThreads, 0, ctx.stream>>>(
                static_cast<const T *>(grad.data), wt,
                static_cast<T *>(result.data), p, items);
      };
      static_assert(S::sw <= 2, "one phase a stride below 3");
      if constexpr (S::sw == 2)
        if (p.padW % 2 == 1)
          return launch(std::integral_constant<int, 1>{});
      launch(std::integral_constant<int, 0>{});
    });
  });
  if (!error.empty())
    return error;
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The backward-filter tile kernel's block: lanes of (kh, pack) pairs, at
/// most 64, the rest of its kThreads threads ways over a chunk's items;
/// slices of lanes the grid's y. False where the slices overflow the grid.
bool tileLanes(const Plane &p, int &lanes, int &ways, int &slices) {
  int pairs = p.kernelH * (p.channels / kEight);
  lanes = std::min(pairs, 64), ways = kThreads / lanes;
  slices = (pairs + lanes - 1) / lanes;
  return slices <= 65535;
}

/// Backward filter over tiles (tileLanes). Chunks of at least 16 items a
/// way and at most 1024 chunks (the second pass then sums at most 64
/// partials a thread): like the lanes and ways, a function of the shape
/// alone, so that the order of the sums does not depend on the device.
std::string gradWeightTiles(CudaContext &ctx, const Geometry &g, const Plane &p,
                            const TensorView &input, const TensorView &grad,
                            TensorView &result) {
  int lanes = 0, ways = 0, slices = 0;
  tileLanes(p, lanes, ways, slices);
  int64_t rows = static_cast<int64_t>(p.planes) * p.outH;
  int64_t runs = (p.outW + kRun - 1) / kRun;
  int64_t rowsPerChunk = std::max<int64_t>(
      {1, (rows + 1023) / 1024, (16 * ways + runs - 1) / runs});
  int64_t chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  int64_t count = static_cast<int64_t>(g.channels) * g.taps();
  void *memory = nullptr;
  if (std::string error =
          ctx.getWorkspace(std::max<int64_t>(chunks * count * 4, 4), &memory);
      !error.empty())
    return error;
  float *partial = static_cast<float *>(memory);
  withElement(input.dtype, [&](auto element) {
    using T = decltype(element);
    if (chunks > 0)
      withTile(p, [&](auto tile) {
        gradWeightTileKernel<T, decltype(tile)>
            <<<dim3(static_cast<unsigned>(chunks),
                    static_cast<unsigned>(slices)),
               dim3(lanes, ways), 0, ctx.stream>>>(
                static_cast<const T *>(input.data),
                static_cast<const T *>(grad.data), partial, p,
                static_cast<int>(rowsPerChunk));
      });
    gradWeightSumKernel<T>
        <<<static_cast<unsigned>((count + kSumLanes - 1) / kSumLanes),
           dim3(kSumLanes, kSumWays), 0, ctx.stream>>>(
            partial, static_cast<T *>(result.data), chunks, g.channels,
            g.taps());
  });
  VAR_CUDA_LAUNCHED();
  return {};
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
  Plane p;
  if (planeOf(g, p) && isPackAligned(input.data) && isPackAligned(result.data))
    if (unsigned items = tileItems(static_cast<int64_t>(p.planes) * p.outH,
                                   p.outW, p.channels))
      return forwardTiles(ctx, g, p, items, input, weight, result);
  int v = packWidth(g.channels, plan::getDTypeBytes(input.dtype),
                    {input.data, result.data});
  int64_t work = static_cast<int64_t>(g.out[2]) * (g.channels / v);
  unsigned threads = threadsFor(work);
  std::string error;
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
  Plane p;
  if (planeOf(g, p) && isPackAligned(grad.data) && isPackAligned(result.data))
    if (unsigned items = tileItems(static_cast<int64_t>(p.planes) * p.inH,
                                   p.inW, p.channels))
      return gradInputTiles(ctx, g, p, items, grad, weight, result);
  int v = packWidth(g.channels, plan::getDTypeBytes(grad.dtype),
                    {grad.data, result.data});
  int64_t work = static_cast<int64_t>(g.in[2]) * (g.channels / v);
  unsigned threads = threadsFor(work);
  std::string error;
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
  Plane p;
  int lanes, tileWays, tileSlices;
  if (planeOf(g, p) && isPackAligned(input.data) && isPackAligned(grad.data) &&
      tileLanes(p, lanes, tileWays, tileSlices))
    return gradWeightTiles(ctx, g, p, input, grad, result);
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
    gradWeightSumKernel<T>
        <<<static_cast<unsigned>((count + kSumLanes - 1) / kSumLanes),
           dim3(kSumLanes, kSumWays), 0, ctx.stream>>>(
            partial, static_cast<T *>(result.data), chunks, g.channels,
            g.taps());
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace var::cuda
