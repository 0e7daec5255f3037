// LR schedules against values worked out by hand from DeepSpeed's formulas,
// including its engine's timing (optimizer step s uses iteration s - 2).
#include "runtime/train/LrSchedule.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace var::train;

namespace {

LrSchedule resolved(const LrScheduleConfig &config, double baseLr,
                    int64_t steps = 1000) {
  LrSchedule schedule;
  std::string error = LrSchedule::resolve(config, baseLr, steps, schedule);
  EXPECT_EQ(error, "");
  return schedule;
}

} // namespace

TEST(LrScheduleTest, ConstantIsTheBaseLr) {
  LrSchedule s = resolved({}, 0.02);
  EXPECT_DOUBLE_EQ(s.lrAtStep(1), 0.02);
  EXPECT_DOUBLE_EQ(s.lrAtStep(500), 0.02);
}

TEST(LrScheduleTest, WarmupLogFollowsDeepSpeed) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupLR;
  config.warmupMaxLr = 0.01;
  config.warmupNumSteps = 10;
  LrSchedule s = resolved(config, 0.5);
  // Iteration -1 (set when DeepSpeed builds the scheduler) and 0: min_lr.
  EXPECT_DOUBLE_EQ(s.lrAtStep(1), 0.0);
  EXPECT_DOUBLE_EQ(s.lrAtStep(2), 0.0);
  // Iteration 1: 0.01 * log(2) / log(10).
  EXPECT_NEAR(s.lrAtStep(3), 0.01 * 0.30102999566398120, 1e-15);
  // Iteration 9: log(10)/log(10) = 1; 10 and on: max_lr held.
  EXPECT_NEAR(s.lrAtIteration(9), 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(s.lrAtStep(12), 0.01);
  EXPECT_DOUBLE_EQ(s.lrAtStep(900), 0.01);
}

TEST(LrScheduleTest, WarmupLinearStartsFromMinLr) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupLR;
  config.warmupMinLr = 0.001;
  config.warmupMaxLr = 0.011;
  config.warmupNumSteps = 10;
  config.warmupType = WarmupType::Linear;
  LrSchedule s = resolved(config, 0.5);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(-1), 0.001);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(0), 0.001);
  EXPECT_NEAR(s.lrAtIteration(5), 0.006, 1e-15); // 0.001 + 0.01 * 5/10
  EXPECT_NEAR(s.lrAtStep(7), 0.006, 1e-15);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(10), 0.011);
}

TEST(LrScheduleTest, WarmupMaxLrDefaultsToTheBaseLr) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupLR;
  config.warmupNumSteps = 4;
  config.warmupType = WarmupType::Linear;
  LrSchedule s = resolved(config, 0.2);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(2), 0.1);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(4), 0.2);
}

TEST(LrScheduleTest, WarmupOfOneStepWarmsOverTwo) {
  // DeepSpeed raises warmup_num_steps to 2 (log(1) is 0).
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupLR;
  config.warmupNumSteps = 1;
  config.warmupMaxLr = 1.0;
  LrSchedule s = resolved(config, 1.0);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(1), 1.0); // log(2) / log(2)
}

TEST(LrScheduleTest, WarmupDecayGoesLinearlyToZero) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupDecayLR;
  config.warmupMaxLr = 0.1;
  config.warmupNumSteps = 10;
  config.totalNumSteps = 110;
  config.warmupType = WarmupType::Linear;
  LrSchedule s = resolved(config, 1.0);
  EXPECT_NEAR(s.lrAtIteration(5), 0.05, 1e-15);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(10), 0.1);    // (110 - 10) / 100
  EXPECT_NEAR(s.lrAtIteration(60), 0.05, 1e-15); // (110 - 60) / 100
  EXPECT_DOUBLE_EQ(s.lrAtIteration(110), 0.0);
  EXPECT_DOUBLE_EQ(s.lrAtIteration(200), 0.0);
  EXPECT_NEAR(s.lrAtStep(62), 0.05, 1e-15);
}

