// CPU reference kernels for batch normalization (evaluation, training, and
// the backward of each) and the LSTM layer (forward and backpropagation
// through time).
// Sums accumulate in double; gates and states are f32, as on the GPU.
#include "runtime/cpu/CpuOps.h"
#include "runtime/cpu/ElementwiseScalars.h"
#include "runtime/cpu/KernelChecks.h"
#include "runtime/cpu/LstmCall.h"

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

namespace var::cpu {
namespace {

std::string checkCounts(const OpCall &call, size_t operands, size_t results) {
  if (call.operands.size() == operands && call.results.size() == results)
    return {};
  return call.inst.op + ": expects " + std::to_string(operands) +
         " operands and " + std::to_string(results) + " results, got " +
         std::to_string(call.operands.size()) + " and " +
         std::to_string(call.results.size());
}

//===----------------------------------------------------------------------===//
// Batch normalization
//===----------------------------------------------------------------------===//

/// Batch norm sees its input (N, C, ...) as (N, C, S): channel c's
/// statistics run over the N * S elements (n * C + c) * S + s; with
/// `channels_last` an input (N, ..., C) is (N, S, C) and the elements are
/// (n * S + s) * C + c. Both visit a channel's elements in the same (n, s)
/// order, so a channels-last call sums exactly as the channels-first call
/// on transposed data.
struct ChannelLayout {
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t spatial = 1;
  bool channelsLast = false;

  int64_t perChannel() const { return batch * spatial; }
  int64_t numel() const { return batch * channels * spatial; }

