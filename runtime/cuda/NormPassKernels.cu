// Batch normalization's per-channel sums over whole tensors
// (NormPassKernels.cuh; the elementwise passes are NormApplyKernels.cu).
// Channels-first, a block sums a chunk of one channel's elements; rows
// (channels-last), a block sums a chunk of rows over a range of columns,
// with packs a thread takes one pack column (8 channels) and loads several
// rows before it adds any, so that enough bytes are in flight.
// Numerics: on packed rows a thread adds all the elements of its chunk
// (a few hundred a channel) in f32, elsewhere the few it loaded at once
// (at most 8 a channel), and each run goes into double sums, which meet
// in a fixed order; x's sums are shifted by the channel's first element,
// so that no f32 run holds a large mean. Double math or a conversion to
// double on every element would cost H100's FP64 and conversion units
// more time than the element's memory traffic.
// The packed-rows kernels are compiled for bf16, for f32 and for tensors
// of mixed types (type as each operand says), so that the common case
// allocates registers for its own packs only.
#include "runtime/cuda/NormPassKernels.cuh"
#include "runtime/cuda/NormPassShared.cuh"

#include <algorithm>

namespace var::cuda::norm {

namespace {

/// Unpacked rows are summed by blocks of kColumns channels x kRows threads.
constexpr int kColumns = 32, kRows = kThreads / kColumns;
/// Blocks the sums aim for: fewer and longer than the elementwise passes',
/// as each ends in a reduction through shared memory, and one wave of the
/// packed-rows kernel on an H100 or H200 (132 SMs): 4 blocks an SM for x
/// alone, 3 for x and dy (bench/norm on an H200: x's 512 beat 256, 384
/// and 1024).
constexpr int64_t kSumBlocks[2] = {512, 384};

/// Rows a packed-rows thread loads before it adds any (a pack of each
/// input a row): 64 bytes a thread over its inputs (4 rows of one bf16
/// input, 2 of two; half as many of f32), with 4 blocks an SM rather than
/// 2: more threads, each with fewer loads in flight, kept HBM busier
/// (bench/norm). Registers (ptxas, sm_90) are listed beside the kernel.
template <typename Terms, int Type>
constexpr int kRowSumUnroll = (Type == kBF16 ? 4 : 2) / Terms::kInputs > 0
                                  ? (Type == kBF16 ? 4 : 2) / Terms::kInputs
                                  : 1;

//===----------------------------------------------------------------------===//
// Per-channel sums
//===----------------------------------------------------------------------===//

// The terms summed: kSums sums over kInputs inputs (x, or x and dy);
// channel(c) reads channel c's values once, add(channel, x, dy, run) adds
// one element's terms to a thread's f32 run (dy is 0 with one input). The
// plane and column kernels add each run, a few elements long, into double
// sums; the packed-rows kernel keeps one f32 run a thread over its chunk
// (a few hundred elements at most) and adds it into a double at the end.

/// sum d and sum d^2, d = x - shift(c) (channelShift: the channel's first
/// element), in one read of x: the centered sum of squares is sum d^2 -
/// (sum d)^2 / count (batchStatsKernel). The shift keeps d within a few
/// standard deviations of 0 however far the mean is from 0, so that
/// neither the f32 runs nor that subtraction lose the variance.
struct SumsAndSquares {
  static constexpr int kSums = 2, kInputs = 1;
  ChannelLayout l;
  Operand x;
  struct Channel {
    float shift;
  };
  __device__ Channel channel(int64_t c) const {
    return {channelShift(l, x, c)};
  }
  __device__ void add(const Channel &ch, float x, float, float *run) const {
    float d = __fsub_rn(x, ch.shift);
    run[0] += d;
    run[1] = fmaf(d, d, run[1]);
  }
};

/// sum dy and sum dy * (x - mean): with the saved mean, the batch
/// backward's dy . xhat before its factor invstd; with the running mean,
/// the frozen backward's dy . (x - running_mean). x - mean is exact in f32
/// where x is within a factor 2 of the mean.
struct GradSums {
  static constexpr int kSums = 2, kInputs = 2;
  Operand mean;
  ActivationMask mask;
  struct Channel {
    float mean;
  };
  __device__ Channel channel(int64_t c) const {
    return {loadFloat(mean.data, mean.type, c)};
  }
  __device__ void add(const Channel &ch, float x, float grad,
                      float *run) const {
    run[0] += grad;
    run[1] = fmaf(grad, x - ch.mean, run[1]);
  }
};

/// GradSums with dy from a max pool's gradient and indices.
struct PooledGradSums : GradSums {
  PooledGrad pooled;
};

/// Adds a thread's f32 runs into its double sums.
template <int K>
__device__ inline void addRuns(const float (&run)[K], double (&sum)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k)
    sum[k] += run[k];
}

/// Channels-first sums: block c * chunks + g sums chunk g of channel c's
/// groups of G elements (G = kPack needs spatial % 8 == 0: a pack stays in
/// one sample's plane, and is a run), thread t every kThreads-th group from
/// the chunk's t-th, then the block's kThreads sums in a fixed tree.
template <int G, typename Terms>
__global__ void __launch_bounds__(kThreads)
    planeSumsKernel(ChannelLayout l, Split split, Terms terms, Operand a,
                    Operand b, double *partials) {
  constexpr int K = Terms::kSums;
  int64_t c = blockIdx.x / split.chunks, g = blockIdx.x % split.chunks;
  typename Terms::Channel channel = terms.channel(c);
  double sum[K] = {};
  int64_t plane = l.spatial / G; // groups a sample's plane
  int64_t begin = g * split.chunk;
  int64_t end = min(begin + split.chunk, l.batch * plane);
  int64_t j = begin + threadIdx.x;
  if (j < end) {
    int64_t n = j / plane, s = j - n * plane;
    for (; j < end; j += kThreads) {
      int64_t group = (n * l.channels + c) * plane + s;
      float x[G], dy[G] = {};
      loadGroup(a.data, a.type, group, x);
      if constexpr (Terms::kInputs == 2) {
        loadGradGroup(terms, b, group, dy);
        maskGrads(terms.mask, group, x, c, dy);
      }
      float run[K] = {};
#pragma unroll
      for (int e = 0; e < G; ++e)
        terms.add(channel, x[e], dy[e], run);
      addRuns(run, sum);
      n += split.stepN;
      s += split.stepS;
      if (s >= plane) {
        s -= plane;
        ++n;
      }
    }
  }
  __shared__ double shared[K][kThreads];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.x] = sum[k];
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      for (int k = 0; k < K; ++k)
        shared[k][threadIdx.x] += shared[k][threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k)
      partials[(k * l.channels + c) * split.chunks + g] = shared[k][0];
}

