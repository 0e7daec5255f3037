// The bf16 patch GEMMs (ConvPatchKernels.h) as implicit GEMMs on tensor
// cores: a block gathers tiles of 128 patch rows straight from the NDHWC
// input into shared memory (ConvPatchShared.cuh has the column order) and
// multiplies them there by wmma's 16x16x16 bf16 fragments into f32
// accumulators, so that the patches never reach memory. The forward
// writes each result once, rounded (and the bias added) in its epilogue;
// the filter gradient sums fixed slices of rows into partial matrices,
// which ConvPatchKernels.cu's second pass adds in a fixed order.
#include "runtime/cuda/ConvPatchShared.cuh"
#include "runtime/cuda/DeviceTensor.cuh"

#include <cuda_bf16.h>
#include <mma.h>

#include <algorithm>
#include <string>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "the bf16 patch GEMMs use bf16 wmma fragments, which need sm_80 or later"
#endif

namespace var::cuda::patch {

using cpu::TensorView;
using cpu::Window;
namespace wmma = nvcuda::wmma;

namespace {

/// Output rows (pixels) of a tile; 8 warps of 16 rows in the forward.
constexpr int kTileRows = 128;
/// Output channels a block covers (grid.y counts the groups of K).
constexpr int kGroupChannels = 64;
/// bf16 elements past the end of each shared row, so that the 16 rows a
/// fragment load reads start in different banks.
constexpr int kRowPad = 8;
constexpr int kGroupStride = kGroupChannels + kRowPad;
/// f32 row stride of the forward's accumulator tile.
constexpr int kResultStride = kGroupChannels + 4;
/// Rows of a slice of the filter gradient: a block sums one slice into
/// its own partial matrix. Fixed, so that the sums are the same on every
/// GPU; small enough that R(2+1)D's stem (0.8M rows) fills an H200.
constexpr int kTileSliceRows = 2048;
/// At most this many bytes of partial matrices at once; beyond, the slices
/// run in passes, each summed into the gradient.
constexpr int64_t kMaxPartialBytes = int64_t(64) << 20;
/// Origin and tap offsets that fail every bounds check: rows past the
/// tile's end, columns past the window's.
constexpr int kOutside = -(1 << 29);

using RowFragment =
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major>;
using ColumnFragment =
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::col_major>;
using BFragment =
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major>;
using Accumulator = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

/// Byte offsets of the tile kernels' shared arrays, each 128-byte aligned.
struct TileLayout {
  int columns; // int4 a column: element offset, (kd, kh, kw) * dilation
  int origins; // int4 a tile row: the window's (d, h, w) origin
  int bases;   // int64 a tile row: the origin's element offset
  int bias;    // forward: f32 a channel of the group
  int filter;  // forward: bf16 [width][kGroupStride]
  int grad;    // filter gradient: bf16 [kTileRows][kGroupStride]
  int tile;    // bf16 patches [kTileRows][width + kRowPad]; the forward's
               // f32 results [kTileRows][kResultStride] and bf16 staged
               // results reuse it
  int bytes;
};

TileLayout tileLayoutOf(int width, bool forward) {
  TileLayout l{};
  int at = 0;
  auto take = [&](int bytes) {
    int offset = at;
    at += (bytes + 127) / 128 * 128;
    return offset;
  };
  l.columns = take(width * 16);
  l.origins = take(kTileRows * 16);
  l.bases = take(kTileRows * 8);
  if (forward) {
    l.bias = take(kGroupChannels * 4);
    l.filter = take(width * kGroupStride * 2);
  } else {
    l.grad = take(kTileRows * kGroupStride * 2);
  }
  int patches = kTileRows * (width + kRowPad) * 2;
  l.tile = take(forward ? std::max(patches, kTileRows * kResultStride * 4)
                        : patches);
  l.bytes = at;
  return l;
}

/// The column table, once per block: column j's element offset from its
/// window's origin pixel and its tap's (kd, kh, kw) * dilation.
__device__ void fillColumns(const PatchShape &s, int4 *columns) {
  for (int j = threadIdx.x; j < s.width; j += blockDim.x) {
    int4 column = make_int4(0, kOutside, 0, 0);
    if (j < s.columns) {
      int c = j % s.channels, tap = j / s.channels;
      int dw = tap % s.kernel[2] * s.dilation[2];
      int dh = tap / s.kernel[2] % s.kernel[1] * s.dilation[1];
      int dd = tap / (s.kernel[2] * s.kernel[1]) * s.dilation[0];
      column = make_int4(((dd * s.in[1] + dh) * s.in[2] + dw) * s.channels + c,
                         dd, dh, dw);
    }
    columns[j] = column;
  }
}

/// The window origins of rows [first, first + kTileRows), those at or past
/// `end` outside: a thread a row.
__device__ void fillOrigins(const PatchShape &s, int first, int end,
                            int4 *origins, int64_t *bases) {
  int r = threadIdx.x;
  if (r >= kTileRows)
    return;
  int row = first + r;
  int4 origin = make_int4(kOutside, 0, 0, 0);
  int64_t base = 0;
  if (row < end) {
    int ow = row % s.out[2], rest = row / s.out[2];
    int oh = rest % s.out[1];
    rest /= s.out[1];
    int od = rest % s.out[0], image = rest / s.out[0];
    origin = make_int4(od * s.stride[0] - s.padding[0],
                       oh * s.stride[1] - s.padding[1],
                       ow * s.stride[2] - s.padding[2], 0);
    base =
        static_cast<int64_t>(image) * s.in[0] * s.in[1] * s.in[2] * s.channels +
        ((static_cast<int64_t>(origin.x) * s.in[1] + origin.y) * s.in[2] +
         origin.z) *
            s.channels;
  }
  origins[r] = origin;
  bases[r] = base;
}

/// The tile's patch rows from the NDHWC input into `patches` (row stride
/// width + kRowPad), zeros outside the input, past the window's columns
/// and past the rows' end. Consecutive threads take consecutive columns of
/// a row (neighbouring input elements); each issues kBatch loads before it
/// stores them. kTileRows * width is a multiple of 8 * kThreads.
template <int kBatch>
__device__ void gatherPatches(const uint16_t *__restrict__ x,
                              const PatchShape &s, const int4 *columns,
                              const int4 *origins, const int64_t *bases,
                              __nv_bfloat16 *patches) {
  int stride = s.width + kRowPad;
  int r = threadIdx.x / s.width, j = threadIdx.x % s.width;
  int rowStep = kThreads / s.width, columnStep = kThreads % s.width;
  for (int i = 0; i < kTileRows * s.width; i += kBatch * kThreads) {
    uint16_t value[kBatch];
    int at[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      int4 column = columns[j], origin = origins[r];
      unsigned id = origin.x + column.y, ih = origin.y + column.z,
               iw = origin.z + column.w;
      value[u] = 0;
      if (id < unsigned(s.in[0]) && ih < unsigned(s.in[1]) &&
          iw < unsigned(s.in[2]))
        value[u] = x[bases[r] + column.x];
      at[u] = r * stride + j;
      j += columnStep;
      r += rowStep;
      if (j >= s.width) {
        j -= s.width;
        ++r;
      }
    }
#pragma unroll
    for (int u = 0; u < kBatch; ++u)
      patches[at[u]] = __ushort_as_bfloat16(value[u]);
  }
}

/// The forward's results of rows [first, first + count) and channels
/// [c0, c0 + kt) from the f32 tile `results` into y (rows x k): each
/// rounded to bf16 once, then, with a bias, the bias added and rounded
/// again (as a separate bias pass over y would). The values go first into
/// `staged`, in y's order (a thread an element: no bank conflicts), and
/// then out in y's 16-byte packs, one store a whole pack. With kt == k the
/// tile's results are one run of y, else a run of kt a row.
__device__ void storeResults(uint16_t *y, int64_t k, int c0, int kt, int first,
                             int count, const float *results, const float *bias,
                             uint16_t *staged) {
  // Elements y holds before its first 16-byte boundary: y - lead is one.
  int lead = static_cast<int>(reinterpret_cast<uintptr_t>(y) / 2 % 8);
  bool oneRun = kt == k;
  // A run's start in y and its offset within its first pack.
  auto runStart = [&](int r) {
    return oneRun ? first * k : (first + r) * k + c0;
  };
  auto runLead = [&](int r) {
    return static_cast<int>((runStart(r) + lead) % 8);
  };
  // Two values a register: a thread's elements i and i + 1.
  constexpr int kPerThread = kTileRows * kGroupChannels / kThreads;
  uint32_t value[kPerThread / 2];
  int r = threadIdx.x / kt, n = threadIdx.x % kt;
  int rowStep = kThreads / kt, channelStep = kThreads % kt;
  auto next = [&] {
    n += channelStep;
    r += rowStep;
    if (n >= kt) {
      n -= kt;
      ++r;
    }
  };
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    uint32_t bits = 0;
    if (r < count) {
      bits = floatToBf16Bits(results[r * kResultStride + n]);
      if (bias)
        bits = floatToBf16Bits(bf16BitsToFloat(bits) + bias[n]);
    }
    value[i / 2] = i % 2 ? value[i / 2] | bits << 16 : bits;
    next();
  }
  __syncthreads(); // every result read before `staged` overwrites them
  int runStride = oneRun ? 0 : kGroupStride, oneLead = runLead(0);
  r = threadIdx.x / kt, n = threadIdx.x % kt;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    if (r < count) {
      int offset = oneRun ? oneLead + r * kt : r * runStride + runLead(r);
      staged[offset + n] = static_cast<uint16_t>(value[i / 2] >> 16 * (i % 2));
    }
    next();
  }
  __syncthreads();
  int runs = oneRun ? 1 : count, length = oneRun ? count * kt : kt;
  int packs = (length + 14) / 8; // most 8-element packs a run touches
  uint4 *yPacks = reinterpret_cast<uint4 *>(y - lead);
  for (int q = threadIdx.x; q < runs * packs; q += kThreads) {
    int run = q / packs, p = q % packs;
    int64_t start = runStart(run);
    int e = 8 * p - runLead(run); // the pack's first element in the run
    if (e >= length)
      continue;
    const uint16_t *from = staged + run * runStride + 8 * p;
    if (e >= 0 && e + 8 <= length) {
      yPacks[(start + lead) / 8 + p] = *reinterpret_cast<const uint4 *>(from);
      continue;
    }
    for (int u = 0; u < 8; ++u)
      if (e + u >= 0 && e + u < length)
        y[start + e + u] = from[u];
  }
}

