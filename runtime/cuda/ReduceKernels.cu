// CUDA kernels of reduce_sum and the time mean, with runtime/cpu's numerics:
// sums in double, rounded once. reduce_sum reads its input as (outer, rows,
// columns, inner) where it takes that form (SumLayout: every sum the
// compiler emits, bias and broadcast gradients in either layout) and splits
// each result element's terms into chunks, so that even a few result
// elements fill the GPU; a block or a warp sums a chunk (coalesced, with
// 16-byte loads where the rows allow) in an order fixed by the shape, and a
// second kernel adds the chunks' partial sums in chunk order. Every run
// gives the same bits; the order is not the CPU's sequential one, which
// costs only double roundings, far below f32's.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/ElementwiseScalars.cuh"

#include <algorithm>
#include <utility>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

//===----------------------------------------------------------------------===//
// reduce_sum in chunks
//===----------------------------------------------------------------------===//

/// reduce_sum's input as (outer, rows, columns, inner) and its result as
/// (outer, columns): result element o * columns + c sums
/// x[((o * rows + r) * columns + c) * inner + i] over r and i. A (M, C) ->
/// (C) bias gradient is (1, M, C, 1), NCHW's (1, N, C, HW), NHWC * (N, 1,
/// 1, C)'s gradient (N, HW, C, 1).
struct SumLayout {
  int64_t outer = 1, rows = 1, columns = 1, inner = 1;
};

/// `shape`'s layout with dimensions of size 1 dropped and neighbours of one
/// kind (summed or kept) merged; false where the kinds alternate more often
/// than the form takes (the general kernel sums those).
bool toSumLayout(const std::vector<int64_t> &shape,
                 const std::vector<bool> &summed, SumLayout &l) {
  std::vector<std::pair<int64_t, bool>> groups; // size, summed
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!groups.empty() && groups.back().second == summed[d])
      groups.back().first *= shape[d];
    else
      groups.push_back({shape[d], summed[d]});
  }
  // From the innermost group out: inner, columns, rows, outer, each taken
  // where the next group is of its kind.
  std::pair<int64_t *, bool> slots[4] = {{&l.inner, true},
                                         {&l.columns, false},
                                         {&l.rows, true},
                                         {&l.outer, false}};
  for (auto [slot, kind] : slots)
    if (!groups.empty() && groups.back().second == kind) {
      *slot = groups.back().first;
      groups.pop_back();
    }
  return groups.empty();
}

/// Blocks that fill an H100 (132 SMs, 8 blocks of kThreads), and the fewest
/// loads a thread makes before a chunk is split further. Constants rather
/// than the device's SM count, so that the order of every sum depends on
/// the shape alone.
constexpr int64_t kWantedBlocks = 1024;
constexpr int64_t kMinSteps = 8;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// W consecutive values from element `e` (W = kPack: one packed load, `e` a
/// multiple of kPack, the tensor aligned).
template <int W>
__device__ inline void loadValues(const void *x, int type, int64_t e,
                                  float (&v)[W]) {
  static_assert(W == 1 || W == kPack, "one element or one pack");
  if constexpr (W == kPack)
    loadPack(x, type, e / kPack, v);
  else
    v[0] = loadFloat(x, type, e);
}

/// How columnSumsKernel splits an input with inner = 1: tiles of
/// `tileColumns` columns (all of them, or the kThreads * W one block row
/// covers), read `stepRows` rows at a time: thread t takes row t / tilePacks
/// of the step and columns [W * (t % tilePacks), + W) of the tile. Block
/// (o, tile, g) sums rows [g * chunkRows, (g + 1) * chunkRows) of outer
/// index o.
struct ColumnSplit {
  int64_t tileColumns = 0, tiles = 0, tilePacks = 0, stepRows = 0;
  int64_t treeTop = 0; // the largest power of 2 below stepRows, or 0
  int64_t chunkRows = 0, chunks = 0, blocks = 0;
};

