// The CPU elementwise, shape, time, reduction, dropout and loss kernels:
// forward values by hand, every backward op (composed the way the autodiff
// pass composes it) against finite differences of its forward, dropout's
// mask statistics and reproducibility, and the rounding of casts.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace var;
using namespace var::cpu;
using plan::DType;
using var::test::expectGradients;
using var::test::randomValues;

namespace {

using Shape = std::vector<int64_t>;
using Attrs = std::vector<plan::Attribute>;
using Inputs = std::vector<std::vector<float>>;

const OpTable &elementwiseOps() {
  static const OpTable table = [] {
    OpTable ops;
    registerElementwiseOps(ops);
    return ops;
  }();
  return table;
}

int64_t numel(const Shape &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

/// A tensor with its own (8-byte aligned) storage.
class Tensor {
public:
  Tensor(DType dtype, Shape shape) {
    view.dtype = dtype;
    view.shape = std::move(shape);
    storage.resize(static_cast<size_t>(view.bytes() + 7) / 8 + 1);
    view.data = storage.data();
  }
  Tensor(Shape shape, const std::vector<float> &values,
         DType dtype = DType::F32)
      : Tensor(dtype, std::move(shape)) {
    EXPECT_EQ(static_cast<int64_t>(values.size()), view.numel());
    writeFloats(values, view);
  }
  Tensor(Tensor &&) = default;
  Tensor(const Tensor &) = delete;

  std::vector<float> values() const { return readFloats(view); }
  uint16_t bitsAt(int64_t i) const {
    uint16_t bits;
    std::memcpy(&bits, static_cast<const char *>(view.data) + 2 * i, 2);
    return bits;
  }

  TensorView view;

private:
  std::vector<uint64_t> storage;
};

template <typename T> Tensor labelTensor(const std::vector<int64_t> &labels) {
  DType dtype = sizeof(T) == 8 ? DType::I64 : DType::I32;
  Tensor tensor(dtype, {static_cast<int64_t>(labels.size())});
  for (size_t i = 0; i < labels.size(); ++i)
    static_cast<T *>(tensor.view.data)[i] = static_cast<T>(labels[i]);
  return tensor;
}

plan::Attribute intAttr(std::string name, int64_t value) {
  return {std::move(name), value};
}
plan::Attribute floatAttr(std::string name, double value) {
  return {std::move(name), value};
}
plan::Attribute intsAttr(std::string name, Shape value) {
  return {std::move(name), std::move(value)};
}
plan::Attribute unitAttr(std::string name) { return {std::move(name), true}; }

/// Runs `op`; the kernel's error, "" on success.
std::string run(std::string_view op, std::vector<const Tensor *> operands,
                std::vector<Tensor *> results, Attrs attrs = {},
                uint64_t seed = 0) {
  auto it = elementwiseOps().find(op);
  if (it == elementwiseOps().end())
    return "no kernel for " + std::string(op);
  plan::Instruction inst;
  inst.op = std::string(op);
  inst.attributes = std::move(attrs);
  OpCall call{inst, {}, {}, seed};
  for (const Tensor *tensor : operands)
    call.operands.push_back(tensor->view);
  for (Tensor *tensor : results)
    call.results.push_back(tensor->view);
  return it->second(call);
}

/// Runs `op` into one result of `shape`, which must succeed.
std::vector<float> eval(std::string_view op,
                        std::vector<const Tensor *> operands, Shape shape,
                        Attrs attrs = {}, uint64_t seed = 0) {
  Tensor result(DType::F32, std::move(shape));
  EXPECT_EQ(run(op, std::move(operands), {&result}, std::move(attrs), seed), "")
      << op;
  return result.values();
}

void expectValues(const std::vector<float> &actual,
                  const std::vector<float> &expected, float tolerance = 1e-6f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tolerance) << "element " << i;
}

/// `values` scaled to [-scale, scale) and kept `gap` away from `kinks`, so
/// that a central difference never straddles a kink.
std::vector<float> awayFrom(std::vector<float> values, float scale,
                            const std::vector<float> &kinks,
                            float gap = 0.05f) {
  for (float &v : values) {
    v *= scale;
    for (float kink : kinks)
      if (std::fabs(v - kink) < gap)
        v = kink + (v < kink ? -gap : gap);
  }
  return values;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

TEST(CpuElementwise, ActivationsForward) {
  Tensor x({8}, {-4, -3, -1, 0, 0.5f, 2, 3, 7});
  expectValues(eval("var.relu", {&x}, {8}), {0, 0, 0, 0, 0.5f, 2, 3, 7});
  expectValues(eval("var.relu6", {&x}, {8}), {0, 0, 0, 0, 0.5f, 2, 3, 6});
  expectValues(eval("var.hardswish", {&x}, {8}),
               {0, 0, -1.0f / 3, 0, 0.5f * 3.5f / 6, 10.0f / 6, 3, 7});
  std::vector<float> sigmoid, silu;
  for (float v : x.values()) {
    double s = 1 / (1 + std::exp(-static_cast<double>(v)));
    sigmoid.push_back(static_cast<float>(s));
    silu.push_back(static_cast<float>(v * s));
  }
  expectValues(eval("var.sigmoid", {&x}, {8}), sigmoid);
  expectValues(eval("var.silu", {&x}, {8}), silu);

  // Far tails stay finite.
  Tensor tails({4}, {-200, -100, 100, 200});
  expectValues(eval("var.sigmoid", {&tails}, {4}), {0, 0, 1, 1});
  expectValues(eval("var.silu", {&tails}, {4}), {0, 0, 100, 200});

  Tensor nan({1}, {std::numeric_limits<float>::quiet_NaN()});
  EXPECT_TRUE(std::isnan(eval("var.relu", {&nan}, {1})[0]));
  EXPECT_TRUE(std::isnan(eval("var.relu6", {&nan}, {1})[0]));
}

TEST(CpuElementwise, ActivationGradsByHand) {
  Tensor dy({5}, {1, 2, 3, 4, 5});
  Tensor reluOut({5}, {0, 0.5f, 6, 0, 9});
  expectValues(eval("var.relu_grad", {&reluOut, &dy}, {5}), {0, 2, 3, 0, 5});
  expectValues(eval("var.relu6_grad", {&reluOut, &dy}, {5}), {0, 2, 0, 0, 0});
  Tensor sigmoidOut({5}, {0.5f, 0.25f, 0, 1, 0.9f});
  expectValues(eval("var.sigmoid_grad", {&sigmoidOut, &dy}, {5}),
               {0.25f, 2 * 0.1875f, 0, 0, 5 * 0.09f});
  Tensor x({5}, {-4, -3, 0, 3, 4});
  expectValues(eval("var.hardswish_grad", {&x, &dy}, {5}), {0, -1, 1.5f, 6, 5});
  // silu'(0) = 1/2.
  Tensor zero({1}, {0}), one({1}, {1});
  expectValues(eval("var.silu_grad", {&zero, &one}, {1}), {0.5f});
}

TEST(CpuElementwise, ActivationGradients) {
  struct Case {
    const char *forward, *backward;
    bool fromOutput; // the backward takes the forward's result
    std::vector<float> kinks;
  };
  const Case cases[] = {
      {"var.relu", "var.relu_grad", true, {0}},
      {"var.relu6", "var.relu6_grad", true, {0, 6}},
      {"var.sigmoid", "var.sigmoid_grad", true, {}},
      {"var.silu", "var.silu_grad", false, {}},
      {"var.hardswish", "var.hardswish_grad", false, {-3, 3}},
  };
  std::mt19937 rng(7);
  for (const Case &c : cases) {
    SCOPED_TRACE(c.forward);
    Shape shape = {1 + static_cast<int64_t>(rng() % 4),
                   1 + static_cast<int64_t>(rng() % 5), 7};
    size_t n = static_cast<size_t>(numel(shape));
    Inputs inputs = {awayFrom(randomValues(n, rng()), 8, c.kinks)};
    std::vector<float> w = randomValues(n, rng());
    auto forward = [&](const Inputs &in) {
      Tensor x(shape, in[0]);
      return eval(c.forward, {&x}, shape);
    };
    Tensor x(shape, inputs[0]), grad(shape, w);
    Tensor value(shape, c.fromOutput ? forward(inputs) : inputs[0]);
    std::vector<float> analytic = eval(c.backward, {&value, &grad}, shape);
    expectGradients(forward, inputs, w, {analytic}, {true});
  }
}

//===----------------------------------------------------------------------===//
// Broadcasting add and mul
//===----------------------------------------------------------------------===//

Shape broadcastShape(const Shape &a, const Shape &b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t d = 0; d < out.size(); ++d) {
    size_t fromEnd = out.size() - d;
    int64_t x = fromEnd <= a.size() ? a[a.size() - fromEnd] : 1;
    int64_t y = fromEnd <= b.size() ? b[b.size() - fromEnd] : 1;
    out[d] = x == 1 ? y : x;
  }
  return out;
}

TEST(CpuElementwise, BroadcastForward) {
  Tensor a({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor row({3}, {10, 20, 30});
  Tensor column({2, 1}, {2, 3});
  expectValues(eval("var.add", {&a, &row}, {2, 3}), {11, 22, 33, 14, 25, 36});
  expectValues(eval("var.add", {&row, &a}, {2, 3}), {11, 22, 33, 14, 25, 36});
  expectValues(eval("var.mul", {&a, &column}, {2, 3}), {2, 4, 6, 12, 15, 18});
  // (3) x (2, 1) -> (2, 3): both operands stretch.
  expectValues(eval("var.mul", {&row, &column}, {2, 3}),
               {20, 40, 60, 30, 60, 90});
  Tensor scalar(Shape{}, {0.5f});
  expectValues(eval("var.mul", {&scalar, &a}, {2, 3}),
               {0.5f, 1, 1.5f, 2, 2.5f, 3});

  Tensor bad({2}, {1, 2});
  Tensor result(DType::F32, {2, 3});
  EXPECT_NE(run("var.add", {&a, &bad}, {&result}), "");
  Tensor wrongShape(DType::F32, {3, 2});
  EXPECT_NE(run("var.add", {&a, &row}, {&wrongShape}), "");
}

/// The autodiff pass's sumToShape (Gradients.cpp): reduce_sum over the
/// stretched dimensions with keep_dims, then reshape to the operand.
std::vector<float> sumToShape(const Tensor &grad, const Shape &target) {
  const Shape &shape = grad.view.shape;
  if (shape == target)
    return grad.values();
  size_t extra = shape.size() - target.size();
  Shape dims, kept = shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if (d < extra || (target[d - extra] == 1 && shape[d] != 1)) {
      dims.push_back(static_cast<int64_t>(d));
      kept[d] = 1;
    }
  Tensor summed(kept, eval("var.reduce_sum", {&grad}, kept,
                           {intsAttr("dims", dims), unitAttr("keep_dims")}));
  return eval("var.reshape", {&summed}, target, {intsAttr("shape", target)});
}

TEST(CpuElementwise, BroadcastGradients) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 24; ++trial) {
    // A random result shape; each operand keeps a random suffix of it with
    // some dimensions set to 1.
    size_t rank = 1 + rng() % 4;
    Shape full(rank);
    for (int64_t &d : full)
      d = 2 + rng() % 3;
    auto operandShape = [&] {
      Shape shape(full.end() - rng() % (rank + 1), full.end());
      for (int64_t &d : shape)
        if (rng() % 3 == 0)
          d = 1;
      return shape;
    };
    Shape shapes[2] = {operandShape(), operandShape()};
    Shape out = broadcastShape(shapes[0], shapes[1]);
    std::string op = trial % 2 ? "var.mul" : "var.add";
    SCOPED_TRACE(op + " trial " + std::to_string(trial));

    Inputs inputs = {randomValues(numel(shapes[0]), rng()),
                     randomValues(numel(shapes[1]), rng())};
    std::vector<float> w = randomValues(numel(out), rng());
    auto forward = [&](const Inputs &in) {
      Tensor lhs(shapes[0], in[0]), rhs(shapes[1], in[1]);
      return eval(op, {&lhs, &rhs}, out);
    };
    Tensor grad(out, w);
    Inputs analytic(2);
    for (int i = 0; i < 2; ++i) {
      if (op == "var.add") {
        analytic[i] = sumToShape(grad, shapes[i]);
        continue;
      }
      Tensor other(shapes[1 - i], inputs[1 - i]);
      Tensor product(out, eval("var.mul", {&grad, &other}, out));
      analytic[i] = sumToShape(product, shapes[i]);
    }
    expectGradients(forward, inputs, w, analytic, {true, true});
  }
}

//===----------------------------------------------------------------------===//
// Casts and fills
//===----------------------------------------------------------------------===//

float fromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

TEST(CpuElementwise, CastToBf16RoundsToNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> values = {
      1.0f + 0x1p-8f,            // tie, 1 is even: down
      1.0f + 3 * 0x1p-8f,        // tie, 1 + 2^-7 is odd: up to 1 + 2^-6
      1.0f + 0x1p-8f + 0x1p-20f, // above the tie: up
      -(1.0f + 0x1p-8f),         // sign kept
      0.1f,
      inf,
      -inf,
      std::numeric_limits<float>::quiet_NaN(),
      fromBits(0x7f7fffff), // FLT_MAX rounds past bf16's largest
      fromBits(0x00000001), // the smallest subnormal rounds to 0
  };
  std::vector<uint16_t> expected = {0x3f80, 0x3f82, 0x3f81, 0xbf80, 0x3dcd,
                                    0x7f80, 0xff80, 0,      0x7f80, 0x0000};
  Tensor x({static_cast<int64_t>(values.size())}, values);
  Tensor y(DType::BF16, x.view.shape);
  ASSERT_EQ(run("var.cast", {&x}, {&y}), "");
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      EXPECT_TRUE(std::isnan(bf16ToFloat(y.bitsAt(i))));
      continue;
    }
    EXPECT_EQ(y.bitsAt(i), expected[i]) << "element " << i;
  }
  // And back: widening is exact.
  Tensor back(DType::F32, x.view.shape);
  ASSERT_EQ(run("var.cast", {&y}, {&back}), "");
  std::vector<float> wide = back.values();
  EXPECT_EQ(wide[0], 1.0f);
  EXPECT_EQ(wide[1], 1.0f + 0x1p-6f);
  EXPECT_EQ(wide[5], inf);
  EXPECT_TRUE(std::isnan(wide[7]));
}

