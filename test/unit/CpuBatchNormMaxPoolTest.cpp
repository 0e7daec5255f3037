// The CPU kernel of var.batch_norm_train_max_pool against var.batch_norm_train
// followed by var.max_pool_with_indices of its result, byte for byte: the
// pooled output, the indices and the four statistics, in f32 and in bf16
// with f32 statistics (mixed precision), with no activation, ReLU, ReLU6 and
// SiLU, both layouts, odd sizes, overlapping padded windows, on inputs full
// of ties (constant channels, ReLU's zeros) and with NaNs.
#include "test/unit/CpuKernelTest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace var;
using namespace var::cputest;

namespace {

/// A channels-first input shape and the window pooled over it; `pooled` is
/// the output's channels-first shape.
struct Case {
  std::string name;
  Shape input, pooled, kernel, stride, padding;
};

const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      {"vgg_2x2", {2, 8, 8, 8}, {2, 8, 4, 4}, {2, 2}, {2, 2}, {0, 0}},
      {"odd_channels_and_sizes",
       {3, 5, 7, 9},
       {3, 5, 3, 4},
       {2, 2},
       {2, 2},
       {0, 0}},
      {"overlap_3x3_s2_pad1",
       {2, 3, 9, 9},
       {2, 3, 5, 5},
       {3, 3},
       {2, 2},
       {1, 1}},
      {"volume_1x2x2",
       {1, 4, 3, 6, 5},
       {1, 4, 3, 3, 2},
       {1, 2, 2},
       {1, 2, 2},
       {0, 0, 0}},
  };
  return all;
}

/// (N, C, spatial...) as (N, spatial..., C).
Shape channelsLast(Shape shape) {
  shape.push_back(shape[1]);
  shape.erase(shape.begin() + 1);
  return shape;
}

/// Input values: "random"; "ties", a few values repeated so that windows
/// tie before and after normalization, one channel constant (it normalizes
/// to its bias everywhere); "nan", random with a NaN in one channel.
std::vector<float> inputValues(const Shape &shape, const std::string &kind,
                               bool last) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  int64_t count = numel(shape);
  int64_t channels = last ? shape.back() : shape[1];
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    inner *= shape[d];
  if (last)
    inner = 1;
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    int64_t c = i / inner % channels;
    if (kind == "ties")
      values[i] = c == 1 ? 0.75f : static_cast<float>(i * 7 % 3) - 1.0f;
    else
      values[i] = uniform(rng);
  }
  if (kind == "nan")
    values[static_cast<size_t>(count / 2)] = std::nanf("");
  return values;
}

std::vector<float> channelValues(int64_t channels, float base, float step) {
  std::vector<float> values(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c)
    values[c] = base + step * static_cast<float>(c % 4);
  return values;
}

bool sameBytes(const Tensor &a, const Tensor &b) {
  return a.view.bytes() == b.view.bytes() &&
         std::memcmp(a.view.data, b.view.data,
                     static_cast<size_t>(a.view.bytes())) == 0;
}

/// Runs the fused op and the pair on one case and compares every result.
void expectSameAsPair(const Case &c, bool last, DType dtype,
                      const std::string &activation, const std::string &kind) {
  SCOPED_TRACE(c.name + (last ? " channels_last " : " ") +
               (dtype == DType::BF16 ? "bf16 " : "f32 ") +
               (activation.empty() ? "none" : activation) + " " + kind);
  Shape inShape = last ? channelsLast(c.input) : c.input;
  Shape outShape = last ? channelsLast(c.pooled) : c.pooled;
  int64_t channels = c.input[1];
  Tensor x(inShape, inputValues(inShape, kind, last), dtype);
  Tensor weight({channels}, channelValues(channels, 0.5f, 0.75f));
  Tensor bias({channels}, channelValues(channels, -0.25f, 0.5f));
  Tensor mean({channels}, channelValues(channels, 0.1f, 0.1f));
  Tensor var({channels}, channelValues(channels, 1.0f, 0.5f));

  Attrs attrs = {floatAttr("eps", 1e-3), floatAttr("momentum", 0.2),
                 intsAttr("kernel", c.kernel), intsAttr("stride", c.stride),
                 intsAttr("padding", c.padding)};
  if (last)
    attrs.push_back(unitAttr("channels_last"));
  if (!activation.empty())
    attrs.push_back({"activation", activation});

  // The pair: the batch norm's stored result, then its pool.
  Tensor normalized(dtype, inShape);
  Tensor stats[4] = {
      Tensor(DType::F32, {channels}), Tensor(DType::F32, {channels}),
      Tensor(DType::F32, {channels}), Tensor(DType::F32, {channels})};
  ASSERT_EQ(run("var.batch_norm_train", {&x, &weight, &bias, &mean, &var},
                {&normalized, &stats[0], &stats[1], &stats[2], &stats[3]},
                attrs),
            "");
  Tensor output(dtype, outShape), indices(DType::I8, outShape);
  ASSERT_EQ(run("var.max_pool_with_indices", {&normalized}, {&output, &indices},
                attrs),
            "");

  Tensor fusedOutput(dtype, outShape), fusedIndices(DType::I8, outShape);
  Tensor fusedStats[4] = {
      Tensor(DType::F32, {channels}), Tensor(DType::F32, {channels}),
      Tensor(DType::F32, {channels}), Tensor(DType::F32, {channels})};
  ASSERT_EQ(run("var.batch_norm_train_max_pool",
                {&x, &weight, &bias, &mean, &var},
                {&fusedOutput, &fusedIndices, &fusedStats[0], &fusedStats[1],
                 &fusedStats[2], &fusedStats[3]},
                attrs),
            "");
  EXPECT_TRUE(sameBytes(output, fusedOutput));
  EXPECT_TRUE(sameBytes(indices, fusedIndices));
  for (int k = 0; k < 4; ++k)
    EXPECT_TRUE(sameBytes(stats[k], fusedStats[k])) << "statistic " << k;
}