ColumnSplit splitColumns(const SumLayout &l, int w) {
  ColumnSplit s;
  s.tileColumns = std::min<int64_t>(l.columns, kThreads * w);
  s.tiles = ceilDiv(l.columns, s.tileColumns);
  s.tilePacks = ceilDiv(s.tileColumns, w);
  s.stepRows = kThreads / s.tilePacks;
  for (int64_t half = 1; half < s.stepRows; half *= 2)
    s.treeTop = half;
  int64_t steps = ceilDiv(l.rows, s.stepRows);
  int64_t wanted = ceilDiv(kWantedBlocks, l.outer * s.tiles);
  int64_t most = std::max<int64_t>(1, steps / kMinSteps);
  s.chunkRows = ceilDiv(steps, std::min(wanted, most)) * s.stepRows;
  s.chunks = ceilDiv(l.rows, s.chunkRows);
  s.blocks = l.outer * s.tiles * s.chunks;
  return s;
}

/// Column sums: each thread adds its W columns over its rows of the chunk
/// (a warp reads consecutive columns of one or more rows: coalesced), then
/// the block adds the stepRows sums of each column in a tree of fixed
/// shape. The result element, with one chunk, else its partial sum
/// partials[(o * chunks + g) * columns + c].
template <int W>
__global__ void columnSumsKernel(SumLayout l, ColumnSplit s, const void *x,
                                 int xType, double *partials, void *y,
                                 int yType) {
  int64_t block = blockIdx.x;
  int64_t g = block % s.chunks;
  block /= s.chunks;
  int64_t tile = block % s.tiles, o = block / s.tiles;
  int t = threadIdx.x;
  int64_t row = t / s.tilePacks;
  int64_t c = tile * s.tileColumns + t % s.tilePacks * W;
  // Columns are a multiple of W, so a thread's W columns all exist.
  bool active = row < s.stepRows && c < l.columns;
  double sum[W] = {};
  if (active) {
    int64_t r = g * s.chunkRows + row;
    int64_t end = min((g + 1) * s.chunkRows, l.rows);
    int64_t e = (o * l.rows + r) * l.columns + c;
    int64_t step = s.stepRows * l.columns;
#pragma unroll 4
    for (; r < end; r += s.stepRows, e += step) {
      float v[W];
      loadValues<W>(x, xType, e, v);
#pragma unroll
      for (int w = 0; w < W; ++w)
        sum[w] += v[w];
    }
  }
  __shared__ double shared[kThreads][W];
#pragma unroll
  for (int w = 0; w < W; ++w)
    shared[t][w] = sum[w];
  __syncthreads();
  // Rows [0, half) add rows [half, 2 * half) where they exist.
  for (int64_t half = s.treeTop; half > 0; half /= 2) {
    if (active && row < half && row + half < s.stepRows) {
#pragma unroll
      for (int w = 0; w < W; ++w)
        shared[t][w] += shared[t + half * s.tilePacks][w];
    }
    __syncthreads();
  }
  if (!active || row != 0)
    return;
  for (int w = 0; w < W; ++w) {
    if (partials)
      partials[(o * s.chunks + g) * l.columns + c + w] = shared[t][w];
    else
      storeFloat(y, yType, o * l.columns + c + w,
                 static_cast<float>(shared[t][w]));
  }
}

/// How segmentSumsKernel splits an input with inner > 1: result element
/// (o, c)'s rows * inner terms (term j = r * inner + i) in `chunks` chunks
/// of `chunkTerms` (a multiple of W), each summed by a group of `group`
/// threads (a block, or a warp where the terms are few), W terms a thread
/// every group * W; `stepRows` and `stepInner` are group * W as whole rows
/// and a remainder.
struct SegmentSplit {
  int group = kThreads;
  int64_t chunkTerms = 0, chunks = 0, blocks = 0;
  int64_t stepRows = 0, stepInner = 0;
};

SegmentSplit splitSegments(const SumLayout &l, int w) {
  SegmentSplit s;
  int64_t terms = l.rows * l.inner, outputs = l.outer * l.columns;
  s.group = terms > 32 * w * kMinSteps ? kThreads : 32;
  int64_t groupsPerBlock = kThreads / s.group;
  int64_t wanted = ceilDiv(kWantedBlocks * groupsPerBlock, outputs);
  int64_t most = std::max<int64_t>(1, terms / (s.group * w * kMinSteps));
  s.chunkTerms = ceilDiv(ceilDiv(terms, std::min(wanted, most)), w) * w;
  s.chunks = ceilDiv(terms, s.chunkTerms);
  s.blocks = ceilDiv(outputs * s.chunks, groupsPerBlock);
  s.stepRows = s.group * w / l.inner;
  s.stepInner = s.group * w % l.inner;
  return s;
}