TEST(CpuElementwise, CastBetweenNarrowTypes) {
  Tensor x({5}, {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65520.0f,
                 std::numeric_limits<float>::quiet_NaN(), 1.0f + 0x1p-7f});
  Tensor half(DType::F16, {5});
  ASSERT_EQ(run("var.cast", {&x}, {&half}), "");
  EXPECT_EQ(half.bitsAt(0), 0x3c00); // tie to even: 1
  EXPECT_EQ(half.bitsAt(1), 0x3c02); // tie to even: up
  EXPECT_EQ(half.bitsAt(2), 0x7c00); // overflows to inf
  EXPECT_TRUE(std::isnan(f16ToFloat(half.bitsAt(3))));
  // f16 -> bf16: 1 + 2^-7 is exact in both; 1 + 2^-9 rounds to 1.
  Tensor bf16(DType::BF16, {5});
  ASSERT_EQ(run("var.cast", {&half}, {&bf16}), "");
  EXPECT_EQ(bf16.bitsAt(0), 0x3f80);
  EXPECT_EQ(bf16.bitsAt(1), 0x3f80);
  EXPECT_EQ(bf16.bitsAt(2), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16ToFloat(bf16.bitsAt(3))));
  EXPECT_EQ(bf16.bitsAt(4), 0x3f81);
  Tensor wrong(DType::F16, {4});
  EXPECT_NE(run("var.cast", {&x}, {&wrong}), "");
}

