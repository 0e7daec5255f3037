// The CPU batch norm kernels with a fused `activation` (var-fuse-bn-act)
// against the unfused sequence run through the real kernels, byte for byte:
// batch norm then var.relu / var.relu6 / var.silu, and var.relu_grad /
// var.relu6_grad / var.silu_grad then var.batch_norm_grad (on the
// activation's output, or on the pre-activation the backward recomputes
// from the forward's bias), in f32 and bf16 (f32 statistics), both
// layouts, with gradients and activation values on the masks' boundaries (0,
// -0, 6, NaN).
#include "runtime/cpu/CpuOps.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

using namespace var;
using namespace var::cpu;
using plan::DType;
using test::randomValues;

namespace {

const OpTable &kernels() {
  static const OpTable table = [] {
    OpTable ops;
    registerNormLstmOps(ops);
    registerElementwiseOps(ops);
    return ops;
  }();
  return table;
}

/// A tensor the test owns, kept as the bytes a kernel wrote.
struct Tensor {
  Tensor(std::vector<int64_t> shape, DType dtype)
      : dtype(dtype), shape(std::move(shape)) {
    bytes.resize(view().bytes());
  }
  Tensor(std::vector<int64_t> shape, DType dtype,
         const std::vector<float> &values)
      : Tensor(std::move(shape), dtype) {
    TensorView v = view();
    writeFloats(values, v);
  }
  TensorView view() { return {dtype, shape, bytes.data()}; }

  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Runs `op` on `operands`, writing `results`; fails the test on an error.
void run(const std::string &op, std::vector<Tensor *> operands,
         std::vector<Tensor *> results,
         std::vector<plan::Attribute> attributes = {}) {
  plan::Instruction inst;
  inst.op = op;
  inst.attributes = std::move(attributes);
  OpCall call{inst, {}, {}, 0};
  for (Tensor *tensor : operands)
    call.operands.push_back(tensor->view());
  for (Tensor *tensor : results)
    call.results.push_back(tensor->view());
  std::string error = kernels().at(op)(call);
  ASSERT_EQ(error, "") << op;
}

std::vector<plan::Attribute> attributes(bool channelsLast,
                                        std::string activation = {}) {
  std::vector<plan::Attribute> attrs;
  if (channelsLast)
    attrs.push_back({"channels_last", true});
  if (!activation.empty())
    attrs.push_back({"activation", activation});
  return attrs;
}

struct Case {
  DType dtype;
  bool channelsLast;
  const char *activation;
};

std::string describe(const Case &c) {
  return std::string(plan::getDTypeName(c.dtype)) +
         (c.channelsLast ? " channels-last " : " ") + c.activation;
}

const Case kCases[] = {
    {DType::F32, false, "relu"},   {DType::F32, true, "relu6"},
    {DType::BF16, false, "relu6"}, {DType::BF16, true, "relu"},
    {DType::F16, false, "relu6"},
};

constexpr int64_t kChannels = 3;

std::vector<int64_t> shapeOf(const Case &c) {
  return c.channelsLast ? std::vector<int64_t>{2, 4, 5, kChannels}
                        : std::vector<int64_t>{2, kChannels, 4, 5};
}

/// Inputs spread wide enough that the results cross 0 and 6.
std::vector<float> spread(size_t count, uint32_t seed, float scale) {
  std::vector<float> values = randomValues(count, seed);
  for (float &value : values)
    value *= scale;
  return values;
}

TEST(CpuBatchNormActivation, ForwardMatchesBatchNormThenActivation) {
  for (const Case &c : kCases) {
    for (const char *op : {"var.batch_norm_train", "var.batch_norm"}) {
      SCOPED_TRACE(describe(c) + " " + op);
      std::vector<int64_t> shape = shapeOf(c);
      bool train = std::string(op) == "var.batch_norm_train";
      Tensor input(shape, c.dtype, spread(40 * kChannels, 1, 3.0f));
      // f32 statistics under a narrow input, as mixed precision makes them.
      Tensor weight({kChannels}, DType::F32, {4.0f, -5.0f, 7.0f});
      Tensor bias({kChannels}, DType::F32, {2.0f, 1.0f, -0.5f});
      Tensor mean({kChannels}, DType::F32, {0.1f, -0.2f, 0.3f});
      Tensor var({kChannels}, DType::F32, {0.5f, 2.0f, 1.5f});
      std::vector<Tensor *> ins = {&input, &weight, &bias, &mean, &var};
      auto makeResults = [&](std::vector<Tensor> &storage) {
        storage.emplace_back(shape, c.dtype);
        for (int i = 1; i < (train ? 5 : 1); ++i)
          storage.emplace_back(std::vector<int64_t>{kChannels}, DType::F32);
        std::vector<Tensor *> out;
        for (Tensor &t : storage)
          out.push_back(&t);
        return out;
      };
      std::vector<Tensor> plain, fused;
      plain.reserve(5);
      fused.reserve(5);
      std::vector<Tensor *> plainOut = makeResults(plain);
      std::vector<Tensor *> fusedOut = makeResults(fused);
      run(op, ins, plainOut, attributes(c.channelsLast));
      Tensor activated(shape, c.dtype);
      run(std::string("var.") + c.activation, {&plain[0]}, {&activated});
      run(op, ins, fusedOut, attributes(c.channelsLast, c.activation));
      EXPECT_EQ(fused[0].bytes, activated.bytes);
      for (size_t i = 1; i < plain.size(); ++i)
        EXPECT_EQ(fused[i].bytes, plain[i].bytes) << "result " << i;
      // The case must reach both sides of the activation's bounds.
      std::vector<float> z = readFloats(activated.view());
      EXPECT_GT(std::count(z.begin(), z.end(), 0.0f), 0);
      if (std::string(c.activation) == "relu6") {
        EXPECT_GT(std::count(z.begin(), z.end(), 6.0f), 0);
      }
    }
  }
}

TEST(CpuBatchNormActivation, BackwardMatchesActivationGradThenBatchNormGrad) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Case &c : kCases) {
    SCOPED_TRACE(describe(c));
    std::vector<int64_t> shape = shapeOf(c);
    size_t numel = 40 * kChannels;
    Tensor input(shape, c.dtype, spread(numel, 2, 2.0f));
    // Activation values on and around the masks' bounds, and NaN.
    std::vector<float> value = spread(numel, 3, 8.0f);
    const float edges[] = {0.0f, -0.0f, 6.0f, 5.99f, 6.01f, nan, 1e-30f};
    for (size_t i = 0; i < numel; i += 5)
      value[i] = edges[(i / 5) % std::size(edges)];
    // Gradients with signed zeros and a NaN the mask must drop or keep.
    std::vector<float> outputGrad = spread(numel, 4, 1.0f);
    for (size_t i = 1; i < numel; i += 7)
      outputGrad[i] = (i / 7) % 2 ? -0.0f : -1.5f;
    outputGrad[3] = nan;
    Tensor z(shape, c.dtype, value), dz(shape, c.dtype, outputGrad);
    Tensor weight({kChannels}, DType::F32, {1.5f, -0.5f, 2.0f});
    Tensor mean({kChannels}, DType::F32, {0.1f, -0.2f, 0.3f});
    Tensor invstd({kChannels}, DType::F32, {0.9f, 1.1f, 0.7f});

    Tensor dy(shape, c.dtype);
    run(std::string("var.") + c.activation + "_grad", {&z, &dz}, {&dy});
    Tensor plain[] = {
        {shape, c.dtype}, {{kChannels}, DType::F32}, {{kChannels}, DType::F32}};
    run("var.batch_norm_grad", {&input, &dy, &weight, &mean, &invstd},
        {&plain[0], &plain[1], &plain[2]}, attributes(c.channelsLast));
    Tensor fused[] = {
        {shape, c.dtype}, {{kChannels}, DType::F32}, {{kChannels}, DType::F32}};
    run("var.batch_norm_grad", {&input, &dz, &weight, &mean, &invstd, &z},
        {&fused[0], &fused[1], &fused[2]},
        attributes(c.channelsLast, c.activation));
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(fused[i].bytes, plain[i].bytes) << "result " << i;
  }
}