/// Segment sums: each thread adds its terms of the chunk into one double
/// (runs of `inner` consecutive elements: coalesced), then the group adds
/// its threads' sums in a tree. The result element, with one chunk, else
/// its partial sum as columnSumsKernel stores it.
template <int W>
__global__ void segmentSumsKernel(SumLayout l, SegmentSplit s, const void *x,
                                  int xType, double *partials, void *y,
                                  int yType) {
  int lane = threadIdx.x % s.group;
  int64_t unit = static_cast<int64_t>(blockIdx.x) * (kThreads / s.group) +
                 threadIdx.x / s.group;
  int64_t g = unit % s.chunks, out = unit / s.chunks;
  int64_t o = out / l.columns, c = out % l.columns;
  bool active = out < l.outer * l.columns;
  double sum = 0;
  int64_t j = g * s.chunkTerms + lane * W;
  int64_t end = min((g + 1) * s.chunkTerms, l.rows * l.inner);
  if (active && j < end) {
    // With inner and the chunks multiples of W, a thread's W terms lie in
    // one run, and with W = kPack start on a multiple of kPack.
    int64_t r = j / l.inner, i = j % l.inner;
    int64_t base = (o * l.rows * l.columns + c) * l.inner;
    int64_t rowStride = l.columns * l.inner;
#pragma unroll 4
    for (; j < end; j += s.group * W) {
      float v[W];
      loadValues<W>(x, xType, base + r * rowStride + i, v);
#pragma unroll
      for (int w = 0; w < W; ++w)
        sum += v[w];
      r += s.stepRows;
      i += s.stepInner;
      if (i >= l.inner) {
        i -= l.inner;
        ++r;
      }
    }
  }
  __shared__ double shared[kThreads];
  shared[threadIdx.x] = sum;
  __syncthreads();
  for (int half = s.group / 2; half > 0; half /= 2) {
    if (lane < half)
      shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  if (!active || lane != 0)
    return;
  if (partials)
    partials[(o * s.chunks + g) * l.columns + c] = shared[threadIdx.x];
  else
    storeFloat(y, yType, out, static_cast<float>(shared[threadIdx.x]));
}

/// Result element `out` from its chunks' partial sums, a warp an element:
/// lane k adds chunks k, k + 32, ... in order, then the warp adds its lanes'
/// sums in a tree of fixed shape; rounded once.
__global__ void addChunksKernel(SumLayout l, int64_t chunks,
                                const double *partials, void *y, int yType) {
  int lane = threadIdx.x % 32;
  int64_t outputs = l.outer * l.columns;
  int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t out =
           (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
       out < outputs; out += warps) {
    int64_t o = out / l.columns, c = out % l.columns;
    const double *chunk = partials + o * chunks * l.columns + c;
    double sum = 0;
#pragma unroll 4
    for (int64_t g = lane; g < chunks; g += 32)
      sum += chunk[g * l.columns];
    for (int offset = 16; offset > 0; offset /= 2)
      sum += __shfl_down_sync(0xffffffffu, sum, offset);
    if (lane == 0)
      storeFloat(y, yType, out, static_cast<float>(sum));
  }
}

void launchChunkSums(CudaContext &ctx, const SumLayout &l, const ColumnSplit &s,
                     bool packed, const void *x, int xType, double *partials,
                     void *y, int yType) {
  unsigned blocks = static_cast<unsigned>(s.blocks);
  if (packed)
    columnSumsKernel<kPack><<<blocks, kThreads, 0, ctx.stream>>>(
        l, s, x, xType, partials, y, yType);
  else
    columnSumsKernel<1><<<blocks, kThreads, 0, ctx.stream>>>(
        l, s, x, xType, partials, y, yType);
}

void launchChunkSums(CudaContext &ctx, const SumLayout &l,
                     const SegmentSplit &s, bool packed, const void *x,
                     int xType, double *partials, void *y, int yType) {
  unsigned blocks = static_cast<unsigned>(s.blocks);
  if (packed)
    segmentSumsKernel<kPack><<<blocks, kThreads, 0, ctx.stream>>>(
        l, s, x, xType, partials, y, yType);
  else
    segmentSumsKernel<1><<<blocks, kThreads, 0, ctx.stream>>>(
        l, s, x, xType, partials, y, yType);
}

/// The chunk sums and, where an element has several chunks, their partial
/// sums (in the context's workspace) added by addChunksKernel.
template <typename Split>
std::string sumInChunks(CudaContext &ctx, const SumLayout &l, const Split &s,
                        bool packed, const void *x, int xType, void *y,
                        int yType) {
  double *partials = nullptr;
  int64_t outputs = l.outer * l.columns;
  if (s.chunks > 1) {
    void *memory = nullptr;
    if (std::string error = ctx.getWorkspace(
            outputs * s.chunks * static_cast<int64_t>(sizeof(double)), &memory);
        !error.empty())
      return error;
    partials = static_cast<double *>(memory);
  }
  launchChunkSums(ctx, l, s, packed, x, xType, partials, y, yType);
  VAR_CUDA_LAUNCHED();
  if (partials) {
    addChunksKernel<<<blocksFor(outputs * 32), kThreads, 0, ctx.stream>>>(
        l, s.chunks, partials, y, yType);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// reduce_sum of any layout
//===----------------------------------------------------------------------===//

/// Input strides of the kept dimensions (in result order) and of the summed
/// ones: result element r and summed index j address one input element.
struct Reduction {
  Dims8 kept, summed;
  int64_t keptStride[kMaxRank] = {}, summedStride[kMaxRank] = {};
  int64_t summedCount = 1;
};

__device__ inline int64_t dimsOffset(const Dims8 &dims, const int64_t *strides,
                                     int64_t flat) {
  return broadcastOffset(dims, strides, flat);
}

/// Summed and kept dimensions interleaved more than SumLayout takes, or an
/// empty input: one block a result element; its threads sum strided shares
/// in double, then reduce through shared memory.
__global__ void reduceSumKernel(Reduction r, const void *x, int xType, void *y,
                                int yType, int64_t outputs) {
  __shared__ double partial[kThreads];
  for (int64_t out = blockIdx.x; out < outputs; out += gridDim.x) {
    int64_t base = dimsOffset(r.kept, r.keptStride, out);
    double sum = 0;
    for (int64_t j = threadIdx.x; j < r.summedCount; j += blockDim.x)
      sum +=
          loadFloat(x, xType, base + dimsOffset(r.summed, r.summedStride, j));
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int step = blockDim.x / 2; step > 0; step /= 2) {
      if (threadIdx.x < step)
        partial[threadIdx.x] += partial[threadIdx.x + step];
      __syncthreads();
    }
    if (threadIdx.x == 0)
      storeFloat(y, yType, out, static_cast<float>(partial[0]));
    __syncthreads();
  }
}

std::string reduceSumOp(CudaContext &ctx, OpCall &call) {
  std::vector<bool> summed;
  if (std::string error = cpu::checkReduceSum(call, summed); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  if (input.shape.size() > kMaxRank)
    return "rank " + std::to_string(input.shape.size()) +
           " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  ElementType xType, yType;
  if (std::string error = elementTypeOf(input, "input", xType); !error.empty())
    return error;
  if (std::string error = elementTypeOf(result, "result", yType);
      !error.empty())
    return error;
  int64_t outputs = result.numel();
  if (outputs == 0)
    return {};
  // The result's layout is the same with or without the kept dimensions.
  SumLayout l;
  if (input.numel() > 0 && toSumLayout(input.shape, summed, l)) {
    bool aligned = isPackAligned(input.data);
    if (l.inner == 1) {
      bool packed = aligned && l.columns % kPack == 0;
      ColumnSplit s = splitColumns(l, packed ? kPack : 1);
      if (s.blocks <= 0x7fffffffll)
        return sumInChunks(ctx, l, s, packed, input.data, xType, result.data,
                           yType);
    } else {
      bool packed = aligned && l.inner % kPack == 0;
      SegmentSplit s = splitSegments(l, packed ? kPack : 1);
      if (s.blocks <= 0x7fffffffll)
        return sumInChunks(ctx, l, s, packed, input.data, xType, result.data,
                           yType);
    }
  }
  Reduction r;
  std::vector<int64_t> strides = cpu::rowMajorStrides(input.shape);
  for (size_t d = 0; d < input.shape.size(); ++d) {
    Dims8 &target = summed[d] ? r.summed : r.kept;
    int64_t *targetStride = summed[d] ? r.summedStride : r.keptStride;
    targetStride[target.rank] = strides[d];
    target.size[target.rank++] = input.shape[d];
    if (summed[d])
      r.summedCount *= input.shape[d];
  }
  unsigned blocks = static_cast<unsigned>(std::min<int64_t>(outputs, 65536));
  reduceSumKernel<<<blocks, kThreads, 0, ctx.stream>>>(
      r, input.data, xType, result.data, yType, outputs);
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// The time mean
//===----------------------------------------------------------------------===//

__global__ void meanTimeKernel(const void *x, int xType, void *y, int yType,
                               int64_t batch, int64_t frames, int64_t inner) {
  VAR_GRID_STRIDE(i, batch * inner) {
    int64_t b = i / inner, k = i % inner;
    double sum = 0;
    for (int64_t t = 0; t < frames; ++t)
      sum += loadFloat(x, xType, (b * frames + t) * inner + k);
    storeFloat(y, yType, i,
               static_cast<float>(sum / static_cast<double>(frames)));
  }
}

std::string meanTimeOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  if (input.shape.size() < 2)
    return "input must be (B, T, ...), got " + cpu::formatShape(input.shape);
  std::vector<int64_t> expected = {input.shape[0]};
  expected.insert(expected.end(), input.shape.begin() + 2, input.shape.end());
  if (std::string error = cpu::expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  ElementType xType, yType;
  if (std::string error = elementTypeOf(input, "input", xType); !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", yType);
      !error.empty())
    return error;
  int64_t batch = input.shape[0], frames = input.shape[1];
  int64_t inner = cpu::product(input.shape, 2, input.shape.size());
  meanTimeKernel<<<blocksFor(batch * inner), kThreads, 0, ctx.stream>>>(
      input.data, xType, call.results[0].data, yType, batch, frames, inner);
  VAR_CUDA_LAUNCHED();
  return {};
}

__global__ void meanTimeGradKernel(const void *dy, int dyType, void *dx,
                                   int dxType, int64_t frames, int64_t inner,
                                   int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t b = i / (frames * inner), k = i % inner;
    storeFloat(dx, dxType, i,
               loadFloat(dy, dyType, b * inner + k) /
                   static_cast<float>(frames));
  }
}

std::string meanTimeGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  int64_t frames;
  if (std::string error = cpu::requireIntAttr(call, "frames", frames);
      !error.empty())
    return error;
  if (grad.shape.empty() || frames < 1)
    return "cannot spread " + cpu::formatShape(grad.shape) + " over " +
           std::to_string(frames) + " frames";
  std::vector<int64_t> expected = {grad.shape[0], frames};
  expected.insert(expected.end(), grad.shape.begin() + 1, grad.shape.end());
  if (std::string error = cpu::expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  ElementType dyType, dxType;
  if (std::string error = elementTypeOf(grad, "grad", dyType); !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", dxType);
      !error.empty())
    return error;
  int64_t inner = cpu::product(grad.shape, 1, grad.shape.size());
  int64_t n = call.results[0].numel();
  meanTimeGradKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      grad.data, dyType, call.results[0].data, dxType, frames, inner, n);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerReduceOps(CudaOpTable &table) {
  table["var.reduce_sum"] = reduceSumOp;
  table["var.mean_time"] = meanTimeOp;
  table["var.mean_time_grad"] = meanTimeGradOp;
}

} // namespace var::cuda