TEST(CpuElementwise, CastGradient) {
  // f32 -> f16; the gradient is the f16 result gradient cast back to f32.
  Shape shape = {3, 4, 5};
  Inputs inputs = {randomValues(60, 3)};
  std::vector<float> w = randomValues(60, 4);
  auto forward = [&](const Inputs &in) {
    Tensor x(shape, in[0]);
    Tensor y(DType::F16, shape);
    EXPECT_EQ(run("var.cast", {&x}, {&y}), "");
    return y.values();
  };
  Tensor grad(shape, w, DType::F16);
  std::vector<float> analytic = eval("var.cast", {&grad}, shape);
  // f16 steps of 2^-11 near 1 need a wide difference.
  expectGradients(forward, inputs, w, {analytic}, {true}, /*eps=*/0.1);
}

TEST(CpuElementwise, Fill) {
  expectValues(eval("var.fill", {}, {2, 3}, {floatAttr("value", 2.5)}),
               std::vector<float>(6, 2.5f));
  Tensor bf16(DType::BF16, {4});
  ASSERT_EQ(run("var.fill", {}, {&bf16}, {floatAttr("value", 0.1)}), "");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(bf16.bitsAt(i), 0x3dcd);
  Tensor result(DType::F32, {2});
  EXPECT_NE(run("var.fill", {}, {&result}), "");
}

