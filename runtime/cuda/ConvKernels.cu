// Convolutions through cuDNN: forward, backward data and backward filter,
// 1-D to 3-D, grouped and depthwise, in f32 (FMA math: no TF32, to stay
// within f32 rounding of the CPU) and bf16 (tensor cores, f32 accumulation).
// Tensors are NCHW / NCDHW as the plan lays them out, or NHWC / NDHWC for a
// channels_last call (the filter then goes through a KRSC copy, an input
// of a few channels, as the RGB stem's, runs zero-padded to 16 bytes a
// pixel (ConvScratchKernels.h), and 3-D windows that slide over two or one
// dimension run as 2-D convolutions);
// the algorithm is the fastest deterministic one cuDNN measures, once per
// geometry and layout, of its legacy API's or its graph API's
// (ConvSearch.h). Three channels-last cases skip cuDNN, whose NHWC
// kernels run them far below memory bandwidth: pointwise convolutions are
// cuBLAS products of the (N * spatial, C) activations, depthwise ones our
// own kernels (DepthwiseKernels.cu), and stems of at most 4 input channels
// (forward and filter gradient) patch GEMMs: fused kernels of our own in
// bf16 (ConvStemKernels.h), im2col and cuBLAS otherwise
// (ConvPatchKernels.h). The bias is a separate kernel (bf16
// results round twice; within a bf16 ulp).
#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/ConvPatchKernels.h"
#include "runtime/cuda/ConvScratchKernels.h"
#include "runtime/cuda/ConvSearch.h"
#include "runtime/cuda/ConvStemKernels.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DepthwiseKernels.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <climits>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;
using cpu::Window;

namespace {

/// Every tensor of the call in one element type cuDNN takes here.
std::string commonType(const OpCall &call, plan::DType &dtype) {
  dtype = call.results[0].dtype;
  ElementType type;
  if (std::string error = elementTypeOf(call.results[0], "result", type);
      !error.empty())
    return error;
  for (size_t i = 0; i < call.operands.size(); ++i)
    if (call.operands[i].dtype != dtype && i < 2)
      return "operand " + std::to_string(i) + " is " +
             std::string(plan::getDTypeName(call.operands[i].dtype)) +
             ", the result " + std::string(plan::getDTypeName(dtype)) +
             "; cuDNN convolutions take one element type";
  return {};
}

__global__ void addBiasKernel(void *y, int yType, const void *bias,
                              int biasType, int64_t channels, int64_t size,
                              int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    int64_t c = i / size % channels;
    storeFloat(y, yType, i,
               loadFloat(y, yType, i) + loadFloat(bias, biasType, c));
  }
}

/// The bias of a channels-last result whose channels come in whole packs
/// (16-byte aligned): a thread a pack, the same sums as addBiasKernel's;
/// 32-bit indices, and no division per element.
__global__ void addBiasPackedKernel(void *y, int yType, const void *bias,
                                    int biasType, uint32_t packsPerRow,
                                    uint32_t packs) {
  for (uint32_t p = blockIdx.x * blockDim.x + threadIdx.x; p < packs;
       p += gridDim.x * blockDim.x) {
    float v[kPack];
    loadPack(y, yType, p, v);
    uint32_t c = p % packsPerRow * kPack;
    for (int k = 0; k < kPack; ++k)
      v[k] += loadFloat(bias, biasType, c + k);
    storePack(y, yType, p, v);
  }
}

/// Adds the bias of `channels` channels to the n elements of y; `size`
/// elements a channel run (1 when channels-last).
void addBias(CudaContext &ctx, void *y, int yType, const void *bias,
             int biasType, int64_t channels, int64_t size, int64_t n) {
  int64_t packs = n / kPack;
  if (size == 1 && channels % kPack == 0 && isPackAligned(y) &&
      packs < (int64_t(1) << 31)) { // p + the grid stays below 2^32
    addBiasPackedKernel<<<blocksFor(packs), kThreads, 0, ctx.stream>>>(
        y, yType, bias, biasType, static_cast<uint32_t>(channels / kPack),
        static_cast<uint32_t>(packs));
    return;
  }
  addBiasKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      y, yType, bias, biasType, channels, size, n);
}

/// Whether a channels-last convolution is pointwise, a product of the
/// (M = N * spatial, C) activations by the (K, C) weight: a one-tap kernel
/// (dilation then changes nothing), stride 1, no padding, one group, sizes
/// that fit cuBLAS's int.
bool isPointwise(const Window &w) {
  const cpu::Dims ones = {1, 1, 1}, zeros = {0, 0, 0};
  int64_t rows = w.batch * cpu::product(w.in);
  return w.channelsLast && w.groups == 1 && w.kernel == ones &&
         w.stride == ones && w.padding == zeros && rows <= INT_MAX &&
         w.inChannels <= INT_MAX && w.outChannels <= INT_MAX;
}

