// CUDA kernels of batch normalization (evaluation, training, backward, frozen
// backward) on (N, C, spatial...) tensors, with runtime/cpu's numerics:
// per-channel sums in double (two passes for the variance), scale and shift
// in double. The per-channel statistics are one block a channel; the
// elementwise passes read per-channel doubles from the context's workspace.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <initializer_list>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

struct ChannelLayout {
  int64_t batch = 0, channels = 0, spatial = 1;
  __host__ __device__ int64_t perChannel() const { return batch * spatial; }
  __host__ __device__ int64_t numel() const {
    return batch * channels * spatial;
  }
};

__device__ inline int64_t channelElement(const ChannelLayout &l, int64_t c,
                                         int64_t j) {
  return (j / l.spatial * l.channels + c) * l.spatial + j % l.spatial;
}

/// Sums `value(j)` over a channel's elements in double across the block.
template <typename Fn>
__device__ double blockSum(const ChannelLayout &l, Fn value) {
  __shared__ double partial[kThreads];
  double sum = 0;
  for (int64_t j = threadIdx.x; j < l.perChannel(); j += blockDim.x)
    sum += value(j);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int step = blockDim.x / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  double total = partial[0];
  __syncthreads();
  return total;
}

struct Operand {
  const void *data;
  int type;
};

/// Evaluation: scale = weight / sqrt(running_var + eps), shift = bias -
/// running_mean * scale, per channel (one thread a channel).
__global__ void foldRunningStatsKernel(Operand weight, Operand bias,
                                       Operand mean, Operand var,
                                       int64_t channels, double eps,
                                       double *scaleShift) {
  VAR_GRID_STRIDE(c, channels) {
    double scale =
        loadFloat(weight.data, weight.type, c) /
        sqrt(static_cast<double>(loadFloat(var.data, var.type, c)) + eps);
    scaleShift[c] = scale;
    scaleShift[channels + c] = loadFloat(bias.data, bias.type, c) -
                               loadFloat(mean.data, mean.type, c) * scale;
  }
}

__global__ void normalizeKernel(ChannelLayout l, const void *x, int xType,
                                const double *scaleShift, void *y, int yType) {
  VAR_GRID_STRIDE(i, l.numel()) {
    int64_t c = i / l.spatial % l.channels;
    storeFloat(y, yType, i,
               static_cast<float>(loadFloat(x, xType, i) * scaleShift[c] +
                                  scaleShift[l.channels + c]));
  }
}

struct TrainOutputs {
  void *savedMean, *savedInvstd, *newMean, *newVar;
  int savedMeanType, savedInvstdType, newMeanType, newVarType;
};

__global__ void batchStatsKernel(ChannelLayout l, const void *x, int xType,
                                 Operand weight, Operand bias,
                                 Operand runningMean, Operand runningVar,
                                 double eps, double momentum, TrainOutputs out,
                                 double *scaleShift) {
  int64_t c = blockIdx.x;
  double count = static_cast<double>(l.perChannel());
  double mean = blockSum(l,
                         [&](int64_t j) {
                           return static_cast<double>(
                               loadFloat(x, xType, channelElement(l, c, j)));
                         }) /
                count;
  double squares = blockSum(l, [&](int64_t j) {
    double centered = loadFloat(x, xType, channelElement(l, c, j)) - mean;
    return centered * centered;
  });
  if (threadIdx.x != 0)
    return;
  double invstd = 1.0 / sqrt(squares / count + eps);
  double scale = loadFloat(weight.data, weight.type, c) * invstd;
  scaleShift[c] = scale;
  scaleShift[l.channels + c] =
      loadFloat(bias.data, bias.type, c) - mean * scale;
  storeFloat(out.savedMean, out.savedMeanType, c, static_cast<float>(mean));
  storeFloat(out.savedInvstd, out.savedInvstdType, c,
             static_cast<float>(invstd));
  storeFloat(
      out.newMean, out.newMeanType, c,
      static_cast<float>((1 - momentum) *
                             loadFloat(runningMean.data, runningMean.type, c) +
                         momentum * mean));
  storeFloat(out.newVar, out.newVarType, c,
             static_cast<float>((1 - momentum) * loadFloat(runningVar.data,
                                                           runningVar.type, c) +
                                momentum * squares / (count - 1)));
}

