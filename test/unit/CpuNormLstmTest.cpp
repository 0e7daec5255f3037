// The batch norm and LSTM CPU kernels: forward values against hand-computed
// ones and an independent LSTM, running statistics against PyTorch's
// update, mixed bf16/f32 batch norm, and every backward (frozen batch norm's
// too, in f32 and bf16) against finite differences of its forward.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace var;
using namespace var::cpu;
using plan::DType;
using test::expectGradients;
using test::randomValues;

namespace {

const OpTable &kernels() {
  static const OpTable table = [] {
    OpTable ops;
    registerNormLstmOps(ops);
    return ops;
  }();
  return table;
}

/// One instruction with tensors it owns, run through the kernel table.
class KernelCall {
public:
  explicit KernelCall(std::string op) { inst.op = std::move(op); }

  KernelCall &attr(std::string name, plan::AttributeValue value) {
    inst.attributes.push_back({std::move(name), std::move(value)});
    return *this;
  }
  KernelCall &operand(std::vector<int64_t> shape,
                      const std::vector<float> &values,
                      DType dtype = DType::F32) {
    operands.push_back(Tensor(std::move(shape), dtype));
    TensorView view = operands.back().view();
    writeFloats(values, view);
    return *this;
  }
  KernelCall &result(std::vector<int64_t> shape, DType dtype = DType::F32) {
    results.push_back(Tensor(std::move(shape), dtype));
    return *this;
  }

  /// The kernel's message: empty on success.
  std::string run() {
    auto kernel = kernels().find(inst.op);
    if (kernel == kernels().end())
      return "no kernel for " + inst.op;
    OpCall call{inst, {}, {}, 0};
    for (Tensor &tensor : operands)
      call.operands.push_back(tensor.view());
    for (Tensor &tensor : results)
      call.results.push_back(tensor.view());
    return kernel->second(call);
  }
  std::vector<float> get(size_t index) {
    return readFloats(results.at(index).view());
  }

private:
  struct Tensor {
    Tensor(std::vector<int64_t> shape, DType dtype)
        : dtype(dtype), shape(std::move(shape)) {
      bytes.resize(view().bytes());
    }
    TensorView view() { return {dtype, shape, bytes.data()}; }

    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };

