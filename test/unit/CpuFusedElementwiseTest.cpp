// The CPU kernel of var.fused_elementwise against the unfused kernels run
// one after the other: the same bits in f32, bf16 and f16 chains, with
// casts, broadcast operands, extra results and dropout at a global batch
// offset; and the kernel's checks of a malformed program.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/CpuKernelTest.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>

using namespace var;
using namespace var::cputest;
using var::test::randomValues;

namespace {

/// One step as the unfused op it stands for: `op` without "var.", `args`
/// indexing operands then earlier steps, `dtype` the step's result type.
struct Step {
  std::string op;
  std::vector<int64_t> args;
  DType dtype;
  double p = 0.0;
  int64_t key = 0;
};

struct Chain {
  Shape shape;                              // of every step
  std::vector<std::pair<Shape, DType>> ins; // operands
  std::vector<Step> steps;
  std::vector<int64_t> returns; // steps
};

std::string opcodeOf(const Step &step) {
  if (step.op != "cast")
    return step.op;
  return step.dtype == DType::BF16  ? "cast_bf16"
         : step.dtype == DType::F16 ? "cast_f16"
                                    : "cast_f32";
}

/// Runs `op` as the executor would for samples [firstSample, +batch) of
/// the step's global batch.
std::string runAt(std::string_view op, std::vector<const Tensor *> operands,
                  std::vector<Tensor *> results, Attrs attrs, uint64_t seed,
                  int64_t firstSample, int64_t batch) {
  auto it = getCpuOps().find(op);
  if (it == getCpuOps().end())
    return "no kernel for " + std::string(op);
  plan::Instruction inst;
  inst.op = std::string(op);
  inst.attributes = std::move(attrs);
  StepScalars scalars;
  scalars.seed = seed;
  scalars.firstSample = firstSample;
  OpCall call{inst, {}, {}, &scalars};
  call.batch = batch;
  for (const Tensor *tensor : operands)
    call.operands.push_back(tensor->view);
  for (Tensor *tensor : results)
    call.results.push_back(tensor->view);
  return it->second(call);
}

/// Operand values with the awkward cases up front: kinks of the
/// activations, signed zeros, infinities and NaN.
std::vector<float> operandValues(int64_t count, uint32_t seed) {
  std::vector<float> values = randomValues(static_cast<size_t>(count), seed);
  for (float &v : values)
    v *= 7.0f;
  const float special[] = {0.0f,
                           -0.0f,
                           3.0f,
                           -3.0f,
                           6.0f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN(),
                           1.00390625f};
  for (size_t i = 0; i < std::size(special) && i < values.size(); ++i)
    values[(i * 7 + seed) % values.size()] = special[i];
  return values;
}

bool sameBytes(const Tensor &a, const Tensor &b) {
  return a.view.bytes() == b.view.bytes() &&
         std::memcmp(a.view.data, b.view.data,
                     static_cast<size_t>(a.view.bytes())) == 0;
}

/// Runs `chain` unfused and fused and expects every returned step's bits
/// to agree.
void expectFusedMatches(const Chain &chain, uint64_t seed = 42,
                        int64_t firstSample = 0, int64_t batch = 0) {
  std::vector<std::unique_ptr<Tensor>> values;
  for (size_t i = 0; i < chain.ins.size(); ++i) {
    const auto &[shape, dtype] = chain.ins[i];
    values.push_back(std::make_unique<Tensor>(
        shape, operandValues(numel(shape), static_cast<uint32_t>(i + 1)),
        dtype));
  }
  std::vector<std::string> steps;
  std::vector<int64_t> args;
  std::vector<double> ps;
  std::vector<int64_t> keys;
  for (const Step &step : chain.steps) {
    std::vector<const Tensor *> operands;
    for (int64_t arg : step.args) {
      operands.push_back(values[arg].get());
      args.push_back(arg);
    }
    Attrs attrs;
    if (step.op.rfind("dropout", 0) == 0) {
      attrs = {floatAttr("p", step.p), intAttr("key", step.key)};
      ps.push_back(step.p);
      keys.push_back(step.key);
    }
    values.push_back(std::make_unique<Tensor>(step.dtype, chain.shape));
    ASSERT_EQ(runAt("var." + step.op, operands, {values.back().get()}, attrs,
                    seed, firstSample, batch),
              "")
        << step.op;
    steps.push_back(opcodeOf(step));
  }

  std::vector<std::unique_ptr<Tensor>> results;
  std::vector<Tensor *> resultViews;
  for (int64_t step : chain.returns) {
    results.push_back(
        std::make_unique<Tensor>(chain.steps[step].dtype, chain.shape));
    resultViews.push_back(results.back().get());
  }
  Attrs attrs = {{"steps", steps},
                 intsAttr("args", args),
                 intsAttr("returns", chain.returns)};
  if (!ps.empty()) {
    attrs.push_back({"p", ps});
    attrs.push_back(intsAttr("key", keys));
  }
  std::vector<const Tensor *> operands;
  for (size_t i = 0; i < chain.ins.size(); ++i)
    operands.push_back(values[i].get());
  ASSERT_EQ(runAt("var.fused_elementwise", operands, resultViews, attrs, seed,
                  firstSample, batch),
            "");
  for (size_t r = 0; r < results.size(); ++r)
    EXPECT_TRUE(
        sameBytes(*results[r], *values[chain.ins.size() + chain.returns[r]]))
        << "result " << r << " (step " << chain.returns[r] << ")";
}

TEST(CpuFusedElementwise, ActivationsF32) {
  // relu6_grad(relu6(x + b), dy) * s, with every other activation on the
  // side, b broadcast over the rows.
  Chain chain{{6, 10},
              {{{6, 10}, DType::F32},
               {{10}, DType::F32},
               {{6, 10}, DType::F32},
               {{6, 1}, DType::F32}},
              {{"add", {0, 1}, DType::F32},
               {"relu6", {4}, DType::F32},
               {"relu6_grad", {5, 2}, DType::F32},
               {"mul", {6, 3}, DType::F32},
               {"relu", {7}, DType::F32},
               {"sigmoid", {8}, DType::F32},
               {"sigmoid_grad", {9, 2}, DType::F32},
               {"silu", {10}, DType::F32},
               {"silu_grad", {11, 2}, DType::F32},
               {"hardswish", {12}, DType::F32},
               {"hardswish_grad", {13, 0}, DType::F32},
               {"relu_grad", {14, 2}, DType::F32}},
              {11, 1}};
  expectFusedMatches(chain);
}

TEST(CpuFusedElementwise, MixedPrecisionBf16) {
  // Every intermediate is bf16: each step rounds as the unfused store does.
  Chain chain{{4, 3, 5},
              {{{4, 3, 5}, DType::F32},
               {{4, 3, 5}, DType::BF16},
               {{3, 1}, DType::BF16}},
              {{"cast", {0}, DType::BF16},
               {"silu", {3}, DType::BF16},
               {"mul", {4, 2}, DType::BF16},
               {"add", {5, 1}, DType::BF16},
               {"hardswish_grad", {3, 6}, DType::BF16},
               {"sigmoid", {7}, DType::BF16},
               {"cast", {8}, DType::F32},
               {"cast", {7}, DType::F16}},
              {6, 3, 7}};
  expectFusedMatches(chain);
}

TEST(CpuFusedElementwise, DropoutAtGlobalOffset) {
  // dropout_train then dropout_grad with other keys, bf16, for samples 3..4
  // of the global batch: the mask is the unfused kernels' for the same
  // global positions.
  Chain chain{{2, 4, 8},
              {{{2, 4, 8}, DType::BF16}, {{2, 4, 8}, DType::BF16}},
              {{"relu", {0}, DType::BF16},
               {"dropout_train", {2}, DType::BF16, 0.3, 11},
               {"add", {3, 1}, DType::BF16},
               {"dropout_grad", {4}, DType::BF16, 0.5, 12},
               {"cast", {5}, DType::F32}},
              {4, 1}};
  expectFusedMatches(chain, /*seed=*/1234, /*firstSample=*/3, /*batch=*/2);
  expectFusedMatches(chain, /*seed=*/99);
}

TEST(CpuFusedElementwise, F16) {
  Chain chain{{16},
              {{{16}, DType::F16}, {{16}, DType::F16}},
              {{"mul", {0, 1}, DType::F16},
               {"relu", {2}, DType::F16},
               {"cast", {3}, DType::F32},
               {"sigmoid", {4}, DType::F32}},
              {3}};
  expectFusedMatches(chain);
}

TEST(CpuFusedElementwise, RejectsBadPrograms) {
  Tensor x({4}, {1, 2, 3, 4});
  Tensor y(DType::F32, {4}), b(DType::BF16, {4});
  auto runFused = [&](Attrs attrs, Tensor &out) {
    return runAt("var.fused_elementwise", {&x}, {&out}, std::move(attrs), 0, 0,
                 0);
  };
  using Names = std::vector<std::string>;
  EXPECT_NE(runFused({{"steps", Names{"tanh"}},
                      intsAttr("args", {0}),
                      intsAttr("returns", {0})},
                     y)
                .find("unknown opcode 'tanh'"),
            std::string::npos);
  EXPECT_NE(runFused({{"steps", Names{"relu"}},
                      intsAttr("args", {1}),
                      intsAttr("returns", {0})},
                     y)
                .find("reads no operand or earlier step"),
            std::string::npos);
  EXPECT_NE(runFused({{"steps", Names{"add"}},
                      intsAttr("args", {0}),
                      intsAttr("returns", {0})},
                     y)
                .find("reads no operand or earlier step"),
            std::string::npos);
  EXPECT_NE(runFused({{"steps", Names{"relu"}},
                      intsAttr("args", {0}),
                      intsAttr("returns", {0})},
                     b)
                .find("has element type bf16 but its step computes f32"),
            std::string::npos);
  EXPECT_NE(runFused({{"steps", Names{"dropout_train"}},
                      intsAttr("args", {0}),
                      intsAttr("returns", {0})},
                     y)
                .find("lacks its 'p' or 'key'"),
            std::string::npos);
  EXPECT_NE(runFused({{"steps", Names{"relu"}}, intsAttr("args", {0})}, y)
                .find("needs 'steps', 'args' and 'returns'"),
            std::string::npos);
  Tensor wide(DType::F32, {2, 4});
  Tensor narrow({3}, {1, 2, 3});
  EXPECT_NE(runAt("var.fused_elementwise", {&narrow}, {&y},
                  {{"steps", Names{"relu"}},
                   intsAttr("args", {0}),
                   intsAttr("returns", {0})},
                  0, 0, 0)
                .find("does not broadcast"),
            std::string::npos);
}

} // namespace