/// Backward statistics: dbias = sum dy, dweight = sum dy * xhat; keeps
/// weight * invstd, sum dy / M and sum dy xhat / M for the dx pass.
__global__ void gradStatsKernel(ChannelLayout l, const void *x, int xType,
                                const void *dy, int dyType, Operand weight,
                                Operand mean, Operand invstd, void *weightGrad,
                                int weightGradType, void *biasGrad,
                                int biasGradType, double *terms) {
  int64_t c = blockIdx.x;
  double channelMean = loadFloat(mean.data, mean.type, c);
  double channelInvstd = loadFloat(invstd.data, invstd.type, c);
  double gradSum = blockSum(l, [&](int64_t j) {
    return static_cast<double>(loadFloat(dy, dyType, channelElement(l, c, j)));
  });
  double gradDotXhat = blockSum(l, [&](int64_t j) {
    int64_t i = channelElement(l, c, j);
    return loadFloat(dy, dyType, i) *
           ((loadFloat(x, xType, i) - channelMean) * channelInvstd);
  });
  if (threadIdx.x != 0)
    return;
  storeFloat(weightGrad, weightGradType, c, static_cast<float>(gradDotXhat));
  storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
  double count = static_cast<double>(l.perChannel());
  terms[c] = loadFloat(weight.data, weight.type, c) * channelInvstd;
  terms[l.channels + c] = count == 0 ? 0.0 : gradSum / count;
  terms[2 * l.channels + c] = count == 0 ? 0.0 : gradDotXhat / count;
}

__global__ void inputGradKernel(ChannelLayout l, const void *x, int xType,
                                const void *dy, int dyType, Operand mean,
                                Operand invstd, const double *terms, void *dx,
                                int dxType) {
  VAR_GRID_STRIDE(i, l.numel()) {
    int64_t c = i / l.spatial % l.channels;
    double xhat = (loadFloat(x, xType, i) -
                   static_cast<double>(loadFloat(mean.data, mean.type, c))) *
                  loadFloat(invstd.data, invstd.type, c);
    storeFloat(
        dx, dxType, i,
        static_cast<float>(terms[c] *
                           (loadFloat(dy, dyType, i) - terms[l.channels + c] -
                            xhat * terms[2 * l.channels + c])));
  }
}

/// Frozen backward statistics (running statistics as constants, one block a
/// channel): dbias = sum dy, dweight = invstd * sum dy * (x - mean); keeps
/// weight * invstd for the dx pass.
__global__ void frozenGradStatsKernel(ChannelLayout l, const void *x, int xType,
                                      const void *dy, int dyType,
                                      Operand weight, Operand mean, Operand var,
                                      double eps, void *weightGrad,
                                      int weightGradType, void *biasGrad,
                                      int biasGradType, double *scales) {
  int64_t c = blockIdx.x;
  double channelMean = loadFloat(mean.data, mean.type, c);
  double invstd =
      1.0 / sqrt(static_cast<double>(loadFloat(var.data, var.type, c)) + eps);
  double gradSum = blockSum(l, [&](int64_t j) {
    return static_cast<double>(loadFloat(dy, dyType, channelElement(l, c, j)));
  });
  double gradDotCentered = blockSum(l, [&](int64_t j) {
    int64_t i = channelElement(l, c, j);
    return loadFloat(dy, dyType, i) * (loadFloat(x, xType, i) - channelMean);
  });
  if (threadIdx.x != 0)
    return;
  storeFloat(weightGrad, weightGradType, c,
             static_cast<float>(gradDotCentered * invstd));
  storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
  scales[c] = loadFloat(weight.data, weight.type, c) * invstd;
}