/// A pointwise convolution's product through gemmEx, written straight in
/// the result's type: column-major C (m x n) = op(A) op(B) (see
/// LinearKernels.cu for the row-major to column-major reading).
std::string pointwiseGemm(CudaContext &ctx, cublasOperation_t opA,
                          cublasOperation_t opB, int64_t m, int64_t n,
                          int64_t k, const TensorView &a, int64_t lda,
                          const TensorView &b, int64_t ldb,
                          TensorView &result) {
  if (m == 0 || n == 0)
    return {};
  if (k == 0) {
    VAR_CUDA_TRY(cudaMemsetAsync(
        result.data, 0, static_cast<size_t>(result.bytes()), ctx.stream));
    return {};
  }
  return gemmEx(ctx, opA, opB, m, n, k, a.data, lda, b.data, ldb, a.dtype,
                result.data, result.dtype, 0.0f);
}

/// Describes the call, picks the algorithm (cuDNN's measurement the first
/// time a geometry is seen, the context's cache after that), takes the
/// workspace (the copies ahead of cuDNN's part, so that the eager runs
/// before a step is recorded as a graph size it for them too) and fills the
/// copies the direction reads. A bf16 convolution takes the chosen
/// algorithm's math type. `x`, `filter`, `y`: the plan's input (backward
/// data: its result), filter and output tensors.
std::string setUpConv(CudaContext &ctx, const OpCall &call, const Window &w,
                      size_t spatial, Direction direction, void *x,
                      const TensorView &filter, void *y, ConvSetup &setup) {
  plan::DType dtype;
  if (std::string error = commonType(call, dtype); !error.empty())
    return error;
  CudnnGeometry g = cudnnGeometryOf(w, spatial, dtype);
  if (std::string error = describe(g, dtype, setup.d); !error.empty())
    return error;
  std::string key = algorithmKey(setup.d, g, direction);
  setup.scratch = convScratchOf(w, dtype);
  size_t reserved = setup.scratch.reservedBytes();
  auto cached = ctx.convAlgorithms.find(key);
  if (cached != ctx.convAlgorithms.end()) {
    setup.chosen = cached->second;
  } else if (std::string error =
                 searchAlgorithm(ctx, setup, g, direction, x, filter.data, y);
             !error.empty()) {
    return error + (g.channelsLast ? " (channels-last)" : "");
  } else {
    ctx.convAlgorithms.emplace(key, setup.chosen);
  }
  void *base = nullptr;
  if (std::string error = ctx.getWorkspace(
          static_cast<int64_t>(reserved + setup.chosen.memory), &base);
      !error.empty())
    return error;
  if (std::string error =
          placeScratch(ctx, setup, direction, base, x, filter.data);
      !error.empty())
    return error;
  if (setup.d.dataType != CUDNN_DATA_FLOAT)
    VAR_CUDA_TRY(cudnnSetConvolutionMathType(
        setup.d.conv, static_cast<cudnnMathType_t>(setup.chosen.mathType)));
  return {};
}

/// Whether backward data of `w` runs as a forward convolution of the
/// spread gradient (temporalGradInput): a channels-last 3-D window of one
/// group that slides and strides only over D, (k, 1, 1) with stride
/// (s > 1, 1, 1), no dilation, padding at most k - 1: R(2+1)D's temporal
/// downsampling. cuDNN's deterministic strided backward-data kernels ran
/// those at 4-23 TFLOP/s on an H200, its stride-1 forward ones at 200+.
bool isTemporalStrided(const Window &w, size_t spatial) {
  const cpu::Dims ones = {1, 1, 1};
  return spatial == 3 && w.channelsLast && w.groups == 1 && w.stride[0] > 1 &&
         w.kernel[1] == 1 && w.kernel[2] == 1 && w.stride[1] == 1 &&
         w.stride[2] == 1 && w.padding[1] == 0 && w.padding[2] == 0 &&
         w.dilation == ones && w.padding[0] <= w.kernel[0] - 1;
}

/// Spread gradients of at most this many bytes at a time.
constexpr int64_t kSpreadChunkBytes = int64_t(16) << 20;