//===----------------------------------------------------------------------===//
// Reductions, slices, concatenation and reshapes
//===----------------------------------------------------------------------===//

TEST(CpuElementwise, ReduceSum) {
  Tensor a({2, 3}, {1, 2, 3, 4, 5, 6});
  expectValues(eval("var.reduce_sum", {&a}, {3}, {intsAttr("dims", {0})}),
               {5, 7, 9});
  expectValues(eval("var.reduce_sum", {&a}, {2, 1},
                    {intsAttr("dims", {1}), unitAttr("keep_dims")}),
               {6, 15});
  expectValues(eval("var.reduce_sum", {&a}, {}, {intsAttr("dims", {0, 1})}),
               {21});

  // (2, 3, 4) of 0..23 over dims 0 and 2, kept.
  std::vector<float> iota(24);
  for (int i = 0; i < 24; ++i)
    iota[i] = static_cast<float>(i);
  Tensor b({2, 3, 4}, iota);
  std::vector<float> expected(3, 0);
  for (int i = 0; i < 24; ++i)
    expected[(i / 4) % 3] += iota[i];
  expectValues(eval("var.reduce_sum", {&b}, {1, 3, 1},
                    {intsAttr("dims", {0, 2}), unitAttr("keep_dims")}),
               expected);

  Tensor result(DType::F32, {3});
  EXPECT_NE(run("var.reduce_sum", {&b}, {&result}, {intsAttr("dims", {2, 0})}),
            "");
  EXPECT_NE(run("var.reduce_sum", {&a}, {&result}, {intsAttr("dims", {3})}),
            "");
  EXPECT_NE(run("var.reduce_sum", {&a}, {&result}, {intsAttr("dims", {1})}),
            ""); // the result would be (2)
}

