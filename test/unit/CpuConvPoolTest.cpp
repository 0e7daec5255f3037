// The CPU kernels of var.conv, the pools and var.linear: forwards against
// hand-computed values and a naive N-d reference, every backward against
// finite differences of its forward over random shapes and attributes,
// bf16/f16 rounding, and shape errors reported as messages.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace var::cpu {
namespace {

using Shape = std::vector<int64_t>;
using Floats = std::vector<float>;
using Attrs = std::vector<plan::Attribute>;

struct Input {
  Shape shape;
  Floats values;
};

int64_t numel(const Shape &shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<>());
}

plan::Attribute ints(const char *name, Shape values) {
  return {name, std::move(values)};
}

/// Runs `op`'s registered kernel on tensors of `dtype` (operands rounded to
/// it) and returns its result as f32. The kernel's message goes to `error`
/// when given, else must be empty.
Floats run(const std::string &op, const Attrs &attrs,
           const std::vector<Input> &operands, const Shape &resultShape,
           plan::DType dtype = plan::DType::F32, std::string *error = nullptr) {
  static const OpTable table = [] {
    OpTable ops;
    registerConvPoolOps(ops);
    return ops;
  }();
  plan::Instruction inst;
  inst.op = op;
  inst.attributes = attrs;
  OpCall call{inst, {}, {}, 0};
  std::vector<std::vector<char>> storage;
  storage.reserve(operands.size() + 1);
  auto makeTensor = [&](const Shape &shape) {
    TensorView view{dtype, shape, nullptr};
    storage.emplace_back(static_cast<size_t>(view.bytes()));
    view.data = storage.back().data();
    return view;
  };
  for (const Input &operand : operands) {
    EXPECT_EQ(numel(operand.shape), static_cast<int64_t>(operand.values.size()))
        << op;
    call.operands.push_back(makeTensor(operand.shape));
    writeFloats(operand.values, call.operands.back());
  }
  call.results.push_back(makeTensor(resultShape));
  std::string message = table.at(op)(call);
  if (error)
    *error = message;
  else
    EXPECT_EQ(message, "") << op;
  return readFloats(call.results[0]);
}

void expectNear(const Floats &actual, const Floats &expected,
                double tol = 1e-4) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tol * (1 + std::fabs(expected[i])))
        << "element " << i;
}

//===----------------------------------------------------------------------===//
// Naive N-d references
//===----------------------------------------------------------------------===//

