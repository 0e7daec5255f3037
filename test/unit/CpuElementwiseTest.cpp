// The CPU elementwise, time, reduction, dropout and loss kernels:
// forward values by hand, every backward op (composed the way the autodiff
// pass composes it) against finite differences of its forward, dropout's
// mask statistics and reproducibility, and the rounding of casts.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/CpuKernelTest.h"
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
using namespace var::cputest;

namespace {

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
// Reductions
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