TEST(CpuElementwise, Slice) {
  Tensor a({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  Attrs middle = {intAttr("axis", 1), intAttr("offset", 1), intAttr("size", 2)};
  expectValues(eval("var.slice", {&a}, {2, 2}, middle), {1, 2, 5, 6});
  expectValues(
      eval("var.slice", {&a}, {2, 2},
           {intAttr("axis", -1), intAttr("offset", 1), intAttr("size", 2)}),
      {1, 2, 5, 6});
  expectValues(
      eval("var.slice", {&a}, {1, 4},
           {intAttr("axis", 0), intAttr("offset", 1), intAttr("size", 1)}),
      {4, 5, 6, 7});

  // bf16 moves bit for bit.
  Tensor half({2, 4}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f},
              DType::BF16);
  Tensor halfSlice(DType::BF16, {2, 2});
  ASSERT_EQ(run("var.slice", {&half}, {&halfSlice}, middle), "");
  EXPECT_EQ(halfSlice.bitsAt(3), half.bitsAt(6));

  Tensor result(DType::F32, {2, 2});
  EXPECT_NE(run("var.slice", {&a}, {&result},
                {intAttr("axis", 1), intAttr("offset", 3), intAttr("size", 2)}),
            "");
  EXPECT_NE(run("var.slice", {&a}, {&result},
                {intAttr("axis", 2), intAttr("offset", 0), intAttr("size", 2)}),
            "");
  EXPECT_NE(run("var.slice", {&a}, {&result}, {intAttr("axis", 1)}), "");
}

TEST(CpuElementwise, Concat) {
  Tensor a({2, 1}, {1, 2});
  Tensor b({2, 2}, {3, 4, 5, 6});
  expectValues(eval("var.concat", {&a, &b}, {2, 3}, {intAttr("axis", 1)}),
               {1, 3, 4, 2, 5, 6});
  expectValues(eval("var.concat", {&b, &a, &a}, {2, 4}, {intAttr("axis", -1)}),
               {3, 4, 1, 1, 5, 6, 2, 2});
  Tensor c({1, 2}, {7, 8});
  expectValues(eval("var.concat", {&b, &c}, {3, 2}, {intAttr("axis", 0)}),
               {3, 4, 5, 6, 7, 8});

  Tensor result(DType::F32, {2, 3});
  EXPECT_NE(run("var.concat", {&a, &c}, {&result}, {intAttr("axis", 1)}), "");
  EXPECT_NE(run("var.concat", {&a, &a}, {&result}, {intAttr("axis", 1)}), "");
  EXPECT_NE(run("var.concat", {&a, &b}, {&result}), "");
}

TEST(CpuElementwise, ConcatGradientIsSlice) {
  std::mt19937 rng(5);
  for (int64_t axis : {0, 1, 2, -1, -2}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    size_t dim = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    Shape base = {2, 3, 2};
    std::vector<Shape> shapes;
    Shape out = base;
    out[dim] = 0;
    for (int k = 0; k < 3; ++k) {
      Shape shape = base;
      shape[dim] = 1 + rng() % 3;
      out[dim] += shape[dim];
      shapes.push_back(shape);
    }
    Inputs inputs;
    for (const Shape &shape : shapes)
      inputs.push_back(randomValues(numel(shape), rng()));
    std::vector<float> w = randomValues(numel(out), rng());
    auto forward = [&](const Inputs &in) {
      std::vector<Tensor> tensors;
      std::vector<const Tensor *> operands;
      for (size_t k = 0; k < in.size(); ++k)
        tensors.emplace_back(shapes[k], in[k]);
      for (const Tensor &tensor : tensors)
        operands.push_back(&tensor);
      return eval("var.concat", operands, out, {intAttr("axis", axis)});
    };
    // Gradients.cpp slices the result gradient with the forward's axis.
    Tensor grad(out, w);
    Inputs analytic;
    int64_t offset = 0;
    for (const Shape &shape : shapes) {
      analytic.push_back(eval("var.slice", {&grad}, shape,
                              {intAttr("axis", axis), intAttr("offset", offset),
                               intAttr("size", shape[dim])}));
      offset += shape[dim];
    }
    expectGradients(forward, inputs, w, analytic, {true, true, true});
  }
}

TEST(CpuElementwise, Reshapes) {
  std::vector<float> iota(24);
  for (int i = 0; i < 24; ++i)
    iota[i] = static_cast<float>(i);
  Tensor x({2, 3, 4}, iota);
  expectValues(eval("var.reshape", {&x}, {4, 6}, {intsAttr("shape", {-1, 6})}),
               iota);
  expectValues(eval("var.flatten", {&x}, {2, 12}), iota);
  expectValues(eval("var.flatten", {&x}, {6, 4},
                    {intAttr("start_dim", 0), intAttr("end_dim", 1)}),
               iota);
  expectValues(eval("var.flatten", {&x}, {2, 12},
                    {intAttr("start_dim", -2), intAttr("end_dim", -1)}),
               iota);
  expectValues(eval("var.fold_time", {&x}, {6, 4}), iota);
  expectValues(
      eval("var.unfold_time", {&x}, {1, 2, 3, 4}, {intAttr("frames", 2)}),
      iota);
  expectValues(eval("var.dropout", {&x}, {2, 3, 4}, {floatAttr("p", 0.5)}),
               iota);

  Tensor wrong(DType::F32, {4, 6});
  EXPECT_NE(run("var.reshape", {&x}, {&wrong}, {intsAttr("shape", {6, -1})}),
            "");
  EXPECT_NE(run("var.flatten", {&x}, {&wrong}), "");
  EXPECT_NE(run("var.fold_time", {&x}, {&wrong}), "");
  EXPECT_NE(run("var.unfold_time", {&x}, {&wrong}, {intAttr("frames", 4)}), "");
  Tensor wrongType(DType::BF16, {4, 6});
  EXPECT_NE(run("var.reshape", {&x}, {&wrongType}, {intsAttr("shape", {4, 6})}),
            "");
}

TEST(CpuElementwise, ReshapeGradients) {
  // Each forward against the backward Gradients.cpp builds for it.
  struct Case {
    const char *forward;
    Attrs attrs;
    Shape in, out;
    const char *backward;
    Attrs backwardAttrs;
  };
  const Case cases[] = {
      {"var.reshape",
       {intsAttr("shape", {-1, 4})},
       {2, 3, 4},
       {6, 4},
       "var.reshape",
       {intsAttr("shape", {2, 3, 4})}},
      {"var.flatten",
       {intAttr("start_dim", 1), intAttr("end_dim", 2)},
       {2, 3, 2, 2},
       {2, 6, 2},
       "var.reshape",
       {intsAttr("shape", {2, 3, 2, 2})}},
      {"var.fold_time",
       {},
       {2, 3, 4},
       {6, 4},
       "var.unfold_time",
       {intAttr("frames", 3)}},
      {"var.unfold_time",
       {intAttr("frames", 2)},
       {6, 4},
       {3, 2, 4},
       "var.fold_time",
       {}},
  };
  uint32_t seed = 21;
  for (const Case &c : cases) {
    SCOPED_TRACE(c.forward);
    Inputs inputs = {randomValues(numel(c.in), ++seed)};
    std::vector<float> w = randomValues(numel(c.out), ++seed);
    auto forward = [&](const Inputs &in) {
      Tensor x(c.in, in[0]);
      return eval(c.forward, {&x}, c.out, c.attrs);
    };
    Tensor grad(c.out, w);
    std::vector<float> analytic =
        eval(c.backward, {&grad}, c.in, c.backwardAttrs);
    expectGradients(forward, inputs, w, {analytic}, {true});
  }
}

//===----------------------------------------------------------------------===//
// Transpose
//===----------------------------------------------------------------------===//

std::string describePermutation(const Shape &shape) {
  std::string text = "permutation";
  for (int64_t d : shape)
    text += " " + std::to_string(d);
  return text;
}

/// torch.permute by definition: result element `index` reads input element
/// index[i] at dimension permutation[i].
std::vector<float> permuteReference(const std::vector<float> &values,
                                    const Shape &shape,
                                    const Shape &permutation) {
  size_t rank = shape.size();
  Shape out(rank), inStrides(rank, 1);
  for (size_t d = rank; d-- > 1;)
    inStrides[d - 1] = inStrides[d] * shape[d];
  for (size_t i = 0; i < rank; ++i)
    out[i] = shape[permutation[i]];
  std::vector<float> result;
  for (int64_t flat = 0; flat < numel(out); ++flat) {
    int64_t rest = flat, offset = 0;
    for (size_t i = rank; i-- > 0;) {
      offset += (rest % out[i]) * inStrides[permutation[i]];
      rest /= out[i];
    }
    result.push_back(values[offset]);
  }
  return result;
}

Shape permuted(const Shape &shape, const Shape &permutation) {
  Shape out;
  for (int64_t d : permutation)
    out.push_back(shape[d]);
  return out;
}

TEST(CpuElementwise, Transpose) {
  Tensor m({2, 3}, {0, 1, 2, 3, 4, 5});
  expectValues(
      eval("var.transpose", {&m}, {3, 2}, {intsAttr("permutation", {1, 0})}),
      {0, 3, 1, 4, 2, 5});
  expectValues(
      eval("var.transpose", {&m}, {2, 3}, {intsAttr("permutation", {0, 1})}),
      {0, 1, 2, 3, 4, 5});

  // A clip (B, T, C, H, W) to (B, C, T, H, W): H and W stay in place and move
  // as one block; a 3-cycle and a full reversal move every element alone.
  struct Case {
    Shape shape, permutation;
  };
  const Case cases[] = {{{2, 4, 3, 2, 5}, {0, 2, 1, 3, 4}},
                        {{2, 3, 4}, {2, 0, 1}},
                        {{2, 3, 4}, {1, 2, 0}},
                        {{3, 1, 2, 4}, {3, 2, 1, 0}},
                        {{2, 3, 4}, {1, 0, 2}}};
  uint32_t seed = 40;
  for (const Case &c : cases) {
    SCOPED_TRACE(describePermutation(c.permutation));
    std::vector<float> values = randomValues(numel(c.shape), ++seed);
    Tensor x(c.shape, values);
    expectValues(eval("var.transpose", {&x}, permuted(c.shape, c.permutation),
                      {intsAttr("permutation", c.permutation)}),
                 permuteReference(values, c.shape, c.permutation), 0.0f);
  }

  // bf16 moves bit for bit.
  Tensor half({2, 3}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, DType::BF16);
  Tensor halfT(DType::BF16, {3, 2});
  ASSERT_EQ(run("var.transpose", {&half}, {&halfT},
                {intsAttr("permutation", {1, 0})}),
            "");
  EXPECT_EQ(halfT.bitsAt(1), half.bitsAt(3));
  EXPECT_EQ(halfT.bitsAt(4), half.bitsAt(2));

  Tensor x(DType::F32, {2, 3, 4});
  Tensor result(DType::F32, {4, 2, 3});
  EXPECT_NE(run("var.transpose", {&x}, {&result},
                {intsAttr("permutation", {2, 1, 0})}),
            ""); // the result would be (4, 3, 2)
  EXPECT_NE(run("var.transpose", {&x}, {&result},
                {intsAttr("permutation", {2, 0, 0})}),
            "");
  EXPECT_NE(run("var.transpose", {&x}, {&result},
                {intsAttr("permutation", {2, 0, 3})}),
            "");
  EXPECT_NE(
      run("var.transpose", {&x}, {&result}, {intsAttr("permutation", {2, 0})}),
      "");
  EXPECT_NE(run("var.transpose", {&x}, {&result}), "");
  Tensor wrongType(DType::BF16, {4, 2, 3});
  EXPECT_NE(run("var.transpose", {&x}, {&wrongType},
                {intsAttr("permutation", {2, 0, 1})}),
            "");
}

TEST(CpuElementwise, TransposeGradientIsInverseTranspose) {
  // Gradients.cpp transposes the result gradient by the inverse permutation.
  const Shape shape = {2, 3, 4, 2};
  const Shape permutations[] = {
      {0, 2, 1, 3}, {3, 0, 1, 2}, {1, 2, 3, 0}, {3, 2, 1, 0}};
  uint32_t seed = 60;
  for (const Shape &permutation : permutations) {
    SCOPED_TRACE(describePermutation(permutation));
    Shape out = permuted(shape, permutation);
    Shape inverse(permutation.size());
    for (size_t i = 0; i < permutation.size(); ++i)
      inverse[permutation[i]] = static_cast<int64_t>(i);
    Inputs inputs = {randomValues(numel(shape), ++seed)};
    std::vector<float> w = randomValues(numel(out), ++seed);
    auto forward = [&](const Inputs &in) {
      Tensor x(shape, in[0]);
      return eval("var.transpose", {&x}, out,
                  {intsAttr("permutation", permutation)});
    };
    Tensor grad(out, w);
    std::vector<float> analytic = eval("var.transpose", {&grad}, shape,
                                       {intsAttr("permutation", inverse)});
    expectGradients(forward, inputs, w, {analytic}, {true});
  }
}

//===----------------------------------------------------------------------===//
// Time
//===----------------------------------------------------------------------===//

TEST(CpuElementwise, MeanTime) {
  // (B=2, T=3, 2)
  Tensor x({2, 3, 2}, {1, 2, 3, 4, 5, 6, 0, 0, 0, 3, 6, 9});
  expectValues(eval("var.mean_time", {&x}, {2, 2}), {3, 4, 2, 4});
  Tensor grad({2, 2}, {3, 6, 9, 12});
  expectValues(
      eval("var.mean_time_grad", {&grad}, {2, 3, 2}, {intAttr("frames", 3)}),
      {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  Tensor wrong(DType::F32, {2, 2, 2});
  EXPECT_NE(
      run("var.mean_time_grad", {&grad}, {&wrong}, {intAttr("frames", 3)}), "");
  EXPECT_NE(run("var.mean_time", {&x}, {&wrong}), "");
}

TEST(CpuElementwise, MeanTimeGradient) {
  for (Shape shape : {Shape{2, 5}, Shape{3, 4, 2, 3}}) {
    Shape out = shape;
    out.erase(out.begin() + 1);
    Inputs inputs = {randomValues(numel(shape), 31)};
    std::vector<float> w = randomValues(numel(out), 32);
    auto forward = [&](const Inputs &in) {
      Tensor x(shape, in[0]);
      return eval("var.mean_time", {&x}, out);
    };
    Tensor grad(out, w);
    std::vector<float> analytic = eval("var.mean_time_grad", {&grad}, shape,
                                       {intAttr("frames", shape[1])});
    expectGradients(forward, inputs, w, {analytic}, {true});
  }
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

Attrs dropoutAttrs(double p, int64_t key) {
  return {intAttr("key", key), floatAttr("p", p)};
}

TEST(CpuElementwise, DropoutMask) {
  const int64_t n = 100000;
  const double p = 0.3;
  const uint64_t seed = 0x1234;
  Tensor ones({n}, std::vector<float>(n, 1.0f));
  std::vector<float> y =
      eval("var.dropout_train", {&ones}, {n}, dropoutAttrs(p, 7), seed);
  const float scale = static_cast<float>(1 / (1 - p));
  int64_t dropped = 0;
  for (float v : y) {
    if (v == 0)
      ++dropped;
    else
      EXPECT_EQ(v, scale);
  }
  // Binomial: the standard deviation of the rate is about 0.0015.
  EXPECT_NEAR(static_cast<double>(dropped) / n, p, 0.01);
  // The mask is the contract's hash of (seed, key, index), which every
  // backend draws alike.
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i] != 0, dropoutKeep(seed, 7, i, p)) << "element " << i;

  // The backward regenerates the same mask and scale.
  std::vector<float> g =
      eval("var.dropout_grad", {&ones}, {n}, dropoutAttrs(p, 7), seed);
  EXPECT_EQ(g, y);

  // Bit-identical on repeat.
  Tensor first(DType::F32, {n}), second(DType::F32, {n});
  Tensor values({n}, randomValues(n, 9));
  ASSERT_EQ(
      run("var.dropout_train", {&values}, {&first}, dropoutAttrs(p, 7), seed),
      "");
  ASSERT_EQ(
      run("var.dropout_train", {&values}, {&second}, dropoutAttrs(p, 7), seed),
      "");
  EXPECT_EQ(std::memcmp(first.view.data, second.view.data, n * 4), 0);

  // Another key or another step's seed draws another mask.
  auto differing = [&](const std::vector<float> &other) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i)
      count += (other[i] == 0) != (y[i] == 0);
    return count;
  };
  // Independent masks differ in 2 p (1 - p) = 42% of elements.
  EXPECT_GT(differing(eval("var.dropout_train", {&ones}, {n},
                           dropoutAttrs(p, 8), seed)),
            n / 3);
  EXPECT_GT(differing(eval("var.dropout_train", {&ones}, {n},
                           dropoutAttrs(p, 7), seed + 1)),
            n / 3);

  // p = 0 keeps everything; p outside [0, 1) and a missing key are errors.
  expectValues(
      eval("var.dropout_train", {&values}, {n}, dropoutAttrs(0, 7), seed),
      values.values(), 0);
  Tensor result(DType::F32, {n});
  EXPECT_NE(run("var.dropout_train", {&values}, {&result}, dropoutAttrs(1, 7)),
            "");
  EXPECT_NE(
      run("var.dropout_grad", {&values}, {&result}, {floatAttr("p", 0.5)}), "");
}

