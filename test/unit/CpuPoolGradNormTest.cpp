// The CPU kernel of var.batch_norm_grad_max_pool against the pair it fuses,
// var.max_pool_grad_indices then var.batch_norm_grad, byte for byte: f32
// and bf16, every fused activation (from the recomputed pre-activation, or
// ReLU's and ReLU6's from their output), odd channel counts, sizes the
// windows do not divide (rows and columns no window covers), 1-D to 3-D,
// gradients full of ties, zeros of both signs and every window position.
#include "test/unit/CpuKernelTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace var;
using namespace var::cputest;

namespace {

/// A channels-last input (N, spatial..., C) and its tiling pool's window.
struct Case {
  std::string name;
  Shape input, kernel;
  bool writeStride; // the stride and zero padding written out
};

const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      {"vgg_2x2", {2, 8, 8, 16}, {2, 2}, false},
      {"odd_channels", {3, 6, 6, 5}, {2, 2}, true},
      {"remainder_rows_cols", {2, 7, 9, 8}, {2, 2}, false},
      {"kernel_3x3_remainder", {1, 10, 8, 3}, {3, 3}, false},
      {"kernel_2x3", {2, 6, 7, 12}, {2, 3}, true},
      {"line_3", {2, 10, 7}, {3}, false},
      {"volume_1x2x2", {1, 2, 5, 4, 8}, {1, 2, 2}, false},
      {"volume_2x2x2", {1, 5, 4, 6, 3}, {2, 2, 2}, true},
  };
  return all;
}

/// The pooled shape of `c`'s input: each spatial size over its kernel.
Shape pooledShape(const Case &c) {
  Shape out = c.input;
  for (size_t d = 0; d < c.kernel.size(); ++d)
    out[d + 1] = c.input[d + 1] / c.kernel[d];
  return out;
}

int64_t windowPositions(const Case &c) {
  int64_t positions = 1;
  for (int64_t k : c.kernel)
    positions *= k;
  return positions;
}

Attrs attributes(const Case &c, bool pool, const std::string &activation) {
  Attrs attrs = {unitAttr("channels_last")};
  if (pool) {
    attrs.push_back(intsAttr("kernel", c.kernel));
    if (c.writeStride) {
      attrs.push_back(intsAttr("stride", c.kernel));
      attrs.push_back(intsAttr("padding", Shape(c.kernel.size(), 0)));
    }
  }
  if (!activation.empty())
    attrs.push_back({"activation", activation});
  return attrs;
}

/// Values drawn from a few, so that ties and both zeros are common.
std::vector<float> tiedValues(std::mt19937 &gen, int64_t count) {
  static const float kValues[] = {0.0f,   -0.0f, 1.5f,  -2.25f,
                                  0.375f, 3.0f,  -0.5f, 7.0f};
  std::uniform_int_distribution<int> pick(0, 7);
  std::vector<float> values(static_cast<size_t>(count));
  for (float &v : values)
    v = kValues[pick(gen)];
  return values;
}

std::vector<float> uniform(std::mt19937 &gen, int64_t count, float lo,
                           float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<size_t>(count));
  for (float &v : values)
    v = dist(gen);
  return values;
}

bool sameBytes(const Tensor &a, const Tensor &b) {
  return a.view.bytes() == b.view.bytes() &&
         std::memcmp(a.view.data, b.view.data,
                     static_cast<size_t>(a.view.bytes())) == 0;
}

/// Activation `activation` ("" for none) read from its output `value`
/// (ReLU, ReLU6) or recomputed from the bias.
struct Form {
  std::string activation;
  bool fromOutput;
};