  /// Calls f(index) for every element of channel c.
  template <typename F> void forEach(int64_t c, F f) const {
    for (int64_t n = 0; n < batch; ++n) {
      if (channelsLast) {
        for (int64_t s = 0; s < spatial; ++s)
          f((n * spatial + s) * channels + c);
        continue;
      }
      int64_t base = (n * channels + c) * spatial;
      for (int64_t s = 0; s < spatial; ++s)
        f(base + s);
    }
  }
};

std::string getChannelLayout(const OpCall &call, ChannelLayout &layout) {
  const std::vector<int64_t> &shape = call.operands[0].shape;
  if (shape.size() < 2)
    return call.inst.op + ": input must be (N, C, ...), got rank " +
           std::to_string(shape.size());
  // A rank-2 input (N, C) is the same in either layout.
  layout.channelsLast = call.getBool("channels_last") && shape.size() >= 3;
  layout.batch = shape[0];
  layout.channels = layout.channelsLast ? shape.back() : shape[1];
  layout.spatial = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    if (d != (layout.channelsLast ? shape.size() - 1 : 1))
      layout.spatial *= shape[d];
  return {};
}

/// A batch norm's fused `activation` ("relu", "relu6", "silu";
/// var-fuse-bn-act).
enum class FusedActivation { None, Relu, Relu6, Silu };

std::string getFusedActivation(const OpCall &call, FusedActivation &act) {
  std::string_view name = call.getString("activation");
  if (name.empty())
    act = FusedActivation::None;
  else if (name == "relu")
    act = FusedActivation::Relu;
  else if (name == "relu6")
    act = FusedActivation::Relu6;
  else if (name == "silu")
    act = FusedActivation::Silu;
  else
    return call.inst.op + ": unknown activation \"" + std::string(name) + "\"";
  return {};
}

/// Writes the normalized `values` into `result`, then, with an activation,
/// applies it to the stored (rounded) values and stores again: exactly the
/// unfused var.relu, var.relu6 or var.silu on the stored batch norm result.
void writeActivated(std::vector<float> values, FusedActivation act,
                    TensorView &result) {
  writeFloats(values, result);
  if (act == FusedActivation::None)
    return;
  values = readFloats(result);
  for (float &value : values)
    value = act == FusedActivation::Relu    ? scalar::relu(value)
            : act == FusedActivation::Relu6 ? scalar::relu6(value)
                                            : scalar::silu(value);
  writeFloats(values, result);
}

/// A training batch norm's normalized value at x: from the saved
/// statistics as stored, so that a backward with a fused activation, which
/// reads them, recomputes the same value; scale and shift folded in double
/// and applied as floats with one rounding, as the CUDA kernels do.
struct SavedScaleShift {
  float scale, shift;
  SavedScaleShift(float weight, float bias, float mean, float invstd) {
    double folded = weight * static_cast<double>(invstd);
    scale = static_cast<float>(folded);
    shift = static_cast<float>(bias - mean * folded);
  }
  float operator()(float x) const { return std::fma(x, scale, shift); }
};

/// Channel c's normalized values in `result`, from the saved statistics
/// `mean` and `invstd` as stored: var.batch_norm_train's and
/// var.batch_norm_apply's, which thus agree bit for bit.
void normalizeFromSaved(const ChannelLayout &layout, int64_t c,
                        const std::vector<float> &input, float weight,
                        float bias, float mean, float invstd,
                        std::vector<float> &result) {
  SavedScaleShift saved(weight, bias, mean, invstd);
  layout.forEach(c, [&](int64_t i) { result[i] = saved(input[i]); });
}

/// The checks var.batch_norm and var.batch_norm_apply share: the input,
/// weight, bias and two per-channel statistics (named `stat0`, `stat1` in
/// messages), one result; the layout and activation they read.
std::string prepareNormalize(OpCall &call, const char *stat0, const char *stat1,
                             ChannelLayout &layout, FusedActivation &act) {
  if (std::string error = checkCounts(call, 5, 1); !error.empty())
    return error;
  if (std::string error = getChannelLayout(call, layout); !error.empty())
    return error;
  if (std::string error = getFusedActivation(call, act); !error.empty())
    return error;
  int64_t channels = layout.channels;
  return checkSizes(call, {{"weight", call.operands[1], channels},
                           {"bias", call.operands[2], channels},
                           {stat0, call.operands[3], channels},
                           {stat1, call.operands[4], channels},
                           {"result", call.results[0], layout.numel()}});
}

/// var.batch_norm: normalizes with the running statistics, folded into one
/// scale and shift per channel.
std::string batchNorm(OpCall &call) {
  ChannelLayout layout;
  FusedActivation act;
  if (std::string error =
          prepareNormalize(call, "running_mean", "running_var", layout, act);
      !error.empty())
    return error;
  int64_t channels = layout.channels;
  std::vector<float> input = readFloats(call.operands[0]);
  std::vector<float> weight = readFloats(call.operands[1]);
  std::vector<float> bias = readFloats(call.operands[2]);
  std::vector<float> mean = readFloats(call.operands[3]);
  std::vector<float> var = readFloats(call.operands[4]);
  double eps = call.getFloat("eps", 1e-5);
  std::vector<float> result(input.size());
  for (int64_t c = 0; c < channels; ++c) {
    double scale = weight[c] / std::sqrt(static_cast<double>(var[c]) + eps);
    double shift = bias[c] - mean[c] * scale;
    layout.forEach(c, [&](int64_t i) {
      result[i] = static_cast<float>(input[i] * scale + shift);
    });
  }
  writeActivated(std::move(result), act, call.results[0]);
  return {};
}

} // namespace

/// var.batch_norm_train: batch mean and biased variance (two passes, in
/// double), the normalized result, and the running statistics moved as
/// PyTorch moves them, with the unbiased variance.
std::string batchNormTrain(OpCall &call) {
  ChannelLayout layout;
  FusedActivation act;
  if (std::string error = checkCounts(call, 5, 5); !error.empty())
    return error;
  if (std::string error = getChannelLayout(call, layout); !error.empty())
    return error;
  if (std::string error = getFusedActivation(call, act); !error.empty())
    return error;
  int64_t channels = layout.channels;
  if (std::string error =
          checkSizes(call, {{"weight", call.operands[1], channels},
                            {"bias", call.operands[2], channels},
                            {"running_mean", call.operands[3], channels},
                            {"running_var", call.operands[4], channels},
                            {"result", call.results[0], layout.numel()},
                            {"saved_mean", call.results[1], channels},
                            {"saved_invstd", call.results[2], channels},
                            {"new_running_mean", call.results[3], channels},
                            {"new_running_var", call.results[4], channels}});
      !error.empty())
    return error;
  int64_t count = layout.perChannel();
  // The unbiased variance divides by count - 1; PyTorch refuses this too.
  if (count < 2)
    return call.inst.op + ": needs more than one value per channel, got " +
           std::to_string(count);
  std::vector<float> input = readFloats(call.operands[0]);
  std::vector<float> weight = readFloats(call.operands[1]);
  std::vector<float> bias = readFloats(call.operands[2]);
  std::vector<float> runningMean = readFloats(call.operands[3]);
  std::vector<float> runningVar = readFloats(call.operands[4]);
  double eps = call.getFloat("eps", 1e-5);
  double momentum = call.getFloat("momentum", 0.1);
  std::vector<float> result(input.size());
  std::vector<float> savedMean(channels), savedInvstd(channels);
  std::vector<float> newMean(channels), newVar(channels);
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    layout.forEach(c, [&](int64_t i) { sum += input[i]; });
    double mean = sum / count;
    double squares = 0;
    layout.forEach(c, [&](int64_t i) {
      double centered = input[i] - mean;
      squares += centered * centered;
    });
    double var = squares / count;
    double invstd = 1.0 / std::sqrt(var + eps);
    // As stored (a bf16 statistic is rounded again), which is what
    // var.batch_norm_apply and the backward read.
    savedMean[c] =
        roundToDType(static_cast<float>(mean), call.results[1].dtype);
    savedInvstd[c] =
        roundToDType(static_cast<float>(invstd), call.results[2].dtype);
    normalizeFromSaved(layout, c, input, weight[c], bias[c], savedMean[c],
                       savedInvstd[c], result);
    newMean[c] =
        static_cast<float>((1 - momentum) * runningMean[c] + momentum * mean);
    newVar[c] = static_cast<float>((1 - momentum) * runningVar[c] +
                                   momentum * squares / (count - 1));
  }
  writeActivated(std::move(result), act, call.results[0]);
  writeFloats(savedMean, call.results[1]);
  writeFloats(savedInvstd, call.results[2]);
  writeFloats(newMean, call.results[3]);
  writeFloats(newVar, call.results[4]);
  return {};
}