__global__ void scaleByChannelKernel(ChannelLayout l, const void *dy,
                                     int dyType, const double *scales, void *dx,
                                     int dxType) {
  VAR_GRID_STRIDE(i, l.numel()) {
    int64_t c = i / l.spatial % l.channels;
    storeFloat(dx, dxType, i,
               static_cast<float>(loadFloat(dy, dyType, i) * scales[c]));
  }
}

struct SizeCheck {
  const char *what;
  const TensorView &tensor;
  int64_t expected;
};

std::string checkSizes(std::initializer_list<SizeCheck> checks) {
  for (const SizeCheck &check : checks)
    if (check.tensor.numel() != check.expected)
      return std::string(check.what) + " has " +
             std::to_string(check.tensor.numel()) + " elements, expected " +
             std::to_string(check.expected);
  return {};
}

std::string prepare(const OpCall &call, size_t operands, size_t results,
                    ChannelLayout &layout, std::vector<Operand> &ins,
                    std::vector<Operand> &outs) {
  if (call.operands.size() != operands || call.results.size() != results)
    return "expects " + std::to_string(operands) + " operands and " +
           std::to_string(results) + " results, got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.size() < 2)
    return "input must be (N, C, ...), got rank " +
           std::to_string(shape.size());
  layout.batch = shape[0];
  layout.channels = shape[1];
  layout.spatial = cpu::product(shape, 2, shape.size());
  for (const TensorView &tensor : call.operands) {
    ElementType type;
    if (std::string error = elementTypeOf(tensor, "an operand", type);
        !error.empty())
      return error;
    ins.push_back({tensor.data, type});
  }
  for (const TensorView &tensor : call.results) {
    ElementType type;
    if (std::string error = elementTypeOf(tensor, "a result", type);
        !error.empty())
      return error;
    outs.push_back({tensor.data, type});
  }
  return {};
}

/// The checks both backwards share: input, dy, weight and two per-channel
/// statistics (named in messages) in; input, weight and bias gradients out.
std::string prepareGrad(const OpCall &call, const char *stat0,
                        const char *stat1, ChannelLayout &l,
                        std::vector<Operand> &in, std::vector<Operand> &out) {
  if (std::string error = prepare(call, 5, 3, l, in, out); !error.empty())
    return error;
  return checkSizes({{"grad", call.operands[1], l.numel()},
                     {"weight", call.operands[2], l.channels},
                     {stat0, call.operands[3], l.channels},
                     {stat1, call.operands[4], l.channels},
                     {"input_grad", call.results[0], l.numel()},
                     {"weight_grad", call.results[1], l.channels},
                     {"bias_grad", call.results[2], l.channels}});
}