/// The pre-activation a training batch norm normalizes to, from the saved
/// statistics as stored: z = fma(x, scale, shift) in float, with scale =
/// weight * invstd and shift = bias - mean * scale folded in double, stored
/// in `dtype`.
Tensor preActivation(const Case &c, Tensor &input,
                     const std::vector<float> &weight,
                     const std::vector<float> &bias, Tensor &mean,
                     Tensor &invstd) {
  std::vector<float> x = readFloats(input.view());
  std::vector<float> m = readFloats(mean.view()), s = readFloats(invstd.view());
  std::vector<float> z(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t channel = c.channelsLast ? i % kChannels : i / 20 % kChannels;
    double scale = weight[channel] * static_cast<double>(s[channel]);
    double shift = bias[channel] - m[channel] * scale;
    z[i] = std::fma(x[i], static_cast<float>(scale), static_cast<float>(shift));
  }
  return Tensor(input.shape, c.dtype, z);
}

/// SiLU folds as the others do in evaluation. In training every batch norm
/// normalizes with its saved statistics as stored, and a backward given
/// the forward's bias (operand 5; SiLU's always) recomputes that same
/// pre-activation from them: the fused forward matches the unfused one and
/// the activation on the pre-activation, and the backward matches the
/// activation's gradient on it then var.batch_norm_grad, byte for byte.
TEST(CpuBatchNormActivation, TrainingMatchesTheUnfusedOpsOnThePreActivation) {
  const Case trainingCases[] = {
      {DType::F32, false, "silu"},  {DType::BF16, true, "silu"},
      {DType::F16, false, "silu"},  {DType::F32, true, "relu"},
      {DType::BF16, false, "relu"}, {DType::BF16, true, "relu6"},
      {DType::F16, false, "relu6"}};
  for (const Case &c : trainingCases) {
    SCOPED_TRACE(describe(c));
    std::string act = c.activation;
    std::vector<int64_t> shape = shapeOf(c);
    std::vector<float> w = {4.0f, -5.0f, 0.7f}, b = {2.0f, 1.0f, -0.5f};
    Tensor input(shape, c.dtype, spread(40 * kChannels, 5, 3.0f));
    Tensor weight({kChannels}, DType::F32, w), bias({kChannels}, DType::F32, b);
    Tensor mean({kChannels}, DType::F32, {0.1f, -0.2f, 0.3f});
    Tensor var({kChannels}, DType::F32, {0.5f, 2.0f, 1.5f});
    std::vector<Tensor *> ins = {&input, &weight, &bias, &mean, &var};

    Tensor normalized(shape, c.dtype), activated(shape, c.dtype);
    Tensor fusedEval(shape, c.dtype);
    run("var.batch_norm", ins, {&normalized}, attributes(c.channelsLast));
    run("var." + act, {&normalized}, {&activated});
    run("var.batch_norm", ins, {&fusedEval}, attributes(c.channelsLast, act));
    EXPECT_EQ(fusedEval.bytes, activated.bytes);

    auto train = [&](std::vector<Tensor> &out, const std::string &activation) {
      out.emplace_back(shape, c.dtype);
      for (int i = 0; i < 4; ++i)
        out.emplace_back(std::vector<int64_t>{kChannels}, DType::F32);
      run("var.batch_norm_train", ins,
          {&out[0], &out[1], &out[2], &out[3], &out[4]},
          attributes(c.channelsLast, activation));
    };
    std::vector<Tensor> out, plainOut;
    train(out, act);
    train(plainOut, "");
    Tensor z = preActivation(c, input, w, b, out[1], out[2]);
    EXPECT_EQ(plainOut[0].bytes, z.bytes);
    Tensor expected(shape, c.dtype);
    run("var." + act, {&z}, {&expected});
    EXPECT_EQ(out[0].bytes, expected.bytes);
    for (int i = 1; i < 5; ++i)
      EXPECT_EQ(out[i].bytes, plainOut[i].bytes) << "result " << i;
    // The case must reach both sides of the activation's bounds.
    std::vector<float> zs = readFloats(z.view());
    EXPECT_GT(
        std::count_if(zs.begin(), zs.end(), [](float v) { return v < 0; }), 0);
    if (act == "relu6") {
      EXPECT_GT(
          std::count_if(zs.begin(), zs.end(), [](float v) { return v > 6; }),
          0);
    }

    Tensor da(shape, c.dtype, spread(40 * kChannels, 6, 1.0f));
    Tensor dz(shape, c.dtype);
    run("var." + act + "_grad", {&z, &da}, {&dz});
    Tensor plain[] = {
        {shape, c.dtype}, {{kChannels}, DType::F32}, {{kChannels}, DType::F32}};
    run("var.batch_norm_grad", {&input, &dz, &weight, &out[1], &out[2]},
        {&plain[0], &plain[1], &plain[2]}, attributes(c.channelsLast));
    Tensor fused[] = {
        {shape, c.dtype}, {{kChannels}, DType::F32}, {{kChannels}, DType::F32}};
    run("var.batch_norm_grad", {&input, &da, &weight, &out[1], &out[2], &bias},
        {&fused[0], &fused[1], &fused[2]}, attributes(c.channelsLast, act));
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(fused[i].bytes, plain[i].bytes) << "result " << i;
  }
}