/// The multi-index of row-major position `flat` in `shape`.
Shape unravel(int64_t flat, const Shape &shape) {
  Shape index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

int64_t ravel(const Shape &index, const Shape &shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + index[d];
  return flat;
}

struct ConvCase {
  Shape input, weight;
  bool bias = false;
  Shape stride, padding, dilation;
  int64_t groups = 1;
  /// Which window attributes the plan spells out (absent: the default).
  bool spellDefaults = true;

  Shape outputShape() const {
    Shape out = {input[0], weight[0]};
    for (size_t d = 0; d + 2 < input.size(); ++d)
      out.push_back((input[2 + d] + 2 * padding[d] -
                     dilation[d] * (weight[2 + d] - 1) - 1) /
                        stride[d] +
                    1);
    return out;
  }
  Attrs attrs() const {
    Attrs out;
    auto isAll = [](const Shape &values, int64_t v) {
      return std::all_of(values.begin(), values.end(),
                         [&](int64_t x) { return x == v; });
    };
    if (spellDefaults || !isAll(dilation, 1))
      out.push_back(ints("dilation", dilation));
    if (spellDefaults || groups != 1)
      out.push_back({"groups", groups});
    if (spellDefaults || !isAll(padding, 0))
      out.push_back(ints("padding", padding));
    if (spellDefaults || !isAll(stride, 1))
      out.push_back(ints("stride", stride));
    return out;
  }
};

/// Direct convolution: every output element sums its window in double.
Floats referenceConv(const ConvCase &c, const Floats &x, const Floats &w,
                     const Floats &b) {
  Shape outShape = c.outputShape();
  Shape kernel(c.weight.begin() + 2, c.weight.end());
  int64_t inGroup = c.weight[1], outGroup = c.weight[0] / c.groups;
  Floats y(static_cast<size_t>(numel(outShape)));
  for (int64_t flat = 0; flat < numel(outShape); ++flat) {
    Shape o = unravel(flat, outShape);
    int64_t n = o[0], co = o[1], g = co / outGroup;
    double sum = c.bias ? b[co] : 0.0;
    for (int64_t ci = 0; ci < inGroup; ++ci)
      for (int64_t tap = 0; tap < numel(kernel); ++tap) {
        Shape k = unravel(tap, kernel);
        Shape in = {n, g * inGroup + ci};
        bool inside = true;
        for (size_t d = 0; d < k.size(); ++d) {
          int64_t i =
              o[2 + d] * c.stride[d] - c.padding[d] + k[d] * c.dilation[d];
          inside = inside && i >= 0 && i < c.input[2 + d];
          in.push_back(i);
        }
        if (inside)
          sum +=
              static_cast<double>(x[ravel(in, c.input)]) *
              w[ravel({co, ci}, {c.weight[0], inGroup}) * numel(kernel) + tap];
      }
    y[flat] = static_cast<float>(sum);
  }
  return y;
}

struct PoolCase {
  Shape input, kernel, stride, padding;
  bool spellStride = true;

  Shape outputShape() const {
    Shape out = {input[0], input[1]};
    for (size_t d = 0; d < kernel.size(); ++d)
      out.push_back((input[2 + d] + 2 * padding[d] - kernel[d]) / stride[d] +
                    1);
    return out;
  }
  Attrs attrs() const {
    Attrs out = {ints("kernel", kernel), ints("padding", padding)};
    if (spellStride)
      out.push_back(ints("stride", stride));
    return out;
  }
};

/// Max (first maximum, padding never wins) or average (padding counted as
/// zeros) of every window.
Floats referencePool(const PoolCase &c, const Floats &x, bool max) {
  Shape outShape = c.outputShape();
  Floats y(static_cast<size_t>(numel(outShape)));
  for (int64_t flat = 0; flat < numel(outShape); ++flat) {
    Shape o = unravel(flat, outShape);
    double sum = 0, best = -INFINITY;
    for (int64_t tap = 0; tap < numel(c.kernel); ++tap) {
      Shape k = unravel(tap, c.kernel);
      Shape in = {o[0], o[1]};
      bool inside = true;
      for (size_t d = 0; d < k.size(); ++d) {
        int64_t i = o[2 + d] * c.stride[d] - c.padding[d] + k[d];
        inside = inside && i >= 0 && i < c.input[2 + d];
        in.push_back(i);
      }
      if (!inside)
        continue;
      float v = x[ravel(in, c.input)];
      sum += v;
      best = std::max(best, static_cast<double>(v));
    }
    y[flat] = static_cast<float>(max ? best : sum / numel(c.kernel));
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Hand-computed values
//===----------------------------------------------------------------------===//

TEST(CpuConvPool, ConvByHand) {
  Input x{{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  Input w{{1, 1, 2, 2}, {1, 2, 3, 4}};
  expectNear(run("var.conv", {}, {x, w, {{1}, {1}}}, {1, 1, 2, 2}),
             {38, 48, 68, 78});
  Input ones{{1, 1, 2, 2}, {1, 1, 1, 1}};
  expectNear(run("var.conv_grad_input", {}, {ones, w}, x.shape),
             {1, 3, 2, 4, 10, 6, 3, 7, 4});
  expectNear(run("var.conv_grad_weight", {}, {x, ones}, w.shape),
             {12, 16, 24, 28});

  // 1-D, stride 2, padding 1, dilation 2: taps at 2o - 1 and 2o + 1.
  Attrs attrs = {ints("stride", {2}), ints("padding", {1}),
                 ints("dilation", {2})};
  expectNear(run("var.conv", attrs,
                 {{{1, 1, 5}, {1, 2, 3, 4, 5}}, {{1, 1, 2}, {1, -1}}},
                 {1, 1, 3}),
             {-2, -2, 4});

  // Two groups of one channel each.
  expectNear(run("var.conv", {{"groups", int64_t{2}}},
                 {{{1, 2, 2}, {1, 2, 3, 4}}, {{2, 1, 1}, {10, 100}}},
                 {1, 2, 2}),
             {10, 20, 300, 400});
}

TEST(CpuConvPool, MaxPoolByHand) {
  Floats ramp(16);
  std::iota(ramp.begin(), ramp.end(), 0.0f);
  expectNear(run("var.max_pool", {ints("kernel", {2, 2})},
                 {{{1, 1, 4, 4}, ramp}}, {1, 1, 2, 2}),
             {5, 7, 13, 15});
  // Padding never wins, even over negative inputs.
  Attrs padded = {ints("kernel", {3}), ints("stride", {1}),
                  ints("padding", {1})};
  expectNear(
      run("var.max_pool", padded, {{{1, 1, 3}, {-1, -2, -3}}}, {1, 1, 3}),
      {-1, -1, -2});
  // Ties route to the first maximum in the window.
  Input x{{1, 1, 4}, {2, 2, 1, 1}};
  Attrs sliding = {ints("kernel", {2}), ints("stride", {1})};
  Floats y = run("var.max_pool", sliding, {x}, {1, 1, 3});
  expectNear(y, {2, 2, 1});
  expectNear(run("var.max_pool_grad", sliding,
                 {x, {{1, 1, 3}, y}, {{1, 1, 3}, {1, 10, 100}}}, x.shape),
             {1, 10, 100, 0});
}

TEST(CpuConvPool, AvgPoolByHand) {
  // count_include_pad: the padded windows [pad, 1] and [4, pad] halve.
  Attrs attrs = {ints("kernel", {2}), ints("stride", {2}),
                 ints("padding", {1})};
  expectNear(run("var.avg_pool", attrs, {{{1, 1, 4}, {1, 2, 3, 4}}}, {1, 1, 3}),
             {0.5, 2.5, 2});
  expectNear(
      run("var.avg_pool_grad", attrs, {{{1, 1, 3}, {1, 2, 3}}}, {1, 1, 4}),
      {0.5, 1, 1, 1.5});
}

TEST(CpuConvPool, GlobalAvgPoolByHand) {
  Input x{{1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40}};
  expectNear(run("var.global_avg_pool", {}, {x}, {1, 2}), {2.5, 25});
  expectNear(
      run("var.global_avg_pool", {{"keep_dims", true}}, {x}, {1, 2, 1, 1}),
      {2.5, 25});
  Floats spread = {1, 1, 1, 1, 2, 2, 2, 2};
  expectNear(run("var.global_avg_pool_grad", {}, {{{1, 2}, {4, 8}}}, x.shape),
             spread);
  expectNear(
      run("var.global_avg_pool_grad", {}, {{{1, 2, 1, 1}, {4, 8}}}, x.shape),
      spread);
}

TEST(CpuConvPool, LinearByHand) {
  Input x{{2, 3}, {1, 2, 3, 4, 5, 6}};
  Input w{{2, 3}, {1, 0, -1, 2, 1, 0}};
  expectNear(run("var.linear", {}, {x, w, {{2}, {10, 20}}}, {2, 2}),
             {8, 24, 8, 33});
  expectNear(run("var.linear", {}, {x, w}, {2, 2}), {-2, 4, -2, 13});
  Input dy{{2, 2}, {1, 2, 3, 4}};
  expectNear(run("var.linear_grad_input", {}, {dy, w}, {2, 3}),
             {5, 2, -1, 11, 4, -3});
  expectNear(run("var.linear_grad_weight", {}, {x, dy}, {2, 3}),
             {13, 17, 21, 18, 24, 30});
  // A vector input is one row.
  expectNear(run("var.linear", {}, {{{3}, {1, 2, 3}}, w}, {2}), {-2, 4});
}

//===----------------------------------------------------------------------===//
// Random cases: forward against the reference, backward against finite
// differences
//===----------------------------------------------------------------------===//

/// A random convolution of 1 to 3 spatial dimensions: plain, two groups or
/// depthwise, with strides, padding and dilation.
ConvCase randomConv(std::mt19937 &rng, int spatial) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  ConvCase c;
  int64_t inChannels, outChannels;
  switch (pick(0, 2)) {
  case 0:
    c.groups = 1;
    inChannels = pick(1, 3);
    outChannels = pick(1, 4);
    break;
  case 1:
    c.groups = 2;
    inChannels = 2 * pick(1, 2);
    outChannels = 2 * pick(1, 2);
    break;
  default: // depthwise
    c.groups = inChannels = outChannels = pick(2, 4);
  }
  c.input = {pick(1, 2), inChannels};
  c.weight = {outChannels, inChannels / c.groups};
  int64_t maxExtra = spatial == 3 ? 2 : 4;
  for (int d = 0; d < spatial; ++d) {
    int64_t kernel = pick(1, 3), dilation = pick(1, 2);
    int64_t padding = pick(0, 2), stride = pick(1, 3);
    int64_t span = dilation * (kernel - 1) + 1;
    c.input.push_back(std::max<int64_t>(1, span - 2 * padding) +
                      pick(0, maxExtra));
    c.weight.push_back(kernel);
    c.stride.push_back(stride);
    c.padding.push_back(padding);
    c.dilation.push_back(dilation);
  }
  c.bias = pick(0, 1);
  c.spellDefaults = pick(0, 1);
  return c;
}

TEST(CpuConvPool, ConvRandom) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 36; ++trial) {
    ConvCase c = randomConv(rng, 1 + trial % 3);
    SCOPED_TRACE("trial " + std::to_string(trial));
    Shape outShape = c.outputShape();
    Floats x = test::randomValues(numel(c.input), 100 + trial);
    Floats w = test::randomValues(numel(c.weight), 200 + trial);
    Floats b = test::randomValues(c.weight[0], 300 + trial);
    auto forward = [&](const std::vector<Floats> &in) {
      std::vector<Input> operands = {{c.input, in[0]}, {c.weight, in[1]}};
      if (c.bias)
        operands.push_back({{c.weight[0]}, in[2]});
      return run("var.conv", c.attrs(), operands, outShape);
    };
    expectNear(forward({x, w, b}), referenceConv(c, x, w, b));

    Floats dy = test::randomValues(numel(outShape), 400 + trial);
    Floats dx = run("var.conv_grad_input", c.attrs(),
                    {{outShape, dy}, {c.weight, w}}, c.input);
    Floats dw = run("var.conv_grad_weight", c.attrs(),
                    {{c.input, x}, {outShape, dy}}, c.weight);
    test::expectGradients(forward, {x, w, b}, dy, {dx, dw, {}},
                          {true, true, false});
  }
}

/// Distinct values 0.05 apart in random order, so that a finite-difference
/// step never changes which element of a window is the maximum.
Floats distinctValues(int64_t count, std::mt19937 &rng) {
  Floats values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    values[i] = 0.05f * static_cast<float>(i - count / 2);
  std::shuffle(values.begin(), values.end(), rng);
  return values;
}

TEST(CpuConvPool, PoolRandom) {
  std::mt19937 rng(11);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 36; ++trial) {
    int spatial = 1 + trial % 3;
    PoolCase c;
    c.input = {pick(1, 2), pick(1, 3)};
    c.spellStride = pick(0, 1);
    for (int d = 0; d < spatial; ++d) {
      int64_t kernel = pick(1, 3);
      c.kernel.push_back(kernel);
      c.stride.push_back(c.spellStride ? pick(1, 3) : kernel);
      c.padding.push_back(pick(0, kernel / 2));
      c.input.push_back(kernel + pick(0, spatial == 3 ? 2 : 4));
    }
    bool max = trial % 2 == 0;
    std::string op = max ? "var.max_pool" : "var.avg_pool";
    SCOPED_TRACE(op + " trial " + std::to_string(trial));
    Shape outShape = c.outputShape();
    Floats x = max ? distinctValues(numel(c.input), rng)
                   : test::randomValues(numel(c.input), 500 + trial);
    auto forward = [&](const std::vector<Floats> &in) {
      return run(op, c.attrs(), {{c.input, in[0]}}, outShape);
    };
    Floats y = forward({x});
    expectNear(y, referencePool(c, x, max));

    Floats dy = test::randomValues(numel(outShape), 600 + trial);
    Floats dx =
        max ? run("var.max_pool_grad", c.attrs(),
                  {{c.input, x}, {outShape, y}, {outShape, dy}}, c.input)
            : run("var.avg_pool_grad", c.attrs(), {{outShape, dy}}, c.input);
    test::expectGradients(forward, {x}, dy, {dx}, {true});
  }
}

TEST(CpuConvPool, GlobalAvgPoolRandom) {
  for (int spatial = 1; spatial <= 3; ++spatial)
    for (bool keepDims : {false, true}) {
      Shape input = {2, 3}, pooled = {2, 3};
      for (int d = 0; d < spatial; ++d) {
        input.push_back(2 + d);
        if (keepDims)
          pooled.push_back(1);
      }
      Attrs attrs;
      if (keepDims)
        attrs.push_back({"keep_dims", true});
      auto forward = [&](const std::vector<Floats> &in) {
        return run("var.global_avg_pool", attrs, {{input, in[0]}}, pooled);
      };
      Floats x = test::randomValues(numel(input), 700 + spatial);
      Floats dy = test::randomValues(numel(pooled), 800 + spatial);
      Floats dx = run("var.global_avg_pool_grad", {}, {{pooled, dy}}, input);
      test::expectGradients(forward, {x}, dy, {dx}, {true});
    }
}

TEST(CpuConvPool, LinearRandom) {
  std::mt19937 rng(13);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 12; ++trial) {
    int64_t in = pick(1, 7), out = pick(1, 6);
    Shape input;
    for (int d = 0; d < trial % 3; ++d)
      input.push_back(pick(1, 4));
    input.push_back(in);
    Shape output = input;
    output.back() = out;
    bool bias = trial % 2;
    SCOPED_TRACE("trial " + std::to_string(trial));
    auto forward = [&](const std::vector<Floats> &values) {
      std::vector<Input> operands = {{input, values[0]},
                                     {{out, in}, values[1]}};
      if (bias)
        operands.push_back({{out}, values[2]});
      return run("var.linear", {}, operands, output);
    };
    Floats x = test::randomValues(numel(input), 900 + trial);
    Floats w = test::randomValues(out * in, 1000 + trial);
    Floats b = test::randomValues(out, 1100 + trial);

    // Reference: y[r][o] = b[o] + sum_i x[r][i] w[o][i].
    Floats expected(static_cast<size_t>(numel(output)));
    for (int64_t r = 0; r < numel(input) / in; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double sum = bias ? b[o] : 0.0;
        for (int64_t i = 0; i < in; ++i)
          sum += static_cast<double>(x[r * in + i]) * w[o * in + i];
        expected[r * out + o] = static_cast<float>(sum);
      }
    expectNear(forward({x, w, b}), expected);

    Floats dy = test::randomValues(numel(output), 1200 + trial);
    Floats dx =
        run("var.linear_grad_input", {}, {{output, dy}, {{out, in}, w}}, input);
    Floats dw = run("var.linear_grad_weight", {}, {{input, x}, {output, dy}},
                    {out, in});
    test::expectGradients(forward, {x, w, b}, dy, {dx, dw, {}},
                          {true, true, false});
  }
}

