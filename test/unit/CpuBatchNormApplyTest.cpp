// The CPU kernel of var.batch_norm_apply against the result of the
// var.batch_norm_train that wrote its saved statistics, byte for byte: f32,
// and bf16 with f32 statistics (mixed precision) or bf16 ones, no
// activation, ReLU, ReLU6 and SiLU, channels-first and channels-last.
#include "test/unit/CpuKernelTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace var;
using namespace var::cputest;

namespace {

struct Case {
  DType dtype, statType;
  bool channelsLast;
  std::string activation;
};

std::string describe(const Case &c) {
  return std::string(plan::getDTypeName(c.dtype)) + "/" +
         std::string(plan::getDTypeName(c.statType)) +
         (c.channelsLast ? " channels-last " : " ") +
         (c.activation.empty() ? "none" : c.activation);
}

Attrs attributes(const Case &c) {
  Attrs attrs;
  if (c.channelsLast)
    attrs.push_back(unitAttr("channels_last"));
  if (!c.activation.empty())
    attrs.push_back({"activation", c.activation});
  return attrs;
}

/// Values spread over [-scale, scale] with a per-channel offset, so that
/// the normalized results cross ReLU6's bounds.
std::vector<float> spread(size_t count, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i)
    values[i] = dist(gen) + static_cast<float>(i % 5);
  return values;
}

TEST(CpuBatchNormApply, MatchesTheTrainingResultByteForByte) {
  std::vector<Case> cases;
  for (const char *act : {"", "relu", "relu6", "silu"})
    for (bool last : {false, true}) {
      cases.push_back({DType::F32, DType::F32, last, act});
      cases.push_back({DType::BF16, DType::F32, last, act});
      cases.push_back({DType::BF16, DType::BF16, last, act});
    }
  constexpr int64_t kChannels = 5;
  for (const Case &c : cases) {
    SCOPED_TRACE(describe(c));
    Shape shape =
        c.channelsLast ? Shape{3, 4, 7, kChannels} : Shape{3, kChannels, 4, 7};
    Tensor input(shape, spread(numel(shape), 1, 3.0f), c.dtype);
    Tensor weight({kChannels}, {4.0f, -5.0f, 0.7f, 1.3f, -0.01f}, c.statType);
    Tensor bias({kChannels}, {2.0f, 1.0f, -0.5f, 3.0f, 0.25f}, c.statType);
    Tensor runningMean({kChannels}, {0.1f, -0.2f, 0.3f, 0.0f, 1.0f},
                       c.statType);
    Tensor runningVar({kChannels}, {0.5f, 2.0f, 1.5f, 1.0f, 3.0f}, c.statType);
    Tensor result(c.dtype, shape), savedMean(c.statType, {kChannels}),
        savedInvstd(c.statType, {kChannels}), newMean(c.statType, {kChannels}),
        newVar(c.statType, {kChannels});
    ASSERT_EQ(run("var.batch_norm_train",
                  {&input, &weight, &bias, &runningMean, &runningVar},
                  {&result, &savedMean, &savedInvstd, &newMean, &newVar},
                  attributes(c)),
              "");
    Tensor applied(c.dtype, shape);
    ASSERT_EQ(run("var.batch_norm_apply",
                  {&input, &weight, &bias, &savedMean, &savedInvstd},
                  {&applied}, attributes(c)),
              "");
    ASSERT_EQ(applied.view.bytes(), result.view.bytes());
    EXPECT_EQ(
        std::memcmp(applied.view.data, result.view.data, result.view.bytes()),
        0);
    // The case must reach both sides of the activation's bounds.
    std::vector<float> y = result.values();
    bool clamps = c.activation == "relu" || c.activation == "relu6";
    EXPECT_GT(std::count_if(y.begin(), y.end(),
                            [&](float v) { return clamps ? v == 0 : v < 0; }),
              0);
    EXPECT_GT(std::count_if(y.begin(), y.end(), [](float v) { return v > 0; }),
              0);
    if (c.activation == "relu6") {
      EXPECT_GT(std::count(y.begin(), y.end(), 6.0f), 0);
    }
  }
}

TEST(CpuBatchNormApply, ChecksItsOperands) {
  Tensor input(DType::F32, {2, 3, 4});
  Tensor channel(DType::F32, {3}), other(DType::F32, {2});
  Tensor result(DType::F32, {2, 3, 4});
  EXPECT_NE(run("var.batch_norm_apply",
                {&input, &channel, &channel, &other, &channel}, {&result})
                .find("saved_mean"),
            std::string::npos);
  EXPECT_NE(run("var.batch_norm_apply", {&input, &channel, &channel, &channel},
                {&result})
                .find("expects 5 operands"),
            std::string::npos);
  EXPECT_NE(run("var.batch_norm_apply",
                {&input, &channel, &channel, &channel, &channel}, {&result},
                {{"activation", std::string("gelu")}})
                .find("unknown activation"),
            std::string::npos);
}

} // namespace
