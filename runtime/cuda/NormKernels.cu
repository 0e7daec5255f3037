// CUDA kernels of batch normalization (evaluation, training, backward, frozen
// backward) on (N, C, spatial...) tensors, with runtime/cpu's numerics:
// per-channel sums in double (two passes for the variance), scale and shift
// in double. The per-channel sums are spread over blocks (each a range of a
// channel's elements, so that a few large channels fill the GPU), their
// partial sums added in a fixed order by one thread a channel; the
// elementwise passes read per-channel doubles from the context's workspace.
// A channels_last input (N, ..., C) is an (M, C) matrix, M = N * spatial:
// its sums are column sums over blocks of rows, threads along C (coalesced),
// into the same per-chunk partials, so every order stays fixed.
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cuda/CudaOps.h"
#include "runtime/cuda/DeviceTensor.cuh"

#include <algorithm>
#include <initializer_list>

namespace var::cuda {

using cpu::OpCall;
using cpu::TensorView;

namespace {

/// (batch, channels, spatial); a channels-last input is (N * spatial, C, 1).
struct ChannelLayout {
  int64_t batch = 0, channels = 0, spatial = 1;
  __host__ __device__ int64_t perChannel() const { return batch * spatial; }
  __host__ __device__ int64_t numel() const {
    return batch * channels * spatial;
  }
};

/// The channel of element `i`: 32-bit division where the tensor allows (a
/// 64-bit division costs tens of instructions an element).
__device__ inline int64_t channelOf(const ChannelLayout &l, int64_t i) {
  if (l.numel() <= 0xffffffffll)
    return static_cast<uint32_t>(i) / static_cast<uint32_t>(l.spatial) %
           static_cast<uint32_t>(l.channels);
  return i / l.spatial % l.channels;
}

/// How the per-channel sums are spread over blocks: each channel's
/// batch * spatial elements in `chunks` consecutive ranges of `chunk`, one
/// block a range, so that even a few channels fill the GPU. A function of
/// the shape only: the order of every sum is the same in every run.
struct Split {
  int64_t chunks = 1, chunk = 0;
  /// A block's stride (kThreads elements) as whole samples and a remainder.
  int64_t stepN = 0, stepS = 0;
  /// Channels-last: chunks of `chunk` rows of the (M, C) matrix, each
  /// summed by blocks of kColumns channels x kRows threads.
  bool columns = false;
};

constexpr int kColumns = 32, kRows = kThreads / kColumns;

Split splitChannels(const ChannelLayout &l, bool columns) {
  Split split;
  split.columns = columns;
  int64_t m = l.perChannel();
  // Enough blocks to fill the GPU, each thread summing at least 4 elements.
  int64_t blocksPerChunk =
      columns ? (l.channels + kColumns - 1) / kColumns : l.channels;
  int64_t wanted = std::max<int64_t>(
      1, (1024 + blocksPerChunk - 1) / std::max<int64_t>(1, blocksPerChunk));
  int64_t most = std::max<int64_t>(1, m / (4 * (columns ? kRows : kThreads)));
  split.chunks = std::min(wanted, most);
  split.chunk = (m + split.chunks - 1) / split.chunks;
  if (split.chunk > 0)
    split.chunks = (m + split.chunk - 1) / split.chunk;
  if (l.spatial > 0) {
    split.stepN = kThreads / l.spatial;
    split.stepS = kThreads % l.spatial;
  }
  return split;
}

struct Operand {
  const void *data;
  int type;
};

/// K sums over one chunk of one channel's elements (block c * chunks + g),
/// into partials[(k * channels + c) * chunks + g]; `Terms` adds element
/// i's K values (after begin(c), once a block).
template <int K, typename Terms>
__global__ void partialSumsKernel(ChannelLayout l, Split split, Terms terms,
                                  double *partials) {
  int64_t c = blockIdx.x / split.chunks, g = blockIdx.x % split.chunks;
  terms.begin(c);
  double sum[K] = {};
  int64_t begin = g * split.chunk;
  int64_t end = min(begin + split.chunk, l.perChannel());
  int64_t j = begin + threadIdx.x;
  if (j < end) {
    int64_t n = j / l.spatial, s = j - n * l.spatial;
    for (; j < end; j += kThreads) {
      terms.add((n * l.channels + c) * l.spatial + s, sum);
      n += split.stepN;
      s += split.stepS;
      if (s >= l.spatial) {
        s -= l.spatial;
        ++n;
      }
    }
  }
  __shared__ double shared[K][kThreads];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.x] = sum[k];
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step)
      for (int k = 0; k < K; ++k)
        shared[k][threadIdx.x] += shared[k][threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k)
      partials[(k * l.channels + c) * split.chunks + g] = shared[k][0];
}