/// Forward, bf16: y (rows x k) = patches (rows x width) filter^T (+ bias).
/// Block (x, y) stages the filter of channel group y once, then takes
/// tiles x, x + gridDim.x, ... of kTileRows rows: gathers their patches,
/// warp w multiplies rows [16w, 16w + 16) by the group's up to 4 fragments
/// of 16 channels, and the results go out through shared memory.
__global__ void __launch_bounds__(kThreads, 4)
    tileForwardKernel(const uint16_t *__restrict__ x,
                      const uint16_t *__restrict__ filter, const void *bias,
                      int biasType, uint16_t *y, PatchShape s, TileLayout l,
                      int rows, int k) {
  extern __shared__ __align__(128) unsigned char shared[];
  auto *columns = reinterpret_cast<int4 *>(shared + l.columns);
  auto *origins = reinterpret_cast<int4 *>(shared + l.origins);
  auto *bases = reinterpret_cast<int64_t *>(shared + l.bases);
  auto *groupBias = reinterpret_cast<float *>(shared + l.bias);
  auto *b = reinterpret_cast<__nv_bfloat16 *>(shared + l.filter);
  auto *patches = reinterpret_cast<__nv_bfloat16 *>(shared + l.tile);
  auto *results = reinterpret_cast<float *>(shared + l.tile);
  auto *staged = reinterpret_cast<uint16_t *>(shared + l.tile);
  int c0 = blockIdx.y * kGroupChannels;
  int kt = min(kGroupChannels, k - c0), fragments = (kt + 15) / 16;
  int taps = s.columns / s.channels;
  fillColumns(s, columns);
  // B (width x kGroupChannels) = the group's filter^T, zeros past the
  // window's columns and past K.
  for (int i = threadIdx.x; i < s.width * kGroupChannels; i += kThreads) {
    int j = i / kGroupChannels, n = i % kGroupChannels;
    uint16_t bits = 0;
    if (j < s.columns && n < kt)
      bits = filter[((c0 + n) * s.channels + j % s.channels) * taps +
                    j / s.channels];
    b[j * kGroupStride + n] = __ushort_as_bfloat16(bits);
  }
  if (bias && threadIdx.x < kt)
    groupBias[threadIdx.x] = loadFloat(bias, biasType, c0 + threadIdx.x);
  int warp = threadIdx.x / 32, patchStride = s.width + kRowPad;
  int tiles = (rows + kTileRows - 1) / kTileRows;
  for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int first = tile * kTileRows;
    fillOrigins(s, first, rows, origins, bases);
    __syncthreads();
    gatherPatches<8>(x, s, columns, origins, bases, patches);
    __syncthreads();
    Accumulator acc[4];
#pragma unroll
    for (int f = 0; f < 4; ++f)
      wmma::fill_fragment(acc[f], 0.0f);
    for (int j = 0; j < s.width; j += 16) {
      RowFragment a;
      wmma::load_matrix_sync(a, patches + warp * 16 * patchStride + j,
                             patchStride);
#pragma unroll
      for (int f = 0; f < 4; ++f)
        if (f < fragments) {
          BFragment bf;
          wmma::load_matrix_sync(bf, b + j * kGroupStride + f * 16,
                                 kGroupStride);
          wmma::mma_sync(acc[f], a, bf, acc[f]);
        }
    }
    __syncthreads(); // the patches' last reads before the results
#pragma unroll
    for (int f = 0; f < 4; ++f)
      if (f < fragments)
        wmma::store_matrix_sync(results + warp * 16 * kResultStride + f * 16,
                                acc[f], kResultStride, wmma::mem_row_major);
    __syncthreads();
    storeResults(y, k, c0, kt, first, min(kTileRows, rows - first), results,
                 bias ? groupBias : nullptr, staged);
  }
}