namespace {

/// var.batch_norm_apply: var.batch_norm_train's result from the input and
/// the saved statistics that op wrote, by the same normalize and
/// activation.
std::string batchNormApply(OpCall &call) {
  ChannelLayout layout;
  FusedActivation act;
  if (std::string error =
          prepareNormalize(call, "saved_mean", "saved_invstd", layout, act);
      !error.empty())
    return error;
  int64_t channels = layout.channels;
  std::vector<float> input = readFloats(call.operands[0]);
  std::vector<float> weight = readFloats(call.operands[1]);
  std::vector<float> bias = readFloats(call.operands[2]);
  std::vector<float> mean = readFloats(call.operands[3]);
  std::vector<float> invstd = readFloats(call.operands[4]);
  std::vector<float> result(input.size());
  for (int64_t c = 0; c < channels; ++c)
    normalizeFromSaved(layout, c, input, weight[c], bias[c], mean[c], invstd[c],
                       result);
  writeActivated(std::move(result), act, call.results[0]);
  return {};
}

/// What both batch-norm backwards read: the forward's input, the result's
/// gradient, the weight and two per-channel statistics (named in messages),
/// and the gradients they write.
struct BatchNormGradArgs {
  ChannelLayout layout;
  std::vector<float> input, grad, weight, stat0, stat1;
  std::vector<float> inputGrad, weightGrad, biasGrad;
};

std::string readBatchNormGradArgs(OpCall &call, const char *stat0,
                                  const char *stat1, BatchNormGradArgs &args) {
  FusedActivation act;
  if (std::string error = getFusedActivation(call, act); !error.empty())
    return error;
  size_t operands = act == FusedActivation::None ? 5 : 6;
  if (std::string error = checkCounts(call, operands, 3); !error.empty())
    return error;
  ChannelLayout &layout = args.layout;
  if (std::string error = getChannelLayout(call, layout); !error.empty())
    return error;
  int64_t channels = layout.channels;
  // The value is the forward's bias (a vector: the op recomputes the
  // pre-activation; SiLU's always) or the activation's output.
  bool recompute =
      act == FusedActivation::Silu ||
      (act != FusedActivation::None && call.operands[5].shape.size() == 1 &&
       call.operands[0].shape.size() > 1);
  if (act != FusedActivation::None)
    if (std::string error =
            checkSizes(call, {{"activation_value", call.operands[5],
                               recompute ? channels : layout.numel()}});
        !error.empty())
      return error;
  if (std::string error =
          checkSizes(call, {{"grad", call.operands[1], layout.numel()},
                            {"weight", call.operands[2], channels},
                            {stat0, call.operands[3], channels},
                            {stat1, call.operands[4], channels},
                            {"input_grad", call.results[0], layout.numel()},
                            {"weight_grad", call.results[1], channels},
                            {"bias_grad", call.results[2], channels}});
      !error.empty())
    return error;
  args.input = readFloats(call.operands[0]);
  args.grad = readFloats(call.operands[1]);
  args.weight = readFloats(call.operands[2]);
  args.stat0 = readFloats(call.operands[3]);
  args.stat1 = readFloats(call.operands[4]);
  // The fused activation's gradient, as var.relu_grad, var.relu6_grad or
  // var.silu_grad computes it, rounded to grad's type as its stored result
  // would be (exact for ReLU and ReLU6, whose results are dz or 0). ReLU's
  // and ReLU6's from the activation's output, or, like SiLU's, from the
  // pre-activation that the forward stored, recomputed from the bias and
  // the saved statistics (the ReLUs of the rounded pre-activation have the
  // same sign and bounds as their outputs).
  auto activationGrad = [act](float value, float dz) {
    return act == FusedActivation::Relu    ? scalar::reluGrad(value, dz)
           : act == FusedActivation::Relu6 ? scalar::relu6Grad(value, dz)
                                           : scalar::siluGrad(value, dz);
  };
  plan::DType gradType = call.operands[1].dtype;
  if (act != FusedActivation::None && !recompute) {
    std::vector<float> value = readFloats(call.operands[5]);
    for (size_t i = 0; i < args.grad.size(); ++i)
      args.grad[i] = activationGrad(value[i], args.grad[i]);
  }
  if (recompute) {
    std::vector<float> bias = readFloats(call.operands[5]);
    plan::DType valueType = call.operands[0].dtype;
    for (int64_t c = 0; c < channels; ++c) {
      SavedScaleShift saved(args.weight[c], bias[c], args.stat0[c],
                            args.stat1[c]);
      layout.forEach(c, [&](int64_t i) {
        float z = roundToDType(saved(args.input[i]), valueType);
        args.grad[i] = roundToDType(activationGrad(z, args.grad[i]), gradType);
      });
    }
  }
  args.inputGrad.assign(args.input.size(), 0.0f);
  args.weightGrad.assign(channels, 0.0f);
  args.biasGrad.assign(channels, 0.0f);
  return {};
}

std::string writeBatchNormGrads(OpCall &call, const BatchNormGradArgs &args) {
  writeFloats(args.inputGrad, call.results[0]);
  writeFloats(args.weightGrad, call.results[1]);
  writeFloats(args.biasGrad, call.results[2]);
  return {};
}

/// var.batch_norm_grad: with xhat = (x - mean) * invstd,
///   dbias = sum dy, dweight = sum dy * xhat,
///   dx = weight * invstd * (dy - dbias / M - xhat * dweight / M).
std::string batchNormGrad(OpCall &call) {
  BatchNormGradArgs a;
  if (std::string error =
          readBatchNormGradArgs(call, "saved_mean", "saved_invstd", a);
      !error.empty())
    return error;
  const std::vector<float> &input = a.input, &grad = a.grad;
  const std::vector<float> &mean = a.stat0, &invstd = a.stat1;
  double count = static_cast<double>(a.layout.perChannel());
  for (int64_t c = 0; c < a.layout.channels; ++c) {
    double channelMean = mean[c], channelInvstd = invstd[c];
    double gradSum = 0, gradDotXhat = 0;
    a.layout.forEach(c, [&](int64_t i) {
      gradSum += grad[i];
      gradDotXhat += grad[i] * ((input[i] - channelMean) * channelInvstd);
    });
    a.weightGrad[c] = static_cast<float>(gradDotXhat);
    a.biasGrad[c] = static_cast<float>(gradSum);
    if (count == 0)
      continue;
    double scale = a.weight[c] * channelInvstd;
    double meanGrad = gradSum / count, meanGradXhat = gradDotXhat / count;
    a.layout.forEach(c, [&](int64_t i) {
      double xhat = (input[i] - channelMean) * channelInvstd;
      a.inputGrad[i] = static_cast<float>(
          scale * (grad[i] - meanGrad - xhat * meanGradXhat));
    });
  }
  return writeBatchNormGrads(call, a);
}

/// var.batch_norm_frozen_grad: the backward of var.batch_norm (evaluation
/// form), whose running statistics are constants. With
/// invstd = 1 / sqrt(running_var + eps):
///   dx = dy * weight * invstd, dweight = invstd * sum dy * (x - mean),
///   dbias = sum dy.
std::string batchNormFrozenGrad(OpCall &call) {
  BatchNormGradArgs a;
  if (std::string error =
          readBatchNormGradArgs(call, "running_mean", "running_var", a);
      !error.empty())
    return error;
  const std::vector<float> &input = a.input, &grad = a.grad;
  const std::vector<float> &mean = a.stat0, &var = a.stat1;
  double eps = call.getFloat("eps", 1e-5);
  for (int64_t c = 0; c < a.layout.channels; ++c) {
    double invstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    double scale = a.weight[c] * invstd;
    double channelMean = mean[c];
    double gradSum = 0, gradDotCentered = 0;
    a.layout.forEach(c, [&](int64_t i) {
      gradSum += grad[i];
      gradDotCentered += grad[i] * (input[i] - channelMean);
      a.inputGrad[i] = static_cast<float>(grad[i] * scale);
    });
    a.weightGrad[c] = static_cast<float>(gradDotCentered * invstd);
    a.biasGrad[c] = static_cast<float>(gradSum);
  }
  return writeBatchNormGrads(call, a);
}

//===----------------------------------------------------------------------===//
// LSTM
//===----------------------------------------------------------------------===//

/// out (rows, cols) = a (rows, inner) * b^T with b (cols, inner), plus
/// `bias` (cols) when given: x W^T with W stored (out, in) as in PyTorch.
void multiplyByTransposed(const float *a, const float *b, const double *bias,
                          int64_t rows, int64_t inner, int64_t cols,
                          float *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      double sum = bias ? bias[j] : 0.0;
      for (int64_t k = 0; k < inner; ++k)
        sum += static_cast<double>(a[r * inner + k]) * b[j * inner + k];
      out[r * cols + j] = static_cast<float>(sum);
    }
}

