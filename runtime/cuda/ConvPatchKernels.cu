// Patch-GEMM convolutions (see ConvPatchKernels.h; ConvPatchShared.cuh
// has the patches' column order): the entry points, f32 as im2col into the
// workspace and cuBLAS products (FMA, no TF32), and the filter gradient's
// second pass, which both types share. bf16 runs on tensor cores
// (ConvPatchTileKernels.cu).
#include "runtime/cuda/ConvPatchKernels.h"
#include "runtime/cuda/ConvPatchShared.cuh"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <climits>

namespace var::cuda {

using cpu::TensorView;
using cpu::Window;

namespace patch {
namespace {

/// The f32 (K x width) gradient into the plan's (K, C, taps) layout, one
/// rounding an element.
__global__ void filterGradKernel(const float *matrix, void *filter,
                                 int filterType, PatchShape s, int taps,
                                 int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += gridDim.x * blockDim.x) {
    int tap = i % taps, c = i / taps % s.channels, k = i / (taps * s.channels);
    storeFloat(filter, filterType, i,
               matrix[k * s.width + tap * s.channels + c]);
  }
}

/// A block takes kSumElements consecutive elements; its kSumLanes lanes
/// each sum the slots lane, lane + kSumLanes, ... in order, and then the
/// lanes' sums are added in lane order: the same bits every run, and
/// enough loads in flight for the thousand slots of a large input (a
/// thread an element summing them all would wait on each load in turn).
constexpr int kSumElements = 8, kSumLanes = kThreads / kSumElements;

__global__ void sumSlicesKernel(const float *partials, int slots, int n,
                                float *matrix, bool accumulate) {
  __shared__ float sums[kSumLanes][kSumElements];
  int e = threadIdx.x % kSumElements, lane = threadIdx.x / kSumElements;
  int i = blockIdx.x * kSumElements + e;
  float sum = 0.0f;
  if (i < n) {
#pragma unroll 4
    for (int slot = lane; slot < slots; slot += kSumLanes)
      sum += partials[static_cast<int64_t>(slot) * n + i];
  }
  sums[lane][e] = sum;
  __syncthreads();
  if (lane == 0 && i < n) {
    float total = accumulate ? matrix[i] : 0.0f;
    for (int l = 0; l < kSumLanes; ++l)
      total += sums[l][e];
    matrix[i] = total;
  }
}

} // namespace

std::string sumSlices(CudaContext &ctx, const float *partials, int64_t slots,
                      int64_t n, float *matrix, bool accumulate) {
  sumSlicesKernel<<<
      static_cast<unsigned>((n + kSumElements - 1) / kSumElements), kThreads, 0,
      ctx.stream>>>(partials, static_cast<int>(slots), static_cast<int>(n),
                    matrix, accumulate);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string storeFilterGrad(CudaContext &ctx, const PatchShape &s,
                            const float *matrix, TensorView &result) {
  ElementType filterType = kF32;
  if (std::string error = elementTypeOf(result, "result", filterType);
      !error.empty())
    return error;
  int taps = s.columns / s.channels;
  int n = static_cast<int>(result.numel());
  filterGradKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      matrix, result.data, filterType, s, taps, n);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace patch

namespace {

using patch::aligned;
using patch::PatchShape;
using patch::patchShapeOf;

constexpr int64_t kMaxPatchChannels = 4;
constexpr int64_t kMaxPatchTaps = 64;
constexpr int64_t kPatchChunkBytes = int64_t(48) << 20;
/// Rows of patches whose filter-gradient terms one cuBLAS product sums.
constexpr int64_t kSliceRows = 4096;

/// Rows [first, first + count) of the f32 patch matrix: one thread a
/// 16-byte chunk of a row (4 columns), written with one store. The thread
/// decodes its output pixel and first column once and walks the columns'
/// channels and taps by increments, so that a chunk costs a handful of
/// integer divisions rather than some per element.
__global__ void patchesKernel(const float *x, float4 *patches, PatchShape s,
                              int first, int count) {
  constexpr int kPer = 4;
  int chunksPerRow = s.width / kPer;
  int n = count * chunksPerRow;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += gridDim.x * blockDim.x) {
    int row = first + i / chunksPerRow;
    int column = i % chunksPerRow * kPer;
    int ow = row % s.out[2], oh = row / s.out[2] % s.out[1],
        od = row / (s.out[2] * s.out[1]) % s.out[0],
        image = row / (s.out[2] * s.out[1] * s.out[0]);
    int c = column % s.channels, tap = column / s.channels;
    int kw = tap % s.kernel[2], kh = tap / s.kernel[2] % s.kernel[1],
        kd = tap / (s.kernel[2] * s.kernel[1]);
    const float *clip = x + static_cast<int64_t>(image) * s.in[0] * s.in[1] *
                                s.in[2] * s.channels;
    float chunk[kPer];
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      float value = 0.0f;
      int id = od * s.stride[0] - s.padding[0] + kd * s.dilation[0];
      int ih = oh * s.stride[1] - s.padding[1] + kh * s.dilation[1];
      int iw = ow * s.stride[2] - s.padding[2] + kw * s.dilation[2];
      if (column + k < s.columns && id >= 0 && id < s.in[0] && ih >= 0 &&
          ih < s.in[1] && iw >= 0 && iw < s.in[2])
        value = clip[((id * s.in[1] + ih) * s.in[2] + iw) * s.channels + c];
      chunk[k] = value;
      if (++c == s.channels) { // the next tap, (kd, kh, kw) in order
        c = 0;
        if (++kw == s.kernel[2]) {
          kw = 0;
          if (++kh == s.kernel[1]) {
            kh = 0;
            ++kd;
          }
        }
      }
    }
    patches[i] = make_float4(chunk[0], chunk[1], chunk[2], chunk[3]);
  }
}

/// The plan's (K, C, taps) filter as the (K x width) matrix of the patch
/// columns, zeros past the window's.
__global__ void filterMatrixKernel(const float *filter, float *matrix,
                                   PatchShape s, int taps, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += gridDim.x * blockDim.x) {
    int column = i % s.width, k = i / s.width;
    matrix[i] = column < s.columns
                    ? filter[(k * s.channels + column % s.channels) * taps +
                             column / s.channels]
                    : 0.0f;
  }
}

