// CPU reference kernels of the elementwise, reduction, time-mean, dropout
// and loss ops, forward and backward. Values are computed in f32 (sums and
// the loss in double, rounded once). Data movement is ShapeKernels.cpp.
#include "runtime/cpu/ElementwiseScalars.h"
#include "runtime/cpu/KernelChecks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace var::cpu {

namespace {

using namespace scalar;

template <float (*Fn)(float)> std::string unaryKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  std::vector<float> values = readFloats(call.operands[0]);
  for (float &v : values)
    v = Fn(v);
  writeFloats(values, call.results[0]);
  return {};
}

template <float (*Fn)(float, float)>
std::string activationGradKernel(OpCall &call) {
  if (std::string error = checkCall(call, 2, 1); !error.empty())
    return error;
  const std::vector<int64_t> &shape = call.operands[0].shape;
  for (auto [tensor, what] :
       {std::pair{&call.operands[1], "grad"}, {&call.results[0], "result"}})
    if (std::string error = expectShape(*tensor, shape, what); !error.empty())
      return error;
  std::vector<float> value = readFloats(call.operands[0]);
  std::vector<float> grad = readFloats(call.operands[1]);
  for (size_t i = 0; i < value.size(); ++i)
    grad[i] = Fn(value[i], grad[i]);
  writeFloats(grad, call.results[0]);
  return {};
}

//===----------------------------------------------------------------------===//
// Broadcasting binary ops
//===----------------------------------------------------------------------===//

template <float (*Fn)(float, float)> std::string broadcastKernel(OpCall &call) {
  if (std::string error = checkCall(call, 2, 1); !error.empty())
    return error;
  const TensorView &lhs = call.operands[0], &rhs = call.operands[1];
  TensorView &result = call.results[0];
  // The result's shape is the broadcast one; each operand must stretch to it.
  std::vector<int64_t> expected(std::max(lhs.shape.size(), rhs.shape.size()));
  for (size_t d = 0; d < expected.size(); ++d) {
    auto dimOf = [&](const std::vector<int64_t> &shape) -> int64_t {
      size_t extra = expected.size() - shape.size();
      return d < extra ? 1 : shape[d - extra];
    };
    int64_t l = dimOf(lhs.shape), r = dimOf(rhs.shape);
    if (l != r && l != 1 && r != 1)
      return "shapes " + formatShape(lhs.shape) + " and " +
             formatShape(rhs.shape) + " do not broadcast";
    expected[d] = l == 1 ? r : l;
  }
  if (std::string error = expectShape(result, expected, "result");
      !error.empty())
    return error;
  std::vector<int64_t> lhsStrides = broadcastStrides(lhs.shape, result.shape);
  std::vector<int64_t> rhsStrides = broadcastStrides(rhs.shape, result.shape);
  std::vector<float> a = readFloats(lhs), b = readFloats(rhs);
  std::vector<float> out(static_cast<size_t>(result.numel()));
  for (int64_t i = 0; i < result.numel(); ++i)
    out[i] = Fn(a[offsetOf(i, result.shape, lhsStrides)],
                b[offsetOf(i, result.shape, rhsStrides)]);
  writeFloats(out, result);
  return {};
}

//===----------------------------------------------------------------------===//
// Conversions and constants
//===----------------------------------------------------------------------===//

std::string castKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  // Widening to f32 is exact, so narrowing rounds only once.
  writeFloats(readFloats(call.operands[0]), call.results[0]);
  return {};
}

std::string fillKernel(OpCall &call) {
  if (std::string error = checkCall(call, 0, 1); !error.empty())
    return error;
  double value;
  if (std::string error = requireFloatAttr(call, "value", value);
      !error.empty())
    return error;
  writeFloats(std::vector<float>(static_cast<size_t>(call.results[0].numel()),
                                 static_cast<float>(value)),
              call.results[0]);
  return {};
}

//===----------------------------------------------------------------------===//
// Evaluation-mode dropout
//===----------------------------------------------------------------------===//

std::string identityKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  return copyKernel(call);
}

//===----------------------------------------------------------------------===//
// Reductions over dimensions and time
//===----------------------------------------------------------------------===//

