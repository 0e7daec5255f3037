// Fused stem convolutions (see ConvStemKernels.h). A tile is kTile
// consecutive output pixels of one output row (image, od, oh). A block
// stages the input rows that the tile's windows cover in shared memory
// (coalesced loads), and each lane gathers the elements of the tile's
// patch matrix that its tensor-core fragments hold straight from the
// stage (kTile x depth: the columns of ConvPatchKernels.cu, taps in
// (kd, kh, kw) order with the C channels of each tap together, zeros past
// `columns`): no patch matrix is written anywhere. The products are
// 16x8x16 bf16 tensor-core tiles (PTX mma) summed in f32.
#include "runtime/cuda/ConvPatchKernels.h"
#include "runtime/cuda/ConvStemKernels.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <cuda_bf16.h>

#include <algorithm>
#include <climits>

namespace var::cuda {

using cpu::TensorView;
using cpu::Window;

namespace {

constexpr int kTile = 64; // output pixels a tile
/// Elements that each shared-memory row of the filter (forward) or the
/// tile's gradient runs past its width, so that the loads of a fragment's
/// rows hit different banks.
constexpr int kSkew = 8;
/// Input elements a thread loads at once when it stages a tile's rows.
constexpr int kStageBatch = 8;
constexpr int kWarps = 4;
constexpr int kStemThreads = kWarps * 32;
constexpr int kMaxOutChannels = 64;
/// The filter gradient's 16-channel tiles (kMaxOutChannels / 16), and its
/// 8-column tiles a warp holds with all of them.
constexpr int kMaxChannelTiles = 4;
constexpr int kMaxColumnTilesPerWarp = 5;
/// The filter gradient's partial sums: one a block, at most
/// gradBlocksPerSm x kSlotSms of them (one wave on an H100 or H200's 132
/// SMs: blocks of a second wave would leave most SMs idle), and at most
/// kMaxPartialBytes in all.
constexpr int kSlotSms = 128;
constexpr int64_t kMaxPartialBytes = int64_t(16) << 20;
constexpr int kMaxSharedBytes = 96 << 10;
constexpr int kDefaultSharedBytes = 48 << 10;
/// Slots the gradient's final sum reads at once for each element.
constexpr int kSumLanes = 16;

int roundUp(int64_t value, int64_t multiple) {
  return static_cast<int>((value + multiple - 1) / multiple * multiple);
}

struct StemShape {
  PatchShape p;
  int outChannels; // K
  int outPad;      // K rounded up to 16
  int depth;       // the patch columns rounded up to 16
  int patchStride; // depth + kSkew: a row of the shared filter
  int outStride;   // outPad + kSkew: a pixel's row of the shared gradient
  int span;        // input pixels along W that a tile's windows cover
  int windowRows;  // kernel D x kernel H: the input rows a tile reads
  int tilesPerRow;
  int tiles;
};

/// Byte offsets of a block's shared memory regions, each 128-byte aligned
/// (ldmatrix takes 16-byte aligned rows).
struct StemSmem {
  int offsets; // int[depth]: each patch column's place in the stage
  int rows;    // int64[windowRows]: where each staged row starts in x
  int stage;   // bf16[windowRows * span * C]
  int matrix;  // forward: the bf16 (outPad x patchStride) filter
  int out;     // gradient: the tile's bf16 (kTile x outStride) gradient
  int bytes;
};

/// The shape, or tiles = 0 when the window has too many tiles for an int.
StemShape stemShapeOf(const Window &w) {
  StemShape s{};
  s.p = patchShapeOf(w, 2);
  s.outChannels = static_cast<int>(w.outChannels);
  s.outPad = roundUp(w.outChannels, 16);
  s.depth = roundUp(s.p.columns, 16);
  s.patchStride = s.depth + kSkew;
  s.outStride = s.outPad + kSkew;
  s.span =
      (kTile - 1) * s.p.stride[2] + (s.p.kernel[2] - 1) * s.p.dilation[2] + 1;
  s.windowRows = s.p.kernel[0] * s.p.kernel[1];
  s.tilesPerRow = (s.p.out[2] + kTile - 1) / kTile;
  int64_t tiles = w.batch * w.out[0] * w.out[1] * s.tilesPerRow;
  s.tiles = tiles <= INT_MAX ? static_cast<int>(tiles) : 0;
  return s;
}

StemSmem stemSmemOf(const StemShape &s, bool forward) {
  StemSmem m{};
  int at = 0;
  auto take = [&](int64_t bytes) {
    int here = at;
    at = roundUp(at + bytes, 128);
    return here;
  };
  m.offsets = take(int64_t(s.depth) * 4);
  m.rows = take(int64_t(s.windowRows) * 8);
  m.stage = take(int64_t(s.windowRows) * s.span * s.p.channels * 2);
  if (forward) {
    m.matrix = take(int64_t(s.outPad) * s.patchStride * 2);
  } else {
    m.out = take(int64_t(kTile) * s.outStride * 2);
  }
  m.bytes = at;
  return m;
}

/// Blocks of the filter gradient an SM holds at once, by the registers of
/// the accumulators of the 8-column tiles a warp holds.
constexpr int gradBlocksPerSm(int columnTiles) {
  return columnTiles <= 1 ? 6 : columnTiles <= 2 ? 5 : 3;
}

/// The 8-column tiles of the patch columns.
__host__ __device__ inline int gradColumnTiles(const StemShape &s) {
  return (s.p.columns + 7) / 8;
}

/// The 8-column tiles of the filter gradient a warp holds.
int gradPerWarp(const StemShape &s) {
  return (gradColumnTiles(s) + kWarps - 1) / kWarps;
}

/// Two f32 values rounded to bf16 (nearest even) in one word, the first
/// in the low half.
__device__ inline uint32_t packBf16(float first, float second) {
  __nv_bfloat162 pair = __floats2bfloat162_rn(first, second);
  return *reinterpret_cast<uint32_t *>(&pair);
}

constexpr int64_t kNoRow = INT64_MIN;

/// What a block's threads need of a tile and compute once a kernel: where
/// each thread starts in the stage, and how its place moves by blockDim.x
/// elements (the loops then divide nothing per element).
struct StageWalk {
  int row, element;         // this thread's first staged (row, element)
  int rowStep, elementStep; // blockDim.x elements as rows and elements
  int rowElements;          // span * C
};

__device__ StageWalk stageWalkOf(const StemShape &s) {
  StageWalk walk;
  walk.rowElements = s.span * s.p.channels;
  walk.row = threadIdx.x / walk.rowElements;
  walk.element = threadIdx.x % walk.rowElements;
  walk.rowStep = blockDim.x / walk.rowElements;
  walk.elementStep = blockDim.x % walk.rowElements;
  return walk;
}

/// Each patch column's place in the stage for a tile's first pixel (its
/// tap's input row and pixel, its channel); -1 past `columns`.
__device__ void columnOffsets(const StemShape &s, int *offsets) {
  const PatchShape &p = s.p;
  for (int j = threadIdx.x; j < s.depth; j += blockDim.x) {
    int offset = -1;
    if (j < p.columns) {
      int c = j % p.channels, tap = j / p.channels;
      int kw = tap % p.kernel[2], kh = tap / p.kernel[2] % p.kernel[1],
          kd = tap / (p.kernel[2] * p.kernel[1]);
      offset =
          ((kd * p.kernel[1] + kh) * s.span + kw * p.dilation[2]) * p.channels +
          c;
    }
    offsets[j] = offset;
  }
}

/// Where each staged row of `tile` starts in x (its first pixel, possibly
/// left of the input), kNoRow for a row outside the input: threads [0,
/// windowRows) write it.
__device__ void rowStarts(const StemShape &s, int tile, int64_t *rows) {
  const PatchShape &p = s.p;
  int r = threadIdx.x;
  if (r >= s.windowRows)
    return;
  int row = tile / s.tilesPerRow, ow0 = tile % s.tilesPerRow * kTile;
  int oh = row % p.out[1], od = row / p.out[1] % p.out[0],
      image = row / (p.out[1] * p.out[0]);
  int kh = r % p.kernel[1], kd = r / p.kernel[1];
  int id = od * p.stride[0] - p.padding[0] + kd * p.dilation[0];
  int ih = oh * p.stride[1] - p.padding[1] + kh * p.dilation[1];
  bool inside = id >= 0 && id < p.in[0] && ih >= 0 && ih < p.in[1];
  rows[r] =
      inside ? ((static_cast<int64_t>(image) * p.in[0] + id) * p.in[1] + ih) *
                       p.in[2] * p.channels +
                   static_cast<int64_t>(ow0 * p.stride[2] - p.padding[2]) *
                       p.channels
             : kNoRow;
}

/// Stages the input rows that the tile from output pixel `ow0` covers
/// (windowRows rows of span pixels, zeros outside the input; `rows` from
/// rowStarts): each row a contiguous run of the input, read coalesced,
/// each thread issuing kStageBatch loads before it waits for the first.
__device__ void stageRows(const uint16_t *x, const StemShape &s,
                          const StageWalk &walk, const int64_t *rows, int ow0,
                          uint16_t *stage) {
  const PatchShape &p = s.p;
  int iw0 = ow0 * p.stride[2] - p.padding[2];
  // The staged elements [lo, hi) of a row lie inside the input.
  int lo = max(0, -iw0) * p.channels;
  int hi = min(s.span, p.in[2] - iw0) * p.channels;
  int n = s.windowRows * walk.rowElements;
  int r = walk.row, e = walk.element;
  for (int first = threadIdx.x; first < n; first += kStageBatch * blockDim.x) {
    uint16_t values[kStageBatch];
#pragma unroll
    for (int l = 0; l < kStageBatch; ++l) {
      int64_t start = r < s.windowRows ? rows[r] : kNoRow;
      values[l] =
          start != kNoRow && e >= lo && e < hi ? x[start + e] : uint16_t(0);
      r += walk.rowStep;
      e += walk.elementStep;
      if (e >= walk.rowElements) {
        e -= walk.rowElements;
        ++r;
      }
    }
#pragma unroll
    for (int l = 0; l < kStageBatch; ++l)
      if (first + l * static_cast<int>(blockDim.x) < n)
        stage[first + l * blockDim.x] = values[l];
  }
}

/// The tiles of block `block` when `tiles` are cut into runs of
/// `perBlock`.
__device__ inline void blockTiles(int tiles, int perBlock, int &first,
                                  int &last) {
  first = blockIdx.x * perBlock;
  last = min(tiles, first + perBlock);
}

/// d += a b: one 16x8x16 bf16 tensor-core product, f32 accumulators
/// (PTX mma.m16n8k16; the fragments' layouts are the ISA's: lane l holds
/// rows l / 4 and l / 4 + 8, columns 2 (l % 4) and the next).
__device__ inline void mma16x8x16(float (&d)[4], const uint32_t (&a)[4],
                                  uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// Output channels `channel` and `channel` + 1 of the tile's pixel at
/// `at` (its first channel's element), if they exist: one 4-byte store
/// when `paired` (bf16, K even, y 4-byte aligned).
__device__ inline void storeChannels(void *y, int yType, bool paired,
                                     int64_t at, int channel, int k,
                                     float first, float second) {
  if (paired) {
    if (channel < k)
      *reinterpret_cast<uint32_t *>(static_cast<uint16_t *>(y) + at + channel) =
          packBf16(first, second);
    return;
  }
  if (channel < k)
    storeFloat(y, yType, at + channel, first);
  if (channel + 1 < k)
    storeFloat(y, yType, at + channel + 1, second);
}

/// Each block: its run of tilesPerBlock tiles. Warp w multiplies the
/// patches of the tile's pixels [16 w, 16 w + 16) by the filter, kOutTiles
/// 8-channel tiles of them, each lane gathering its patch elements from the
/// stage straight into the product's registers and storing its results
/// straight to y (no patch or result matrix in shared memory). With
/// kSteps > 0 (depth = 16 kSteps) each lane holds its filter fragments and
/// column offsets in registers for every tile.
template <int kOutTiles, int kSteps>
__global__ void __launch_bounds__(kStemThreads)
    stemForwardKernel(const uint16_t *x, const uint16_t *filter, void *y,
                      int yType, StemShape s, StemSmem m, int tilesPerBlock,
                      bool paired) {
  extern __shared__ __align__(128) unsigned char smem[];
  auto *offsets = reinterpret_cast<int *>(smem + m.offsets);
  auto *rows = reinterpret_cast<int64_t *>(smem + m.rows);
  auto *stage = reinterpret_cast<uint16_t *>(smem + m.stage);
  auto *matrix = reinterpret_cast<uint16_t *>(smem + m.matrix);
  const PatchShape &p = s.p;
  int first, last;
  blockTiles(s.tiles, tilesPerBlock, first, last);
  columnOffsets(s, offsets);
  if (first < last)
    rowStarts(s, first, rows);
  // The plan's (K, C, taps) filter as (outPad x depth), zero-padded.
  int taps = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int i = threadIdx.x; i < s.outPad * s.depth; i += blockDim.x) {
    int k = i / s.depth, j = i - k * s.depth;
    matrix[k * s.patchStride + j] =
        k < s.outChannels && j < p.columns
            ? filter[(k * p.channels + j % p.channels) * taps + j / p.channels]
            : uint16_t(0);
  }
  StageWalk walk = stageWalkOf(s);
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int group = lane / 4, pair = lane % 4 * 2;
  int pixel0 = warp * 16 + group, pixel1 = pixel0 + 8;
  int step = p.stride[2] * p.channels;
  int base0 = pixel0 * step, base1 = pixel1 * step;
  int k = s.outChannels;
  // A lane's column offsets (columns c, c + 1, c + 8, c + 9 of k-step q)
  // and filter fragments, from shared memory.
  auto columnsOf = [&](int q, int(&o)[4]) {
    int c = q * 16 + pair;
    o[0] = offsets[c], o[1] = offsets[c + 1], o[2] = offsets[c + 8],
    o[3] = offsets[c + 9];
  };
  auto filterOf = [&](int q, int n, uint32_t(&b)[2]) {
    const uint16_t *at =
        matrix + (n * 8 + group) * s.patchStride + q * 16 + pair;
    b[0] = *reinterpret_cast<const uint32_t *>(at);
    b[1] = *reinterpret_cast<const uint32_t *>(at + 8);
  };
  constexpr int kHeld = kSteps > 0 ? kSteps : 1;
  int heldColumns[kHeld][4];
  uint32_t heldFilter[kHeld][kOutTiles][2];
  if constexpr (kSteps > 0) {
    __syncthreads(); // the offsets and the filter are written
#pragma unroll
    for (int q = 0; q < kSteps; ++q) {
      columnsOf(q, heldColumns[q]);
#pragma unroll
      for (int n = 0; n < kOutTiles; ++n)
        filterOf(q, n, heldFilter[q][n]);
    }
  }
  int steps = kSteps > 0 ? kSteps : s.depth / 16;
  for (int tile = first; tile < last; ++tile) {
    __syncthreads(); // the last tile's stage is read, the rows written
    stageRows(x, s, walk, rows, tile % s.tilesPerRow * kTile, stage);
    __syncthreads();
    if (tile + 1 < last)
      rowStarts(s, tile + 1, rows);
    float acc[kOutTiles][4] = {};
#pragma unroll(kSteps > 0 ? kSteps : 1)
    for (int q = 0; q < steps; ++q) {
      int o[4];
      if constexpr (kSteps > 0) {
        for (int i = 0; i < 4; ++i)
          o[i] = heldColumns[q][i];
      } else {
        columnsOf(q, o);
      }
      auto at = [&](int offset, int base) -> uint32_t {
        return offset < 0 ? 0u : stage[offset + base];
      };
      uint32_t a[4] = {at(o[0], base0) | at(o[1], base0) << 16,
                       at(o[0], base1) | at(o[1], base1) << 16,
                       at(o[2], base0) | at(o[3], base0) << 16,
                       at(o[2], base1) | at(o[3], base1) << 16};
#pragma unroll
      for (int n = 0; n < kOutTiles; ++n) {
        uint32_t b[2];
        if constexpr (kSteps > 0) {
          b[0] = heldFilter[q][n][0];
          b[1] = heldFilter[q][n][1];
        } else {
          filterOf(q, n, b);
        }
        mma16x8x16(acc[n], a, b[0], b[1]);
      }
    }
    int row = tile / s.tilesPerRow, ow0 = tile % s.tilesPerRow * kTile;
    int valid = min(kTile, p.out[2] - ow0);
    int64_t start = (static_cast<int64_t>(row) * p.out[2] + ow0) * k;
#pragma unroll
    for (int n = 0; n < kOutTiles; ++n) {
      int channel = n * 8 + pair;
      if (pixel0 < valid)
        storeChannels(y, yType, paired, start + int64_t(pixel0) * k, channel, k,
                      acc[n][0], acc[n][1]);
      if (pixel1 < valid)
        storeChannels(y, yType, paired, start + int64_t(pixel1) * k, channel, k,
                      acc[n][2], acc[n][3]);
    }
  }
}

/// a = the four 8x8 bf16 matrices at the lanes' row addresses, each
/// transposed (PTX ldmatrix .trans: lanes 8 i .. 8 i + 7 address matrix
/// i's rows).
__device__ inline void loadTransposed(uint32_t (&a)[4], const uint16_t *row) {
  auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 "
               "{%0, %1, %2, %3}, [%4];\n"
               : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3])
               : "r"(address));
}