void expectFusedIsPair(const Case &c, DType dtype, const Form &form,
                       unsigned seed) {
  SCOPED_TRACE(c.name + " " + std::string(plan::getDTypeName(dtype)) + " " +
               (form.activation.empty() ? "none" : form.activation) +
               (form.fromOutput ? " (output)" : ""));
  std::mt19937 gen(seed);
  Shape pooled = pooledShape(c);
  int64_t channels = c.input.back();
  DType statType = dtype == DType::BF16 ? DType::F32 : dtype;
  Tensor x(c.input, uniform(gen, numel(c.input), -3.0f, 3.0f), dtype);
  Tensor grad(pooled, tiedValues(gen, numel(pooled)), dtype);
  Tensor indices(DType::I8, pooled);
  std::uniform_int_distribution<int> position(0, int(windowPositions(c)) - 1);
  for (int64_t i = 0; i < numel(pooled); ++i)
    static_cast<int8_t *>(indices.view.data)[i] =
        static_cast<int8_t>(position(gen));
  Tensor weight({channels}, uniform(gen, channels, 0.5f, 2.0f), statType);
  Tensor mean({channels}, uniform(gen, channels, -0.5f, 0.5f), statType);
  Tensor invstd({channels}, uniform(gen, channels, 0.5f, 1.5f), statType);
  // The fused activation's value: the forward's bias, or the ReLU's
  // output (zeros and, for ReLU6, sixes included).
  Tensor bias({channels}, uniform(gen, channels, -1.0f, 1.0f), statType);
  std::vector<float> outputs = uniform(gen, numel(c.input), -2.0f, 8.0f);
  for (float &v : outputs)
    v = v < 0 ? 0.0f : v > 6 && form.activation == "relu6" ? 6.0f : v;
  Tensor output(c.input, outputs, dtype);
  const Tensor *value = nullptr;
  if (!form.activation.empty())
    value = form.fromOutput ? &output : &bias;

  Tensor routed(dtype, c.input);
  ASSERT_EQ(run("var.max_pool_grad_indices", {&indices, &grad}, {&routed},
                attributes(c, true, "")),
            "");
  Tensor dx(dtype, c.input), dw(statType, {channels}), db(statType, {channels});
  std::vector<const Tensor *> pairIns = {&x, &routed, &weight, &mean, &invstd};
  if (value)
    pairIns.push_back(value);
  ASSERT_EQ(run("var.batch_norm_grad", pairIns, {&dx, &dw, &db},
                attributes(c, false, form.activation)),
            "");

  Tensor fdx(dtype, c.input), fdw(statType, {channels}),
      fdb(statType, {channels});
  std::vector<const Tensor *> fusedIns = {&x,      &indices, &grad,
                                          &weight, &mean,    &invstd};
  if (value)
    fusedIns.push_back(value);
  ASSERT_EQ(run("var.batch_norm_grad_max_pool", fusedIns, {&fdx, &fdw, &fdb},
                attributes(c, true, form.activation)),
            "");
  EXPECT_TRUE(sameBytes(dx, fdx)) << "input_grad";
  EXPECT_TRUE(sameBytes(dw, fdw)) << "weight_grad";
  EXPECT_TRUE(sameBytes(db, fdb)) << "bias_grad";
}

const std::vector<Form> &forms() {
  static const std::vector<Form> all = {{"", false},     {"relu", false},
                                        {"relu", true},  {"relu6", false},
                                        {"relu6", true}, {"silu", false}};
  return all;
}

TEST(CpuPoolGradNormTest, FusedIsThePairF32) {
  unsigned seed = 1;
  for (const Case &c : cases())
    for (const Form &form : forms())
      expectFusedIsPair(c, DType::F32, form, seed++);
}

TEST(CpuPoolGradNormTest, FusedIsThePairBf16) {
  unsigned seed = 100;
  for (const Case &c : cases())
    for (const Form &form : forms())
      expectFusedIsPair(c, DType::BF16, form, seed++);
}

/// Routed -0s and the rows and columns past the last whole window all get
/// dy = +0: x at its mean makes every input_grad +0 (a -0 dy would make it
/// -0).
TEST(CpuPoolGradNormTest, UncoveredPositionsGetPositiveZero) {
  Case c{"uncovered", {1, 5, 5, 8}, {2, 2}, false};
  Shape pooled = pooledShape(c);
  Tensor x(c.input, std::vector<float>(numel(c.input), 1.0f));
  Tensor grad(pooled, std::vector<float>(numel(pooled), -0.0f));
  Tensor indices(DType::I8, pooled);
  std::memset(indices.view.data, 0, static_cast<size_t>(numel(pooled)));
  Tensor ones({8}, std::vector<float>(8, 1.0f));
  Tensor dx(DType::F32, c.input), dw(DType::F32, {8}), db(DType::F32, {8});
  ASSERT_EQ(run("var.batch_norm_grad_max_pool",
                {&x, &indices, &grad, &ones, &ones, &ones}, {&dx, &dw, &db},
                attributes(c, true, "")),
            "");
  for (float v : db.values())
    EXPECT_FALSE(std::signbit(v));
  for (float v : dx.values()) {
    EXPECT_EQ(v, 0.0f);
    EXPECT_FALSE(std::signbit(v));
  }
}

TEST(CpuPoolGradNormTest, WrongOperandCountIsAMessage) {
  Case c{"count", {1, 4, 4, 8}, {2, 2}, false};
  Tensor x(DType::F32, c.input);
  std::string error = run("var.batch_norm_grad_max_pool", {&x, &x}, {},
                          attributes(c, true, ""));
  EXPECT_NE(error.find("expects 6 or 7 operands"), std::string::npos) << error;
}

} // namespace