/// dX of a temporally strided convolution (isTemporalStrided): dX[t'] sums
/// W[dt]^T dY[t] over t * s + dt - p = t', which is a stride-1 forward
/// convolution over U, dY's frames spread s apart with zeros between
/// (U[t * s] = dY[t]), by the filter flipped in time with its channels
/// swapped, padded by k - 1 - p, U's length D - k + 1 + 2p giving D
/// frames. Exact: the zeros add nothing. U is built a chunk of samples at a
/// time in the workspace, ahead of the flipped filter and the forward
/// convolution's own copies and workspace; cuDNN's search for the forward
/// runs once per geometry on buffers of its own.
std::string temporalGradInput(CudaContext &ctx, const Window &w,
                              const TensorView &grad, const TensorView &weight,
                              TensorView &result) {
  plan::DType dtype = result.dtype;
  size_t elementBytes = static_cast<size_t>(plan::getDTypeBytes(dtype));
  int64_t k = w.kernel[0], frames = w.in[0] - k + 1 + 2 * w.padding[0];
  int64_t plane = w.in[1] * w.in[2];
  int64_t sampleBytes =
      frames * plane * w.outChannels * static_cast<int64_t>(elementBytes);
  int64_t chunk =
      std::clamp<int64_t>(kSpreadChunkBytes / sampleBytes, 1, w.batch);
  size_t filterBytes = ConvScratch::aligned(w.outChannels * w.inChannels * k *
                                            static_cast<int64_t>(elementBytes));
  size_t resultSample =
      static_cast<size_t>(w.in[0] * plane * w.inChannels) * elementBytes;
  for (int64_t first = 0; first < w.batch; first += chunk) {
    int64_t count = std::min(chunk, w.batch - first);
    Window f; // the forward convolution over U
    f.channelsLast = true;
    f.batch = count;
    f.inChannels = w.outChannels;
    f.outChannels = w.inChannels;
    f.in = {frames, w.in[1], w.in[2]};
    f.out = w.in;
    f.kernel = {k, 1, 1};
    f.padding = {k - 1 - w.padding[0], 0, 0};
    size_t spreadBytes =
        ConvScratch::aligned(count * sampleBytes); // ahead of the setup
    ConvSetup c;
    CudnnGeometry g = cudnnGeometryOf(f, 3, dtype);
    if (std::string error = describe(g, dtype, c.d); !error.empty())
      return error;
    std::string key = algorithmKey(c.d, g, Direction::Forward);
    c.scratch = convScratchOf(f, dtype);
    char *y = static_cast<char *>(result.data) + first * resultSample;
    if (!ctx.convAlgorithms.count(key)) {
      if (ctx.capturing) // the search allocates and waits
        return "cuDNN would search an algorithm for a convolution first "
               "seen while the step is recorded as a graph";
      void *buffers = nullptr;
      VAR_CUDA_TRY(cudaMalloc(&buffers, spreadBytes + filterBytes));
      VAR_CUDA_TRY(cudaMemset(buffers, 0, spreadBytes + filterBytes));
      std::string error =
          searchAlgorithm(ctx, c, g, Direction::Forward, buffers,
                          static_cast<char *>(buffers) + spreadBytes, y);
      cudaFree(buffers);
      if (!error.empty())
        return error + " (channels-last, temporal backward data)";
      ctx.convAlgorithms.emplace(key, c.chosen);
    }
    c.chosen = ctx.convAlgorithms[key];
    void *base = nullptr;
    if (std::string error = ctx.getWorkspace(
            static_cast<int64_t>(spreadBytes + filterBytes +
                                 c.scratch.reservedBytes() + c.chosen.memory),
            &base);
        !error.empty())
      return error;
    char *spread = static_cast<char *>(base), *flipped = spread + spreadBytes;
    if (std::string error =
            spreadFrames(ctx,
                         static_cast<const char *>(grad.data) +
                             first * w.out[0] * plane * w.outChannels *
                                 static_cast<int64_t>(elementBytes),
                         spread, count, w.out[0], frames, w.stride[0], plane,
                         w.outChannels, elementBytes);
        !error.empty())
      return error;
    if (std::string error = flipFilter(ctx, weight.data, flipped, w.outChannels,
                                       w.inChannels, k, elementBytes);
        !error.empty())
      return error;
    if (std::string error = placeScratch(
            ctx, c, Direction::Forward, flipped + filterBytes, spread, flipped);
        !error.empty())
      return error;
    if (c.d.dataType != CUDNN_DATA_FLOAT)
      VAR_CUDA_TRY(cudnnSetConvolutionMathType(
          c.d.conv, static_cast<cudnnMathType_t>(c.chosen.mathType)));
    if (std::string error = runConv(ctx, c, Direction::Forward, y);
        !error.empty())
      return error;
  }
  return {};
}