/// Each block: the filter gradient's terms of its run of tilesPerBlock
/// tiles, dW (outPad x depth) += dY^T (outPad x kTile) P (kTile x depth) a
/// tile, into partials' slot blockIdx.x. Warp w takes dW's 8-column tiles
/// w, w + kWarps, ... (kColumnTiles at most) with every 16-channel tile of
/// them: a lane gathers its patch elements of a column tile from the stage
/// once for all channel tiles, and reads each channel tile's dY^T fragment
/// with ldmatrix from the tile's gradient in shared memory. With `packed` (K %
/// 8
/// == 0, dy 16-byte aligned) the next tile's gradient is loaded into
/// registers, 16 bytes a load, while this one's is multiplied.
template <int kColumnTiles>
__global__ void __launch_bounds__(kStemThreads, gradBlocksPerSm(kColumnTiles))
    stemGradWeightKernel(const uint16_t *x, const uint16_t *dy, float *partials,
                         StemShape s, StemSmem m, int tilesPerBlock,
                         bool packed) {
  extern __shared__ __align__(128) unsigned char smem[];
  auto *offsets = reinterpret_cast<int *>(smem + m.offsets);
  auto *rows = reinterpret_cast<int64_t *>(smem + m.rows);
  auto *stage = reinterpret_cast<uint16_t *>(smem + m.stage);
  auto *grads = reinterpret_cast<uint16_t *>(smem + m.out);
  const PatchShape &p = s.p;
  int k = s.outChannels;
  int first, last;
  blockTiles(s.tiles, tilesPerBlock, first, last);
  columnOffsets(s, offsets);
  if (first < last)
    rowStarts(s, first, rows);
  for (int i = threadIdx.x; i < kTile * s.outStride; i += blockDim.x)
    grads[i] = 0; // the padding channels stay zero
  StageWalk walk = stageWalkOf(s);
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int group = lane / 4, pair = lane % 4 * 2;
  int step = p.stride[2] * p.channels;
  int mTiles = s.outPad / 16, nTiles = gradColumnTiles(s);
  // This lane's ldmatrix row: pixel lane % 8 (+ 8 for matrices 2 and 3),
  // channel 8 for matrices 1 and 3.
  int ldRow = (lane % 8 + lane / 16 * 8) * s.outStride + lane / 8 % 2 * 8;
  float acc[kColumnTiles][kMaxChannelTiles][4] = {};

  constexpr int kLoads = kTile * kMaxOutChannels / kPack / kStemThreads;
  uint4 next[kLoads];
  // Where this thread's packs go in the gradient tile.
  int places[kLoads];
#pragma unroll
  for (int l = 0; l < kLoads; ++l) {
    int v = threadIdx.x + l * kStemThreads, pixel = v * kPack / max(k, 1);
    places[l] = v < kTile * k / kPack
                    ? pixel * s.outStride + v * kPack - pixel * k
                    : -1;
  }
  // The tile's gradient (valid * K contiguous elements), zeros past its
  // last pixel.
  auto load = [&](int tile) {
    int row = tile / s.tilesPerRow, ow0 = tile % s.tilesPerRow * kTile;
    int valid = min(kTile, p.out[2] - ow0);
    const uint4 *from = reinterpret_cast<const uint4 *>(
        dy + (static_cast<int64_t>(row) * p.out[2] + ow0) * k);
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      int v = threadIdx.x + l * kStemThreads;
      next[l] = v < valid * k / kPack ? from[v] : make_uint4(0, 0, 0, 0);
    }
  };
  if (packed && first < last)
    load(first);
  for (int tile = first; tile < last; ++tile) {
    int row = tile / s.tilesPerRow, ow0 = tile % s.tilesPerRow * kTile;
    __syncthreads(); // the last tile's products are done, the rows written
    if (packed) {
#pragma unroll
      for (int l = 0; l < kLoads; ++l)
        if (places[l] >= 0)
          *reinterpret_cast<uint4 *>(grads + places[l]) = next[l];
      if (tile + 1 < last)
        load(tile + 1);
    } else {
      int valid = min(kTile, p.out[2] - ow0);
      const uint16_t *from =
          dy + (static_cast<int64_t>(row) * p.out[2] + ow0) * k;
      for (int i = threadIdx.x; i < kTile * k; i += blockDim.x) {
        int pixel = i / k;
        grads[pixel * s.outStride + i - pixel * k] =
            pixel < valid ? from[i] : uint16_t(0);
      }
    }
    stageRows(x, s, walk, rows, ow0, stage);
    __syncthreads();
    if (tile + 1 < last)
      rowStarts(s, tile + 1, rows);
#pragma unroll
    for (int f = 0; f < kColumnTiles; ++f) {
      int nt = warp + f * kWarps;
      if (nt >= nTiles)
        break;
      int offset = offsets[nt * 8 + group];
      auto at = [&](int pixel) -> uint32_t {
        return offset < 0 ? 0u : stage[offset + pixel * step];
      };
#pragma unroll
      for (int q = 0; q < kTile; q += 16) {
        int pixel = q + pair;
        uint32_t b0 = at(pixel) | at(pixel + 1) << 16,
                 b1 = at(pixel + 8) | at(pixel + 9) << 16;
#pragma unroll
        for (int mt = 0; mt < kMaxChannelTiles; ++mt) {
          if (mt >= mTiles)
            break;
          uint32_t a[4];
          loadTransposed(a, grads + q * s.outStride + mt * 16 + ldRow);
          mma16x8x16(acc[f][mt], a, b0, b1);
        }
      }
    }
  }
  float *slot =
      partials + static_cast<int64_t>(blockIdx.x) * s.outPad * s.depth;
