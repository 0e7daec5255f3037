// CUDA kernels of the elementwise ops (activations and their gradients,
// broadcasting add/mul, cast, fill, dropout), reduce_sum and the time mean.
// Elementwise kernels are grid-stride loops, one thread an element; sums run
// in double like the CPU's.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/ElementwiseScalars.cuh"

#include <algorithm>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

template <typename Fn>
__global__ void unaryKernel(const void *x, int xType, void *y, int yType,
                            int64_t n, Fn fn) {
  VAR_GRID_STRIDE(i, n) { storeFloat(y, yType, i, fn(loadFloat(x, xType, i))); }
}

template <typename Fn>
__global__ void binaryKernel(const void *a, int aType, const void *b, int bType,
                             void *y, int yType, int64_t n, Fn fn) {
  VAR_GRID_STRIDE(i, n) {
    storeFloat(y, yType, i, fn(loadFloat(a, aType, i), loadFloat(b, bType, i)));
  }
}

template <typename Fn> std::string unaryOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  ElementType xType, yType;
  if (std::string error = elementTypeOf(call.operands[0], "input", xType);
      !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", yType);
      !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  unaryKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, xType, call.results[0].data, yType, n, Fn{});
  VAR_CUDA_LAUNCHED();
  return {};
}

template <typename Fn>
std::string activationGradOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 2, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  for (auto [tensor, what] :
       {std::pair{&call.operands[1], "grad"}, {&call.results[0], "result"}})
    if (std::string error = cpu::expectShape(*tensor, shape, what);
        !error.empty())
      return error;
  ElementType types[3];
  const TensorView *tensors[3] = {&call.operands[0], &call.operands[1],
                                  &call.results[0]};
  for (int t = 0; t < 3; ++t)
    if (std::string error = elementTypeOf(*tensors[t], "a tensor", types[t]);
        !error.empty())
      return error;
  int64_t n = call.results[0].numel();
  binaryKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, types[0], call.operands[1].data, types[1],
      call.results[0].data, types[2], n, Fn{});
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// Broadcasting add and mul
//===----------------------------------------------------------------------===//

/// The result's shape and, per operand, the strides that read it
/// right-aligned in the result (0 along stretched dimensions).
struct Broadcast {
  Dims8 shape;
  int64_t lhs[kMaxRank] = {}, rhs[kMaxRank] = {};
};

template <typename Fn>
__global__ void broadcastKernel(Broadcast b, const void *lhs, int lhsType,
                                const void *rhs, int rhsType, void *y,
                                int yType, int64_t n, Fn fn) {
  VAR_GRID_STRIDE(i, n) {
    float a = loadFloat(lhs, lhsType, broadcastOffset(b.shape, b.lhs, i));
    float c = loadFloat(rhs, rhsType, broadcastOffset(b.shape, b.rhs, i));
    storeFloat(y, yType, i, fn(a, c));
  }
}

template <typename Fn> std::string broadcastOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 2, 1); !error.empty())
    return error;
  const TensorView &lhs = call.operands[0], &rhs = call.operands[1];
  TensorView &result = call.results[0];
  std::vector<int64_t> expected(std::max(lhs.shape.size(), rhs.shape.size()));
  for (size_t d = 0; d < expected.size(); ++d) {
    auto dimOf = [&](const std::vector<int64_t> &shape) -> int64_t {
      size_t extra = expected.size() - shape.size();
      return d < extra ? 1 : shape[d - extra];
    };
    int64_t l = dimOf(lhs.shape), r = dimOf(rhs.shape);
    if (l != r && l != 1 && r != 1)
      return "shapes " + cpu::formatShape(lhs.shape) + " and " +
             cpu::formatShape(rhs.shape) + " do not broadcast";
    expected[d] = l == 1 ? r : l;
  }
  if (std::string error = cpu::expectShape(result, expected, "result");
      !error.empty())
    return error;
  if (expected.size() > kMaxRank)
    return "rank " + std::to_string(expected.size()) +
           " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  ElementType types[3];
  const TensorView *tensors[3] = {&lhs, &rhs, &result};
  for (int t = 0; t < 3; ++t)
    if (std::string error = elementTypeOf(*tensors[t], "a tensor", types[t]);
        !error.empty())
      return error;
  int64_t n = result.numel();
  if (lhs.shape == rhs.shape) {
    binaryKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        lhs.data, types[0], rhs.data, types[1], result.data, types[2], n, Fn{});
  } else {
    Broadcast b;
    b.shape.rank = static_cast<int>(expected.size());
    std::copy(expected.begin(), expected.end(), b.shape.size);
    stretchStrides(lhs.shape, expected, b.lhs);
    stretchStrides(rhs.shape, expected, b.rhs);
    broadcastKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
        b, lhs.data, types[0], rhs.data, types[1], result.data, types[2], n,
        Fn{});
  }
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// Cast, fill, dropout
//===----------------------------------------------------------------------===//

std::string castOp(CudaContext &ctx, OpCall &call) {
  return unaryOp<Identity>(ctx, call);
}

__global__ void fillKernel(void *y, int yType, int64_t n, float value) {
  VAR_GRID_STRIDE(i, n) { storeFloat(y, yType, i, value); }
}

std::string fillOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 0, 1); !error.empty())
    return error;
  double value;
  if (std::string error = cpu::requireFloatAttr(call, "value", value);
      !error.empty())
    return error;
  ElementType type;
  if (std::string error = elementTypeOf(call.results[0], "result", type);
      !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  fillKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      call.results[0].data, type, n, static_cast<float>(value));
  VAR_CUDA_LAUNCHED();
  return {};
}

