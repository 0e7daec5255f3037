// The CPU kernels that move data (slices, concatenation, reshapes, time
// folding, transposition): values by hand, and each backward (composed the
// way the autodiff pass composes it) against finite differences.
#include "runtime/cpu/CpuOps.h"
#include "test/unit/CpuKernelTest.h"
#include "test/unit/GradCheck.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace var;
using namespace var::cpu;
using plan::DType;
using var::test::expectGradients;
using var::test::randomValues;
using namespace var::cputest;

namespace {

//===----------------------------------------------------------------------===//
// Slices, concatenation and reshapes
//===----------------------------------------------------------------------===//

TEST(CpuShape, Slice) {
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

TEST(CpuShape, Concat) {
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

TEST(CpuShape, ConcatGradientIsSlice) {
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

TEST(CpuShape, Reshapes) {
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

TEST(CpuShape, ReshapeGradients) {
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

TEST(CpuShape, Transpose) {
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

TEST(CpuShape, TransposeGradientIsInverseTranspose) {
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

} // namespace
