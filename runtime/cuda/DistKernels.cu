// CUDA kernels of the dist ops' primitives. Elementwise work is a
// grid-stride loop, a thread an element (the optimizer update: a thread
// four elements, moved with vector loads and stores). Sums of squares are
// reduced in a fixed order (each block's threads in a shared-memory tree,
// then the block partials by index), so that they are the same from run to
// run. Built without fused multiply-adds (CMakeLists.txt) so that the
// arithmetic rounds as the host's does: the optimizer's f32 math is the
// host's own (exec::adamwElement, exec::sgdElement).
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/DistKernels.h"
#include "runtime/exec/HostDistKernels.h"

namespace var::cuda {

using exec::kSquarePartials;
using exec::OptimizerStep;

namespace {

int elementType(plan::DType dtype) {
  return dtype == plan::DType::BF16 ? kBF16 : kF32;
}

__global__ void convertKernel(void *dst, int dstType, const void *src,
                              int srcType, int64_t n) {
  VAR_GRID_STRIDE(i, n) {
    storeFloat(dst, dstType, i, loadFloat(src, srcType, i));
  }
}

__global__ void accumulateKernel(float *sum, const void *addend, int type,
                                 int64_t n) {
  VAR_GRID_STRIDE(i, n) { sum[i] += loadFloat(addend, type, i); }
}

/// The block's `Threads` threads' `value`s summed in a fixed tree order;
/// valid in thread 0.
template <int Threads = kThreads> __device__ double blockSum(double value) {
  __shared__ double sums[Threads];
  sums[threadIdx.x] = value;
  __syncthreads();
  for (int half = Threads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      sums[threadIdx.x] += sums[threadIdx.x + half];
    __syncthreads();
  }
  return sums[0];
}

/// The update's blocks are small so that all kSquarePartials of them fit
/// on the GPU at once (an H100's or H200's 132 SMs hold 16 blocks each;
/// the launch bounds keep the registers at 64 a thread or fewer for it):
/// one wave, so no tail of a few blocks streaming alone after the others,
/// and still 2 KB of loads in flight a warp.
constexpr int kUpdateThreads = 64, kUpdateBlocksPerSM = 16;

/// Where the update's 4-element quads run: elements [0, head) go one by
/// one, then `quads` quads on 16-byte boundaries of master, state and
/// result (the gradient's and the bf16 result's on 4-element ones), then
/// the rest one by one.
/// Quads need every array at one alignment; when they are not, `head` is
/// the whole update.
struct QuadSplit {
  int64_t head = 0, quads = 0;
};

bool isAlignedAt(const void *data, int64_t offsetBytes, int64_t alignment) {
  return (reinterpret_cast<uintptr_t>(data) + offsetBytes) % alignment == 0;
}

QuadSplit splitIntoQuads(const OptimizerStep &s) {
  QuadSplit split;
  split.head = s.count;
  auto master = reinterpret_cast<uintptr_t>(s.master);
  if (master % sizeof(float) != 0)
    return split;
  int64_t head = static_cast<int64_t>((16 - master % 16) % 16 / sizeof(float));
  if (head >= s.count)
    return split;
  int64_t gradBytes = s.gradType == plan::DType::BF16 ? 2 : 4;
  int64_t floatBytes = head * static_cast<int64_t>(sizeof(float));
  bool aligned = isAlignedAt(s.grad, head * gradBytes, 4 * gradBytes) &&
                 (!s.result || isAlignedAt(s.result, floatBytes, 16)) &&
                 (!s.resultBf16 || isAlignedAt(s.resultBf16, head * 2, 8));
  if (s.adamw)
    aligned = aligned && isAlignedAt(s.state[0], floatBytes, 16) &&
              isAlignedAt(s.state[1], floatBytes, 16);
  else if (s.momentum != 0.0)
    aligned = aligned && isAlignedAt(s.state[0], floatBytes, 16);
  if (!aligned)
    return split;
  split.head = head;
  split.quads = (s.count - head) / 4;
  return split;
}

__device__ inline void loadQuad(const float *data, int64_t i, float (&v)[4]) {
  float4 q = *reinterpret_cast<const float4 *>(data + i);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}

__device__ inline void storeQuad(float *data, int64_t i, const float (&v)[4]) {
  __stwb(reinterpret_cast<float4 *>(data + i),
         make_float4(v[0], v[1], v[2], v[3]));
}

/// Gradient elements i ... i + 3: one 16-byte load of f32, one 8-byte load
/// of bf16 (element i in the low half of the first word).
template <int GradType>
__device__ inline void loadGradQuad(const void *grad, int64_t i,
                                    float (&g)[4]) {
  if (GradType == kBF16) {
    uint2 raw = *reinterpret_cast<const uint2 *>(
        static_cast<const uint16_t *>(grad) + i);
    g[0] = __uint_as_float(raw.x << 16);
    g[1] = __uint_as_float(raw.x & 0xffff0000u);
    g[2] = __uint_as_float(raw.y << 16);
    g[3] = __uint_as_float(raw.y & 0xffff0000u);
    return;
  }
  loadQuad(static_cast<const float *>(grad), i, g);
}

/// Element i of the update, its gradient's square added to `squares`.
template <bool AdamW, int GradType>
__device__ inline void updateElement(const OptimizerStep &s,
                                     const exec::UpdateFactors &f, int64_t i,
                                     double &squares) {
  float grad = loadFloat(s.grad, GradType, i);
  squares += static_cast<double>(grad) * grad;
  float weight = s.master[i];
  if (AdamW) {
    float m = s.state[0][i], v = s.state[1][i];
    weight = exec::adamwElement(f, grad, m, v, weight);
    s.state[0][i] = m;
    s.state[1][i] = v;
  } else if (f.hasMomentum) {
    float buf = s.state[0][i];
    weight = exec::sgdElement(f, grad, buf, weight);
    s.state[0][i] = buf;
  } else {
    float unused = 0;
    weight = exec::sgdElement(f, grad, unused, weight);
  }
  s.master[i] = weight;
  if (s.result)
    s.result[i] = weight;
  if (s.resultBf16)
    s.resultBf16[i] = floatToBf16Bits(weight);
}

/// Elements i ... i + 3 (i a quad's first), each array moved with one
/// vector load and store; the same arithmetic as updateElement's.
template <bool AdamW, int GradType>
__device__ inline void updateQuad(const OptimizerStep &s,
                                  const exec::UpdateFactors &f, int64_t i,
                                  double &squares) {
  float grad[4], weight[4], a[4] = {}, b[4] = {};
  loadGradQuad<GradType>(s.grad, i, grad);
  loadQuad(s.master, i, weight);
  if (AdamW || f.hasMomentum)
    loadQuad(s.state[0], i, a);
  if (AdamW)
    loadQuad(s.state[1], i, b);
  for (int k = 0; k < 4; ++k) {
    squares += static_cast<double>(grad[k]) * grad[k];
    weight[k] = AdamW ? exec::adamwElement(f, grad[k], a[k], b[k], weight[k])
                      : exec::sgdElement(f, grad[k], a[k], weight[k]);
  }
  storeQuad(s.master, i, weight);
  if (AdamW || f.hasMomentum)
    storeQuad(s.state[0], i, a);
  if (AdamW)
    storeQuad(s.state[1], i, b);
  if (s.result)
    storeQuad(s.result, i, weight);
  if (s.resultBf16) // elements i, i + 1 in the first word, low half first
    *reinterpret_cast<uint2 *>(s.resultBf16 + i) =
        make_uint2(floatToBf16Bits(weight[0]) |
                       static_cast<uint32_t>(floatToBf16Bits(weight[1])) << 16,
                   floatToBf16Bits(weight[2]) |
                       static_cast<uint32_t>(floatToBf16Bits(weight[3])) << 16);
}

/// Blocks up to kSquarePartials of grid-stride loops: a thread an element
/// over the head, a quad at a time over the quads, an element over the
/// tail. Each block leaves its gradient's sum of squares (every thread's
/// in that order, then the block's tree) in squares[blockIdx.x]; block 0
/// zeroes the partials no block writes. The options' factors are
/// parameters (constant operands); the step's come from device memory at
/// the start (a replayed graph reads new ones).
template <bool AdamW, int GradType>
__global__ void __launch_bounds__(kUpdateThreads, kUpdateBlocksPerSM)
    optimizerKernel(OptimizerStep s, exec::UpdateFactors options,
                    QuadSplit split) {
  exec::UpdateFactors f = options;
  exec::addStepFactors(f, s, *s.scalars, s.clip ? *s.clip : 1.0f);
  double squares = 0;
  int64_t thread =
      blockIdx.x * static_cast<int64_t>(kUpdateThreads) + threadIdx.x;
  int64_t threads = static_cast<int64_t>(gridDim.x) * kUpdateThreads;
  for (int64_t i = thread; i < split.head; i += threads)
    updateElement<AdamW, GradType>(s, f, i, squares);
  for (int64_t q = thread; q < split.quads; q += threads)
    updateQuad<AdamW, GradType>(s, f, split.head + 4 * q, squares);
  for (int64_t i = split.head + 4 * split.quads + thread; i < s.count;
       i += threads)
    updateElement<AdamW, GradType>(s, f, i, squares);
  double sum = blockSum<kUpdateThreads>(squares);
  if (threadIdx.x == 0)
    s.squares[blockIdx.x] = sum;
  if (blockIdx.x == 0)
    for (int k = gridDim.x + threadIdx.x; k < kSquarePartials;
         k += kUpdateThreads)
      s.squares[k] = 0;
}

/// Adds each block's sum of squares of `data` to partials[blockIdx.x].
__global__ void squaresKernel(const void *data, int type, int64_t n,
                              double *partials) {
  double squares = 0;
  VAR_GRID_STRIDE(i, n) {
    double v = loadFloat(data, type, i);
    squares += v * v;
  }
  double sum = blockSum(squares);
  if (threadIdx.x == 0)
    partials[blockIdx.x] += sum;
}

/// One block: the partials' sum, as one f32.
__global__ void finishSquaresKernel(const double *partials, float *result) {
  double value = 0;
  for (int k = threadIdx.x; k < kSquarePartials; k += kThreads)
    value += partials[k];
  double sum = blockSum(value);
  if (threadIdx.x == 0)
    *result = static_cast<float>(sum);
}

__global__ void clipKernel(const float *squares, double maxNorm,
                           float *coefficient, double *norm) {
  float root = sqrtf(*squares); // in f32, as the host takes it
  double ratio = maxNorm / (static_cast<double>(root) + 1e-6);
  *norm = root;
  *coefficient = static_cast<float>(ratio < 1.0 ? ratio : 1.0);
}

/// Blocks of `threads` for `items`, at most one a partial.
unsigned partialBlocks(int64_t items, int threads = kThreads) {
  int64_t blocks = (items + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1                 ? 1
                               : blocks > kSquarePartials ? kSquarePartials
                                                          : blocks);
}

} // namespace

std::string launchConvert(cudaStream_t stream, void *dst, plan::DType dstType,
                          const void *src, plan::DType srcType, int64_t count) {
  if (count <= 0)
    return {};
  if (dstType == srcType) {
    if (dst != src)
      VAR_CUDA_TRY(cudaMemcpyAsync(
          dst, src, static_cast<size_t>(count * plan::getDTypeBytes(dstType)),
          cudaMemcpyDeviceToDevice, stream));
    return {};
  }
  convertKernel<<<blocksFor(count), kThreads, 0, stream>>>(
      dst, elementType(dstType), src, elementType(srcType), count);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string launchAccumulate(cudaStream_t stream, float *sum,
                             const void *addend, plan::DType addendType,
                             int64_t count) {
  if (count <= 0)
    return {};
  accumulateKernel<<<blocksFor(count), kThreads, 0, stream>>>(
      sum, addend, elementType(addendType), count);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string launchOptimizerUpdate(cudaStream_t stream,
                                  const OptimizerStep &step) {
  QuadSplit split = splitIntoQuads(step);
  bool bf16 = step.gradType == plan::DType::BF16;
  auto kernel =
      step.adamw
          ? (bf16 ? optimizerKernel<true, kBF16> : optimizerKernel<true, kF32>)
          : (bf16 ? optimizerKernel<false, kBF16>
                  : optimizerKernel<false, kF32>);
  // A thread's items: quads, and elements outside them.
  int64_t items = split.quads + (step.count - 4 * split.quads);
  kernel<<<partialBlocks(items, kUpdateThreads), kUpdateThreads, 0, stream>>>(
      step, exec::optionFactors(step), split);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string launchSumSquares(cudaStream_t stream,
                             const std::vector<exec::FlatInput> &inputs,
                             float *result, double *scratch) {
  VAR_CUDA_TRY(
      cudaMemsetAsync(scratch, 0, kSquarePartials * sizeof(double), stream));
  for (const exec::FlatInput &input : inputs) {
    if (input.count <= 0)
      continue;
    squaresKernel<<<partialBlocks(input.count), kThreads, 0, stream>>>(
        input.data, elementType(input.dtype), input.count, scratch);
    VAR_CUDA_LAUNCHED();
  }
  finishSquaresKernel<<<1, kThreads, 0, stream>>>(scratch, result);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string launchClipCoefficient(cudaStream_t stream, const float *squares,
                                  double maxNorm, float *coefficient,
                                  double *norm) {
  clipKernel<<<1, 1, 0, stream>>>(squares, maxNorm, coefficient, norm);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace var::cuda