/// out (rows, cols) = a (rows, inner) * b (inner, cols): gradients of
/// x W^T with respect to x.
void multiply(const float *a, const float *b, int64_t rows, int64_t inner,
              int64_t cols, float *out) {
  std::vector<double> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    row.assign(cols, 0.0);
    for (int64_t j = 0; j < inner; ++j) {
      double scale = a[r * inner + j];
      for (int64_t k = 0; k < cols; ++k)
        row[k] += scale * b[j * cols + k];
    }
    for (int64_t k = 0; k < cols; ++k)
      out[r * cols + k] = static_cast<float>(row[k]);
  }
}

/// out (rows, cols) = a^T * b with a (inner, rows), b (inner, cols): weight
/// gradients summed over every (batch, step) row.
void multiplyTransposedBy(const float *a, const float *b, int64_t inner,
                          int64_t rows, int64_t cols, float *out) {
  std::vector<double> sum(rows * cols, 0.0);
  for (int64_t n = 0; n < inner; ++n)
    for (int64_t r = 0; r < rows; ++r) {
      double scale = a[n * rows + r];
      for (int64_t k = 0; k < cols; ++k)
        sum[r * cols + k] += scale * b[n * cols + k];
    }
  for (int64_t i = 0; i < rows * cols; ++i)
    out[i] = static_cast<float>(sum[i]);
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

/// What the forward leaves for the backward, all row (b, t) major: the
/// activated gates i, f, g, o (rows, 4H), and the cell and hidden states
/// (rows, H).
struct LSTMTrace {
  std::vector<float> gates, cells, hiddens;
};

/// Runs the layer from a zero state. The input projections of every step
/// are one product; the recurrent one runs step by step.
LSTMTrace runLSTM(const LSTMShape &shape, const LSTMOperands &operands) {
  int64_t batch = shape.batch, steps = shape.steps, hidden = shape.hidden;
  int64_t gates = shape.gates();
  std::vector<float> input = readFloats(*operands[LSTMOperands::Input]);
  std::vector<float> wIh = readFloats(*operands[LSTMOperands::WIh]);
  std::vector<float> wHh = readFloats(*operands[LSTMOperands::WHh]);
  std::vector<double> bias(gates, 0.0);
  for (auto slot : {LSTMOperands::BIh, LSTMOperands::BHh})
    if (operands[slot]) {
      std::vector<float> values = readFloats(*operands[slot]);
      for (int64_t j = 0; j < gates; ++j)
        bias[j] += values[j];
    }

  LSTMTrace trace;
  trace.gates.resize(shape.rows() * gates);
  trace.cells.resize(shape.rows() * hidden);
  trace.hiddens.resize(shape.rows() * hidden);
  multiplyByTransposed(input.data(), wIh.data(), bias.data(), shape.rows(),
                       shape.features, gates, trace.gates.data());
  std::vector<float> recurrent(gates);
  const std::vector<float> zeros(hidden, 0.0f);
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t b = 0; b < batch; ++b) {
      int64_t row = b * steps + t;
      const float *hPrev =
          t ? &trace.hiddens[(row - 1) * hidden] : zeros.data();
      const float *cPrev = t ? &trace.cells[(row - 1) * hidden] : zeros.data();
      multiplyByTransposed(hPrev, wHh.data(), nullptr, 1, hidden, gates,
                           recurrent.data());
      float *gate = &trace.gates[row * gates];
      for (int64_t h = 0; h < hidden; ++h) {
        float i = sigmoid(gate[h] + recurrent[h]);
        float f = sigmoid(gate[hidden + h] + recurrent[hidden + h]);
        float g = std::tanh(gate[2 * hidden + h] + recurrent[2 * hidden + h]);
        float o = sigmoid(gate[3 * hidden + h] + recurrent[3 * hidden + h]);
        gate[h] = i;
        gate[hidden + h] = f;
        gate[2 * hidden + h] = g;
        gate[3 * hidden + h] = o;
        float c = f * cPrev[h] + i * g;
        trace.cells[row * hidden + h] = c;
        trace.hiddens[row * hidden + h] = o * std::tanh(c);
      }
    }
  return trace;
}