//===----------------------------------------------------------------------===//
// Narrow floats, sizes that exercise the GEMM's blocks, errors
//===----------------------------------------------------------------------===//

/// Each op on bf16 and f16 tensors gives exactly its f32 result (on the
/// same, already rounded, operands) rounded once.
TEST(CpuConvPool, NarrowFloatsRoundTheF32Result) {
  struct Narrow {
    plan::DType dtype;
    float (*round)(float);
  };
  const Narrow narrows[] = {
      {plan::DType::BF16, [](float v) { return bf16ToFloat(floatToBf16(v)); }},
      {plan::DType::F16, [](float v) { return f16ToFloat(floatToF16(v)); }}};
  for (const Narrow &narrow : narrows) {
    auto rounded = [&](Floats values) {
      for (float &v : values)
        v = narrow.round(v);
      return values;
    };
    auto check = [&](const std::string &op, const Attrs &attrs,
                     const std::vector<Input> &operands, const Shape &result) {
      SCOPED_TRACE(op + " " + std::string(plan::getDTypeName(narrow.dtype)));
      std::vector<Input> exact = operands;
      for (Input &operand : exact)
        operand.values = rounded(operand.values);
      Floats wide = run(op, attrs, exact, result);
      Floats narrowResult = run(op, attrs, operands, result, narrow.dtype);
      EXPECT_EQ(narrowResult, rounded(wide));
    };
    Input x{{2, 4, 6, 6}, test::randomValues(288, 1)};
    Input w{{6, 2, 3, 3}, test::randomValues(108, 2)};
    Input b{{6}, test::randomValues(6, 3)};
    Attrs conv = {ints("stride", {2, 1}),
                  ints("padding", {1, 1}),
                  {"groups", int64_t{2}}};
    Shape y = {2, 6, 3, 6};
    Input dy{y, test::randomValues(216, 4)};
    check("var.conv", conv, {x, w, b}, y);
    check("var.conv_grad_input", conv, {dy, w}, x.shape);
    check("var.conv_grad_weight", conv, {x, dy}, w.shape);
    Attrs pool = {ints("kernel", {3, 3}), ints("stride", {2, 2}),
                  ints("padding", {1, 1})};
    check("var.max_pool", pool, {x}, {2, 4, 3, 3});
    check("var.avg_pool", pool, {x}, {2, 4, 3, 3});
    check("var.global_avg_pool", {}, {x}, {2, 4});
    Input fc{{5, 7}, test::randomValues(35, 5)};
    check("var.linear", {},
          {{{3, 7}, test::randomValues(21, 6)},
           fc,
           {{5}, test::randomValues(5, 7)}},
          {3, 5});
  }
}