  plan::Instruction inst;
  std::vector<Tensor> operands, results;
};

std::vector<float> concat(std::vector<float> a, const std::vector<float> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

float roundToBf16(float value) { return bf16ToFloat(floatToBf16(value)); }

//===----------------------------------------------------------------------===//
// Batch normalization
//===----------------------------------------------------------------------===//

/// Input, weight, bias, running mean and running variance.
struct BatchNormInputs {
  std::vector<int64_t> shape;
  std::vector<float> input, weight, bias, runningMean, runningVar;
};

BatchNormInputs randomBatchNorm(std::vector<int64_t> shape, uint32_t seed) {
  int64_t numel = 1;
  for (int64_t dim : shape)
    numel *= dim;
  size_t channels = static_cast<size_t>(shape[1]);
  BatchNormInputs in{shape,
                     randomValues(numel, seed),
                     randomValues(channels, seed + 1),
                     randomValues(channels, seed + 2),
                     randomValues(channels, seed + 3),
                     randomValues(channels, seed + 4)};
  for (float &var : in.runningVar)
    var = std::fabs(var) + 0.5f;
  return in;
}

/// var.batch_norm (eval) or var.batch_norm_train with its results; the
/// per-channel tensors are f32 whatever the input's type, as the mixed
/// precision rule allows.
KernelCall batchNormCall(const char *op, const BatchNormInputs &in,
                         DType inputType = DType::F32) {
  int64_t channels = in.shape[1];
  KernelCall call(op);
  call.operand(in.shape, in.input, inputType)
      .operand({channels}, in.weight)
      .operand({channels}, in.bias)
      .operand({channels}, in.runningMean)
      .operand({channels}, in.runningVar)
      .result(in.shape, inputType);
  if (std::string(op) == "var.batch_norm_train")
    for (int k = 0; k < 4; ++k)
      call.result({channels});
  return call;
}

/// var.batch_norm_grad's three results.
std::vector<std::vector<float>>
batchNormGrad(const BatchNormInputs &in, const std::vector<float> &grad,
              const std::vector<float> &savedMean,
              const std::vector<float> &savedInvstd,
              DType inputType = DType::F32) {
  int64_t channels = in.shape[1];
  KernelCall call("var.batch_norm_grad");
  call.operand(in.shape, in.input, inputType)
      .operand(in.shape, grad, inputType)
      .operand({channels}, in.weight)
      .operand({channels}, savedMean)
      .operand({channels}, savedInvstd)
      .result(in.shape, inputType)
      .result({channels})
      .result({channels});
  EXPECT_EQ(call.run(), "");
  return {call.get(0), call.get(1), call.get(2)};
}

/// var.batch_norm_frozen_grad's three results: the gradients of
/// var.batch_norm (evaluation form) with respect to input, weight and bias.
std::vector<std::vector<float>>
batchNormFrozenGrad(const BatchNormInputs &in, const std::vector<float> &grad,
                    DType inputType = DType::F32, double eps = 1e-5) {
  int64_t channels = in.shape[1];
  KernelCall call("var.batch_norm_frozen_grad");
  call.attr("eps", eps)
      .operand(in.shape, in.input, inputType)
      .operand(in.shape, grad, inputType)
      .operand({channels}, in.weight)
      .operand({channels}, in.runningMean)
      .operand({channels}, in.runningVar)
      .result(in.shape, inputType)
      .result({channels})
      .result({channels});
  EXPECT_EQ(call.run(), "");
  return {call.get(0), call.get(1), call.get(2)};
}

/// Checks var.batch_norm_frozen_grad against central differences of the
/// var.batch_norm kernel in `inputType`, with respect to input, weight and
/// bias. The forward is affine in each of them, so a large step `step` has
/// no truncation error and keeps bf16 rounding of the result small beside
/// the differences.
void expectFrozenGradients(BatchNormInputs in, std::vector<float> outGrad,
                           DType inputType, double step, double rtol,
                           double atol) {
  auto forward = [&](const std::vector<std::vector<float>> &values) {
    BatchNormInputs moved = in;
    moved.input = values[0];
    moved.weight = values[1];
    moved.bias = values[2];
    KernelCall call = batchNormCall("var.batch_norm", moved, inputType);
    EXPECT_EQ(call.run(), "");
    return call.get(0);
  };
  std::vector<std::vector<float>> analytic =
      batchNormFrozenGrad(in, outGrad, inputType);
  test::expectGradients(forward, {in.input, in.weight, in.bias}, outGrad,
                        analytic, {true, true, true}, step, rtol, atol);
}

TEST(CpuBatchNorm, TrainForwardMatchesHandComputedValues) {
  // (N, C, L) = (2, 2, 2). Channel 0 holds 1, 3, 5, 7: mean 4, variance 5
  // (unbiased 20/3); channel 1 holds 0, 0, 0, 8: mean 2, variance 12
  // (unbiased 16). With eps 4, 1/std is 1/3 and 1/4.
  BatchNormInputs in{
      {2, 2, 2}, {1, 3, 0, 0, 5, 7, 0, 8}, {3, 4}, {1, -1}, {1, 2}, {3, 4}};
  KernelCall call = batchNormCall("var.batch_norm_train", in);
  call.attr("eps", 4.0).attr("momentum", 0.5);
  ASSERT_EQ(call.run(), "");
  // Channel 0: (x - 4) / 3 * 3 + 1; channel 1: (x - 2) / 4 * 4 - 1.
  std::vector<float> expected = {-2, 0, -3, -3, 2, 4, -3, 5};
  std::vector<float> result = call.get(0);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(result[i], expected[i], 1e-6) << i;
  EXPECT_EQ(call.get(1), (std::vector<float>{4, 2}));
  std::vector<float> invstd = call.get(2);
  EXPECT_NEAR(invstd[0], 1.0 / 3, 1e-7);
  EXPECT_NEAR(invstd[1], 1.0 / 4, 1e-7);
  // Running: 0.5 * old + 0.5 * batch, with the unbiased variance.
  std::vector<float> mean = call.get(3), var = call.get(4);
  EXPECT_NEAR(mean[0], 2.5, 1e-6);
  EXPECT_NEAR(mean[1], 2.0, 1e-6);
  EXPECT_NEAR(var[0], 1.5 + 10.0 / 3, 1e-6);
  EXPECT_NEAR(var[1], 10.0, 1e-6);
}

TEST(CpuBatchNorm, RunningStatisticsFollowPyTorchWithDefaults) {
  // No eps or momentum attribute: 1e-5 and 0.1, as ODS elides defaults.
  BatchNormInputs in = randomBatchNorm({4, 3, 5}, 11);
  KernelCall call = batchNormCall("var.batch_norm_train", in);
  ASSERT_EQ(call.run(), "");
  std::vector<float> savedMean = call.get(1), savedInvstd = call.get(2);
  std::vector<float> newMean = call.get(3), newVar = call.get(4);
  for (int64_t c = 0; c < 3; ++c) {
    double sum = 0, squares = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t s = 0; s < 5; ++s)
        sum += in.input[(n * 3 + c) * 5 + s];
    double mean = sum / 20;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t s = 0; s < 5; ++s)
        squares += std::pow(in.input[(n * 3 + c) * 5 + s] - mean, 2);
    // torch.nn.functional.batch_norm(training=True): running stats become
    // (1 - momentum) * running + momentum * batch, variance unbiased.
    EXPECT_NEAR(newMean[c], 0.9 * in.runningMean[c] + 0.1 * mean, 1e-6);
    EXPECT_NEAR(newVar[c], 0.9 * in.runningVar[c] + 0.1 * squares / 19, 1e-6);
    EXPECT_NEAR(savedMean[c], mean, 1e-6);
    EXPECT_NEAR(savedInvstd[c], 1 / std::sqrt(squares / 20 + 1e-5), 1e-5);
  }
}

