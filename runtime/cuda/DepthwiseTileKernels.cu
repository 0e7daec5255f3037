// The tile kernels of channels-last depthwise convolutions
// (DepthwiseShared.cuh): the common windows (3x3 and 5x5, stride 1 or 2, any
// padding; 1xkxk and 3x1x1 3-D windows, read as 2-D ones) of channel counts
// divisible by 8 on 16-byte aligned tensors. A thread owns 8 consecutive
// channels (one 16-byte access of bf16) of kRun consecutive columns, loads
// each input column its outputs need once and keeps the filter taps of a
// window row in registers; consecutive threads own consecutive channels.
// The backward filter sums fixed tiles of output positions into per-chunk
// partials, then the partials in a fixed order: the same bits every run.
#include "runtime/cuda/DepthwiseShared.cuh"

#include <algorithm>
#include <climits>
#include <type_traits>

namespace var::cuda::depthwise {

using cpu::TensorView;

namespace {

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
    sumPartials<T>(ctx, g, partial, chunks, result);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

bool forwardByTiles(CudaContext &ctx, const Geometry &g,
                    const TensorView &input, const TensorView &weight,
                    TensorView &result, std::string &error) {
  Plane p;
  if (!planeOf(g, p) || !isPackAligned(input.data) ||
      !isPackAligned(result.data))
    return false;
  unsigned items =
      tileItems(static_cast<int64_t>(p.planes) * p.outH, p.outW, p.channels);
  if (items == 0)
    return false;
  error = forwardTiles(ctx, g, p, items, input, weight, result);
  return true;
}

bool gradInputByTiles(CudaContext &ctx, const Geometry &g,
                      const TensorView &grad, const TensorView &weight,
                      TensorView &result, std::string &error) {
  Plane p;
  if (!planeOf(g, p) || !isPackAligned(grad.data) ||
      !isPackAligned(result.data))
    return false;
  unsigned items =
      tileItems(static_cast<int64_t>(p.planes) * p.inH, p.inW, p.channels);
  if (items == 0)
    return false;
  error = gradInputTiles(ctx, g, p, items, grad, weight, result);
  return true;
}

bool gradWeightByTiles(CudaContext &ctx, const Geometry &g,
                       const TensorView &input, const TensorView &grad,
                       TensorView &result, std::string &error) {
  Plane p;
  int lanes, ways, slices;
  if (!planeOf(g, p) || !isPackAligned(input.data) ||
      !isPackAligned(grad.data) || !tileLanes(p, lanes, ways, slices))
    return false;
  error = gradWeightTiles(ctx, g, p, input, grad, result);
  return true;
}

} // namespace var::cuda::depthwise
