// CUDA kernels of the dist ops' primitives. Elementwise work is a
// grid-stride loop, a thread an element. Sums of squares are reduced in a
// fixed order (each block's threads in a shared-memory tree, then the block
// partials by index), so that they are the same from run to run. Built
// without fused multiply-adds (CMakeLists.txt) so that the arithmetic
// rounds as the host's does: the optimizer's f32 math is the host's own
// (exec::adamwElement, exec::sgdElement).
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

/// The block's threads' `value`s summed in a fixed tree order; valid in
/// thread 0.
__device__ double blockSum(double value) {
  __shared__ double sums[kThreads];
  sums[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      sums[threadIdx.x] += sums[threadIdx.x + half];
    __syncthreads();
  }
  return sums[0];
}

/// Blocks up to kSquarePartials, each leaving its gradient's sum of squares
/// in squares[blockIdx.x]; block 0 zeroes the partials no block writes.
/// The options' factors are parameters; the step's come from device memory
/// at the start (a replayed graph reads new ones).
__global__ void optimizerKernel(OptimizerStep s, exec::UpdateFactors options,
                                int gradType) {
  exec::UpdateFactors f = options;
  exec::addStepFactors(f, s, *s.scalars, s.clip ? *s.clip : 1.0f);
  double squares = 0;
  VAR_GRID_STRIDE(i, s.count) {
    float grad = loadFloat(s.grad, gradType, i);
    squares += static_cast<double>(grad) * grad;
    float weight = s.master[i];
    if (s.adamw) {
      weight =
          exec::adamwElement(f, grad, s.state[0][i], s.state[1][i], weight);
    } else if (f.hasMomentum) {
      weight = exec::sgdElement(f, grad, s.state[0][i], weight);
    } else {
      float unused = 0;
      weight = exec::sgdElement(f, grad, unused, weight);
    }
    s.master[i] = weight;
    if (s.result)
      s.result[i] = weight;
  }
  double sum = blockSum(squares);
  if (threadIdx.x == 0)
    s.squares[blockIdx.x] = sum;
  if (blockIdx.x == 0)
    for (int k = gridDim.x + threadIdx.x; k < kSquarePartials; k += kThreads)
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

unsigned partialBlocks(int64_t count) {
  unsigned blocks = blocksFor(count);
  return blocks < kSquarePartials ? blocks : kSquarePartials;
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
  optimizerKernel<<<partialBlocks(step.count), kThreads, 0, stream>>>(
      step, exec::optionFactors(step), elementType(step.gradType));
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