/// The seed and the first sample come from the run's scalars in device
/// memory (a replayed graph reads the new step's); `perSample` is
/// cpu::elementsPerSample, and a tensor that does not split into the call's
/// samples raises kBadSampleSplit where the CPU kernel returns its error.
__global__ void dropoutKernel(const void *x, int xType, void *y, int yType,
                              int64_t n, const cpu::StepScalars *scalars,
                              int64_t perSample, int64_t key, double p,
                              float scale, int *errorFlag) {
  uint64_t seed = scalars->seed;
  int64_t firstSample = scalars->firstSample;
  if (firstSample != 0 && perSample < 0) {
    if (blockIdx.x == 0 && threadIdx.x == 0)
      *errorFlag = kBadSampleSplit;
    return;
  }
  int64_t offset = firstSample * perSample;
  VAR_GRID_STRIDE(i, n) {
    storeFloat(
        y, yType, i,
        deviceDropout(loadFloat(x, xType, i), seed, key, offset + i, p, scale));
  }
}

std::string dropoutMaskOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  double p;
  int64_t key;
  if (std::string error = cpu::requireFloatAttr(call, "p", p); !error.empty())
    return error;
  if (std::string error = cpu::requireIntAttr(call, "key", key); !error.empty())
    return error;
  if (!(p >= 0.0 && p < 1.0))
    return "drop probability p must be in [0, 1), got " + std::to_string(p);
  ElementType xType, yType;
  if (std::string error = elementTypeOf(call.operands[0], "input", xType);
      !error.empty())
    return error;
  if (std::string error = elementTypeOf(call.results[0], "result", yType);
      !error.empty())
    return error;
  if (!call.scalars)
    return "dropout needs the run's seed (no step scalars)";
  int64_t n = call.results[0].numel();
  dropoutKernel<<<blocksFor(n), kThreads, 0, ctx.stream>>>(
      call.operands[0].data, xType, call.results[0].data, yType, n,
      call.scalars, cpu::elementsPerSample(call, n), key, p,
      static_cast<float>(1.0 / (1.0 - p)), ctx.errorFlag);
  VAR_CUDA_LAUNCHED();
  return {};
}

//===----------------------------------------------------------------------===//
// reduce_sum and the time mean
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

/// One block a result element; its threads sum strided shares in double,
/// then reduce through shared memory.
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
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  std::vector<int64_t> dims = call.getInts("dims", {});
  if (dims.empty())
    return "missing 'dims'";
  if (input.shape.size() > kMaxRank)
    return "rank " + std::to_string(input.shape.size()) +
           " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  std::vector<bool> summed(input.shape.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= static_cast<int64_t>(input.shape.size()) ||
        (i > 0 && dims[i] <= dims[i - 1]))
      return "dims must be increasing and within rank " +
             std::to_string(input.shape.size());
    summed[dims[i]] = true;
  }
  bool keepDims = call.getBool("keep_dims");
  std::vector<int64_t> expected;
  for (size_t d = 0; d < input.shape.size(); ++d)
    if (!summed[d] || keepDims)
      expected.push_back(summed[d] ? 1 : input.shape[d]);
  if (std::string error = cpu::expectShape(result, expected, "result");
      !error.empty())
    return error;
  ElementType xType, yType;
  if (std::string error = elementTypeOf(input, "input", xType); !error.empty())
    return error;
  if (std::string error = elementTypeOf(result, "result", yType);
      !error.empty())
    return error;
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
  int64_t outputs = result.numel();
  if (outputs == 0)
    return {};
  unsigned blocks = static_cast<unsigned>(std::min<int64_t>(outputs, 65536));
  reduceSumKernel<<<blocks, kThreads, 0, ctx.stream>>>(
      r, input.data, xType, result.data, yType, outputs);
  VAR_CUDA_LAUNCHED();
  return {};
}

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

/// Evaluation-mode dropout: a copy.
std::string identityOp(CudaContext &ctx, OpCall &call) {
  if (std::string error = cpu::checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          cpu::expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  return unaryOp<Identity>(ctx, call);
}

} // namespace

void registerElementwiseOps(CudaOpTable &table) {
  table["var.relu"] = unaryOp<Relu>;
  table["var.relu6"] = unaryOp<Relu6>;
  table["var.sigmoid"] = unaryOp<Sigmoid>;
  table["var.silu"] = unaryOp<Silu>;
  table["var.hardswish"] = unaryOp<Hardswish>;
  table["var.relu_grad"] = activationGradOp<ReluGrad>;
  table["var.relu6_grad"] = activationGradOp<Relu6Grad>;
  table["var.sigmoid_grad"] = activationGradOp<SigmoidGrad>;
  table["var.silu_grad"] = activationGradOp<SiluGrad>;
  table["var.hardswish_grad"] = activationGradOp<HardswishGrad>;
  table["var.add"] = broadcastOp<Add>;
  table["var.mul"] = broadcastOp<Mul>;
  table["var.cast"] = castOp;
  table["var.fill"] = fillOp;
  table["var.reduce_sum"] = reduceSumOp;
  table["var.mean_time"] = meanTimeOp;
  table["var.mean_time_grad"] = meanTimeGradOp;
  table["var.dropout"] = identityOp;
  table["var.dropout_train"] = dropoutMaskOp;
  table["var.dropout_grad"] = dropoutMaskOp;
}

} // namespace var::cuda