/// Filter gradient, bf16: block (x, y) sums dW (group y's channels x
/// width) = dY^T P over slice firstSlice + x, kTileSliceRows rows in
/// tiles of kTileRows, into partial matrix x (k16 x width, f32). A warp
/// owns fragments f = warp, warp + 8, ... (at most kOwned) of the (up to
/// 4) x (width / 16) fragments of the group.
template <int kOwned>
__global__ void __launch_bounds__(kThreads, kOwned > 4   ? 2
                                            : kOwned > 1 ? 3
                                                         : 4)
    tileGradWeightKernel(const uint16_t *__restrict__ x,
                         const uint16_t *__restrict__ dy, float *partials,
                         PatchShape s, TileLayout l, int rows, int k, int k16,
                         int firstSlice) {
  extern __shared__ __align__(128) unsigned char shared[];
  auto *columns = reinterpret_cast<int4 *>(shared + l.columns);
  auto *origins = reinterpret_cast<int4 *>(shared + l.origins);
  auto *bases = reinterpret_cast<int64_t *>(shared + l.bases);
  auto *grad = reinterpret_cast<__nv_bfloat16 *>(shared + l.grad);
  auto *patches = reinterpret_cast<__nv_bfloat16 *>(shared + l.tile);
  int c0 = blockIdx.y * kGroupChannels;
  int kt = min(kGroupChannels, k - c0);
  int columnFragments = s.width / 16;
  int fragments = (kt + 15) / 16 * columnFragments;
  int warp = threadIdx.x / 32, patchStride = s.width + kRowPad;
  fillColumns(s, columns);
  Accumulator acc[kOwned];
#pragma unroll
  for (int i = 0; i < kOwned; ++i)
    wmma::fill_fragment(acc[i], 0.0f);
  int sliceFirst = (firstSlice + blockIdx.x) * kTileSliceRows;
  int sliceEnd = min(rows, sliceFirst + kTileSliceRows);
  for (int first = sliceFirst; first < sliceEnd; first += kTileRows) {
    fillOrigins(s, first, sliceEnd, origins, bases);
    // dY's tile, zeros past the slice's rows and the group's channels: a
    // thread a channel, consecutive threads consecutive channels.
    int n = threadIdx.x % kGroupChannels, r = threadIdx.x / kGroupChannels;
    constexpr int kRowStep = kThreads / kGroupChannels;
    const uint16_t *from = dy + static_cast<int64_t>(first + r) * k + c0 + n;
    int end = n < kt ? sliceEnd - first : 0; // rows to read
#pragma unroll 4
    for (; r < kTileRows; r += kRowStep, from += kRowStep * k)
      grad[r * kGroupStride + n] = __ushort_as_bfloat16(r < end ? *from : 0);
    __syncthreads();
    // Fewer loads in flight than the forward's 8: the accumulators stay
    // live, and the blocks an SM holds (__launch_bounds__) must fit its
    // registers without spilling.
    gatherPatches<kOwned == 4 ? 2 : 4>(x, s, columns, origins, bases, patches);
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kOwned; ++i) {
      int f = warp + 8 * i;
      if (f >= fragments)
        break;
      // A = dY^T (channels x rows): dY's tile read column-major.
      const __nv_bfloat16 *aAt = grad + f / columnFragments * 16,
                          *bAt = patches + f % columnFragments * 16;
#pragma unroll 2
      for (int r = 0; r < kTileRows; r += 16) {
        ColumnFragment a;
        BFragment bf;
        wmma::load_matrix_sync(a, aAt + r * kGroupStride, kGroupStride);
        wmma::load_matrix_sync(bf, bAt + r * patchStride, patchStride);
        wmma::mma_sync(acc[i], a, bf, acc[i]);
      }
    }
    __syncthreads(); // the tiles' last reads before the next gather
  }
  float *partial = partials + static_cast<int64_t>(blockIdx.x) * k16 * s.width;
