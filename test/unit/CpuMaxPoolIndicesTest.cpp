// The CPU kernels of var.max_pool_with_indices and var.max_pool_grad_indices
// against var.max_pool and var.max_pool_grad, byte for byte: the output,
// and the gradient routed by the indices, in f32 and bf16, 1-D to 3-D, both
// layouts, windows that tile, overlap, pad or leave gaps, on inputs full of
// ties (constant windows, ReLU's zeros, -0 against +0) and NaNs; the indices
// name, within each window, an element equal to the output; and calls the
// verifier should have rejected are messages.
#include "test/unit/CpuKernelTest.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace var;
using namespace var::cputest;

namespace {

/// A pool over a channels-first input; `pooled` is the output's shape.
struct Pool {
  std::string name;
  Shape input, pooled, kernel, stride, padding;
};

/// (N, C, spatial...) as (N, spatial..., C).
Shape channelsLast(Shape shape) {
  shape.push_back(shape[1]);
  shape.erase(shape.begin() + 1);
  return shape;
}

const std::vector<Pool> &pools() {
  static const std::vector<Pool> all = {
      {"tiled_2x2", {2, 3, 8, 8}, {2, 3, 4, 4}, {2, 2}, {2, 2}, {0, 0}},
      {"remainder_2x2", {1, 4, 7, 9}, {1, 4, 3, 4}, {2, 2}, {2, 2}, {0, 0}},
      {"overlap_3x3_s2_pad1",
       {2, 3, 9, 9},
       {2, 3, 5, 5},
       {3, 3},
       {2, 2},
       {1, 1}},
      {"overlap_3x3_s1", {1, 2, 6, 5}, {1, 2, 4, 3}, {3, 3}, {1, 1}, {0, 0}},
      {"gaps_2x2_s3", {1, 2, 8, 8}, {1, 2, 3, 3}, {2, 2}, {3, 3}, {0, 0}},
      {"line_3_s1_pad1", {2, 3, 10}, {2, 3, 10}, {3}, {1}, {1}},
      {"volume_2x2x2",
       {1, 2, 4, 6, 6},
       {1, 2, 2, 3, 3},
       {2, 2, 2},
       {2, 2, 2},
       {0, 0, 0}},
      {"volume_1x3x3_pad",
       {1, 3, 3, 7, 7},
       {1, 3, 3, 4, 4},
       {1, 3, 3},
       {1, 2, 2},
       {0, 1, 1}},
      {"volume_3x3x3_s2_pad1",
       {1, 2, 5, 6, 7},
       {1, 2, 3, 3, 4},
       {3, 3, 3},
       {2, 2, 2},
       {1, 1, 1}},
  };
  return all;
}

std::vector<plan::Attribute> attributes(const Pool &p, bool last) {
  std::vector<plan::Attribute> attrs = {
      {"kernel", p.kernel}, {"stride", p.stride}, {"padding", p.padding}};
  if (last)
    attrs.push_back({"channels_last", true});
  return attrs;
}

/// Input values of kind `kind`: "random"; "ties", a few values repeated,
/// with -0 beside +0 and a NaN now and then; "relu", ReLU's output
/// (positives and many +0); "constant", every window a tie.
std::vector<float> inputValues(const std::string &kind, int64_t count,
                               uint32_t seed) {
  std::vector<float> values = test::randomValues(count, seed);
  if (kind == "random")
    return values;
  const float ties[] = {1.0f, 0.5f, 1.0f, -0.0f, 1.0f,  0.0f,
                        1.0f, 1.0f, 0.5f, 1.0f,  -1.0f, 1.0f,
                        NAN,  0.5f, 1.0f, 1.0f,  0.25f, -0.0f};
  for (int64_t i = 0; i < count; ++i) {
    float &v = values[i];
    if (kind == "ties")
      v = ties[(i * 7 + seed) % std::size(ties)];
    else if (kind == "relu")
      v = v < 0.3f ? 0.0f : std::round(v * 4.0f) / 4.0f;
    else
      v = 2.0f;
  }
  return values;
}

/// Gradients with -0 and +0 among them, which an argmax receives as
/// 0 + g, and a NaN.
std::vector<float> gradValues(int64_t count, uint32_t seed) {
  std::vector<float> grads = test::randomValues(count, seed);
  for (int64_t i = 0; i < count; i += 5)
    grads[i] = i % 10 ? 0.0f : -0.0f;
  if (count > 7)
    grads[7] = NAN;
  return grads;
}

void expectSameBytes(const Tensor &want, const Tensor &got, const char *what) {
  ASSERT_EQ(want.view.bytes(), got.view.bytes()) << what;
  EXPECT_EQ(std::memcmp(want.view.data, got.view.data,
                        static_cast<size_t>(want.view.bytes())),
            0)
      << what << " differs";
}

/// Whether a and b are the same float (NaN equal to NaN, -0 not +0).
bool sameFloat(float a, float b) {
  return std::isnan(a) ? std::isnan(b)
                       : std::memcmp(&a, &b, sizeof(float)) == 0;
}

/// The input element at window position `position` of output `out`
/// (channels-first flat indices), or NAN with `inside` false on padding.
float windowElement(const Pool &p, const std::vector<float> &x, int64_t out,
                    int64_t position, bool &inside) {
  size_t spatial = p.kernel.size();
  Shape o(p.pooled.size());
  for (size_t d = p.pooled.size(), rest = out; d-- > 0;) {
    o[d] = static_cast<int64_t>(rest) % p.pooled[d];
    rest /= p.pooled[d];
  }
  int64_t flat = o[0] * p.input[1] + o[1];
  inside = true;
  for (size_t d = 0; d < spatial; ++d) {
    int64_t stride = 1;
    for (size_t e = d + 1; e < spatial; ++e)
      stride *= p.kernel[e];
    int64_t k = position / stride % p.kernel[d];
    int64_t i = o[2 + d] * p.stride[d] - p.padding[d] + k;
    inside = inside && i >= 0 && i < p.input[2 + d];
    flat = flat * p.input[2 + d] + i;
  }
  return inside ? x[flat] : NAN;
}

/// Runs pool `p` on `values` (channels-first) through both pairs of ops in
/// layout `last` and type `dtype`, and compares them.
void expectSameAsMaxPool(const Pool &p, const std::string &kind, DType dtype,
                         bool last) {
  SCOPED_TRACE(p.name + " " + kind + (last ? " channels-last" : "") +
               (dtype == DType::BF16 ? " bf16" : " f32"));
  Shape in = last ? channelsLast(p.input) : p.input;
  Shape out = last ? channelsLast(p.pooled) : p.pooled;
  std::vector<plan::Attribute> attrs = attributes(p, last);
  Tensor x(in, inputValues(kind, numel(in), 3), dtype);
  Tensor dy(out, gradValues(numel(out), 5), dtype);

  Tensor y(dtype, out), yIndexed(dtype, out), indices(DType::I8, out);
  ASSERT_EQ(run("var.max_pool", {&x}, {&y}, attrs), "");
  ASSERT_EQ(
      run("var.max_pool_with_indices", {&x}, {&yIndexed, &indices}, attrs), "");
  expectSameBytes(y, yIndexed, "output");

  Tensor dx(dtype, in), dxIndexed(dtype, in);
  ASSERT_EQ(run("var.max_pool_grad", {&x, &y, &dy}, {&dx}, attrs), "");
  ASSERT_EQ(
      run("var.max_pool_grad_indices", {&indices, &dy}, {&dxIndexed}, attrs),
      "");
  expectSameBytes(dx, dxIndexed, "gradient");

  // Each index names an element of its window, inside the input, that
  // equals the output (read channels-first).
  if (last)
    return;
  std::vector<float> xs = x.values(), ys = y.values();
  const auto *positions = static_cast<const int8_t *>(indices.view.data);
  for (int64_t o = 0; o < numel(out); ++o) {
    bool inside;
    float chosen = windowElement(p, xs, o, positions[o], inside);
    EXPECT_TRUE(inside) << "output " << o << " index " << int{positions[o]};
    EXPECT_TRUE(sameFloat(chosen, ys[o]))
        << "output " << o << ": " << ys[o] << ", index " << int{positions[o]}
        << " names " << chosen;
  }
}

TEST(CpuMaxPoolIndices, SameAsMaxPoolAndItsGradient) {
  for (const Pool &p : pools())
    for (const char *kind : {"random", "ties", "relu", "constant"})
      for (DType dtype : {DType::F32, DType::BF16})
        for (bool last : {false, true})
          expectSameAsMaxPool(p, kind, dtype, last);
}

/// Hand-computed positions: the first maximum in window order (padding
/// counted in the numbering), the last NaN.
TEST(CpuMaxPoolIndices, PositionsByHand) {
  auto positions = [](const Shape &in, const std::vector<float> &values,
                      std::vector<plan::Attribute> attrs, const Shape &out) {
    Tensor x(in, values), y(DType::F32, out), indices(DType::I8, out);
    EXPECT_EQ(run("var.max_pool_with_indices", {&x}, {&y, &indices}, attrs),
              "");
    std::vector<int> result;
    const auto *bytes = static_cast<const int8_t *>(indices.view.data);
    result.assign(bytes, bytes + numel(out));
    return result;
  };
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i)
    ramp[i] = static_cast<float>(i);
  // The bottom-right of every 2x2 window.
  EXPECT_EQ(
      positions({1, 1, 4, 4}, ramp, {{"kernel", Shape{2, 2}}}, {1, 1, 2, 2}),
      (std::vector<int>{3, 3, 3, 3}));
  // Padded windows [pad, -1, -2], [-1, -2, -3], [-2, -3, pad].
  EXPECT_EQ(
      positions(
          {1, 1, 3}, {-1, -2, -3},
          {{"kernel", Shape{3}}, {"stride", Shape{1}}, {"padding", Shape{1}}},
          {1, 1, 3}),
      (std::vector<int>{1, 0, 0}));
  // Ties go to the first; -0 and +0 tie; a NaN wins, the last one.
  EXPECT_EQ(positions({1, 1, 8}, {2, 2, -0.0f, 0.0f, NAN, 1, NAN, NAN},
                      {{"kernel", Shape{2}}}, {1, 1, 4}),
            (std::vector<int>{0, 0, 0, 1}));
  // A 3-D window: (kd * 2 + kh) * 2 + kw.
  std::vector<float> cube(8, 0.0f);
  cube[6] = 1.0f; // d 1, h 1, w 0
  EXPECT_EQ(positions({1, 1, 2, 2, 2}, cube, {{"kernel", Shape{2, 2, 2}}},
                      {1, 1, 1, 1, 1}),
            (std::vector<int>{6}));
}

