// CUDA kernels of batch normalization (evaluation, training, backward, frozen
// backward) on (N, C, spatial...) tensors: per-channel sums in double (one
// pass for the mean and variance: the sums of x and x^2), per-channel scale,
// shift and gradient terms in double, rounded once to the floats that the
// elementwise passes apply in f32 (runtime/cpu computes those in double too;
// the results agree within rounding). The passes over the tensor are
// NormPassKernels.cu's: per-chunk partial sums in an order fixed by the
// shape, then elementwise passes that read per-channel floats from the
// context's workspace. Here are the ops and the per-channel steps between the
// passes, one warp a channel adding its partial sums in a fixed order.
// var.batch_norm_train_max_pool computes training's statistics here and
// leaves the normalize to its pool (PoolKernels.cu), which never stores it.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cpu/WindowGeometry.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"
#include "runtime/cuda/NormMask.cuh"
#include "runtime/cuda/NormPassKernels.cuh"
#include "runtime/cuda/PoolShared.cuh"
#include "runtime/cuda/PooledGrad.cuh"

#include <initializer_list>
#include <string_view>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;
using norm::ChannelLayout;
using norm::Operand;
using norm::Split;

namespace {

/// Sum `k` of channel `c` from its chunks' partial sums, by the 32 lanes of
/// a warp, which all call it and all get the same total: lane l adds
/// chunks l, l + 32, ... in order, then the lanes' sums meet in a fixed
/// butterfly (a thread adding a thousand chunks alone would wait on a
/// thousand loads in turn).
__device__ inline double channelSum(const double *partials, int64_t channels,
                                    const Split &split, int k, int64_t c) {
  const double *chunk = partials + (k * channels + c) * split.chunks;
  double sum = 0;
  for (int64_t g = threadIdx.x % 32; g < split.chunks; g += 32)
    sum += chunk[g];
  for (int lanes = 16; lanes > 0; lanes /= 2)
    sum += __shfl_xor_sync(0xffffffffu, sum, lanes);
  return sum;
}

/// A warp-stride loop over channels (blocks of kThreads threads): every
/// lane of a warp takes the warp's channel, so that channelSum's lanes
/// stay together.
#define VAR_WARP_STRIDE(c, n)                                                  \
  for (int64_t c =                                                             \
           (blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x) / 32;   \
       c < (n); c += static_cast<int64_t>(gridDim.x) * kThreads / 32)

/// Blocks for a warp a channel.
unsigned warpBlocksFor(int64_t channels) { return blocksFor(channels * 32); }

/// Whether this thread is its warp's first lane (the one that stores).
__device__ inline bool isLeadLane() { return threadIdx.x % 32 == 0; }

/// Evaluation: scale = weight / sqrt(running_var + eps), shift = bias -
/// running_mean * scale, per channel (one thread a channel).
__global__ void foldRunningStatsKernel(Operand weight, Operand bias,
                                       Operand mean, Operand var,
                                       int64_t channels, double eps,
                                       float *scaleShift) {
  VAR_GRID_STRIDE(c, channels) {
    double scale =
        loadFloat(weight.data, weight.type, c) /
        sqrt(static_cast<double>(loadFloat(var.data, var.type, c)) + eps);
    scaleShift[c] = static_cast<float>(scale);
    scaleShift[channels + c] =
        static_cast<float>(loadFloat(bias.data, bias.type, c) -
                           loadFloat(mean.data, mean.type, c) * scale);
  }
}

/// A training batch norm's scale and shift from the saved statistics as
/// stored (in double, then f32): the forward normalizes and a backward
/// with a fused activation recomputes the pre-activation with the same
/// floats.
__device__ inline void foldSavedStats(Operand weight, Operand bias,
                                      Operand mean, Operand invstd, int64_t c,
                                      int64_t channels, float *scaleShift) {
  double scale = loadFloat(weight.data, weight.type, c) *
                 static_cast<double>(loadFloat(invstd.data, invstd.type, c));
  scaleShift[c] = static_cast<float>(scale);
  scaleShift[channels + c] =
      static_cast<float>(loadFloat(bias.data, bias.type, c) -
                         loadFloat(mean.data, mean.type, c) * scale);
}

/// foldSavedStats for every channel (one thread a channel).
__global__ void foldSavedStatsKernel(Operand weight, Operand bias, Operand mean,
                                     Operand invstd, int64_t channels,
                                     float *scaleShift) {
  VAR_GRID_STRIDE(c, channels) {
    foldSavedStats(weight, bias, mean, invstd, c, channels, scaleShift);
  }
}

struct TrainOutputs {
  void *savedMean, *savedInvstd, *newMean, *newVar;
  int savedMeanType, savedInvstdType, newMeanType, newVarType;
};

/// Training statistics from the sums of d and d^2 (d = x - the channel's
/// shift, norm::sumInputAndSquares): saved statistics, running
/// statistics, and scale and shift from the saved statistics as stored
/// (foldSavedStats; one warp a channel).
__global__ void batchStatsKernel(ChannelLayout l, Split split,
                                 const double *partials, Operand x,
                                 Operand weight, Operand bias,
                                 Operand runningMean, Operand runningVar,
                                 double eps, double momentum, TrainOutputs out,
                                 float *scaleShift) {
  VAR_WARP_STRIDE(c, l.channels) {
    double sum = channelSum(partials, l.channels, split, 0, c);
    double sumOfSquares = channelSum(partials, l.channels, split, 1, c);
    if (isLeadLane()) {
      double count = static_cast<double>(l.perChannel());
      double shifted = sum / count;
      double mean = norm::channelShift(l, x, c) + shifted;
      // Centered: sum (x - mean)^2; never below 0 for rounding's sake.
      double squares = fmax(sumOfSquares - count * shifted * shifted, 0.0);
      double invstd = 1.0 / sqrt(squares / count + eps);
      storeFloat(out.savedMean, out.savedMeanType, c, static_cast<float>(mean));
      storeFloat(out.savedInvstd, out.savedInvstdType, c,
                 static_cast<float>(invstd));
      foldSavedStats(weight, bias, {out.savedMean, out.savedMeanType},
                     {out.savedInvstd, out.savedInvstdType}, c, l.channels,
                     scaleShift);
      storeFloat(
          out.newMean, out.newMeanType, c,
          static_cast<float>((1 - momentum) * loadFloat(runningMean.data,
                                                        runningMean.type, c) +
                             momentum * mean));
      storeFloat(
          out.newVar, out.newVarType, c,
          static_cast<float>(
              (1 - momentum) * loadFloat(runningVar.data, runningVar.type, c) +
              momentum * squares / (count - 1)));
    }
  }
}

/// Backward statistics: dbias = sum dy, dweight = sum dy * xhat = invstd *
/// sum dy * (x - mean); keeps the dx pass's floats (norm::InputGradTerm)
/// from them, the saved mean and the saved inverse standard deviation (one
/// warp a channel).
__global__ void gradStatsKernel(ChannelLayout l, Split split,
                                const double *partials, Operand weight,
                                Operand mean, Operand invstd, void *weightGrad,
                                int weightGradType, void *biasGrad,
                                int biasGradType, float *terms) {
  VAR_WARP_STRIDE(c, l.channels) {
    double gradSum = channelSum(partials, l.channels, split, 0, c);
    double gradDotCentered = channelSum(partials, l.channels, split, 1, c);
    if (isLeadLane()) {
      double invstdC = loadFloat(invstd.data, invstd.type, c);
      double gradDotXhat = gradDotCentered * invstdC;
      storeFloat(weightGrad, weightGradType, c,
                 static_cast<float>(gradDotXhat));
      storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
      double count = static_cast<double>(l.perChannel());
      int64_t channels = l.channels;
      terms[norm::kMean * channels + c] = loadFloat(mean.data, mean.type, c);
      terms[norm::kCenteredGrad * channels + c] =
          count == 0 ? 0.0f : static_cast<float>(invstdC * gradDotXhat / count);
      terms[norm::kMeanGrad * channels + c] =
          count == 0 ? 0.0f : static_cast<float>(gradSum / count);
      terms[norm::kScale * channels + c] =
          static_cast<float>(loadFloat(weight.data, weight.type, c) * invstdC);
    }
  }
}

/// Frozen backward statistics (running statistics as constants, one warp
/// a channel): dbias = sum dy, dweight = invstd * sum dy * (x - mean);
/// keeps weight * invstd for the dx pass.
__global__ void frozenGradStatsKernel(ChannelLayout l, Split split,
                                      const double *partials, Operand weight,
                                      Operand var, double eps, void *weightGrad,
                                      int weightGradType, void *biasGrad,
                                      int biasGradType, float *scales) {
  VAR_WARP_STRIDE(c, l.channels) {
    double gradSum = channelSum(partials, l.channels, split, 0, c);
    double gradDotCentered = channelSum(partials, l.channels, split, 1, c);
    if (isLeadLane()) {
      double invstd =
          1.0 /
          sqrt(static_cast<double>(loadFloat(var.data, var.type, c)) + eps);
      storeFloat(weightGrad, weightGradType, c,
                 static_cast<float>(gradDotCentered * invstd));
      storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
      scales[c] =
          static_cast<float>(loadFloat(weight.data, weight.type, c) * invstd);
    }
  }
}

/// The op's fused `activation` (var-fuse-bn-act), if any.
std::string getActivation(const OpCall &call, int &activation) {
  std::string_view name = call.getString("activation");
  if (name.empty())
    activation = norm::kNoActivation;
  else if (name == "relu")
    activation = norm::kReluActivation;
  else if (name == "relu6")
    activation = norm::kRelu6Activation;
  else if (name == "silu")
    activation = norm::kSiluActivation;
  else
    return "unknown activation \"" + std::string(name) + "\"";
  return {};
}

/// Whether a backward with a fused `activation` recomputes the
/// pre-activation from the bias, its activation value (SiLU's always; a
/// ReLU's when the value is a vector), instead of reading the output.
bool recomputes(const OpCall &call, int activation) {
  return activation == norm::kSiluActivation ||
         (activation != norm::kNoActivation &&
          call.operands[5].shape.size() == 1 &&
          call.operands[0].shape.size() > 1);
}

/// Checks the counts and element types, and reads the input's layout: a
/// channels_last input (N, ..., C) (rank >= 3; an (N, C) input is the same
/// in either layout) is the (N * spatial, C) matrix (N * spatial, C, 1).
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
  if (call.getBool("channels_last") && shape.size() >= 3) {
    layout.batch = cpu::product(shape, 0, shape.size() - 1);
    layout.channels = shape.back();
    layout.spatial = 1;
  } else {
    layout.batch = shape[0];
    layout.channels = shape[1];
    layout.spatial = cpu::product(shape, 2, shape.size());
  }
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
/// statistics (named in messages), and with an `activation` its value, in;
/// input, weight and bias gradients out. dy has `gradSize` elements (a
/// pooled gradient), or by default the input's.
std::string prepareGrad(const OpCall &call, const char *stat0,
                        const char *stat1, int activation, ChannelLayout &l,
                        std::vector<Operand> &in, std::vector<Operand> &out,
                        int64_t gradSize = -1) {
  size_t operands = activation == norm::kNoActivation ? 5 : 6;
  if (std::string error = prepare(call, operands, 3, l, in, out);
      !error.empty())
    return error;
  // The value is the forward's bias (SiLU's always) or the activation's
  // output.
  if (activation != norm::kNoActivation)
    if (std::string error = cpu::checkSizes(
            call, {{"activation_value", call.operands[5],
                    recomputes(call, activation) ? l.channels : l.numel()}});
        !error.empty())
      return error;
  return cpu::checkSizes(
      call, {{"grad", call.operands[1], gradSize < 0 ? l.numel() : gradSize},
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
  int activation;
  if (std::string error = getActivation(call, activation); !error.empty())
    return error;
  if (std::string error = prepare(call, 5, 1, l, in, out); !error.empty())
    return error;
  if (std::string error =
          cpu::checkSizes(call, {{"weight", call.operands[1], l.channels},
                                 {"bias", call.operands[2], l.channels},
                                 {"running_mean", call.operands[3], l.channels},
                                 {"running_var", call.operands[4], l.channels},
                                 {"result", call.results[0], l.numel()}});
      !error.empty())
    return error;
  void *workspace;
  if (std::string error =
          ctx.getWorkspace(2 * l.channels * sizeof(float), &workspace);
      !error.empty())
    return error;
  auto *scaleShift = static_cast<float *>(workspace);
  foldRunningStatsKernel<<<blocksFor(l.channels), kThreads, 0, ctx.stream>>>(
      in[1], in[2], in[3], in[4], l.channels, call.getFloat("eps", 1e-5),
      scaleShift);
  VAR_CUDA_LAUNCHED();
  return norm::normalize(ctx, l, in[0], scaleShift, activation,
                         call.results[0].data, out[0].type);
}

/// A training batch norm up to its normalize pass: checks `call` (as
/// var.batch_norm_train's, whose result only its shape and type need
/// have), sums, and writes the saved and running statistics and, into the
/// workspace, the scale and shift that `normalize` gets.
std::string trainStatistics(CudaContext &ctx, const OpCall &call,
                            ChannelLayout &l, norm::Normalize &normalize) {
  std::vector<Operand> in, out;
  int activation;
  if (std::string error = getActivation(call, activation); !error.empty())
    return error;
  if (std::string error = prepare(call, 5, 5, l, in, out); !error.empty())
    return error;
  int64_t channels = l.channels;
  if (std::string error = cpu::checkSizes(
          call, {{"weight", call.operands[1], channels},
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
  Split split = norm::splitChannels(l, norm::isPackable(l, {in[0].data}), 1);
  // The partial sums, then the floats of normalize.
  void *workspace;
  if (std::string error =
          ctx.getWorkspace(2 * channels * split.chunks * sizeof(double) +
                               2 * channels * sizeof(float),
                           &workspace);
      !error.empty())
    return error;
  auto *partials = static_cast<double *>(workspace);
  auto *scaleShift =
      reinterpret_cast<float *>(partials + 2 * channels * split.chunks);
  TrainOutputs outputs{call.results[1].data, call.results[2].data,
                       call.results[3].data, call.results[4].data,
                       out[1].type,          out[2].type,
                       out[3].type,          out[4].type};
  if (std::string error =
          norm::sumInputAndSquares(ctx, l, split, in[0], partials);
      !error.empty())
    return error;
  batchStatsKernel<<<warpBlocksFor(channels), kThreads, 0, ctx.stream>>>(
      l, split, partials, in[0], in[1], in[2], in[3], in[4],
      call.getFloat("eps", 1e-5), call.getFloat("momentum", 0.1), outputs,
      scaleShift);
  VAR_CUDA_LAUNCHED();
  normalize = {scaleShift, channels, activation, out[0].type};
  return {};
}

std::string batchNormTrainOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  norm::Normalize normalize;
  if (std::string error = trainStatistics(ctx, call, l, normalize);
      !error.empty())
    return error;
  ElementType xType;
  if (std::string error = elementTypeOf(call.operands[0], "input", xType);
      !error.empty())
    return error;
  return norm::normalize(ctx, l, {call.operands[0].data, xType},
                         normalize.scaleShift, normalize.activation,
                         call.results[0].data, normalize.yType);
}

/// var.batch_norm_apply: var.batch_norm_train's normalize pass again, from
/// the saved statistics as that op stored them, through the same
/// foldSavedStats and norm::normalize, so the bits are the same.
std::string batchNormApplyOp(CudaContext &ctx, OpCall &call) {
  ChannelLayout l;
  std::vector<Operand> in, out;
  int activation;
  if (std::string error = getActivation(call, activation); !error.empty())
    return error;
  if (std::string error = prepare(call, 5, 1, l, in, out); !error.empty())
    return error;
  if (std::string error =
          cpu::checkSizes(call, {{"weight", call.operands[1], l.channels},
                                 {"bias", call.operands[2], l.channels},
                                 {"saved_mean", call.operands[3], l.channels},
                                 {"saved_invstd", call.operands[4], l.channels},
                                 {"result", call.results[0], l.numel()}});
      !error.empty())
    return error;
  void *workspace;
  if (std::string error =
          ctx.getWorkspace(2 * l.channels * sizeof(float), &workspace);
      !error.empty())
    return error;
  auto *scaleShift = static_cast<float *>(workspace);
  foldSavedStatsKernel<<<blocksFor(l.channels), kThreads, 0, ctx.stream>>>(
      in[1], in[2], in[3], in[4], l.channels, scaleShift);
  VAR_CUDA_LAUNCHED();
  return norm::normalize(ctx, l, in[0], scaleShift, activation,
                         call.results[0].data, out[0].type);
}

/// var.batch_norm_train_max_pool: var.batch_norm_train's statistics, then
/// one pass that pools the normalized values as it makes them (the pool
/// kernels of PoolKernels.cu with norm::Normalize before the comparison),
/// so the batch norm's result is never stored. Results: output, indices,
/// then the batch norm's four statistics.
std::string batchNormTrainMaxPoolOp(CudaContext &ctx, OpCall &call) {
  if (call.operands.size() != 5 || call.results.size() != 6)
    return "expects 5 operands and 6 results, got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  // The batch norm's result as its checks see it: the input's shape in the
  // output's type, with no memory behind it.
  TensorView normalized{call.results[0].dtype, call.operands[0].shape, nullptr};
  OpCall statistics{call.inst,
                    call.operands,
                    {normalized, call.results[2], call.results[3],
                     call.results[4], call.results[5]},
                    call.scalars,
                    call.batch};
  ChannelLayout l;
  norm::Normalize normalize;
  if (std::string error = trainStatistics(ctx, statistics, l, normalize);
      !error.empty())
    return error;
  OpCall pool{call.inst,
              {call.operands[0]},
              {call.results[0], call.results[1]},
              call.scalars,
              call.batch};
  return pool::maxPoolWithIndicesOfNormalized(ctx, pool, normalize);
}

/// What both backwards share: the checks, the workspace (the partial sums,
/// then `perChannel` floats a channel for the dx pass, then a recomputing
/// activation's scale and shift) and the pass that sums dy and dy * (x -
/// mean) per channel, mean the saved or the running mean.
struct GradPass {
  ChannelLayout l;
  std::vector<Operand> in, out;
  /// dy as the passes read it: the fused activation's masked gradient.
  norm::ActivationMask mask;
  Split split;
  double *partials = nullptr;
  float *perChannel = nullptr;
};

/// With `pooled`, dy is read from a max pool's gradient (operand 1) and
/// indices instead (var.batch_norm_grad_max_pool).
std::string runGradSums(CudaContext &ctx, const OpCall &call, const char *stat0,
                        const char *stat1, int64_t perChannel, GradPass &pass,
                        const norm::PooledGrad *pooled = nullptr) {
  int activation;
  if (std::string error = getActivation(call, activation); !error.empty())
    return error;
  if (std::string error =
          prepareGrad(call, stat0, stat1, activation, pass.l, pass.in, pass.out,
                      pooled ? call.operands[1].numel() : -1);
      !error.empty())
    return error;
  int64_t channels = pass.l.channels;
  if (channels == 0)
    return {};
  const std::vector<Operand> &in = pass.in;
  bool recompute =
      activation != norm::kNoActivation && recomputes(call, activation);
  if (activation != norm::kNoActivation && !recompute)
    pass.mask = {in[5], activation};
  // A pooled dy packs where a dense one would: the same split, the same
  // order of every sum.
  pass.split = norm::splitChannels(
      pass.l,
      norm::isPackable(pass.l, {in[0].data, in[1].data, pass.mask.value.data,
                                pooled ? pooled->indices : nullptr}),
      2);
  void *workspace;
  if (std::string error = ctx.getWorkspace(
          2 * pass.split.chunks * channels * sizeof(double) +
              (perChannel + (recompute ? 2 : 0)) * channels * sizeof(float),
          &workspace);
      !error.empty())
    return error;
  pass.partials = static_cast<double *>(workspace);
  pass.perChannel = reinterpret_cast<float *>(pass.partials +
                                              2 * pass.split.chunks * channels);
  if (recompute) {
    // The forward's scale and shift, from the saved statistics: operands
    // weight, saved mean, saved 1/std and (as the activation value) bias.
    float *scaleShift = pass.perChannel + perChannel * channels;
    foldSavedStatsKernel<<<blocksFor(channels), kThreads, 0, ctx.stream>>>(
        in[2], in[5], in[3], in[4], channels, scaleShift);
    VAR_CUDA_LAUNCHED();
    pass.mask.activation = activation;
    pass.mask.recompute = true;
    pass.mask.scaleShift = scaleShift;
    pass.mask.channels = channels;
    pass.mask.zType = in[0].type;
    pass.mask.gradType = in[1].type;
  }
  if (pooled)
    return norm::sumPooledGrads(ctx, pass.l, pass.split, in[0], *pooled, in[3],
                                pass.mask, pass.partials);
  return norm::sumGrads(ctx, pass.l, pass.split, in[0], in[1], in[3], pass.mask,
                        pass.partials);
}

/// var.batch_norm_grad, or with `pooled` the same passes reading dy from a
/// max pool's gradient and indices.
std::string runBatchNormGrad(CudaContext &ctx, OpCall &call,
                             const norm::PooledGrad *pooled = nullptr) {
  GradPass p;
  if (std::string error = runGradSums(ctx, call, "saved_mean", "saved_invstd",
                                      norm::kInputGradTerms, p, pooled);
      !error.empty() || p.l.channels == 0)
    return error;
  gradStatsKernel<<<warpBlocksFor(p.l.channels), kThreads, 0, ctx.stream>>>(
      p.l, p.split, p.partials, p.in[2], p.in[3], p.in[4], call.results[1].data,
      p.out[1].type, call.results[2].data, p.out[2].type, p.perChannel);
  VAR_CUDA_LAUNCHED();
  if (pooled)
    return norm::pooledInputGrad(ctx, p.l, p.in[0], *pooled, p.perChannel,
                                 p.mask, call.results[0].data, p.out[0].type);
  return norm::inputGrad(ctx, p.l, p.in[0], p.in[1], p.perChannel, p.mask,
                         call.results[0].data, p.out[0].type);
}

std::string batchNormGradOp(CudaContext &ctx, OpCall &call) {
  return runBatchNormGrad(ctx, call);
}

/// var.batch_norm_grad_max_pool: var.batch_norm_grad's passes (sums, then
/// dx), each loading dy from the pooled gradient and indices where it
/// would load var.max_pool_grad_indices' result, on every path of a
/// channels-last input (packed rows and element by element), so that the
/// full-size gradient is never written and the results are the unfused
/// pair's, bit for bit.
std::string batchNormGradMaxPoolOp(CudaContext &ctx, OpCall &call) {
  if (call.operands.size() < 6 || call.operands.size() > 7)
    return "expects 6 or 7 operands, got " +
           std::to_string(call.operands.size());
  if (!call.getBool("channels_last") || call.operands[0].shape.size() < 3)
    return "computes channels-last tensors only";
  // The window, checked as var.max_pool_grad_indices' whose result has
  // the input's shape.
  cpu::TensorView routed = call.operands[0];
  routed.dtype = call.operands[2].dtype;
  OpCall route{call.inst, {call.operands[1], call.operands[2]}, {routed}};
  cpu::Window w;
  if (std::string error = cpu::makeIndexedPoolWindow(route, false, w);
      !error.empty())
    return error;
  if (w.stride != w.kernel || w.padding != cpu::Dims{0, 0, 0})
    return "needs windows that tile the input (stride equal to the kernel, "
           "no padding)";
  if (w.batch * cpu::product(w.in) > 0xffffffffll)
    return "has more than 2^32 rows";
  norm::PooledGrad pooled;
  ElementType gradType;
  if (std::string error = elementTypeOf(call.operands[2], "grad", gradType);
      !error.empty())
    return error;
  pooled.grad = call.operands[2].data;
  pooled.indices = static_cast<const int8_t *>(call.operands[1].data);
  pooled.gradType = gradType;
  for (int d = 0; d < 3; ++d) {
    pooled.in[d] = static_cast<uint32_t>(w.in[d]);
    pooled.out[d] = static_cast<uint32_t>(w.out[d]);
    pooled.kernel[d] = static_cast<uint32_t>(w.kernel[d]);
  }
  pooled.channels = w.inChannels;
  // batch_norm_grad's operands, the pooled gradient in grad's place.
  OpCall norm{call.inst,
              {call.operands[0], call.operands[2]},
              call.results,
              call.scalars,
              call.batch};
  norm.operands.insert(norm.operands.end(), call.operands.begin() + 3,
                       call.operands.end());
  return runBatchNormGrad(ctx, norm, &pooled);
}

std::string batchNormFrozenGradOp(CudaContext &ctx, OpCall &call) {
  // var-fuse-bn-act leaves the frozen backward as it is.
  if (!call.getString("activation").empty())
    return "takes no activation";
  GradPass p;
  if (std::string error =
          runGradSums(ctx, call, "running_mean", "running_var", 1, p);
      !error.empty() || p.l.channels == 0)
    return error;
  frozenGradStatsKernel<<<warpBlocksFor(p.l.channels), kThreads, 0,
                          ctx.stream>>>(
      p.l, p.split, p.partials, p.in[2], p.in[4], call.getFloat("eps", 1e-5),
      call.results[1].data, p.out[1].type, call.results[2].data, p.out[2].type,
      p.perChannel);
  VAR_CUDA_LAUNCHED();
  return norm::scaleByChannel(ctx, p.l, p.in[1], p.perChannel,
                              call.results[0].data, p.out[0].type);
}

} // namespace

void registerNormOps(CudaOpTable &table) {
  table["var.batch_norm"] = batchNormOp;
  table["var.batch_norm_train"] = batchNormTrainOp;
  table["var.batch_norm_apply"] = batchNormApplyOp;
  table["var.batch_norm_train_max_pool"] = batchNormTrainMaxPoolOp;
  table["var.batch_norm_grad"] = batchNormGradOp;
  table["var.batch_norm_grad_max_pool"] = batchNormGradMaxPoolOp;
  table["var.batch_norm_frozen_grad"] = batchNormFrozenGradOp;
}

} // namespace var::cuda
