// The CPU kernels' channels_last calls: each op on (N, spatial..., C)
// activations gives, bit for bit, the channels-first op's results on the
// same data transposed (forward and backward, f32 and bf16, 1-D to 3-D,
// grouped and depthwise convolutions, strides and padding, max pooling's
// i8 window positions); and shapes that do not fit the channels-last
// layout are reported as messages.
#include "test/unit/CpuKernelTest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace var::cputest {
namespace {

/// One tensor of a case, by its channels-first shape; `activation`: laid
/// out channels-last in the channels_last call (a rank >= 3 tensor that is
/// not a convolution weight).
struct Arg {
  Shape shape;
  bool activation = true;
  bool f32 = false; // stays f32 when the case runs in bf16 (BN statistics)
  bool positive = false;
  bool i8 = false; // max pooling's window positions, 0 to 3 at random
};

struct Case {
  std::string op;
  std::vector<Arg> operands, results;
  Attrs attrs;
};

Arg weight(Shape shape) { return {std::move(shape), false}; }
Arg stat(int64_t channels, bool positive = false) {
  return {{channels}, false, true, positive};
}

/// The channels-last shape of a channels-first activation of rank >= 3.
Shape lastShape(const Arg &arg) {
  Shape shape = arg.shape;
  if (arg.activation && shape.size() >= 3) {
    shape.erase(shape.begin() + 1);
    shape.push_back(arg.shape[1]);
  }
  return shape;
}

/// Element index of channels-first element `i` of `arg` in its
/// channels-last layout (the identity for what is not an activation).
int64_t lastIndex(const Arg &arg, int64_t i) {
  if (!arg.activation || arg.shape.size() < 3)
    return i;
  int64_t channels = arg.shape[1];
  int64_t spatial = numel(arg.shape) / (arg.shape[0] * channels);
  int64_t s = i % spatial, c = i / spatial % channels,
          n = i / (spatial * channels);
  return (n * spatial + s) * channels + c;
}

DType typeOf(const Arg &arg, DType t) {
  return arg.i8 ? DType::I8 : arg.f32 ? DType::F32 : t;
}

size_t byteSize(const Tensor &tensor) {
  return static_cast<size_t>(plan::getDTypeBytes(tensor.view.dtype));
}

/// `tensor`'s raw elements moved into the channels-last tensor `out`.
void toLast(const Arg &arg, const Tensor &tensor, Tensor &out) {
  size_t size = byteSize(tensor);
  for (int64_t i = 0; i < tensor.view.numel(); ++i)
    std::memcpy(static_cast<char *>(out.view.data) + lastIndex(arg, i) * size,
                static_cast<const char *>(tensor.view.data) + i * size, size);
}

/// Runs `c` channels-first and channels-last (operands transposed) in
/// compute type `t` and expects the same bytes in every result.
void expectSameAsChannelsFirst(const Case &c, DType t) {
  SCOPED_TRACE(c.op + (t == DType::BF16 ? " in bf16" : " in f32"));
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<Tensor> first, last;
  first.reserve(c.operands.size() + c.results.size());
  last.reserve(c.operands.size() + c.results.size());
  for (const Arg &arg : c.operands) {
    std::vector<float> values(static_cast<size_t>(numel(arg.shape)));
    for (float &v : values)
      v = arg.positive ? 1.0f + 0.25f * u(rng) : u(rng);
    first.emplace_back(arg.shape, values, typeOf(arg, t));
    if (arg.i8)
      for (int64_t i = 0; i < first.back().view.numel(); ++i)
        static_cast<int8_t *>(first.back().view.data)[i] =
            static_cast<int8_t>(rng() % 4);
    last.emplace_back(typeOf(arg, t), lastShape(arg));
    toLast(arg, first.back(), last.back());
  }
  for (const Arg &arg : c.results) {
    first.emplace_back(typeOf(arg, t), arg.shape);
    last.emplace_back(typeOf(arg, t), lastShape(arg));
  }
  auto call = [&](std::vector<Tensor> &tensors, Attrs attrs) {
    std::vector<const Tensor *> operands;
    std::vector<Tensor *> results;
    for (size_t i = 0; i < tensors.size(); ++i)
      if (i < c.operands.size())
        operands.push_back(&tensors[i]);
      else
        results.push_back(&tensors[i]);
    return run(c.op, operands, results, std::move(attrs));
  };
  ASSERT_EQ(call(first, c.attrs), "");
  Attrs lastAttrs = c.attrs;
  lastAttrs.push_back(unitAttr("channels_last"));
  ASSERT_EQ(call(last, lastAttrs), "");
  for (size_t r = 0; r < c.results.size(); ++r) {
    const Arg &arg = c.results[r];
    const Tensor &want = first[c.operands.size() + r];
    Tensor expected(want.view.dtype, lastShape(arg));
    toLast(arg, want, expected);
    const Tensor &got = last[c.operands.size() + r];
    EXPECT_EQ(std::memcmp(expected.view.data, got.view.data,
                          static_cast<size_t>(got.view.bytes())),
              0)
        << "result " << r << " differs";
  }
}

void expectAllTypes(const Case &c) {
  for (DType t : {DType::F32, DType::BF16})
    expectSameAsChannelsFirst(c, t);
}

struct Conv {
  Shape x, w, y;
  Attrs attrs;
  bool bias = false;
};

void expectConv(const Conv &conv) {
  std::vector<Arg> forward = {{conv.x}, weight(conv.w)};
  if (conv.bias)
    forward.push_back({{conv.w[0]}, false});
  expectAllTypes({"var.conv", forward, {{conv.y}}, conv.attrs});
  expectAllTypes({"var.conv_grad_input",
                  {{conv.y}, weight(conv.w)},
                  {{conv.x}},
                  conv.attrs});
  expectAllTypes({"var.conv_grad_weight",
                  {{conv.x}, {conv.y}},
                  {weight(conv.w)},
                  conv.attrs});
}

TEST(CpuChannelsLast, Conv2dStridedPaddedWithBias) {
  expectConv({{2, 4, 9, 9},
              {6, 4, 3, 3},
              {2, 6, 5, 5},
              {intsAttr("stride", {2, 2}), intsAttr("padding", {1, 1})},
              true});
}

TEST(CpuChannelsLast, Conv2dGroupedDilated) {
  expectConv({{2, 4, 9, 9},
              {6, 2, 3, 3},
              {2, 6, 5, 5},
              {intAttr("groups", 2), intsAttr("dilation", {2, 2})}});
}

TEST(CpuChannelsLast, Conv2dDepthwise) {
  expectConv({{2, 8, 10, 10},
              {8, 1, 3, 3},
              {2, 8, 5, 5},
              {intsAttr("stride", {2, 2}), intsAttr("padding", {1, 1}),
               intAttr("groups", 8)}});
}

TEST(CpuChannelsLast, Conv2dPointwise) {
  expectConv({{3, 5, 4, 6}, {7, 5, 1, 1}, {3, 7, 4, 6}, {}, true});
}

TEST(CpuChannelsLast, Conv1d) {
  expectConv({{2, 3, 10}, {4, 3, 3}, {2, 4, 8}, {}});
}

TEST(CpuChannelsLast, Conv3dSpatialTemporalAndFull) {
  expectConv({{2, 4, 3, 8, 8},
              {6, 4, 1, 3, 3},
              {2, 6, 3, 4, 4},
              {intsAttr("stride", {1, 2, 2}), intsAttr("padding", {0, 1, 1})}});
  expectConv({{2, 6, 4, 3, 3},
              {5, 6, 3, 1, 1},
              {2, 5, 2, 3, 3},
              {intsAttr("stride", {2, 1, 1}), intsAttr("padding", {1, 0, 0})}});
  expectConv({{1, 3, 4, 5, 5},
              {4, 3, 3, 3, 3},
              {1, 4, 4, 5, 5},
              {intsAttr("padding", {1, 1, 1})},
              true});
}

void expectPools(Shape x, Shape y, Attrs attrs) {
  expectAllTypes({"var.max_pool", {{x}}, {{y}}, attrs});
  expectAllTypes({"var.max_pool_grad", {{x}, {y}, {y}}, {{x}}, attrs});
  Arg indices{y};
  indices.i8 = true;
  expectAllTypes({"var.max_pool_with_indices", {{x}}, {{y}, indices}, attrs});
  expectAllTypes({"var.max_pool_grad_indices", {indices, {y}}, {{x}}, attrs});
  expectAllTypes({"var.avg_pool", {{x}}, {{y}}, attrs});
  expectAllTypes({"var.avg_pool_grad", {{y}}, {{x}}, attrs});
}

TEST(CpuChannelsLast, Pools) {
  expectPools({2, 3, 9, 9}, {2, 3, 5, 5},
              {intsAttr("kernel", {3, 3}), intsAttr("stride", {2, 2}),
               intsAttr("padding", {1, 1})});
  expectPools({1, 5, 4, 6, 6}, {1, 5, 2, 3, 3},
              {intsAttr("kernel", {2, 2, 2})});
  expectPools({2, 4, 9}, {2, 4, 4}, {intsAttr("kernel", {2})});
}

TEST(CpuChannelsLast, GlobalAvgPool) {
  expectAllTypes({"var.global_avg_pool", {{{4, 6, 5, 7}}}, {{{4, 6}}}, {}});
  expectAllTypes({"var.global_avg_pool",
                  {{{2, 5, 3, 4, 4}}},
                  {{{2, 5, 1, 1, 1}}},
                  {unitAttr("keep_dims")}});
  expectAllTypes(
      {"var.global_avg_pool_grad", {{{4, 6}}}, {{{4, 6, 5, 7}}}, {}});
  expectAllTypes({"var.global_avg_pool_grad",
                  {{{2, 5, 1, 1, 1}}},
                  {{{2, 5, 3, 4, 4}}},
                  {unitAttr("keep_dims")}});
}

void expectBatchNorm(const Shape &x) {
  int64_t c = x[1];
  expectAllTypes({"var.batch_norm",
                  {{x}, stat(c), stat(c), stat(c), stat(c, true)},
                  {{x}},
                  {floatAttr("eps", 1e-3)}});
  expectAllTypes({"var.batch_norm_train",
                  {{x}, stat(c), stat(c), stat(c), stat(c, true)},
                  {{x}, stat(c), stat(c), stat(c), stat(c)},
                  {floatAttr("eps", 1e-3), floatAttr("momentum", 0.2)}});
  expectAllTypes({"var.batch_norm_grad",
                  {{x}, {x}, stat(c), stat(c), stat(c, true)},
                  {{x}, stat(c), stat(c)},
                  {}});
  expectAllTypes({"var.batch_norm_frozen_grad",
                  {{x}, {x}, stat(c), stat(c), stat(c, true)},
                  {{x}, stat(c), stat(c)},
                  {floatAttr("eps", 1e-3)}});
}

TEST(CpuChannelsLast, BatchNorm) {
  expectBatchNorm({3, 5, 4, 6});
  expectBatchNorm({2, 7, 3, 4, 2});
  expectBatchNorm({4, 3, 9});
}

/// A call whose kernel must fail with a message containing `message`.
void expectError(const std::string &op, const std::vector<Shape> &operands,
                 const std::vector<Shape> &results, Attrs attrs,
                 const std::string &message) {
  SCOPED_TRACE(op);
  std::vector<Tensor> storage;
  storage.reserve(operands.size() + results.size());
  std::vector<const Tensor *> in;
  std::vector<Tensor *> out;
  for (const Shape &shape : operands) {
    storage.emplace_back(DType::F32, shape);
    in.push_back(&storage.back());
  }
  for (const Shape &shape : results) {
    storage.emplace_back(DType::F32, shape);
    out.push_back(&storage.back());
  }
  attrs.push_back(unitAttr("channels_last"));
  std::string error = run(op, in, out, attrs);
  EXPECT_NE(error.find(message), std::string::npos) << error;
}

TEST(CpuChannelsLast, ShapeErrorsNameTheChannelsLastLayout) {
  // Rank 2 is no windowed activation in either layout.
  expectError("var.conv", {{8, 3}, {4, 3, 3}}, {{8, 4}}, {},
              "must be (N, spatial..., C)");
  // A channels-first input read channels-last has 8 channels, not 3.
  expectError("var.conv", {{1, 3, 8, 8}, {4, 3, 3, 3}}, {{1, 4, 6, 6}}, {},
              "does not fit input (1, 3, 8, 8)");
  expectError("var.conv", {{1, 8, 8, 3}, {4, 3, 3, 3}}, {{1, 4, 6, 6}}, {},
              "expected (1, 6, 6, 4)");
  expectError("var.max_pool", {{1, 8, 8, 2}}, {{1, 2, 4, 4}},
              {intsAttr("kernel", {2, 2})}, "expected (1, 4, 4, 2)");
  expectError("var.global_avg_pool", {{2, 5, 5, 3}}, {{2, 3, 1, 1}},
              {unitAttr("keep_dims")}, "expected (2, 1, 1, 3)");
  expectError("var.batch_norm", {{2, 4, 4, 3}, {4}, {4}, {4}, {4}},
              {{2, 4, 4, 3}}, {}, "weight");
}

} // namespace
} // namespace var::cputest