/// A position on padding or outside the window routes nowhere.
TEST(CpuMaxPoolIndices, PositionsOffTheInputRouteNowhere) {
  std::vector<plan::Attribute> attrs = {
      {"kernel", Shape{3}}, {"stride", Shape{1}}, {"padding", Shape{1}}};
  Tensor indices(DType::I8, {1, 1, 3});
  const int8_t positions[] = {0, 5, -1}; // padding, outside, negative
  std::memcpy(indices.view.data, positions, 3);
  Tensor dy({1, 1, 3}, {1, 2, 3}), dx(DType::F32, {1, 1, 3});
  ASSERT_EQ(run("var.max_pool_grad_indices", {&indices, &dy}, {&dx}, attrs),
            "");
  EXPECT_EQ(dx.values(), (std::vector<float>{0, 0, 0}));
}

TEST(CpuMaxPoolIndices, BadCallsAreMessages) {
  std::vector<plan::Attribute> pool = {{"kernel", Shape{2, 2}}};
  auto forward = [&](Shape in, Shape out, DType indexType, Shape indexShape,
                     std::vector<plan::Attribute> attrs) {
    Tensor x(DType::F32, in), y(DType::F32, out),
        indices(indexType, indexShape);
    return run("var.max_pool_with_indices", {&x}, {&y, &indices}, attrs);
  };
  auto backward = [&](Shape in, Shape out, DType indexType, Shape indexShape,
                      std::vector<plan::Attribute> attrs) {
    Tensor indices(indexType, indexShape), dy(DType::F32, out),
        dx(DType::F32, in);
    return run("var.max_pool_grad_indices", {&indices, &dy}, {&dx}, attrs);
  };
  Shape in = {1, 2, 8, 8}, out = {1, 2, 4, 4};
  EXPECT_EQ(forward(in, out, DType::I32, out, pool),
            "indices must be i8, got i32");
  EXPECT_EQ(backward(in, out, DType::F32, out, pool),
            "indices must be i8, got f32");
  EXPECT_EQ(forward(in, out, DType::I8, {1, 2, 4, 2}, pool),
            "indices (1, 2, 4, 2) must have the shape of output (1, 2, 4, 4)");
  EXPECT_EQ(backward(in, out, DType::I8, {1, 2, 4, 2}, pool),
            "indices (1, 2, 4, 2) must have the shape of grad (1, 2, 4, 4)");
  EXPECT_NE(forward(in, {1, 2, 3, 3}, DType::I8, {1, 2, 3, 3}, pool), "");
  EXPECT_NE(backward({1, 2, 9, 8}, out, DType::I8, out,
                     {{"kernel", Shape{2, 2}}, {"channels_last", true}}),
            "");
  EXPECT_EQ(forward({1, 1, 24, 24}, {1, 1, 2, 2}, DType::I8, {1, 1, 2, 2},
                    {{"kernel", Shape{12, 12}}}),
            "a window of 144 positions is more than the 127 that i8 indices "
            "name");
}

} // namespace