TEST(LrScheduleTest, WarmupDecayTotalDefaultsToTheRunsSteps) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupDecayLR;
  config.warmupNumSteps = 2;
  LrSchedule s = resolved(config, 1.0, /*steps=*/12);
  EXPECT_NEAR(s.lrAtIteration(7), 0.5, 1e-15); // (12 - 7) / (12 - 2)
}

TEST(LrScheduleTest, WarmupCosine) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::WarmupCosineLR;
  config.warmupNumSteps = 10;
  config.totalNumSteps = 110;
  config.warmupMinRatio = 0.2;
  config.cosMinRatio = 0.1;
  config.warmupType = WarmupType::Linear;
  LrSchedule s = resolved(config, 0.1);
  // Before the first step() DeepSpeed's cosine schedule gives 0.
  EXPECT_DOUBLE_EQ(s.lrAtStep(1), 0.0);
  // Warmup: ratio 0.2 + 0.8 * 5/10 = 0.6.
  EXPECT_NEAR(s.lrAtIteration(5), 0.06, 1e-15);
  // Iteration 59: 50 of 100 cosine steps, cos(pi/2) = 0, ratio
  // 0.1 + 0.9 * 0.5 = 0.55.
  EXPECT_NEAR(s.lrAtIteration(59), 0.055, 1e-15);
  // Iteration 10: the first cosine step, (1 + cos(pi/100)) / 2.
  EXPECT_NEAR(s.lrAtIteration(10), 0.1 * (0.1 + 0.9 * 0.99975328018287), 1e-12);
  // The end: cos(pi) = -1, ratio cos_min_ratio.
  EXPECT_NEAR(s.lrAtIteration(109), 0.01, 1e-15);
}

TEST(LrScheduleTest, StepDecay) {
  LrScheduleConfig config;
  config.kind = LrScheduleKind::StepDecay;
  config.stepSize = 3;
  config.gamma = 0.5;
  LrSchedule s = resolved(config, 1.0);
  EXPECT_DOUBLE_EQ(s.lrAtStep(1), 1.0);
  EXPECT_DOUBLE_EQ(s.lrAtStep(3), 1.0);
  EXPECT_DOUBLE_EQ(s.lrAtStep(4), 0.5);
  EXPECT_DOUBLE_EQ(s.lrAtStep(6), 0.5);
  EXPECT_DOUBLE_EQ(s.lrAtStep(7), 0.25);
}

TEST(LrScheduleTest, ErrorsNameTheParameter) {
  LrSchedule s;
  LrScheduleConfig step;
  step.kind = LrScheduleKind::StepDecay;
  EXPECT_NE(LrSchedule::resolve(step, 1.0, 10, s).find("--lr-step-size"),
            std::string::npos);
  LrScheduleConfig cosine;
  cosine.kind = LrScheduleKind::WarmupCosineLR;
  cosine.warmupNumSteps = 100;
  EXPECT_NE(LrSchedule::resolve(cosine, 1.0, 100, s)
                .find("total_num_steps (100) must exceed warmup_num_steps"),
            std::string::npos);
  cosine.cosMinRatio = 1.5;
  cosine.totalNumSteps = 1000;
  EXPECT_EQ(LrSchedule::resolve(cosine, 1.0, 100, s),
            "cos_min_ratio must be in [0, 1], got 1.5");
  LrScheduleConfig warmup;
  warmup.kind = LrScheduleKind::WarmupLR;
  warmup.warmupMinLr = -1;
  EXPECT_EQ(LrSchedule::resolve(warmup, 1.0, 100, s),
            "warmup_min_lr must be a non-negative number, got -1");
}