#pragma unroll
  for (int i = 0; i < kOwned; ++i) {
    int f = warp + 8 * i;
    if (f < fragments)
      wmma::store_matrix_sync(
          partial +
              static_cast<int64_t>(c0 + f / columnFragments * 16) * s.width +
              f % columnFragments * 16,
          acc[i], s.width, wmma::mem_row_major);
  }
}

/// The groups of kGroupChannels output channels (grid.y), or an error.
std::string channelGroups(int64_t k, unsigned &groups) {
  int64_t count = (k + kGroupChannels - 1) / kGroupChannels;
  if (count > 65535)
    return std::to_string(k) + " output channels are more groups of " +
           std::to_string(kGroupChannels) + " than a grid holds";
  groups = static_cast<unsigned>(count);
  return {};
}

/// Lets `kernel` have `bytes` of dynamic shared memory (above the default
/// 48 KiB). Not a stream operation: legal while a graph is captured.
template <typename Kernel>
std::string allowSharedBytes(Kernel kernel, int bytes) {
  VAR_CUDA_TRY(cudaFuncSetAttribute(
      kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  return {};
}

} // namespace

std::string tileForward(CudaContext &ctx, const Window &w,
                        const TensorView &input, const TensorView &weight,
                        const TensorView *bias, TensorView &result) {
  PatchShape s = patchShapeOf(w, 16);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  if (rows == 0 || k == 0)
    return {};
  ElementType biasType = kF32;
  if (bias)
    if (std::string error = elementTypeOf(*bias, "bias", biasType);
        !error.empty())
      return error;
  unsigned groups = 0;
  if (std::string error = channelGroups(k, groups); !error.empty())
    return error;
  TileLayout l = tileLayoutOf(s.width, true);
  if (std::string error = allowSharedBytes(tileForwardKernel, l.bytes);
      !error.empty())
    return error;
  // As many blocks as fit on the GPU at once: each stages its filter once.
  int device = 0, sms = 0, perSm = 0;
  VAR_CUDA_TRY(cudaGetDevice(&device));
  VAR_CUDA_TRY(
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  VAR_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &perSm, tileForwardKernel, kThreads, l.bytes));
  int64_t tiles = (rows + kTileRows - 1) / kTileRows;
  int64_t resident = std::max<int64_t>(1, int64_t(perSm) * sms / groups);
  dim3 grid(static_cast<unsigned>(std::min(tiles, resident)), groups);
  tileForwardKernel<<<grid, kThreads, l.bytes, ctx.stream>>>(
      static_cast<const uint16_t *>(input.data),
      static_cast<const uint16_t *>(weight.data), bias ? bias->data : nullptr,
      biasType, static_cast<uint16_t *>(result.data), s, l,
      static_cast<int>(rows), static_cast<int>(k));
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string tileGradWeight(CudaContext &ctx, const Window &w,
                           const TensorView &input, const TensorView &grad,
                           TensorView &result) {
  PatchShape s = patchShapeOf(w, 16);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  unsigned groups = 0;
  if (k == 0)
    return {};
  if (std::string error = channelGroups(k, groups); !error.empty())
    return error;
  int64_t k16 = (k + 15) / 16 * 16, matrixElements = k16 * s.width;
  int64_t matrixBytes = matrixElements * int64_t(sizeof(float));
  // One slice even without rows, so that the gradient comes out zero.
  int64_t slices =
      std::max<int64_t>(1, (rows + kTileSliceRows - 1) / kTileSliceRows);
  int64_t perPass =
      std::clamp<int64_t>(kMaxPartialBytes / matrixBytes, 1, slices);
  void *base = nullptr;
  if (std::string error =
          ctx.getWorkspace(aligned(matrixBytes) + perPass * matrixBytes, &base);
      !error.empty())
    return error;
  auto *matrix = static_cast<float *>(base);
  auto *partials = reinterpret_cast<float *>(static_cast<char *>(base) +
                                             aligned(matrixBytes));
  TileLayout l = tileLayoutOf(s.width, false);
  // The fragments a warp owns: 8 warps over those of the widest group.
  int64_t fragments =
              std::min<int64_t>(k16, kGroupChannels) / 16 * s.width / 16,
          owned = (fragments + 7) / 8;
  auto *kernel = owned > 4   ? tileGradWeightKernel<8>
                 : owned > 2 ? tileGradWeightKernel<4>
                 : owned > 1 ? tileGradWeightKernel<2>
                             : tileGradWeightKernel<1>;
  if (std::string error = allowSharedBytes(kernel, l.bytes); !error.empty())
    return error;
  for (int64_t first = 0; first < slices; first += perPass) {
    int64_t count = std::min(perPass, slices - first);
    kernel<<<dim3(static_cast<unsigned>(count), groups), kThreads, l.bytes,
             ctx.stream>>>(static_cast<const uint16_t *>(input.data),
                           static_cast<const uint16_t *>(grad.data), partials,
                           s, l, static_cast<int>(rows), static_cast<int>(k),
                           static_cast<int>(k16), static_cast<int>(first));
    VAR_CUDA_LAUNCHED();
    if (std::string error =
            sumSlices(ctx, partials, count, matrixElements, matrix, first > 0);
        !error.empty())
      return error;
  }
  return storeFilterGrad(ctx, s, matrix, result);
}

} // namespace var::cuda::patch