/// Builds rows [first, first + count) of the patches of `input`.
std::string buildPatches(CudaContext &ctx, const PatchShape &s,
                         const TensorView &input, void *patches, int first,
                         int count) {
  int64_t n = static_cast<int64_t>(count) * s.width / 4;
  patchesKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      static_cast<const float *>(input.data), static_cast<float4 *>(patches), s,
      first, count);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The rows of one chunk of patches.
int64_t chunkRows(const PatchShape &s, int64_t rows) {
  int64_t rowBytes = s.width * int64_t(sizeof(float));
  return std::max<int64_t>(1, std::min(rows, kPatchChunkBytes / rowBytes));
}

/// `batches` column-major products C_b (m x n, f32) = A_b B_b^T, A_b the
/// b-th (m x k) block of `a` (lda m), B_b the b-th (n x k) block of `b`
/// (ldb n), all f32; C_b the b-th block of `c`.
std::string slicedGemm(CudaContext &ctx, int64_t m, int64_t n, int64_t k,
                       const float *a, const float *b, float *c,
                       int64_t batches) {
  float one = 1.0f, zero = 0.0f;
  VAR_CUDA_TRY(cublasGemmStridedBatchedEx(
      ctx.cublas, CUBLAS_OP_N, CUBLAS_OP_T, static_cast<int>(m),
      static_cast<int>(n), static_cast<int>(k), &one, a, CUDA_R_32F,
      static_cast<int>(m), m * k, b, CUDA_R_32F, static_cast<int>(n), n * k,
      &zero, c, CUDA_R_32F, static_cast<int>(m), m * n,
      static_cast<int>(batches), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return {};
}

std::string f32Forward(CudaContext &ctx, const Window &w,
                       const TensorView &input, const TensorView &weight,
                       TensorView &result) {
  PatchShape s = patchShapeOf(w, 4);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  int64_t chunk = chunkRows(s, rows);
  int64_t matrixBytes = aligned(k * s.width * int64_t(sizeof(float)));
  void *base = nullptr;
  if (std::string error = ctx.getWorkspace(
          matrixBytes + chunk * s.width * int64_t(sizeof(float)), &base);
      !error.empty())
    return error;
  auto *matrix = static_cast<float *>(base);
  char *patches = static_cast<char *>(base) + matrixBytes;
  int taps = static_cast<int>(cpu::product(w.kernel));
  int n = static_cast<int>(k * s.width);
  filterMatrixKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      static_cast<const float *>(weight.data), matrix, s, taps, n);
  VAR_CUDA_LAUNCHED();
  auto *y = static_cast<float *>(result.data);
  for (int64_t first = 0; first < rows; first += chunk) {
    int64_t count = std::min(chunk, rows - first);
    if (std::string error =
            buildPatches(ctx, s, input, patches, static_cast<int>(first),
                         static_cast<int>(count));
        !error.empty())
      return error;
    // Y (count x K) = P (count x width) M^T: column-major Y^T = M P^T.
    if (std::string error =
            gemmEx(ctx, CUBLAS_OP_T, CUBLAS_OP_N, k, count, s.width, matrix,
                   s.width, patches, s.width, plan::DType::F32, y + first * k,
                   plan::DType::F32, 0.0f);
        !error.empty())
      return error;
  }
  return {};
}

std::string f32GradWeight(CudaContext &ctx, const Window &w,
                          const TensorView &input, const TensorView &grad,
                          TensorView &result) {
  PatchShape s = patchShapeOf(w, 4);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  int64_t chunk = chunkRows(s, rows);
  int64_t matrixElements = k * s.width;
  int64_t slots = (chunk + kSliceRows - 1) / kSliceRows;
  int64_t matrixBytes = aligned(matrixElements * int64_t(sizeof(float)));
  int64_t partialBytes =
      aligned(slots * matrixElements * int64_t(sizeof(float)));
  void *base = nullptr;
  if (std::string error = ctx.getWorkspace(
          matrixBytes + partialBytes + chunk * s.width * int64_t(sizeof(float)),
          &base);
      !error.empty())
    return error;
  auto *matrix = static_cast<float *>(base);
  auto *partials =
      reinterpret_cast<float *>(static_cast<char *>(base) + matrixBytes);
  auto *patches = reinterpret_cast<float *>(static_cast<char *>(base) +
                                            matrixBytes + partialBytes);
  const auto *dy = static_cast<const float *>(grad.data);
  for (int64_t first = 0; first < rows; first += chunk) {
    int64_t count = std::min(chunk, rows - first);
    if (std::string error =
            buildPatches(ctx, s, input, patches, static_cast<int>(first),
                         static_cast<int>(count));
        !error.empty())
      return error;
    // Each slice of kSliceRows rows gives its own dM (K x width) = dY^T P,
    // column-major dM^T (width x K) = P^T dY: one product of a long sum
    // into a small matrix would leave most of the GPU idle.
    const float *chunkGrad = dy + first * k;
    int64_t full = count / kSliceRows, rest = count % kSliceRows;
    if (full > 0)
      if (std::string error = slicedGemm(ctx, s.width, k, kSliceRows, patches,
                                         chunkGrad, partials, full);
          !error.empty())
        return error;
    if (rest > 0)
      if (std::string error =
              gemmEx(ctx, CUBLAS_OP_N, CUBLAS_OP_T, s.width, k, rest,
                     patches + full * kSliceRows * s.width, s.width,
                     chunkGrad + full * kSliceRows * k, k, plan::DType::F32,
                     partials + full * matrixElements, plan::DType::F32, 0.0f);
          !error.empty())
        return error;
    if (std::string error = patch::sumSlices(ctx, partials, full + (rest > 0),
                                             matrixElements, matrix, first > 0);
        !error.empty())
      return error;
  }
  return patch::storeFilterGrad(ctx, s, matrix, result);
}

} // namespace