/// The channels-last partialSumsKernel: block (x, g) sums rows
/// [g * chunk, (g + 1) * chunk) of columns [x * kColumns, ...) of the
/// (M, C) input, thread (tx, ty) every kRows-th row of column tx (a warp
/// reads kColumns consecutive channels of one row), then the kRows partial
/// sums of a column in row order.
template <int K, typename Terms>
__global__ void columnSumsKernel(ChannelLayout l, Split split, Terms terms,
                                 double *partials) {
  int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  int64_t g = blockIdx.y;
  double sum[K] = {};
  if (c < l.channels) {
    terms.begin(c);
    int64_t end = min((g + 1) * split.chunk, l.perChannel());
    for (int64_t r = g * split.chunk + threadIdx.y; r < end; r += kRows)
      terms.add(r * l.channels + c, sum);
  }
  __shared__ double shared[K][kRows][kColumns];
  for (int k = 0; k < K; ++k)
    shared[k][threadIdx.y][threadIdx.x] = sum[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < l.channels)
    for (int k = 0; k < K; ++k) {
      double total = 0;
      for (int y = 0; y < kRows; ++y)
        total += shared[k][y][threadIdx.x];
      partials[(k * l.channels + c) * split.chunks + g] = total;
    }
}

/// Sum `k` of channel `c` from its chunks' partial sums, in chunk order.
__device__ inline double channelSum(const double *partials, int64_t channels,
                                    const Split &split, int k, int64_t c) {
  const double *chunk = partials + (k * channels + c) * split.chunks;
  double sum = 0;
  for (int64_t g = 0; g < split.chunks; ++g)
    sum += chunk[g];
  return sum;
}

struct SumOfInput {
  const void *x;
  int xType;
  __device__ void begin(int64_t) {}
  __device__ void add(int64_t i, double *sum) const {
    sum[0] += loadFloat(x, xType, i);
  }
};

struct CenteredSquares {
  const void *x;
  int xType;
  const double *means;
  double mean = 0;
  __device__ void begin(int64_t c) { mean = means[c]; }
  __device__ void add(int64_t i, double *sum) const {
    double centered = loadFloat(x, xType, i) - mean;
    sum[0] += centered * centered;
  }
};

/// sum dy and sum dy * (x - mean) * scale: with the saved inverse standard
/// deviation as `scale` the batch backward's dy . xhat, with 1 the frozen
/// backward's dy . (x - running_mean).
struct GradSums {
  const void *x, *dy;
  int xType, dyType;
  Operand mean, scale;
  bool scaled;
  double channelMean = 0, channelScale = 1;
  __device__ void begin(int64_t c) {
    channelMean = loadFloat(mean.data, mean.type, c);
    if (scaled)
      channelScale = loadFloat(scale.data, scale.type, c);
  }
  __device__ void add(int64_t i, double *sum) const {
    float grad = loadFloat(dy, dyType, i);
    sum[0] += grad;
    double centered = loadFloat(x, xType, i) - channelMean;
    sum[1] += grad * (scaled ? centered * channelScale : centered);
  }
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
    int64_t c = channelOf(l, i);
    storeFloat(y, yType, i,
               static_cast<float>(loadFloat(x, xType, i) * scaleShift[c] +
                                  scaleShift[l.channels + c]));
  }
}