/// Unpacked rows: block (x, g) sums rows [g * chunk, (g + 1) * chunk) of
/// columns [x * kColumns, ...) of the (M, C) input, thread (tx, ty) every
/// kRows-th row of column tx (a warp reads kColumns consecutive channels of
/// one row; each element a run), then the kRows sums of a column in row
/// order.
template <typename Terms>
__global__ void columnSumsKernel(ChannelLayout l, Split split, Terms terms,
                                 Operand a, Operand b, double *partials) {
  constexpr int K = Terms::kSums;
  int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  int64_t g = blockIdx.y;
  double sum[K] = {};
  if (c < l.channels) {
    typename Terms::Channel channel = terms.channel(c);
    int64_t end = min((g + 1) * split.chunk, l.batch);
    for (int64_t r = g * split.chunk + threadIdx.y; r < end; r += kRows) {
      int64_t i = r * l.channels + c;
      float x[1] = {loadFloat(a.data, a.type, i)}, dy[1] = {};
      if constexpr (Terms::kInputs == 2) {
        loadGradGroup(terms, b, i, dy);
        maskGrads(terms.mask, i, x, c, dy);
      }
      float run[K] = {};
      terms.add(channel, x[0], dy[0], run);
      addRuns(run, sum);
    }
  }
  __shared__ double shared[K][kRows][kColumns];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.y][threadIdx.x] = sum[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < l.channels)
    for (int k = 0; k < K; ++k) {
      double total = 0;
      for (int y = 0; y < kRows; ++y)
        total += shared[k][y][threadIdx.x];
      partials[(k * l.channels + c) * split.chunks + g] = total;
    }
}

