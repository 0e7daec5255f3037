// Patch-GEMM convolutions (see ConvPatchKernels.h). A patch row is one
// output pixel's window, taps in (kd, kh, kw) order with the C channels of
// each tap together, zero where the window leaves the padded input and in
// the columns that round a row up to 16 bytes. The filter as a matrix has
// the same column order, so the product sums exactly the window's terms.
#include "runtime/cuda/ConvPatchKernels.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <climits>
#include <type_traits>

namespace var::cuda {

using cpu::TensorView;
using cpu::Window;

namespace {

constexpr int64_t kMaxPatchChannels = 4;
constexpr int64_t kMaxPatchTaps = 64;
constexpr int64_t kPatchChunkBytes = int64_t(48) << 20;
/// Rows of patches whose filter-gradient terms one product sums.
constexpr int64_t kSliceRows = 4096;

size_t aligned(int64_t bytes) {
  return (static_cast<size_t>(bytes) + 255) / 256 * 256;
}

/// Rows [first, first + count) of the patch matrix: one thread a 16-byte
/// chunk of a row (kPer columns), written with one store. The thread
/// decodes its output pixel and first column once and walks the columns'
/// channels and taps by increments, so that a chunk costs a handful of
/// integer divisions rather than some per element.
template <typename T>
__global__ void patchesKernel(const T *x, uint4 *patches, PatchShape s,
                              int first, int count) {
  constexpr int kPer = 16 / sizeof(T);
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
    const T *clip = x + static_cast<int64_t>(image) * s.in[0] * s.in[1] *
                            s.in[2] * s.channels;
    union {
      T element[kPer];
      uint4 bits;
    } chunk;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
      T value = T(0);
      int id = od * s.stride[0] - s.padding[0] + kd * s.dilation[0];
      int ih = oh * s.stride[1] - s.padding[1] + kh * s.dilation[1];
      int iw = ow * s.stride[2] - s.padding[2] + kw * s.dilation[2];
      if (column + k < s.columns && id >= 0 && id < s.in[0] && ih >= 0 &&
          ih < s.in[1] && iw >= 0 && iw < s.in[2])
        value = clip[((id * s.in[1] + ih) * s.in[2] + iw) * s.channels + c];
      chunk.element[k] = value;
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
    patches[i] = chunk.bits;
  }
}

/// The plan's (K, C, taps) filter as the (K x width) matrix of the patch
/// columns, zeros past the window's.
template <typename T>
__global__ void filterMatrixKernel(const T *filter, T *matrix, PatchShape s,
                                   int taps, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += gridDim.x * blockDim.x) {
    int column = i % s.width, k = i / s.width;
    matrix[i] = column < s.columns
                    ? filter[(k * s.channels + column % s.channels) * taps +
                             column / s.channels]
                    : T(0);
  }
}

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

/// Calls launch((Bits *)nullptr) with Bits the unsigned type of `dtype`'s
/// element width (uint16_t for bf16, uint32_t for f32): the kernels move
/// elements, not values.
template <typename Launch>
void withElementBits(plan::DType dtype, Launch launch) {
  if (dtype == plan::DType::BF16)
    launch(static_cast<uint16_t *>(nullptr));
  else
    launch(static_cast<uint32_t *>(nullptr));
}

/// Builds rows [first, first + count) of the patches of `input` in
/// `patches`, as T of the element width of `dtype`.
std::string buildPatches(CudaContext &ctx, const PatchShape &s,
                         const TensorView &input, void *patches, int first,
                         int count) {
  int64_t n = static_cast<int64_t>(count) * s.width *
              plan::getDTypeBytes(input.dtype) / 16;
  withElementBits(input.dtype, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    patchesKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(input.data), static_cast<uint4 *>(patches), s,
        first, count);
  });
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The rows of one chunk of patches.
int64_t chunkRows(const PatchShape &s, int64_t rows, int64_t elementBytes) {
  int64_t rowBytes = s.width * elementBytes;
  return std::max<int64_t>(1, std::min(rows, kPatchChunkBytes / rowBytes));
}

/// `batches` column-major products C_b (m x n, f32) = A_b B_b^T, A_b the
/// b-th (m x k) block of `a` (lda m), B_b the b-th (n x k) block of `b`
/// (ldb n), both of `abType`; C_b the b-th block of `c`.
std::string slicedGemm(CudaContext &ctx, int64_t m, int64_t n, int64_t k,
                       const void *a, const void *b, plan::DType abType,
                       float *c, int64_t batches) {
  cudaDataType_t type = abType == plan::DType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
  float one = 1.0f, zero = 0.0f;
  VAR_CUDA_TRY(cublasGemmStridedBatchedEx(
      ctx.cublas, CUBLAS_OP_N, CUBLAS_OP_T, static_cast<int>(m),
      static_cast<int>(n), static_cast<int>(k), &one, a, type,
      static_cast<int>(m), m * k, b, type, static_cast<int>(n), n * k, &zero, c,
      CUDA_R_32F, static_cast<int>(m), m * n, static_cast<int>(batches),
      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return {};
}

/// matrix (+)= the sum of `slots` partial matrices of n elements, in slot
/// order (the same bits every run).
__global__ void sumSlicesKernel(const float *partials, int slots, int n,
                                float *matrix, bool accumulate) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += gridDim.x * blockDim.x) {
    float sum = accumulate ? matrix[i] : 0.0f;
    for (int slot = 0; slot < slots; ++slot)
      sum += partials[static_cast<int64_t>(slot) * n + i];
    matrix[i] = sum;
  }
}

} // namespace