struct TrainOutputs {
  void *savedMean, *savedInvstd, *newMean, *newVar;
  int savedMeanType, savedInvstdType, newMeanType, newVarType;
};

/// Training statistics, pass 1 done: each channel's mean (one thread a
/// channel).
__global__ void channelMeansKernel(ChannelLayout l, Split split,
                                   const double *partials, double *means) {
  VAR_GRID_STRIDE(c, l.channels) {
    means[c] = channelSum(partials, l.channels, split, 0, c) /
               static_cast<double>(l.perChannel());
  }
}

/// Training statistics, pass 2 done: scale and shift, saved statistics and
/// running statistics (one thread a channel).
__global__ void batchStatsKernel(ChannelLayout l, Split split,
                                 const double *partials, const double *means,
                                 Operand weight, Operand bias,
                                 Operand runningMean, Operand runningVar,
                                 double eps, double momentum, TrainOutputs out,
                                 double *scaleShift) {
  VAR_GRID_STRIDE(c, l.channels) {
    double count = static_cast<double>(l.perChannel());
    double mean = means[c];
    double squares = channelSum(partials, l.channels, split, 0, c);
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
        static_cast<float>(
            (1 - momentum) * loadFloat(runningMean.data, runningMean.type, c) +
            momentum * mean));
    storeFloat(
        out.newVar, out.newVarType, c,
        static_cast<float>((1 - momentum) *
                               loadFloat(runningVar.data, runningVar.type, c) +
                           momentum * squares / (count - 1)));
  }
}

/// Backward statistics: dbias = sum dy, dweight = sum dy * xhat; keeps
/// weight * invstd, sum dy / M and sum dy xhat / M for the dx pass (one
/// thread a channel).
__global__ void gradStatsKernel(ChannelLayout l, Split split,
                                const double *partials, Operand weight,
                                Operand invstd, void *weightGrad,
                                int weightGradType, void *biasGrad,
                                int biasGradType, double *terms) {
  VAR_GRID_STRIDE(c, l.channels) {
    double gradSum = channelSum(partials, l.channels, split, 0, c);
    double gradDotXhat = channelSum(partials, l.channels, split, 1, c);
    storeFloat(weightGrad, weightGradType, c, static_cast<float>(gradDotXhat));
    storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
    double count = static_cast<double>(l.perChannel());
    terms[c] = loadFloat(weight.data, weight.type, c) *
               static_cast<double>(loadFloat(invstd.data, invstd.type, c));
    terms[l.channels + c] = count == 0 ? 0.0 : gradSum / count;
    terms[2 * l.channels + c] = count == 0 ? 0.0 : gradDotXhat / count;
  }
}