#pragma unroll
  for (int f = 0; f < kColumnTiles; ++f) {
    int nt = warp + f * kWarps;
    if (nt >= nTiles)
      break;
#pragma unroll
    for (int mt = 0; mt < kMaxChannelTiles; ++mt) {
      if (mt >= mTiles)
        break;
      float *to = slot + (mt * 16 + group) * s.depth + nt * 8 + pair;
      *reinterpret_cast<float2 *>(to) =
          make_float2(acc[f][mt][0], acc[f][mt][1]);
      *reinterpret_cast<float2 *>(to + 8 * s.depth) =
          make_float2(acc[f][mt][2], acc[f][mt][3]);
    }
  }
}

/// filter (K, C, taps) = the sum of the slots' (outPad x depth) partials,
/// each element's slots split over kSumLanes lanes (lane l takes slots l,
/// l + kSumLanes, ...) whose sums are added in lane order: the same bits
/// every run.
__global__ void sumStemPartialsKernel(const float *partials, int slots,
                                      StemShape s, void *filter,
                                      int filterType) {
  __shared__ float lanes[kSumLanes][32];
  const PatchShape &p = s.p;
  int taps = p.kernel[0] * p.kernel[1] * p.kernel[2];
  int n = s.outChannels * p.channels * taps;
  int i = blockIdx.x * 32 + threadIdx.x;
  float sum = 0.0f;
  if (i < n) {
    int tap = i % taps, c = i / taps % p.channels, k = i / (taps * p.channels);
    const float *at = partials + k * s.depth + tap * p.channels + c;
    int64_t slotElements = int64_t(s.outPad) * s.depth;
    for (int slot = threadIdx.y; slot < slots; slot += kSumLanes)
      sum += at[slot * slotElements];
  }
  lanes[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && i < n) {
    float total = 0.0f;
    for (int lane = 0; lane < kSumLanes; ++lane)
      total += lanes[lane][threadIdx.x];
    storeFloat(filter, filterType, i, total);
  }
}