/// var.lstm: results the hidden state of every step and of the last one.
std::string lstm(OpCall &call) {
  LSTMOperands operands;
  LSTMShape shape;
  if (std::string error = checkLSTMCall(call, operands, shape); !error.empty())
    return error;
  LSTMTrace trace = runLSTM(shape, operands);
  std::vector<float> last(shape.batch * shape.hidden, 0.0f);
  if (shape.steps > 0)
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t h = 0; h < shape.hidden; ++h)
        last[b * shape.hidden + h] =
            trace.hiddens[((b + 1) * shape.steps - 1) * shape.hidden + h];
  writeFloats(trace.hiddens, call.results[0]);
  writeFloats(last, call.results[1]);
  return {};
}

/// var.lstm_grad: recomputes the forward, walks the steps backwards to get
/// the gradient of every gate pre-activation, then forms the input and
/// weight gradients as whole products over all (batch, step) rows. Results
/// 3 and 4 (bias gradients) are optional when the biases are absent.
std::string lstmGrad(OpCall &call) {
  LSTMOperands operands;
  LSTMShape shape;
  if (std::string error = checkLSTMGradCall(call, operands, shape);
      !error.empty())
    return error;
  int64_t batch = shape.batch, steps = shape.steps, hidden = shape.hidden;
  int64_t gates = shape.gates(), features = shape.features;

  LSTMTrace trace = runLSTM(shape, operands);
  std::vector<float> sequenceGrad =
      readFloats(*operands[LSTMOperands::SequenceGrad]);
  std::vector<float> hiddenGrad = readFloats(*operands[LSTMOperands::LastGrad]);
  std::vector<float> wHh = readFloats(*operands[LSTMOperands::WHh]);
  std::vector<float> cellGrad(batch * hidden, 0.0f);
  // Gradients of the gate pre-activations, (rows, 4H) like trace.gates.
  std::vector<float> gateGrad(shape.rows() * gates);
  for (int64_t t = steps - 1; t >= 0; --t)
    for (int64_t b = 0; b < batch; ++b) {
      int64_t row = b * steps + t;
      const float *gate = &trace.gates[row * gates];
      float *dGate = &gateGrad[row * gates];
      for (int64_t h = 0; h < hidden; ++h) {
        float i = gate[h], f = gate[hidden + h], g = gate[2 * hidden + h],
              o = gate[3 * hidden + h];
        float cPrev = t ? trace.cells[(row - 1) * hidden + h] : 0.0f;
        float tanhC = std::tanh(trace.cells[row * hidden + h]);
        float dh = sequenceGrad[row * hidden + h] + hiddenGrad[b * hidden + h];
        float dc = cellGrad[b * hidden + h] + dh * o * (1 - tanhC * tanhC);
        dGate[h] = dc * g * i * (1 - i);
        dGate[hidden + h] = dc * cPrev * f * (1 - f);
        dGate[2 * hidden + h] = dc * i * (1 - g * g);
        dGate[3 * hidden + h] = dh * tanhC * o * (1 - o);
        cellGrad[b * hidden + h] = dc * f;
      }
      // The previous step's hidden state feeds every gate through w_hh.
      multiply(dGate, wHh.data(), 1, gates, hidden, &hiddenGrad[b * hidden]);
    }

  std::vector<float> input = readFloats(*operands[LSTMOperands::Input]);
  std::vector<float> wIh = readFloats(*operands[LSTMOperands::WIh]);
  // h_{t-1} for every row, zero at t = 0, so w_hh's gradient is one product.
  std::vector<float> previous(shape.rows() * hidden, 0.0f);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 1; t < steps; ++t)
      for (int64_t h = 0; h < hidden; ++h)
        previous[(b * steps + t) * hidden + h] =
            trace.hiddens[(b * steps + t - 1) * hidden + h];
  std::vector<float> inputGrad(shape.rows() * features);
  std::vector<float> wIhGrad(gates * features), wHhGrad(gates * hidden);
  multiply(gateGrad.data(), wIh.data(), shape.rows(), gates, features,
           inputGrad.data());
  multiplyTransposedBy(gateGrad.data(), input.data(), shape.rows(), gates,
                       features, wIhGrad.data());
  multiplyTransposedBy(gateGrad.data(), previous.data(), shape.rows(), gates,
                       hidden, wHhGrad.data());
  writeFloats(inputGrad, call.results[0]);
  writeFloats(wIhGrad, call.results[1]);
  writeFloats(wHhGrad, call.results[2]);
  if (call.results.size() == 5) {
    // Both biases add to every gate pre-activation: the same gradient.
    std::vector<float> ones(shape.rows(), 1.0f), biasGrad(gates);
    multiplyTransposedBy(gateGrad.data(), ones.data(), shape.rows(), gates, 1,
                         biasGrad.data());
    writeFloats(biasGrad, call.results[3]);
    writeFloats(biasGrad, call.results[4]);
  }
  return {};
}

} // namespace

void registerNormLstmOps(OpTable &table) {
  table["var.batch_norm"] = batchNorm;
  table["var.batch_norm_train"] = batchNormTrain;
  table["var.batch_norm_apply"] = batchNormApply;
  table["var.batch_norm_grad"] = batchNormGrad;
  table["var.batch_norm_frozen_grad"] = batchNormFrozenGrad;
  table["var.lstm"] = lstm;
  table["var.lstm_grad"] = lstmGrad;
}

} // namespace var::cpu