TEST(CpuElementwise, DropoutGradient) {
  Shape shape = {4, 5, 6};
  Inputs inputs = {randomValues(120, 41)};
  std::vector<float> w = randomValues(120, 42);
  Attrs attrs = dropoutAttrs(0.4, 3);
  auto forward = [&](const Inputs &in) {
    Tensor x(shape, in[0]);
    return eval("var.dropout_train", {&x}, shape, attrs, 99);
  };
  Tensor grad(shape, w);
  std::vector<float> analytic =
      eval("var.dropout_grad", {&grad}, shape, attrs, 99);
  expectGradients(forward, inputs, w, {analytic}, {true}, 1e-2, 2e-2, 2e-3,
                  /*maxChecks=*/120);
}

//===----------------------------------------------------------------------===//
// Softmax cross-entropy
//===----------------------------------------------------------------------===//

/// PyTorch's F.cross_entropy(label_smoothing=s), naively in double.
double referenceCrossEntropy(const std::vector<float> &logits,
                             const std::vector<int64_t> &labels,
                             int64_t classes, double smoothing) {
  int64_t rows = static_cast<int64_t>(labels.size());
  double total = 0;
  for (int64_t n = 0; n < rows; ++n) {
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c)
      sum += std::exp(static_cast<double>(logits[n * classes + c]));
    for (int64_t c = 0; c < classes; ++c) {
      double prob =
          std::exp(static_cast<double>(logits[n * classes + c])) / sum;
      double target = smoothing / static_cast<double>(classes) +
                      (c == labels[n] ? 1 - smoothing : 0);
      total -= target * std::log(prob);
    }
  }
  return total / static_cast<double>(rows);
}