std::string batchNormOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  std::vector<Operand> in, out;
  if (std::string error = prepare(call, 5, 1, l, in, out); !error.empty())
    return error;
  if (std::string error =
          checkSizes({{"weight", call.operands[1], l.channels},
                      {"bias", call.operands[2], l.channels},
                      {"running_mean", call.operands[3], l.channels},
                      {"running_var", call.operands[4], l.channels},
                      {"result", call.results[0], l.numel()}});
      !error.empty())
    return error;
  void *workspace;
  if (std::string error = ctx.getWorkspace(2 * l.channels * 8, &workspace);
      !error.empty())
    return error;
  auto *scaleShift = static_cast<double *>(workspace);
  foldRunningStatsKernel<<<blocksFor(l.channels), kThreads, 0, ctx.stream>>>(
      in[1], in[2], in[3], in[4], l.channels, call.getFloat("eps", 1e-5),
      scaleShift);
  VAR_CUDA_LAUNCHED();
  normalizeKernel<<<blocksFor(l.numel()), kThreads, 0, ctx.stream>>>(
      l, in[0].data, in[0].type, scaleShift, call.results[0].data, out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string batchNormTrainOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  std::vector<Operand> in, out;
  if (std::string error = prepare(call, 5, 5, l, in, out); !error.empty())
    return error;
  int64_t channels = l.channels;
  if (std::string error =
          checkSizes({{"weight", call.operands[1], channels},
                      {"bias", call.operands[2], channels},
                      {"running_mean", call.operands[3], channels},
                      {"running_var", call.operands[4], channels},
                      {"result", call.results[0], l.numel()},
                      {"saved_mean", call.results[1], channels},
                      {"saved_invstd", call.results[2], channels},
                      {"new_running_mean", call.results[3], channels},
                      {"new_running_var", call.results[4], channels}});
      !error.empty())
    return error;
  if (l.perChannel() < 2)
    return "needs more than one value per channel, got " +
           std::to_string(l.perChannel());
  void *workspace;
  if (std::string error = ctx.getWorkspace(2 * channels * 8, &workspace);
      !error.empty())
    return error;
  auto *scaleShift = static_cast<double *>(workspace);
  TrainOutputs outputs{call.results[1].data, call.results[2].data,
                       call.results[3].data, call.results[4].data,
                       out[1].type,          out[2].type,
                       out[3].type,          out[4].type};
  batchStatsKernel<<<static_cast<unsigned>(channels), kThreads, 0,
                     ctx.stream>>>(l, in[0].data, in[0].type, in[1], in[2],
                                   in[3], in[4], call.getFloat("eps", 1e-5),
                                   call.getFloat("momentum", 0.1), outputs,
                                   scaleShift);
  VAR_CUDA_LAUNCHED();
  normalizeKernel<<<blocksFor(l.numel()), kThreads, 0, ctx.stream>>>(
      l, in[0].data, in[0].type, scaleShift, call.results[0].data, out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string batchNormGradOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  std::vector<Operand> in, out;
  if (std::string error =
          prepareGrad(call, "saved_mean", "saved_invstd", l, in, out);
      !error.empty())
    return error;
  int64_t channels = l.channels;
  if (channels == 0)
    return {};
  void *workspace;
  if (std::string error = ctx.getWorkspace(3 * channels * 8, &workspace);
      !error.empty())
    return error;
  auto *terms = static_cast<double *>(workspace);
  gradStatsKernel<<<static_cast<unsigned>(channels), kThreads, 0, ctx.stream>>>(
      l, in[0].data, in[0].type, in[1].data, in[1].type, in[2], in[3], in[4],
      call.results[1].data, out[1].type, call.results[2].data, out[2].type,
      terms);
  VAR_CUDA_LAUNCHED();
  inputGradKernel<<<blocksFor(l.numel()), kThreads, 0, ctx.stream>>>(
      l, in[0].data, in[0].type, in[1].data, in[1].type, in[3], in[4], terms,
      call.results[0].data, out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string batchNormFrozenGradOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  std::vector<Operand> in, out;
  if (std::string error =
          prepareGrad(call, "running_mean", "running_var", l, in, out);
      !error.empty())
    return error;
  int64_t channels = l.channels;
  if (channels == 0)
    return {};
  void *workspace;
  if (std::string error = ctx.getWorkspace(channels * 8, &workspace);
      !error.empty())
    return error;
  auto *scales = static_cast<double *>(workspace);
  frozenGradStatsKernel<<<static_cast<unsigned>(channels), kThreads, 0,
                          ctx.stream>>>(
      l, in[0].data, in[0].type, in[1].data, in[1].type, in[2], in[3], in[4],
      call.getFloat("eps", 1e-5), call.results[1].data, out[1].type,
      call.results[2].data, out[2].type, scales);
  VAR_CUDA_LAUNCHED();
  scaleByChannelKernel<<<blocksFor(l.numel()), kThreads, 0, ctx.stream>>>(
      l, in[1].data, in[1].type, scales, call.results[0].data, out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

} // namespace

void registerNormOps(CudaOpTable &table) {
  table["var.batch_norm"] = batchNormOp;
  table["var.batch_norm_train"] = batchNormTrainOp;
  table["var.batch_norm_grad"] = batchNormGradOp;
  table["var.batch_norm_frozen_grad"] = batchNormFrozenGradOp;
}

} // namespace var::cuda