TEST(CpuBatchNormActivation, RejectsUnknownActivation) {
  Tensor input({2, 2}, DType::F32, {1, 2, 3, 4});
  Tensor channel({2}, DType::F32, {1, 1});
  Tensor result({2, 2}, DType::F32);
  plan::Instruction inst;
  inst.op = "var.batch_norm";
  inst.attributes = attributes(false, "gelu");
  OpCall call{inst, {}, {}, 0};
  for (Tensor *t : {&input, &channel, &channel, &channel, &channel})
    call.operands.push_back(t->view());
  call.results.push_back(result.view());
  EXPECT_EQ(kernels().at("var.batch_norm")(call),
            "var.batch_norm: unknown activation \"gelu\"");
}

TEST(CpuBatchNormActivation, FusedBackwardNeedsTheActivationValue) {
  Tensor x({2, 2}, DType::F32, {1, 2, 3, 4});
  Tensor channel({2}, DType::F32, {1, 1});
  Tensor grads[] = {{{2, 2}, DType::F32}, {{2}, DType::F32}, {{2}, DType::F32}};
  plan::Instruction inst;
  inst.op = "var.batch_norm_grad";
  inst.attributes = attributes(false, "relu");
  OpCall call{inst, {}, {}, 0};
  for (Tensor *t : {&x, &x, &channel, &channel, &channel})
    call.operands.push_back(t->view());
  for (Tensor &t : grads)
    call.results.push_back(t.view());
  EXPECT_NE(kernels().at("var.batch_norm_grad")(call).find("expects 6"),
            std::string::npos);
}

} // namespace