__global__ void inputGradKernel(ChannelLayout l, const void *x, int xType,
                                const void *dy, int dyType, Operand mean,
                                Operand invstd, const double *terms, void *dx,
                                int dxType) {
  VAR_GRID_STRIDE(i, l.numel()) {
    int64_t c = channelOf(l, i);
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

/// Frozen backward statistics (running statistics as constants, one
/// thread a channel): dbias = sum dy, dweight = invstd * sum dy * (x -
/// mean); keeps weight * invstd for the dx pass.
__global__ void frozenGradStatsKernel(ChannelLayout l, Split split,
                                      const double *partials, Operand weight,
                                      Operand var, double eps, void *weightGrad,
                                      int weightGradType, void *biasGrad,
                                      int biasGradType, double *scales) {
  VAR_GRID_STRIDE(c, l.channels) {
    double invstd =
        1.0 / sqrt(static_cast<double>(loadFloat(var.data, var.type, c)) + eps);
    double gradSum = channelSum(partials, l.channels, split, 0, c);
    double gradDotCentered = channelSum(partials, l.channels, split, 1, c);
    storeFloat(weightGrad, weightGradType, c,
               static_cast<float>(gradDotCentered * invstd));
    storeFloat(biasGrad, biasGradType, c, static_cast<float>(gradSum));
    scales[c] = loadFloat(weight.data, weight.type, c) * invstd;
  }
}

__global__ void scaleByChannelKernel(ChannelLayout l, const void *dy,
                                     int dyType, const double *scales, void *dx,
                                     int dxType) {
  VAR_GRID_STRIDE(i, l.numel()) {
    int64_t c = channelOf(l, i);
    storeFloat(dx, dxType, i,
               static_cast<float>(loadFloat(dy, dyType, i) * scales[c]));
  }
}

/// Launches partialSumsKernel over every channel's chunks.
template <int K, typename Terms>
std::string launchPartialSums(CudaContext &ctx, const ChannelLayout &l,
                              const Split &split, const Terms &terms,
                              double *partials) {
  if (split.columns) {
    if (l.channels == 0 || split.chunks == 0)
      return {};
    dim3 grid(static_cast<unsigned>((l.channels + kColumns - 1) / kColumns),
              static_cast<unsigned>(split.chunks));
    columnSumsKernel<K><<<grid, dim3(kColumns, kRows), 0, ctx.stream>>>(
        l, split, terms, partials);
    VAR_CUDA_LAUNCHED();
    return {};
  }
  int64_t blocks = l.channels * split.chunks;
  if (blocks == 0)
    return {};
  if (blocks > 0x7fffffffll)
    return "has " + std::to_string(l.channels) +
           " channels, more than one launch takes";
  partialSumsKernel<K>
      <<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(
          l, split, terms, partials);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// Checks the counts and element types, and reads the input's layout;
/// `channelsLast` when the input is (N, ..., C) (rank >= 3 with
/// channels_last; an (N, C) input is the same in either layout).
std::string prepare(const OpCall &call, size_t operands, size_t results,
                    ChannelLayout &layout, std::vector<Operand> &ins,
                    std::vector<Operand> &outs, bool &channelsLast) {
  if (call.operands.size() != operands || call.results.size() != results)
    return "expects " + std::to_string(operands) + " operands and " +
           std::to_string(results) + " results, got " +
           std::to_string(call.operands.size()) + " and " +
           std::to_string(call.results.size());
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.size() < 2)
    return "input must be (N, C, ...), got rank " +
           std::to_string(shape.size());
  channelsLast = call.getBool("channels_last") && shape.size() >= 3;
  if (channelsLast) {
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
/// statistics (named in messages) in; input, weight and bias gradients out.
std::string prepareGrad(const OpCall &call, const char *stat0,
                        const char *stat1, ChannelLayout &l,
                        std::vector<Operand> &in, std::vector<Operand> &out,
                        bool &channelsLast) {
  if (std::string error = prepare(call, 5, 3, l, in, out, channelsLast);
      !error.empty())
    return error;
  return cpu::checkSizes(call, {{"grad", call.operands[1], l.numel()},
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
  bool channelsLast; // the layout alone makes a channels-last channel i % C
  if (std::string error = prepare(call, 5, 1, l, in, out, channelsLast);
      !error.empty())
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
  bool channelsLast;
  if (std::string error = prepare(call, 5, 5, l, in, out, channelsLast);
      !error.empty())
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
  Split split = splitChannels(l, channelsLast);
  void *workspace;
  if (std::string error = ctx.getWorkspace(
          (3 * channels + channels * split.chunks) * 8, &workspace);
      !error.empty())
    return error;
  auto *scaleShift = static_cast<double *>(workspace);
  double *means = scaleShift + 2 * channels;
  double *partials = means + channels;
  TrainOutputs outputs{call.results[1].data, call.results[2].data,
                       call.results[3].data, call.results[4].data,
                       out[1].type,          out[2].type,
                       out[3].type,          out[4].type};
  if (std::string error = launchPartialSums<1>(
          ctx, l, split, SumOfInput{in[0].data, in[0].type}, partials);
      !error.empty())
    return error;
  channelMeansKernel<<<blocksFor(channels), kThreads, 0, ctx.stream>>>(
      l, split, partials, means);
  VAR_CUDA_LAUNCHED();
  if (std::string error = launchPartialSums<1>(
          ctx, l, split, CenteredSquares{in[0].data, in[0].type, means},
          partials);
      !error.empty())
    return error;
  batchStatsKernel<<<blocksFor(channels), kThreads, 0, ctx.stream>>>(
      l, split, partials, means, in[1], in[2], in[3], in[4],
      call.getFloat("eps", 1e-5), call.getFloat("momentum", 0.1), outputs,
      scaleShift);
  VAR_CUDA_LAUNCHED();
  normalizeKernel<<<blocksFor(l.numel()), kThreads, 0, ctx.stream>>>(
      l, in[0].data, in[0].type, scaleShift, call.results[0].data, out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

/// What both backwards share: the checks, the workspace (`perChannel`
/// doubles a channel for the dx pass, then the partial sums) and the pass
/// that sums dy and dy * (x - mean), times the saved inverse standard
/// deviation when `scaled`, per channel.
struct GradPass {
  ChannelLayout l;
  std::vector<Operand> in, out;
  Split split;
  bool channelsLast = false;
  double *perChannel = nullptr, *partials = nullptr;
};

std::string runGradSums(CudaContext &ctx, const OpCall &call, const char *stat0,
                        const char *stat1, bool scaled, int64_t perChannel,
                        GradPass &pass) {
  if (std::string error = prepareGrad(call, stat0, stat1, pass.l, pass.in,
                                      pass.out, pass.channelsLast);
      !error.empty())
    return error;
  int64_t channels = pass.l.channels;
  if (channels == 0)
    return {};
  pass.split = splitChannels(pass.l, pass.channelsLast);
  void *workspace;
  if (std::string error = ctx.getWorkspace(
          (perChannel + 2 * pass.split.chunks) * channels * 8, &workspace);
      !error.empty())
    return error;
  pass.perChannel = static_cast<double *>(workspace);
  pass.partials = pass.perChannel + perChannel * channels;
  const std::vector<Operand> &in = pass.in;
  return launchPartialSums<2>(ctx, pass.l, pass.split,
                              GradSums{in[0].data, in[1].data, in[0].type,
                                       in[1].type, in[3], in[4], scaled},
                              pass.partials);
}

std::string batchNormGradOp(CudaContext &ctx, OpCall &call) {
  GradPass p;
  if (std::string error =
          runGradSums(ctx, call, "saved_mean", "saved_invstd", true, 3, p);
      !error.empty() || p.l.channels == 0)
    return error;
  gradStatsKernel<<<blocksFor(p.l.channels), kThreads, 0, ctx.stream>>>(
      p.l, p.split, p.partials, p.in[2], p.in[4], call.results[1].data,
      p.out[1].type, call.results[2].data, p.out[2].type, p.perChannel);
  VAR_CUDA_LAUNCHED();
  inputGradKernel<<<blocksFor(p.l.numel()), kThreads, 0, ctx.stream>>>(
      p.l, p.in[0].data, p.in[0].type, p.in[1].data, p.in[1].type, p.in[3],
      p.in[4], p.perChannel, call.results[0].data, p.out[0].type);
  VAR_CUDA_LAUNCHED();
  return {};
}

std::string batchNormFrozenGradOp(CudaContext &ctx, OpCall &call) {
  GradPass p;
  if (std::string error =
          runGradSums(ctx, call, "running_mean", "running_var", false, 1, p);
      !error.empty() || p.l.channels == 0)
    return error;
  frozenGradStatsKernel<<<blocksFor(p.l.channels), kThreads, 0, ctx.stream>>>(
      p.l, p.split, p.partials, p.in[2], p.in[4], call.getFloat("eps", 1e-5),
      call.results[1].data, p.out[1].type, call.results[2].data, p.out[2].type,
      p.perChannel);
  VAR_CUDA_LAUNCHED();
  scaleByChannelKernel<<<blocksFor(p.l.numel()), kThreads, 0, ctx.stream>>>(
      p.l, p.in[1].data, p.in[1].type, p.perChannel, call.results[0].data,
      p.out[0].type);
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