/// Sizes past the GEMM's four-row and column blocks, against the reference.
TEST(CpuConvPool, ConvLargerThanOneBlock) {
  ConvCase c;
  c.input = {1, 5, 30, 30};
  c.weight = {7, 5, 3, 3};
  c.bias = true;
  c.stride = {1, 1};
  c.padding = {1, 1};
  c.dilation = {1, 1};
  Floats x = test::randomValues(numel(c.input), 21);
  Floats w = test::randomValues(numel(c.weight), 22);
  Floats b = test::randomValues(7, 23);
  expectNear(run("var.conv", c.attrs(), {{c.input, x}, {c.weight, w}, {{7}, b}},
                 c.outputShape()),
             referenceConv(c, x, w, b));
}

TEST(CpuConvPool, ShapeErrorsAreMessages) {
  auto error = [](const std::string &op, const Attrs &attrs,
                  const std::vector<Input> &operands, const Shape &result) {
    std::string message;
    run(op, attrs, operands, result, plan::DType::F32, &message);
    return message;
  };
  Input x{{1, 2, 4, 4}, Floats(32)};
  Input w{{3, 2, 3, 3}, Floats(54)};
  EXPECT_NE(error("var.conv", {}, {x, w}, {1, 3, 4, 4}), "");
  EXPECT_NE(error("var.conv", {{"groups", int64_t{2}}}, {x, w}, {1, 3, 2, 2}),
            "");
  EXPECT_NE(error("var.conv", {ints("stride", {1})}, {x, w}, {1, 3, 2, 2}), "");
  EXPECT_NE(error("var.conv", {}, {x, w, {{2}, Floats(2)}}, {1, 3, 2, 2}), "");
  EXPECT_NE(error("var.max_pool", {}, {x}, {1, 2, 2, 2}), "");
  EXPECT_NE(error("var.max_pool",
                  {ints("kernel", {2, 2}), ints("padding", {2, 2})}, {x},
                  {1, 2, 4, 4}),
            "");
  EXPECT_NE(error("var.avg_pool_grad", {ints("kernel", {2, 2})},
                  {{{1, 2, 3, 3}, Floats(18)}}, x.shape),
            "");
  EXPECT_NE(
      error("var.global_avg_pool_grad", {}, {{{1, 3}, Floats(3)}}, x.shape),
      "");
  EXPECT_NE(error("var.linear", {}, {{{2, 3}, Floats(6)}, {{4, 2}, Floats(8)}},
                  {2, 4}),
            "");
  EXPECT_NE(error("var.linear_grad_weight", {},
                  {{{2, 3}, Floats(6)}, {{3, 4}, Floats(12)}}, {4, 3}),
            "");
}

} // namespace
} // namespace var::cpu