TEST(CpuElementwise, CrossEntropyByHand) {
  // Uniform logits: log C whatever the smoothing.
  Tensor zeros({1, 4}, {0, 0, 0, 0});
  Tensor two = labelTensor<int64_t>({2});
  for (double s : {0.0, 0.2})
    expectValues(eval("var.softmax_cross_entropy", {&zeros, &two}, {},
                      {floatAttr("label_smoothing", s)}),
                 {static_cast<float>(std::log(4.0))});
  // p(label 1) = 3/4.
  Tensor pair({1, 2}, {0, static_cast<float>(std::log(3.0))});
  Tensor one = labelTensor<int32_t>({1});
  expectValues(eval("var.softmax_cross_entropy", {&pair, &one}, {}),
               {static_cast<float>(-std::log(0.75))});
  // Huge logits stay finite (the max is subtracted).
  Tensor huge({2, 2}, {1000, 0, 1000, 0});
  Tensor labels = labelTensor<int64_t>({0, 1});
  expectValues(eval("var.softmax_cross_entropy", {&huge, &labels}, {}), {500},
               1e-3f);
  std::vector<float> grad = [&] {
    Tensor lossGrad(Shape{}, {1});
    return eval("var.softmax_cross_entropy_grad", {&huge, &labels, &lossGrad},
                {2, 2});
  }();
  expectValues(grad, {0, 0, 0.5f, -0.5f});
}