std::string reduceSumKernel(OpCall &call) {
  std::vector<bool> summed;
  if (std::string error = checkReduceSum(call, summed); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  TensorView &result = call.results[0];
  std::vector<int64_t> kept = input.shape;
  for (size_t d = 0; d < input.shape.size(); ++d)
    if (summed[d])
      kept[d] = 1;
  // Every input element adds into the result element it projects onto; the
  // result's layout is the same with or without the kept dimensions.
  std::vector<int64_t> strides = rowMajorStrides(kept);
  for (size_t d = 0; d < strides.size(); ++d)
    if (summed[d])
      strides[d] = 0;
  std::vector<float> in = readFloats(input);
  std::vector<double> sums(static_cast<size_t>(result.numel()), 0.0);
  for (int64_t i = 0; i < input.numel(); ++i)
    sums[offsetOf(i, input.shape, strides)] += in[i];
  writeFloats(std::vector<float>(sums.begin(), sums.end()), result);
  return {};
}

std::string meanTimeKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &input = call.operands[0];
  if (input.shape.size() < 2)
    return "input must be (B, T, ...), got " + formatShape(input.shape);
  std::vector<int64_t> expected = {input.shape[0]};
  expected.insert(expected.end(), input.shape.begin() + 2, input.shape.end());
  if (std::string error = expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  int64_t batch = input.shape[0], frames = input.shape[1];
  int64_t inner = product(input.shape, 2, input.shape.size());
  std::vector<float> in = readFloats(input);
  std::vector<float> out(static_cast<size_t>(batch * inner));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      double sum = 0;
      for (int64_t t = 0; t < frames; ++t)
        sum += in[(b * frames + t) * inner + i];
      out[b * inner + i] =
          static_cast<float>(sum / static_cast<double>(frames));
    }
  writeFloats(out, call.results[0]);
  return {};
}

std::string meanTimeGradKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  const TensorView &grad = call.operands[0];
  int64_t frames;
  if (std::string error = requireIntAttr(call, "frames", frames);
      !error.empty())
    return error;
  if (grad.shape.empty() || frames < 1)
    return "cannot spread " + formatShape(grad.shape) + " over " +
           std::to_string(frames) + " frames";
  std::vector<int64_t> expected = {grad.shape[0], frames};
  expected.insert(expected.end(), grad.shape.begin() + 1, grad.shape.end());
  if (std::string error = expectShape(call.results[0], expected, "result");
      !error.empty())
    return error;
  int64_t batch = grad.shape[0];
  int64_t inner = product(grad.shape, 1, grad.shape.size());
  std::vector<float> in = readFloats(grad);
  std::vector<float> out(static_cast<size_t>(batch * frames * inner));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < frames; ++t)
      for (int64_t i = 0; i < inner; ++i)
        out[(b * frames + t) * inner + i] =
            in[b * inner + i] / static_cast<float>(frames);
  writeFloats(out, call.results[0]);
  return {};
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

/// dropout_train and dropout_grad are the same map: the mask of (step seed,
/// key), survivors scaled by 1 / (1 - p).
std::string dropoutMaskKernel(OpCall &call) {
  if (std::string error = checkCall(call, 1, 1); !error.empty())
    return error;
  if (std::string error =
          expectShape(call.results[0], call.operands[0].shape, "result");
      !error.empty())
    return error;
  double p;
  int64_t key;
  if (std::string error = requireFloatAttr(call, "p", p); !error.empty())
    return error;
  if (std::string error = requireIntAttr(call, "key", key); !error.empty())
    return error;
  if (!(p >= 0.0 && p < 1.0))
    return "drop probability p must be in [0, 1), got " + std::to_string(p);
  if (!call.scalars)
    return "dropout needs the run's seed (no step scalars)";
  int64_t offset = 0;
  if (std::string error =
          globalIndexOffset(call, call.results[0].numel(), offset);
      !error.empty())
    return error;
  float scale = static_cast<float>(1.0 / (1.0 - p));
  uint64_t seed = call.scalars->seed;
  std::vector<float> values = readFloats(call.operands[0]);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = dropout(values[i], seed, key, offset + static_cast<int64_t>(i),
                        p, scale);
  writeFloats(values, call.results[0]);
  return {};
}

//===----------------------------------------------------------------------===//
// Softmax cross-entropy
//===----------------------------------------------------------------------===//

bool isInteger(plan::DType dtype) { return !isFloat(dtype); }

/// Checks logits (N, C) and labels (N) with every label in [0, C).
std::string checkCrossEntropy(const OpCall &call, std::vector<int64_t> &labels,
                              int64_t &rows, int64_t &classes) {
  const TensorView &logits = call.operands[0];
  const TensorView &labelTensor = call.operands[1];
  if (std::string error = expectFloat(logits, "logits"); !error.empty())
    return error;
  if (!isInteger(labelTensor.dtype))
    return "labels have element type " +
           std::string(plan::getDTypeName(labelTensor.dtype)) +
           ", expected integers";
  if (logits.shape.size() != 2)
    return "logits must be (N, classes), got " + formatShape(logits.shape);
  rows = logits.shape[0];
  classes = logits.shape[1];
  if (std::string error = expectShape(labelTensor, {rows}, "labels");
      !error.empty())
    return error;
  labels = readInts(labelTensor);
  for (int64_t n = 0; n < rows; ++n)
    if (labels[n] < 0 || labels[n] >= classes)
      return "label " + std::to_string(labels[n]) + " of sample " +
             std::to_string(n) + " is out of range [0, " +
             std::to_string(classes) + ")";
  return {};
}