PatchShape patchShapeOf(const Window &w, int64_t elementBytes) {
  PatchShape s{};
  for (int d = 0; d < 3; ++d) {
    s.in[d] = static_cast<int>(w.in[d]);
    s.out[d] = static_cast<int>(w.out[d]);
    s.kernel[d] = static_cast<int>(w.kernel[d]);
    s.stride[d] = static_cast<int>(w.stride[d]);
    s.padding[d] = static_cast<int>(w.padding[d]);
    s.dilation[d] = static_cast<int>(w.dilation[d]);
  }
  s.channels = static_cast<int>(w.inChannels);
  s.columns = static_cast<int>(cpu::product(w.kernel) * w.inChannels);
  int perChunk = static_cast<int>(16 / elementBytes);
  s.width = (s.columns + perChunk - 1) / perChunk * perChunk;
  return s;
}

bool isPatchGemm(const Window &w) {
  int64_t rows = w.batch * cpu::product(w.out);
  int64_t taps = cpu::product(w.kernel);
  return w.channelsLast && w.groups == 1 && w.inChannels <= kMaxPatchChannels &&
         taps <= kMaxPatchTaps && taps > 1 && rows <= INT_MAX / 2 &&
         w.outChannels <= INT_MAX;
}

std::string patchGemmForward(CudaContext &ctx, const Window &w,
                             const TensorView &input, const TensorView &weight,
                             TensorView &result) {
  int64_t elementBytes = plan::getDTypeBytes(input.dtype);
  PatchShape s = patchShapeOf(w, elementBytes);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  int64_t chunk = chunkRows(s, rows, elementBytes);
  size_t matrixBytes = aligned(k * s.width * elementBytes);
  void *base = nullptr;
  if (std::string error = ctx.getWorkspace(static_cast<int64_t>(matrixBytes) +
                                               chunk * s.width * elementBytes,
                                           &base);
      !error.empty())
    return error;
  char *matrix = static_cast<char *>(base), *patches = matrix + matrixBytes;
  int taps = static_cast<int>(cpu::product(w.kernel));
  int n = static_cast<int>(k * s.width);
  withElementBits(input.dtype, [&](auto *type) {
    using T = std::remove_pointer_t<decltype(type)>;
    filterMatrixKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        static_cast<const T *>(weight.data), reinterpret_cast<T *>(matrix), s,
        taps, n);
  });
  VAR_CUDA_LAUNCHED();
  char *y = static_cast<char *>(result.data);
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
                   s.width, patches, s.width, input.dtype,
                   y + first * k * elementBytes, result.dtype, 0.0f);
        !error.empty())
      return error;
  }
  return {};
}

std::string patchGemmGradWeight(CudaContext &ctx, const Window &w,
                                const TensorView &input, const TensorView &grad,
                                TensorView &result) {
  int64_t elementBytes = plan::getDTypeBytes(input.dtype);
  PatchShape s = patchShapeOf(w, elementBytes);
  int64_t rows = w.batch * cpu::product(w.out), k = w.outChannels;
  int64_t chunk = chunkRows(s, rows, elementBytes);
  int64_t matrixElements = k * s.width;
  int64_t slots = (chunk + kSliceRows - 1) / kSliceRows;
  size_t matrixBytes = aligned(matrixElements * int64_t(sizeof(float)));
  size_t partialBytes =
      aligned(slots * matrixElements * int64_t(sizeof(float)));
  void *base = nullptr;
  if (std::string error =
          ctx.getWorkspace(static_cast<int64_t>(matrixBytes + partialBytes) +
                               chunk * s.width * elementBytes,
                           &base);
      !error.empty())
    return error;
  auto *matrix = static_cast<float *>(base);
  auto *partials =
      reinterpret_cast<float *>(static_cast<char *>(base) + matrixBytes);
  char *patches = static_cast<char *>(base) + matrixBytes + partialBytes;
  const char *dy = static_cast<const char *>(grad.data);
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
    const char *chunkGrad = dy + first * k * elementBytes;
    int64_t full = count / kSliceRows, rest = count % kSliceRows;
    if (full > 0)
      if (std::string error =
              slicedGemm(ctx, s.width, k, kSliceRows, patches, chunkGrad,
                         input.dtype, partials, full);
          !error.empty())
        return error;
    if (rest > 0)
      if (std::string error = gemmEx(
              ctx, CUBLAS_OP_N, CUBLAS_OP_T, s.width, k, rest,
              patches + full * kSliceRows * s.width * elementBytes, s.width,
              chunkGrad + full * kSliceRows * k * elementBytes, k, input.dtype,
              partials + full * matrixElements, plan::DType::F32, 0.0f);
          !error.empty())
        return error;
    int n = static_cast<int>(matrixElements);
    sumSlicesKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        partials, static_cast<int>(full + (rest > 0)), n, matrix, first > 0);
    VAR_CUDA_LAUNCHED();
  }
  ElementType filterType = kF32;
  if (std::string error = elementTypeOf(result, "result", filterType);
      !error.empty())
    return error;
  int taps = static_cast<int>(cpu::product(w.kernel));
  int n = static_cast<int>(result.numel());
  filterGradKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      matrix, result.data, filterType, s, taps, n);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace var::cuda