TEST(CpuBatchNorm, EvalNormalizesWithRunningStatistics) {
  // (N, C) = (3, 2); eps 1 makes 1/sqrt(var + eps) 1/3 and 1; momentum has
  // no effect in evaluation.
  BatchNormInputs in{{3, 2}, {1, -2, 4, 0, -2, 1}, {3, 2}, {0.5, 0}, {1, -2},
                     {8, 0}};
  KernelCall call = batchNormCall("var.batch_norm", in);
  call.attr("eps", 1.0).attr("momentum", 0.7);
  ASSERT_EQ(call.run(), "");
  std::vector<float> expected = {0.5, 0, 3.5, 4, -2.5, 6};
  std::vector<float> result = call.get(0);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(result[i], expected[i], 1e-6) << i;
}

TEST(CpuBatchNorm, EvalWithBatchStatisticsEqualsTrain) {
  BatchNormInputs in = randomBatchNorm({3, 4, 6}, 21);
  KernelCall train = batchNormCall("var.batch_norm_train", in);
  ASSERT_EQ(train.run(), "");
  // Running statistics equal to the batch's (biased variance).
  BatchNormInputs frozen = in;
  std::vector<float> invstd = train.get(2);
  frozen.runningMean = train.get(1);
  for (size_t c = 0; c < invstd.size(); ++c)
    frozen.runningVar[c] = 1 / (invstd[c] * invstd[c]) - 1e-5f;
  KernelCall eval = batchNormCall("var.batch_norm", frozen);
  ASSERT_EQ(eval.run(), "");
  std::vector<float> a = train.get(0), b = eval.get(0);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-4) << i;
}

TEST(CpuBatchNorm, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(5);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  };
  std::vector<std::vector<int64_t>> shapes;
  for (int k = 0; k < 3; ++k) {
    shapes.push_back({pick(4, 8), pick(1, 4)});
    shapes.push_back({pick(2, 4), pick(1, 4), pick(2, 5)});
  }
  shapes.push_back({2, 3, 2, 3}); // (N, C, H, W) too
  uint32_t seed = 100;
  for (const std::vector<int64_t> &shape : shapes) {
    SCOPED_TRACE("shape rank " + std::to_string(shape.size()) + ", N " +
                 std::to_string(shape[0]) + ", C " + std::to_string(shape[1]));
    BatchNormInputs in = randomBatchNorm(shape, seed += 10);
    std::vector<float> outGrad = randomValues(in.input.size(), seed + 7);
    auto forward = [&](const std::vector<std::vector<float>> &values) {
      BatchNormInputs moved = in;
      moved.input = values[0];
      moved.weight = values[1];
      moved.bias = values[2];
      KernelCall call = batchNormCall("var.batch_norm_train", moved);
      EXPECT_EQ(call.run(), "");
      return call.get(0);
    };
    KernelCall train = batchNormCall("var.batch_norm_train", in);
    ASSERT_EQ(train.run(), "");
    std::vector<std::vector<float>> analytic =
        batchNormGrad(in, outGrad, train.get(1), train.get(2));
    expectGradients(forward, {in.input, in.weight, in.bias}, outGrad, analytic,
                    {true, true, true});
  }
}