bool isPatchGemm(const Window &w) {
  int64_t rows = w.batch * cpu::product(w.out);
  int64_t taps = cpu::product(w.kernel);
  return w.channelsLast && w.groups == 1 && w.inChannels <= kMaxPatchChannels &&
         taps <= kMaxPatchTaps && taps > 1 && rows <= INT_MAX / 2 &&
         w.outChannels <= INT_MAX;
}

bool patchGemmAddsBias(plan::DType dtype) { return dtype == plan::DType::BF16; }

std::string patchGemmForward(CudaContext &ctx, const Window &w,
                             const TensorView &input, const TensorView &weight,
                             const TensorView *bias, TensorView &result) {
  if (patchGemmAddsBias(input.dtype))
    return patch::tileForward(ctx, w, input, weight, bias, result);
  if (bias)
    return "the f32 patch GEMM adds no bias";
  return f32Forward(ctx, w, input, weight, result);
}

std::string patchGemmGradWeight(CudaContext &ctx, const Window &w,
                                const TensorView &input, const TensorView &grad,
                                TensorView &result) {
  if (input.dtype == plan::DType::BF16)
    return patch::tileGradWeight(ctx, w, input, grad, result);
  return f32GradWeight(ctx, w, input, grad, result);
}

} // namespace var::cuda