/// The loss of one row against the smoothed target (1 - s) * onehot + s / C,
/// in double; with `grad`, also writes scale * (softmax - target).
double crossEntropyRow(const float *logits, int64_t classes, int64_t label,
                       double smoothing, double scale, float *grad) {
  double peak = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < classes; ++c)
    peak = std::max(peak, static_cast<double>(logits[c]));
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c)
    sum += std::exp(logits[c] - peak);
  double logSum = peak + std::log(sum);
  double uniform = smoothing / static_cast<double>(classes);
  double loss = 0;
  for (int64_t c = 0; c < classes; ++c) {
    double logProb = logits[c] - logSum;
    double target = uniform + (c == label ? 1.0 - smoothing : 0.0);
    loss -= target * logProb;
    if (grad)
      grad[c] = static_cast<float>(scale * (std::exp(logProb) - target));
  }
  return loss;
}

std::string softmaxCrossEntropyKernel(OpCall &call) {
  if (std::string error = checkCall(call, 2, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  std::vector<int64_t> labels;
  int64_t rows, classes;
  if (std::string error = checkCrossEntropy(call, labels, rows, classes);
      !error.empty())
    return error;
  TensorView &result = call.results[0];
  if (std::string error = expectFloat(result, "loss"); !error.empty())
    return error;
  if (result.numel() != 1)
    return "loss must be a scalar, got " + formatShape(result.shape);
  double smoothing = call.getFloat("label_smoothing", 0.0);
  std::vector<float> logits = readFloats(call.operands[0]);
  double total = 0;
  for (int64_t n = 0; n < rows; ++n)
    total += crossEntropyRow(&logits[n * classes], classes, labels[n],
                             smoothing, 0.0, nullptr);
  writeFloats({static_cast<float>(total / static_cast<double>(rows))}, result);
  return {};
}

std::string softmaxCrossEntropyGradKernel(OpCall &call) {
  if (std::string error = checkCall(call, 3, 1, /*allFloat=*/false);
      !error.empty())
    return error;
  std::vector<int64_t> labels;
  int64_t rows, classes;
  if (std::string error = checkCrossEntropy(call, labels, rows, classes);
      !error.empty())
    return error;
  const TensorView &lossGrad = call.operands[2];
  if (std::string error = expectFloat(lossGrad, "loss_grad"); !error.empty())
    return error;
  if (lossGrad.numel() != 1)
    return "loss_grad must be a scalar, got " + formatShape(lossGrad.shape);
  TensorView &result = call.results[0];
  if (std::string error = expectFloat(result, "result"); !error.empty())
    return error;
  if (std::string error = expectShape(result, call.operands[0].shape, "result");
      !error.empty())
    return error;
  double smoothing = call.getFloat("label_smoothing", 0.0);
  double scale = readFloats(lossGrad)[0] / static_cast<double>(rows);
  std::vector<float> logits = readFloats(call.operands[0]);
  std::vector<float> grad(logits.size());
  for (int64_t n = 0; n < rows; ++n)
    crossEntropyRow(&logits[n * classes], classes, labels[n], smoothing, scale,
                    &grad[n * classes]);
  writeFloats(grad, result);
  return {};
}

} // namespace

void registerElementwiseOps(OpTable &table) {
  table["var.relu"] = unaryKernel<relu>;
  table["var.relu6"] = unaryKernel<relu6>;
  table["var.sigmoid"] = unaryKernel<sigmoid>;
  table["var.silu"] = unaryKernel<silu>;
  table["var.hardswish"] = unaryKernel<hardswish>;
  table["var.relu_grad"] = activationGradKernel<reluGrad>;
  table["var.relu6_grad"] = activationGradKernel<relu6Grad>;
  table["var.sigmoid_grad"] = activationGradKernel<sigmoidGrad>;
  table["var.silu_grad"] = activationGradKernel<siluGrad>;
  table["var.hardswish_grad"] = activationGradKernel<hardswishGrad>;
  table["var.add"] = broadcastKernel<addValues>;
  table["var.mul"] = broadcastKernel<mulValues>;
  table["var.cast"] = castKernel;
  table["var.fill"] = fillKernel;
  table["var.reduce_sum"] = reduceSumKernel;
  table["var.mean_time"] = meanTimeKernel;
  table["var.mean_time_grad"] = meanTimeGradKernel;
  table["var.dropout"] = identityKernel; // evaluation: no mask
  table["var.dropout_train"] = dropoutMaskKernel;
  table["var.dropout_grad"] = dropoutMaskKernel;
  table["var.softmax_cross_entropy"] = softmaxCrossEntropyKernel;
  table["var.softmax_cross_entropy_grad"] = softmaxCrossEntropyGradKernel;
}

} // namespace var::cpu