TEST(CpuBatchNorm, FrozenGradMatchesHandComputedValues) {
  // (N, C) = (2, 2): channel 0 holds x = 1, 3 with dy = 1, -1; channel 1
  // holds x = 4, -2 with dy = 2, 3. eps 1 makes invstd 1/2 and 1.
  BatchNormInputs in{{2, 2}, {1, 4, 3, -2}, {4, -1}, {0, 0}, {1, 2}, {3, 0}};
  std::vector<std::vector<float>> grads =
      batchNormFrozenGrad(in, {1, 2, -1, 3}, DType::F32, /*eps=*/1.0);
  // dx = dy * weight * invstd: 2 * dy in channel 0, -dy in channel 1.
  EXPECT_EQ(grads[0], (std::vector<float>{2, -2, -2, -3}));
  // dweight = invstd * sum dy (x - running_mean): 0.5 * (0 - 2), 4 - 12.
  EXPECT_EQ(grads[1], (std::vector<float>{-1, -8}));
  EXPECT_EQ(grads[2], (std::vector<float>{0, 5}));
}

TEST(CpuBatchNorm, FrozenGradientsMatchFiniteDifferencesOfEval) {
  std::vector<std::vector<int64_t>> shapes = {
      {6, 3}, {2, 4, 5}, {3, 1, 7}, {2, 3, 2, 3}};
  uint32_t seed = 300;
  for (const std::vector<int64_t> &shape : shapes) {
    SCOPED_TRACE("shape rank " + std::to_string(shape.size()) + ", C " +
                 std::to_string(shape[1]));
    BatchNormInputs in = randomBatchNorm(shape, seed += 10);
    expectFrozenGradients(in, randomValues(in.input.size(), seed + 7),
                          DType::F32, 1e-2, 2e-2, 2e-3);
  }
}

TEST(CpuBatchNorm, FrozenGradientsMatchFiniteDifferencesOfBf16Eval) {
  // bf16 input and result gradient, f32 weight and statistics. Inputs are
  // multiples of 1/32 in [-1.5, 1.5], so they and their +-1 steps are exact
  // in bf16; the tolerance covers the bf16 rounding of the eval results.
  std::vector<std::vector<int64_t>> shapes = {{8, 3}, {2, 4, 5}, {2, 2, 3, 3}};
  uint32_t seed = 400;
  for (const std::vector<int64_t> &shape : shapes) {
    SCOPED_TRACE("shape rank " + std::to_string(shape.size()) + ", C " +
                 std::to_string(shape[1]));
    BatchNormInputs in = randomBatchNorm(shape, seed += 10);
    for (float &x : in.input)
      x = std::round(x * 48) / 32;
    std::vector<float> outGrad = randomValues(in.input.size(), seed + 7);
    for (float &g : outGrad)
      g = roundToBf16(g);
    expectFrozenGradients(in, outGrad, DType::BF16, 1.0, 2e-2, 5e-2);

    // The bf16 kernel widens its operands and rounds the input gradient
    // once; the per-channel gradients stay f32.
    std::vector<std::vector<float>> mixed =
        batchNormFrozenGrad(in, outGrad, DType::BF16);
    std::vector<std::vector<float>> wide = batchNormFrozenGrad(in, outGrad);
    for (size_t i = 0; i < wide[0].size(); ++i)
      EXPECT_EQ(mixed[0][i], roundToBf16(wide[0][i])) << i;
    EXPECT_EQ(mixed[1], wide[1]);
    EXPECT_EQ(mixed[2], wide[2]);
  }
}