TEST(CpuElementwise, CrossEntropyMatchesReference) {
  const int64_t rows = 6, classes = 5;
  std::vector<float> logits = randomValues(rows * classes, 51);
  for (float &v : logits)
    v *= 4;
  std::vector<int64_t> labelValues = {0, 4, 2, 2, 1, 3};
  Tensor x({rows, classes}, logits);
  Tensor labels64 = labelTensor<int64_t>(labelValues);
  Tensor labels32 = labelTensor<int32_t>(labelValues);
  for (double s : {0.0, 0.1, 0.5}) {
    SCOPED_TRACE("label_smoothing " + std::to_string(s));
    Attrs attrs;
    if (s != 0)
      attrs.push_back(floatAttr("label_smoothing", s));
    float expected = static_cast<float>(
        referenceCrossEntropy(logits, labelValues, classes, s));
    for (const Tensor *labels : {&labels64, &labels32})
      EXPECT_NEAR(eval("var.softmax_cross_entropy", {&x, labels}, {}, attrs)[0],
                  expected, 1e-6 * std::fabs(expected) + 1e-6);
  }
  // bf16 logits, f32 loss.
  Tensor narrow({rows, classes}, logits, DType::BF16);
  EXPECT_NEAR(eval("var.softmax_cross_entropy", {&narrow, &labels64}, {})[0],
              referenceCrossEntropy(narrow.values(), labelValues, classes, 0),
              1e-5);
}

TEST(CpuElementwise, CrossEntropyGradient) {
  const int64_t rows = 4, classes = 7;
  std::vector<int64_t> labelValues = {6, 0, 3, 3};
  Tensor labels = labelTensor<int64_t>(labelValues);
  const float lossGradValue = 0.7f;
  Tensor lossGrad(Shape{}, {lossGradValue});
  for (double s : {0.0, 0.15}) {
    SCOPED_TRACE("label_smoothing " + std::to_string(s));
    Attrs attrs = {floatAttr("label_smoothing", s)};
    Inputs inputs = {randomValues(rows * classes, 61)};
    for (float &v : inputs[0])
      v *= 3;
    auto forward = [&](const Inputs &in) {
      Tensor x({rows, classes}, in[0]);
      return eval("var.softmax_cross_entropy", {&x, &labels}, {}, attrs);
    };
    Tensor x({rows, classes}, inputs[0]);
    std::vector<float> analytic =
        eval("var.softmax_cross_entropy_grad", {&x, &labels, &lossGrad},
             {rows, classes}, attrs);
    expectGradients(forward, inputs, {lossGradValue}, {analytic}, {true}, 1e-2,
                    2e-2, 2e-4, /*maxChecks=*/rows * classes);
  }
}

TEST(CpuElementwise, CrossEntropyRejectsBadLabels) {
  Tensor x({2, 5}, std::vector<float>(10, 0));
  Tensor loss(DType::F32, {});
  Tensor lossGrad(Shape{}, {1});
  Tensor grad(DType::F32, {2, 5});
  for (int64_t bad : {5, -1, 1000000}) {
    Tensor labels = labelTensor<int64_t>({1, bad});
    std::string error =
        run("var.softmax_cross_entropy", {&x, &labels}, {&loss});
    EXPECT_NE(error.find("label " + std::to_string(bad)), std::string::npos)
        << error;
    EXPECT_NE(error.find("5"), std::string::npos) << error;
    error = run("var.softmax_cross_entropy_grad", {&x, &labels, &lossGrad},
                {&grad});
    EXPECT_NE(error.find("label " + std::to_string(bad)), std::string::npos)
        << error;
  }
  // Float labels and mismatched batches are errors too.
  Tensor floatLabels({2}, {0, 1});
  EXPECT_NE(run("var.softmax_cross_entropy", {&x, &floatLabels}, {&loss}), "");
  Tensor three = labelTensor<int64_t>({0, 1, 2});
  EXPECT_NE(run("var.softmax_cross_entropy", {&x, &three}, {&loss}), "");
}

//===----------------------------------------------------------------------===//
// Calls the executor should never make
//===----------------------------------------------------------------------===//

TEST(CpuElementwise, RejectsMalformedCalls) {
  Tensor x({2}, {1, 2});
  Tensor result(DType::F32, {2});
  EXPECT_NE(run("var.relu", {&x, &x}, {&result}), "");
  EXPECT_NE(run("var.relu", {&x}, {}), "");
  Tensor ints = labelTensor<int64_t>({1, 2});
  EXPECT_NE(run("var.sigmoid", {&ints}, {&result}), "");
  Tensor longer(DType::F32, {3});
  EXPECT_NE(run("var.relu", {&x}, {&longer}), "");
  EXPECT_NE(run("var.relu_grad", {&x, &longer}, {&result}), "");
}

} // namespace