/// Packed rows (C % 8 == 0, aligned inputs): block (x, g) sums rows
/// [g * chunk, (g + 1) * chunk) of pack columns [x * width, (x + 1) *
/// width), 8 channels each; thread t = s * width + j reads column j of
/// every rowsPerStep-th row from row s, U = kRowSumUnroll rows' packs
/// loaded before any is added, all of them one f32 run a channel, in row
/// order. The rowsPerStep runs of a column then meet as doubles in a
/// fixed tree: of `count` sums, sum s takes in sum s + half (half = count
/// / 2 rounded up), leaving half, until one is left. Registers (sm_90,
/// bf16 / f32): d and d^2 64 / 64 (4 blocks an SM, 64 bytes a thread in
/// flight); dy and dy (x - mean) with the mask 66-80 / 76-80 (3 blocks);
/// with a pooled dy (PooledGradSums) 68-80, and in f32 with a ReLU mask
/// up to 52 bytes of spills (a path no model of the zoo takes).
template <typename Terms, int Type, int Kind>
__global__ void __launch_bounds__(kThreads, Terms::kInputs == 1 ? 4 : 3)
    packedColumnSumsKernel(ChannelLayout l, Split split, Terms terms, Operand a,
                           Operand b, double *partials) {
  constexpr int K = Terms::kSums, U = kRowSumUnroll<Terms, Type>;
  int aType = typeFor<Type>(a.type), bType = typeFor<Type>(b.type);
  int maskType = 0;
  if constexpr (Terms::kInputs == 2)
    maskType = typeFor<Type>(terms.mask.value.type);
  int64_t packsPerRow = l.channels / kPack;
  int width = split.width, steps = split.rowsPerStep;
  int s = threadIdx.x / width, j = threadIdx.x % width;
  int64_t column = static_cast<int64_t>(blockIdx.x) * width + j;
  int64_t g = blockIdx.y;
  float run[kPack][K] = {};
  if (s < steps && column < packsPerRow) {
    typename Terms::Channel channel[kPack];
#pragma unroll
    for (int e = 0; e < kPack; ++e)
      channel[e] = terms.channel(column * kPack + e);
    int64_t end = min((g + 1) * split.chunk, l.batch);
    for (int64_t r = g * split.chunk + s; r < end; r += U * steps) {
      HeldPack<Type> x[U], dy[U], value[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (r + u * steps < end) {
          int64_t pack = (r + u * steps) * packsPerRow + column;
          x[u].load(a.data, aType, pack);
          if constexpr (Terms::kInputs == 2) {
            loadGradPack(terms, dy[u], b, bType, r + u * steps, packsPerRow,
                         column);
            if (readsValue<Kind>(terms.mask))
              value[u].load(terms.mask.value.data, maskType, pack);
          }
        }
#pragma unroll
      for (int e = 0; e < kPack; ++e) {
        // A recomputing mask's channel floats, once for the U rows (held
        // for all 8 channels they would spill).
        MaskChannel maskCh;
        if constexpr (Terms::kInputs == 2)
          maskCh = maskChannel<Kind>(terms.mask, column * kPack + e);
#pragma unroll
        for (int u = 0; u < U; ++u)
          if (r + u * steps < end) {
            float grad = 0;
            if constexpr (Terms::kInputs == 2)
              grad = maskGrad<Kind, Type>(terms.mask, value[u], x[u], dy[u], e,
                                          maskCh);
            terms.add(channel[e], x[u][e], grad, run[e]);
          }
      }
    }
  }
  __shared__ double shared[K][kPack][kThreads];
  for (int k = 0; k < K; ++k)
    for (int e = 0; e < kPack; ++e)
      shared[k][e][threadIdx.x] = run[e][k];
  __syncthreads();
  // Thread (s, j) adds (s + half, j) in place; threads past rowsPerStep
  // rows or the last column hold zeros that nothing reads.
  for (int count = steps; count > 1;) {
    int half = (count + 1) / 2;
    if (s < count - half)
      for (int k = 0; k < K; ++k)
        for (int e = 0; e < kPack; ++e)
          shared[k][e][threadIdx.x] += shared[k][e][threadIdx.x + half * width];
    __syncthreads();
    count = half;
  }
  if (s == 0 && column < packsPerRow)
    for (int k = 0; k < K; ++k)
      for (int e = 0; e < kPack; ++e)
        partials[(k * l.channels + column * kPack + e) * split.chunks + g] =
            shared[k][e][j];
}

/// Launches the sums of `terms` over `split`'s chunks; `mask` is the value
/// that the terms read besides a and b, if any.
template <typename Terms>
std::string launchSums(CudaContext &ctx, const ChannelLayout &l,
                       const Split &split, const Terms &terms, Operand a,
                       Operand b, double *partials, Operand mask = {}) {
  if (l.channels == 0 || split.chunks == 0)
    return {};
  auto chunks = static_cast<unsigned>(split.chunks);
  if (l.rows() && split.group == kPack) {
    dim3 grid(static_cast<unsigned>(split.columnBlocks), chunks);
    withType(commonType({a, b, mask}), [&](auto type) {
      withKernelKindOf<decltype(type)::value>(terms, [&](auto kind) {
        packedColumnSumsKernel<Terms, decltype(type)::value,
                               decltype(kind)::value>
            <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b,
                                                partials);
      });
    });
  } else if (l.rows()) {
    dim3 grid(static_cast<unsigned>((l.channels + kColumns - 1) / kColumns),
              chunks);
    columnSumsKernel<<<grid, dim3(kColumns, kRows), 0, ctx.stream>>>(
        l, split, terms, a, b, partials);
  } else if constexpr (kReadsPooledGrad<Terms>) {
    return "reads a pooled gradient channels-last only";
  } else {
    int64_t blocks = l.channels * split.chunks;
    if (blocks > 0x7fffffffll)
      return "has " + std::to_string(l.channels) +
             " channels, more than one launch takes";
    auto grid = static_cast<unsigned>(blocks);
    if (split.group == kPack)
      planeSumsKernel<kPack>
          <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b, partials);
    else
      planeSumsKernel<1>
          <<<grid, kThreads, 0, ctx.stream>>>(l, split, terms, a, b, partials);
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

bool isPackable(const ChannelLayout &l,
                std::initializer_list<const void *> tensors) {
  if (l.numel() <= 0 || (l.rows() ? l.channels : l.spatial) % kPack != 0)
    return false;
  for (const void *tensor : tensors)
    if (!isPackAligned(tensor))
      return false;
  return true;
}

Split splitChannels(const ChannelLayout &l, bool packed, int inputs) {
  Split split;
  split.group = packed ? kPack : 1;
  // The units a chunk counts (rows, or a channel's groups), the blocks
  // that read one chunk of every channel, and the units a block reads at
  // once per channel.
  int64_t units = l.perChannel(), blocksPerChunk = 0, unitsPerStep = 0;
  if (l.rows() && packed) {
    // Up to 32 pack columns (256 channels) a block, the row's columns
    // spread evenly over its blocks.
    int64_t packsPerRow = l.channels / kPack;
    split.columnBlocks = (packsPerRow + 31) / 32;
    split.width = static_cast<int>((packsPerRow + split.columnBlocks - 1) /
                                   split.columnBlocks);
    split.rowsPerStep = kThreads / split.width;
    blocksPerChunk = split.columnBlocks;
    unitsPerStep = split.rowsPerStep;
  } else if (l.rows()) {
    blocksPerChunk = (l.channels + kColumns - 1) / kColumns;
    unitsPerStep = kRows;
  } else {
    units /= split.group;
    blocksPerChunk = l.channels;
    unitsPerStep = kThreads;
  }
  // Enough blocks to fill the GPU, each thread summing at least 4 units.
  int64_t wanted =
      std::max<int64_t>(1, (kSumBlocks[inputs > 1] + blocksPerChunk - 1) /
                               std::max<int64_t>(1, blocksPerChunk));
  int64_t most = std::max<int64_t>(1, units / (4 * unitsPerStep));
  split.chunks = std::min(wanted, most);
  split.chunk = (units + split.chunks - 1) / split.chunks;
  if (split.chunk > 0)
    split.chunks = (units + split.chunk - 1) / split.chunk;
  if (!l.rows() && l.spatial > 0) {
    int64_t plane = l.spatial / split.group;
    split.stepN = kThreads / plane;
    split.stepS = kThreads % plane;
  }
  return split;
}

std::string sumInputAndSquares(CudaContext &ctx, const ChannelLayout &l,
                               const Split &split, Operand x,
                               double *partials) {
  return launchSums(ctx, l, split, SumsAndSquares{l, x}, x, {nullptr, 0},
                    partials);
}

std::string sumGrads(CudaContext &ctx, const ChannelLayout &l,
                     const Split &split, Operand x, Operand dy, Operand mean,
                     ActivationMask mask, double *partials) {
  return launchSums(ctx, l, split, GradSums{mean, mask}, x, dy, partials,
                    mask.value);
}

std::string sumPooledGrads(CudaContext &ctx, const ChannelLayout &l,
                           const Split &split, Operand x,
                           const PooledGrad &pooled, Operand mean,
                           ActivationMask mask, double *partials) {
  return launchSums(ctx, l, split, PooledGradSums{{mean, mask}, pooled}, x,
                    {pooled.grad, pooled.gradType}, partials, mask.value);
}

} // namespace var::cuda::norm