TEST(LrScheduleTest, ParametersOfAnotherScheduleAreRefused) {
  LrSchedule s;
  LrScheduleConfig constant;
  constant.warmupNumSteps = 10;
  EXPECT_EQ(LrSchedule::resolve(constant, 1.0, 100, s),
            "warmup_num_steps does not apply to the Constant schedule");
  LrScheduleConfig cosine;
  cosine.kind = LrScheduleKind::WarmupCosineLR;
  cosine.warmupMaxLr = 0.1;
  EXPECT_EQ(LrSchedule::resolve(cosine, 1.0, 2000, s),
            "warmup_max_lr does not apply to the WarmupCosineLR schedule");
  LrScheduleConfig warmup;
  warmup.kind = LrScheduleKind::WarmupLR;
  warmup.totalNumSteps = 10;
  EXPECT_EQ(LrSchedule::resolve(warmup, 1.0, 100, s),
            "total_num_steps does not apply to the WarmupLR schedule");
  LrScheduleConfig step;
  step.kind = LrScheduleKind::StepDecay;
  step.stepSize = 5;
  step.cosMinRatio = 0.1;
  EXPECT_EQ(LrSchedule::resolve(step, 1.0, 100, s),
            "cos_min_ratio does not apply to the StepLR schedule");
}

TEST(LrScheduleTest, NamesParse) {
  EXPECT_EQ(parseLrScheduleKind("WarmupCosineLR"),
            LrScheduleKind::WarmupCosineLR);
  EXPECT_EQ(parseLrScheduleKind("warmup-decay"), LrScheduleKind::WarmupDecayLR);
  EXPECT_EQ(parseLrScheduleKind("step"), LrScheduleKind::StepDecay);
  EXPECT_EQ(parseLrScheduleKind("OneCycle"), std::nullopt);
  EXPECT_EQ(parseWarmupType("linear"), WarmupType::Linear);
  EXPECT_EQ(parseWarmupType("exp"), std::nullopt);
}

TEST(LrScheduleTest, FlagsOverThePlansSchedule) {
  var::plan::LrScheduleSpec plan;
  plan.type = "WarmupDecayLR";
  plan.warmupMaxLr = 0.02;
  plan.warmupNumSteps = 2;
  plan.totalNumSteps = 6;
  plan.warmupType = "linear";
  LrSchedule s;
  ASSERT_EQ(resolveLrSchedule(plan, std::nullopt, {}, 1.0, 100, s), "");
  EXPECT_EQ(s.describe(), "WarmupDecayLR warmup_min_lr 0 warmup_max_lr 0.02 "
                          "warmup_num_steps 2 warmup_type linear "
                          "total_num_steps 6");
  LrScheduleConfig flags;
  flags.warmupMaxLr = 0.04;
  flags.warmupType = WarmupType::Log;
  ASSERT_EQ(resolveLrSchedule(plan, LrScheduleKind::WarmupDecayLR, flags, 1.0,
                              100, s),
            "");
  EXPECT_EQ(s.describe(), "WarmupDecayLR warmup_min_lr 0 warmup_max_lr 0.04 "
                          "warmup_num_steps 2 warmup_type log "
                          "total_num_steps 6");
  // Another schedule drops the plan's parameters.
  ASSERT_EQ(resolveLrSchedule(plan, LrScheduleKind::Constant, {}, 0.5, 100, s),
            "");
  EXPECT_EQ(s.describe(), "Constant lr 0.5");
  // No plan schedule: the flags alone.
  LrScheduleConfig step;
  step.stepSize = 3;
  ASSERT_EQ(resolveLrSchedule(std::nullopt, LrScheduleKind::StepDecay, step,
                              1.0, 100, s),
            "");
  EXPECT_EQ(s.describe(), "StepLR lr 1 step_size 3 gamma 0.1");
  plan.type = "OneCycle";
  EXPECT_EQ(resolveLrSchedule(plan, std::nullopt, {}, 1.0, 100, s),
            "the plan's LR schedule 'OneCycle' is unknown");
}