std::string convForwardOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 3, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, input.shape, weight.shape,
                                              result.shape, "result", w);
      !error.empty())
    return error;
  bool hasBias = call.operands.size() == 3;
  if (hasBias && call.operands[2].shape != cpu::Shape{w.outChannels})
    return "bias is " + cpu::formatShape(call.operands[2].shape) +
           ", expected (" + std::to_string(w.outChannels) + ")";
  plan::DType dtype;
  if (std::string error = commonType(call, dtype); !error.empty())
    return error;
  if (isPointwise(w)) {
    // Y (M x K) = X (M x C) W^T: column-major Y^T = W X^T.
    if (std::string error =
            pointwiseGemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, w.outChannels,
                          w.batch * cpu::product(w.in), w.inChannels, weight,
                          w.inChannels, input, w.inChannels, result);
        !error.empty())
      return error;
  } else if (isFusedStem(w, dtype)) {
    if (std::string error = fusedStemForward(ctx, w, input, weight, result);
        !error.empty())
      return error;
  } else if (isPatchGemm(w)) {
    if (std::string error = patchGemmForward(ctx, w, input, weight, result);
        !error.empty())
      return error;
  } else if (isDepthwise(w)) {
    if (std::string error = depthwiseForward(ctx, w, input, weight, result);
        !error.empty())
      return error;
  } else {
    ConvSetup c;
    if (std::string error =
            setUpConv(ctx, call, w, input.shape.size() - 2, Direction::Forward,
                      input.data, weight, result.data, c);
        !error.empty())
      return error;
    if (std::string error = runConv(ctx, c, Direction::Forward, result.data);
        !error.empty())
      return error;
  }
  if (hasBias) {
    ElementType yType, biasType;
    if (std::string error = elementTypeOf(result, "result", yType);
        !error.empty())
      return error;
    if (std::string error = elementTypeOf(call.operands[2], "bias", biasType);
        !error.empty())
      return error;
    int64_t n = result.numel();
    // Channels-last: the channel is the fastest index.
    addBias(ctx, result.data, yType, call.operands[2].data, biasType,
            w.outChannels, w.channelsLast ? 1 : cpu::product(w.out), n);
    VAR_CUDA_LAUNCHED();
  }
  return {};
}

std::string convGradInputOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  const TensorView &weight = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, result.shape, weight.shape,
                                              grad.shape, "grad", w);
      !error.empty())
    return error;
  plan::DType dtype;
  if (std::string error = commonType(call, dtype); !error.empty())
    return error;
  // dX (M x C) = dY (M x K) W: column-major dX^T = W^T dY^T.
  if (isPointwise(w))
    return pointwiseGemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, w.inChannels,
                         w.batch * cpu::product(w.in), w.outChannels, weight,
                         w.inChannels, grad, w.outChannels, result);
  if (isDepthwise(w))
    return depthwiseGradInput(ctx, w, grad, weight, result);
  if (isTemporalStrided(w, result.shape.size() - 2))
    return temporalGradInput(ctx, w, grad, weight, result);
  ConvSetup c;
  if (std::string error =
          setUpConv(ctx, call, w, result.shape.size() - 2,
                    Direction::BackwardData, result.data, weight, grad.data, c);
      !error.empty())
    return error;
  if (std::string error = runConv(ctx, c, Direction::BackwardData, grad.data);
      !error.empty())
    return error;
  if (c.x != result.data)
    return unpadChannels(ctx, c.scratch, c.x, result.data);
  return {};
}

std::string convGradWeightOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkSignature(call, 2, 2, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  const TensorView &grad = call.operands[1];
  TensorView &result = call.results[0];
  Window w;
  if (std::string error = cpu::makeConvWindow(call, input.shape, result.shape,
                                              grad.shape, "grad", w);
      !error.empty())
    return error;
  plan::DType dtype;
  if (std::string error = commonType(call, dtype); !error.empty())
    return error;
  // dW (K x C) = dY^T X: column-major dW^T = X^T dY.
  if (isPointwise(w))
    return pointwiseGemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, w.inChannels,
                         w.outChannels, w.batch * cpu::product(w.in), input,
                         w.inChannels, grad, w.outChannels, result);
  if (isFusedStem(w, dtype))
    return fusedStemGradWeight(ctx, w, input, grad, result);
  if (isPatchGemm(w))
    return patchGemmGradWeight(ctx, w, input, grad, result);
  if (isDepthwise(w))
    return depthwiseGradWeight(ctx, w, input, grad, result);
  ConvSetup c;
  if (std::string error = setUpConv(ctx, call, w, input.shape.size() - 2,
                                    Direction::BackwardFilter, input.data,
                                    result, grad.data, c);
      !error.empty())
    return error;
  if (std::string error = runConv(ctx, c, Direction::BackwardFilter, grad.data);
      !error.empty())
    return error;
  if (c.filter != result.data)
    return fromCudnnFilter(ctx, c.scratch, c.filter, result.data);
  return {};
}

} // namespace

void registerConvOps(CudaOpTable &table) {
  table["var.conv"] = convForwardOp;
  table["var.conv_grad_input"] = convGradInputOp;
  table["var.conv_grad_weight"] = convGradWeightOp;
}

} // namespace var::cuda