/// Lets `kernel` take `bytes` of dynamic shared memory.
template <typename Kernel>
std::string allowSharedBytes(Kernel kernel, int bytes) {
  if (bytes > kDefaultSharedBytes)
    VAR_CUDA_TRY(cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  return {};
}

template <int kOutTiles, int kSteps>
std::string launchForwardSteps(CudaContext &ctx, const StemShape &s,
                               const StemSmem &m, const TensorView &input,
                               const TensorView &weight, TensorView &result,
                               ElementType yType, bool paired) {
  auto kernel = stemForwardKernel<kOutTiles, kSteps>;
  if (std::string error = allowSharedBytes(kernel, m.bytes); !error.empty())
    return error;
  // One wave of blocks, each a run of tiles (the forward's sums do not
  // depend on which block takes a tile).
  int device = 0, sms = 0, perSm = 0;
  VAR_CUDA_TRY(cudaGetDevice(&device));
  VAR_CUDA_TRY(
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  VAR_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &perSm, kernel, kStemThreads, m.bytes));
  int wave = std::max(1, sms * perSm);
  int tilesPerBlock = (s.tiles + wave - 1) / wave;
  int blocks = (s.tiles + tilesPerBlock - 1) / tilesPerBlock;
  kernel<<<blocks, kStemThreads, m.bytes, ctx.stream>>>(
      static_cast<const uint16_t *>(input.data),
      static_cast<const uint16_t *>(weight.data), result.data, yType, s, m,
      tilesPerBlock, paired);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The kernel for depths of 16 and 32 columns (the RGB stems' 3x3
/// windows) holds its fragments in registers.
template <int kOutTiles>
std::string launchForward(CudaContext &ctx, const StemShape &s,
                          const StemSmem &m, const TensorView &input,
                          const TensorView &weight, TensorView &result,
                          ElementType yType, bool paired) {
  if (s.depth == 16)
    return launchForwardSteps<kOutTiles, 1>(ctx, s, m, input, weight, result,
                                            yType, paired);
  if (s.depth == 32)
    return launchForwardSteps<kOutTiles, 2>(ctx, s, m, input, weight, result,
                                            yType, paired);
  return launchForwardSteps<kOutTiles, 0>(ctx, s, m, input, weight, result,
                                          yType, paired);
}

template <int kColumnTiles>
std::string launchGradWeight(CudaContext &ctx, const StemShape &s,
                             const StemSmem &m, const TensorView &input,
                             const TensorView &grad, float *partials, int slots,
                             int tilesPerBlock, bool packed) {
  auto kernel = stemGradWeightKernel<kColumnTiles>;
  if (std::string error = allowSharedBytes(kernel, m.bytes); !error.empty())
    return error;
  kernel<<<slots, kStemThreads, m.bytes, ctx.stream>>>(
      static_cast<const uint16_t *>(input.data),
      static_cast<const uint16_t *>(grad.data), partials, s, m, tilesPerBlock,
      packed);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string launchGradWeight(CudaContext &ctx, const StemShape &s,
                             const StemSmem &m, const TensorView &input,
                             const TensorView &grad, float *partials, int slots,
                             int tilesPerBlock, bool packed) {
  switch (gradPerWarp(s)) {
  case 1:
    return launchGradWeight<1>(ctx, s, m, input, grad, partials, slots,
                               tilesPerBlock, packed);
  case 2:
    return launchGradWeight<2>(ctx, s, m, input, grad, partials, slots,
                               tilesPerBlock, packed);
  case 3:
    return launchGradWeight<3>(ctx, s, m, input, grad, partials, slots,
                               tilesPerBlock, packed);
  case 4:
    return launchGradWeight<4>(ctx, s, m, input, grad, partials, slots,
                               tilesPerBlock, packed);
  default:
    return launchGradWeight<5>(ctx, s, m, input, grad, partials, slots,
                               tilesPerBlock, packed);
  }
}

} // namespace

bool isFusedStem(const Window &w, plan::DType dtype) {
  if (dtype != plan::DType::BF16 || !isPatchGemm(w) ||
      w.outChannels > kMaxOutChannels)
    return false;
  StemShape s = stemShapeOf(w);
  return s.tiles > 0 && gradPerWarp(s) <= kMaxColumnTilesPerWarp &&
         std::max(stemSmemOf(s, true).bytes, stemSmemOf(s, false).bytes) <=
             kMaxSharedBytes;
}

std::string fusedStemForward(CudaContext &ctx, const Window &w,
                             const TensorView &input, const TensorView &weight,
                             TensorView &result) {
  StemShape s = stemShapeOf(w);
  StemSmem m = stemSmemOf(s, true);
  ElementType yType = kF32;
  if (std::string error = elementTypeOf(result, "result", yType);
      !error.empty())
    return error;
  bool paired = yType == kBF16 && s.outChannels % 2 == 0 &&
                reinterpret_cast<uintptr_t>(result.data) % 4 == 0;
  switch (s.outPad / 8) {
  case 2:
    return launchForward<2>(ctx, s, m, input, weight, result, yType, paired);
  case 4:
    return launchForward<4>(ctx, s, m, input, weight, result, yType, paired);
  case 6:
    return launchForward<6>(ctx, s, m, input, weight, result, yType, paired);
  default:
    return launchForward<8>(ctx, s, m, input, weight, result, yType, paired);
  }
}

std::string fusedStemGradWeight(CudaContext &ctx, const Window &w,
                                const TensorView &input, const TensorView &grad,
                                TensorView &result) {
  StemShape s = stemShapeOf(w);
  StemSmem m = stemSmemOf(s, false);
  ElementType filterType = kF32;
  if (std::string error = elementTypeOf(result, "result", filterType);
      !error.empty())
    return error;
  // Slots (blocks) depend on the shape alone, so the sums' order does too.
  int64_t slotBytes = int64_t(s.outPad) * s.depth * int64_t(sizeof(float));
  int64_t slots =
      std::min<int64_t>({s.tiles, gradBlocksPerSm(gradPerWarp(s)) * kSlotSms,
                         std::max<int64_t>(1, kMaxPartialBytes / slotBytes)});
  int tilesPerBlock = static_cast<int>((s.tiles + slots - 1) / slots);
  int blocks = (s.tiles + tilesPerBlock - 1) / tilesPerBlock;
  void *partials = nullptr;
  if (std::string error = ctx.getWorkspace(blocks * slotBytes, &partials);
      !error.empty())
    return error;
  auto *sums = static_cast<float *>(partials);
  bool packed = s.outChannels % kPack == 0 && isPackAligned(grad.data);
  if (std::string error = launchGradWeight(ctx, s, m, input, grad, sums, blocks,
                                           tilesPerBlock, packed);
      !error.empty())
    return error;
  int n = static_cast<int>(result.numel());
  sumStemPartialsKernel<<<(n + 31) / 32, dim3(32, kSumLanes), 0, ctx.stream>>>(
      sums, blocks, s, result.data, filterType);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace var::cuda