TEST(CpuBatchNorm, Bf16InputWithF32Parameters) {
  // A bf16 kernel reads the input widened and rounds the result once: the
  // same as the f32 kernel on the widened input, then rounded.
  BatchNormInputs in = randomBatchNorm({3, 4, 5}, 31);
  for (float &x : in.input)
    x = roundToBf16(x * 3 + 1);
  KernelCall mixed = batchNormCall("var.batch_norm_train", in, DType::BF16);
  KernelCall wide = batchNormCall("var.batch_norm_train", in);
  ASSERT_EQ(mixed.run(), "");
  ASSERT_EQ(wide.run(), "");
  std::vector<float> mixedResult = mixed.get(0), wideResult = wide.get(0);
  for (size_t i = 0; i < wideResult.size(); ++i)
    EXPECT_EQ(mixedResult[i], roundToBf16(wideResult[i])) << i;
  for (size_t k = 1; k < 5; ++k)
    EXPECT_EQ(mixed.get(k), wide.get(k)) << "f32 result " << k;

  KernelCall mixedEval = batchNormCall("var.batch_norm", in, DType::BF16);
  KernelCall wideEval = batchNormCall("var.batch_norm", in);
  ASSERT_EQ(mixedEval.run(), "");
  ASSERT_EQ(wideEval.run(), "");
  std::vector<float> mixedEvalResult = mixedEval.get(0);
  std::vector<float> wideEvalResult = wideEval.get(0);
  for (size_t i = 0; i < wideEvalResult.size(); ++i)
    EXPECT_EQ(mixedEvalResult[i], roundToBf16(wideEvalResult[i])) << i;

  std::vector<float> grad = randomValues(in.input.size(), 37);
  for (float &g : grad)
    g = roundToBf16(g);
  std::vector<std::vector<float>> mixedGrads =
      batchNormGrad(in, grad, wide.get(1), wide.get(2), DType::BF16);
  std::vector<std::vector<float>> wideGrads =
      batchNormGrad(in, grad, wide.get(1), wide.get(2));
  for (size_t i = 0; i < wideGrads[0].size(); ++i)
    EXPECT_EQ(mixedGrads[0][i], roundToBf16(wideGrads[0][i])) << i;
  EXPECT_EQ(mixedGrads[1], wideGrads[1]);
  EXPECT_EQ(mixedGrads[2], wideGrads[2]);
}