TEST(CpuBatchNormMaxPoolTest, MatchesBatchNormThenPoolByteForByte) {
  for (const Case &c : cases())
    for (bool last : {false, true})
      for (DType dtype : {DType::F32, DType::BF16})
        for (const char *activation : {"", "relu", "relu6", "silu"})
          for (const char *kind : {"random", "ties", "nan"})
            expectSameAsPair(c, last, dtype, activation, kind);
}

// The ties case does tie: a constant channel normalizes to one value
// (about its bias: the shift is rounded) everywhere, and every window
// takes its first position.
TEST(CpuBatchNormMaxPoolTest, ConstantChannelTakesTheFirstPosition) {
  Shape shape = {1, 2, 4, 4};
  std::vector<float> values(32, 0.75f);
  for (int i = 0; i < 16; ++i)
    values[i] = static_cast<float>(i % 5);
  Tensor x(shape, values);
  Tensor weight({2}, {1.0f, 1.0f}), bias({2}, {0.0f, 0.5f});
  Tensor mean({2}, {0.0f, 0.0f}), var({2}, {1.0f, 1.0f});
  Tensor output(DType::F32, {1, 2, 2, 2}), indices(DType::I8, {1, 2, 2, 2});
  Tensor stats[4] = {Tensor(DType::F32, {2}), Tensor(DType::F32, {2}),
                     Tensor(DType::F32, {2}), Tensor(DType::F32, {2})};
  ASSERT_EQ(run("var.batch_norm_train_max_pool",
                {&x, &weight, &bias, &mean, &var},
                {&output, &indices, &stats[0], &stats[1], &stats[2], &stats[3]},
                {intsAttr("kernel", {2, 2}), {"activation", "relu"}}),
            "");
  std::vector<float> pooled = output.values();
  for (int i = 4; i < 8; ++i) {
    EXPECT_EQ(pooled[i], pooled[4]);
    EXPECT_NEAR(pooled[i], 0.5f, 1e-4f);
    EXPECT_EQ(static_cast<const int8_t *>(indices.view.data)[i], 0);
  }
}

TEST(CpuBatchNormMaxPoolTest, BadCallsAreMessages) {
  Tensor x(DType::F32, {1, 2, 16, 16});
  Tensor p(DType::F32, {2});
  Tensor output(DType::F32, {1, 2, 1, 2}), indices(DType::I8, {1, 2, 1, 2});
  Tensor stats[4] = {Tensor(DType::F32, {2}), Tensor(DType::F32, {2}),
                     Tensor(DType::F32, {2}), Tensor(DType::F32, {2})};
  // A window of 128 positions, more than i8 names.
  EXPECT_NE(run("var.batch_norm_train_max_pool", {&x, &p, &p, &p, &p},
                {&output, &indices, &stats[0], &stats[1], &stats[2], &stats[3]},
                {intsAttr("kernel", {16, 8})}),
            "");
  // The statistics missing.
  EXPECT_NE(run("var.batch_norm_train_max_pool", {&x, &p, &p, &p, &p},
                {&output, &indices}, {intsAttr("kernel", {2, 2})}),
            "");
}

} // namespace