TEST(CpuBatchNorm, RejectsWhatTheKernelCannotCompute) {
  // One value per channel has no unbiased variance (PyTorch refuses too).
  BatchNormInputs single = randomBatchNorm({1, 3}, 41);
  KernelCall call = batchNormCall("var.batch_norm_train", single);
  EXPECT_NE(call.run().find("more than one value per channel"),
            std::string::npos);
  KernelCall missing("var.batch_norm");
  missing.operand({4, 2}, randomValues(8, 1)).result({4, 2});
  EXPECT_NE(missing.run().find("expects 5 operands"), std::string::npos);
  KernelCall mismatch("var.batch_norm");
  mismatch.operand({4, 3}, randomValues(12, 43)).operand({4}, {1, 1, 1, 1});
  for (int k = 0; k < 3; ++k)
    mismatch.operand({3}, {1, 1, 1});
  mismatch.result({4, 3});
  EXPECT_NE(mismatch.run().find("weight has 4 elements, expected 3"),
            std::string::npos);
  KernelCall frozen("var.batch_norm_frozen_grad");
  frozen.operand({4, 3}, randomValues(12, 44))
      .operand({4, 3}, randomValues(12, 45));
  for (int k = 0; k < 2; ++k)
    frozen.operand({3}, {1, 1, 1});
  frozen.operand({2}, {1, 1}).result({4, 3}).result({3}).result({3});
  EXPECT_NE(frozen.run().find("running_var has 2 elements, expected 3"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// LSTM
//===----------------------------------------------------------------------===//

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

struct LSTMInputs {
  int64_t batch, steps, features, hidden;
  std::vector<float> input, wIh, wHh, bIh, bHh; // biases empty: absent

  bool hasBiases() const { return !bIh.empty(); }
  std::vector<std::vector<float>> values() const {
    if (hasBiases())
      return {input, wIh, wHh, bIh, bHh};
    return {input, wIh, wHh};
  }
};

LSTMInputs randomLSTM(int64_t batch, int64_t steps, int64_t features,
                      int64_t hidden, bool withBiases, uint32_t seed) {
  int64_t gates = 4 * hidden;
  LSTMInputs in{batch,
                steps,
                features,
                hidden,
                randomValues(batch * steps * features, seed),
                randomValues(gates * features, seed + 1),
                randomValues(gates * hidden, seed + 2),
                {},
                {}};
  if (withBiases) {
    in.bIh = randomValues(gates, seed + 3);
    in.bHh = randomValues(gates, seed + 4);
  }
  return in;
}

/// Operands as the plan gives them: biases only when present.
void addLSTMOperands(KernelCall &call, const LSTMInputs &in,
                     const std::vector<std::vector<float>> &values) {
  int64_t gates = 4 * in.hidden;
  call.operand({in.batch, in.steps, in.features}, values[0])
      .operand({gates, in.features}, values[1])
      .operand({gates, in.hidden}, values[2]);
  if (values.size() == 5)
    call.operand({gates}, values[3]).operand({gates}, values[4]);
}

/// var.lstm's results, the sequence then the last state, in one vector.
std::vector<float> runLSTM(const LSTMInputs &in,
                           const std::vector<std::vector<float>> &values) {
  KernelCall call("var.lstm");
  addLSTMOperands(call, in, values);
  call.result({in.batch, in.steps, in.hidden}).result({in.batch, in.hidden});
  EXPECT_EQ(call.run(), "");
  return concat(call.get(0), call.get(1));
}

/// PyTorch's LSTM equations written out one unit at a time, in double: the
/// (B, T, H) hidden sequence.
std::vector<double> referenceLSTM(const LSTMInputs &in) {
  int64_t B = in.batch, T = in.steps, I = in.features, H = in.hidden;
  std::vector<double> sequence(B * T * H);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(H, 0.0), c(H, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> next(H);
      for (int64_t u = 0; u < H; ++u) {
        double pre[4];
        for (int64_t q = 0; q < 4; ++q) {
          int64_t row = q * H + u;
          pre[q] = in.hasBiases() ? double(in.bIh[row]) + in.bHh[row] : 0.0;
          for (int64_t k = 0; k < I; ++k)
            pre[q] +=
                double(in.wIh[row * I + k]) * in.input[(b * T + t) * I + k];
          for (int64_t k = 0; k < H; ++k)
            pre[q] += double(in.wHh[row * H + k]) * h[k];
        }
        c[u] = sigmoid(pre[1]) * c[u] + sigmoid(pre[0]) * std::tanh(pre[2]);
        next[u] = sigmoid(pre[3]) * std::tanh(c[u]);
      }
      h = next;
      for (int64_t u = 0; u < H; ++u)
        sequence[(b * T + t) * H + u] = h[u];
    }
  }
  return sequence;
}

TEST(CpuLSTM, ForwardMatchesHandComputedGates) {
  // One unit, one feature, two steps. Pre-activations (i, f, g, o) are
  // w_ih * x + w_hh * h + b_ih + b_hh with b_ih + b_hh = (0, 0.2, 0.4, 0.4).
  LSTMInputs in{1,
                2,
                1,
                1,
                {1, -0.5},
                {1, -1, 0.5, 2},
                {0.5, 1, -1, 0.25},
                {0.1, 0.2, 0.3, 0.4},
                {-0.1, 0, 0.1, 0}};
  // Step 1 (h = c = 0): pre-activations (1, -0.8, 0.9, 2.4).
  double c1 = sigmoid(1.0) * std::tanh(0.9);
  double h1 = sigmoid(2.4) * std::tanh(c1);
  // Step 2: (-0.5 + 0.5 h1, 0.7 + h1, 0.15 - h1, -0.6 + 0.25 h1).
  double c2 =
      sigmoid(0.7 + h1) * c1 + sigmoid(-0.5 + 0.5 * h1) * std::tanh(0.15 - h1);
  double h2 = sigmoid(-0.6 + 0.25 * h1) * std::tanh(c2);
  std::vector<float> out = runLSTM(in, in.values());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NEAR(out[0], h1, 1e-6);
  EXPECT_NEAR(out[1], h2, 1e-6);
  EXPECT_NEAR(out[2], h2, 1e-6);
}

TEST(CpuLSTM, ForwardMatchesReferenceWithAndWithoutBiases) {
  for (bool withBiases : {true, false}) {
    SCOPED_TRACE(withBiases ? "with biases" : "without biases");
    LSTMInputs in = randomLSTM(3, 4, 3, 2, withBiases, 51);
    std::vector<double> expected = referenceLSTM(in);
    std::vector<float> out = runLSTM(in, in.values());
    ASSERT_EQ(out.size(), expected.size() + 3 * 2);
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_NEAR(out[i], expected[i], 1e-5) << i;
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t u = 0; u < 2; ++u)
        EXPECT_EQ(out[expected.size() + b * 2 + u], out[(b * 4 + 3) * 2 + u]);
  }
}

TEST(CpuLSTM, OperandSegmentSizesSelectTheBiases) {
  LSTMInputs in = randomLSTM(2, 3, 2, 2, true, 61);
  // b_hh absent by segment sizes is the same as a zero b_hh.
  KernelCall onlyIh("var.lstm");
  addLSTMOperands(onlyIh, in, {in.input, in.wIh, in.wHh});
  onlyIh.operand({8}, in.bIh)
      .attr("operandSegmentSizes", std::vector<int64_t>{1, 1, 1, 1, 0})
      .result({2, 3, 2})
      .result({2, 2});
  ASSERT_EQ(onlyIh.run(), "");
  std::vector<float> zeros(8, 0.0f);
  std::vector<float> expected =
      runLSTM(in, {in.input, in.wIh, in.wHh, in.bIh, zeros});
  EXPECT_EQ(concat(onlyIh.get(0), onlyIh.get(1)), expected);

  KernelCall wrong("var.lstm");
  addLSTMOperands(wrong, in, {in.input, in.wIh, in.wHh});
  wrong.operand({8}, in.bIh).result({2, 3, 2}).result({2, 2});
  EXPECT_NE(wrong.run().find("expects 5 operands (or 3 without biases)"),
            std::string::npos);
}

/// lstm_grad's gradients of every operand against finite differences of
/// var.lstm, with the result gradient on the sequence, the last state or
/// both (a zero tensor for the other, as the compiler passes).
void expectLSTMGradients(bool withBiases, bool onSequence, bool onLast) {
  LSTMInputs in = randomLSTM(2, 3, 3, 2, withBiases, 71);
  int64_t gates = 4 * in.hidden;
  size_t sequenceSize = in.batch * in.steps * in.hidden;
  size_t lastSize = in.batch * in.hidden;
  std::vector<float> sequenceGrad(sequenceSize, 0.0f), lastGrad(lastSize, 0.0f);
  if (onSequence)
    sequenceGrad = randomValues(sequenceSize, 73);
  if (onLast)
    lastGrad = randomValues(lastSize, 79);

  KernelCall grad("var.lstm_grad");
  addLSTMOperands(grad, in, in.values());
  grad.operand({in.batch, in.steps, in.hidden}, sequenceGrad)
      .operand({in.batch, in.hidden}, lastGrad)
      .result({in.batch, in.steps, in.features})
      .result({gates, in.features})
      .result({gates, in.hidden});
  if (withBiases)
    grad.result({gates}).result({gates});
  ASSERT_EQ(grad.run(), "");
  std::vector<std::vector<float>> analytic;
  for (size_t k = 0; k < (withBiases ? 5u : 3u); ++k)
    analytic.push_back(grad.get(k));

  auto forward = [&](const std::vector<std::vector<float>> &values) {
    return runLSTM(in, values);
  };
  expectGradients(forward, in.values(), concat(sequenceGrad, lastGrad),
                  analytic, std::vector<bool>(analytic.size(), true));
}

TEST(CpuLSTM, GradientsFromSequence) { expectLSTMGradients(true, true, false); }
TEST(CpuLSTM, GradientsFromLastState) {
  expectLSTMGradients(true, false, true);
}
TEST(CpuLSTM, GradientsFromBoth) { expectLSTMGradients(true, true, true); }
TEST(CpuLSTM, GradientsFromSequenceWithoutBiases) {
  expectLSTMGradients(false, true, false);
}
TEST(CpuLSTM, GradientsFromLastStateWithoutBiases) {
  expectLSTMGradients(false, false, true);
}
TEST(CpuLSTM, GradientsFromBothWithoutBiases) {
  expectLSTMGradients(false, true, true);
}

} // namespace
