// Evaluation metrics, the JSON Lines format and the progress line.
#include "runtime/train/Metrics.h"
#include "runtime/train/MetricsLog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

using namespace var::train;

TEST(TrainMetricsTest, TopKMeanClassAccuracyAndLoss) {
  ClassificationMetrics metrics(6);
  // Clip 0 (label 2): the maximum, top-1 (and top-5). Clip 1 (label 0): four
  // classes higher, the tie at class 5 comes after it: top-5 only. Clip 2
  // (label 5): all tied, five lower indices rank above: neither. Clip 3 (label
  // 2): class 0 higher: top-5 only.
  std::vector<float> logits = {0, 1, 3, 2, 0, 0, //
                               1, 5, 4, 3, 2, 1, //
                               1, 1, 1, 1, 1, 1, //
                               4, 0, 3, 0, 0, 0};
  metrics.addBatch(logits, {2, 0, 5, 2});
  ClassificationSummary s = ClassificationMetrics::summarize(metrics.sums());
  EXPECT_EQ(s.count, 4);
  EXPECT_DOUBLE_EQ(s.top1, 0.25);
  EXPECT_DOUBLE_EQ(s.top5, 0.75);
  // Classes 2 (1 of 2), 0 (0 of 1), 5 (0 of 1); classes 1, 3, 4 absent.
  EXPECT_DOUBLE_EQ(s.meanClassAccuracy, 0.5 / 3);
  double e = std::exp(1.0);
  double expected =
      (std::log(1 + e + e * e * e + e * e + 1 + 1) - 3 +
       std::log(e + std::pow(e, 5) + std::pow(e, 4) + std::pow(e, 3) + e * e +
                e) -
       1 + std::log(6.0) + std::log(std::pow(e, 4) + 1 + e * e * e + 3) - 3) /
      4;
  EXPECT_NEAR(s.loss, expected, 1e-6);
}

TEST(TrainMetricsTest, StepLossAndSumsAddAcrossRanks) {
  ClassificationMetrics rank0(3), rank1(3);
  rank0.addBatch({0, 1, 0, 2, 0, 0}, {1, 0}, 0.5);
  rank1.addBatch({0, 0, 1}, {1}, 2.0);
  std::vector<float> sums = rank0.sums(), other = rank1.sums();
  ASSERT_EQ(sums.size(), 4u + 2 * 3);
  for (size_t i = 0; i < sums.size(); ++i)
    sums[i] += other[i];
  ClassificationSummary s = ClassificationMetrics::summarize(sums);
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.loss, (0.5 * 2 + 2.0) / 3);
  EXPECT_DOUBLE_EQ(s.top1, 2.0 / 3);
  // Class 0: 1 of 1; class 1: 1 of 2.
  EXPECT_DOUBLE_EQ(s.meanClassAccuracy, 0.75);
  rank0.reset();
  EXPECT_EQ(ClassificationMetrics::summarize(rank0.sums()).count, 0);
}

TEST(TrainMetricsTest, JsonLines) {
  EXPECT_EQ(
      formatJsonLine("train",
                     {{"step", 10},
                      {"loss", 0.25},
                      {"lr", 0.001},
                      {"grad_norm", std::numeric_limits<double>::quiet_NaN()}}),
      "{\"kind\":\"train\",\"step\":10,\"loss\":0.25,\"lr\":0.001,"
      "\"grad_norm\":null}");
}

TEST(TrainMetricsTest, Durations) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(65.4), "1:05");
  EXPECT_EQ(formatDuration(3725), "1:02:05");
  EXPECT_EQ(formatDuration(-1), "?");
}

TEST(TrainMetricsTest, ProgressOnATerminalRewritesOneLine) {
  std::ostringstream out;
  ProgressLine progress(out, /*terminal=*/true, 10);
  progress.update(2, "step 2/10 long text", 4.0);
  progress.update(5, "step 5/10", 10.0);
  progress.print("eval");
  progress.finish();
  // 2 steps in 4 s: 8 more take 16 s. The shorter line blanks the rest.
  EXPECT_EQ(out.str(), "\rstep 2/10 long text  ETA 0:16"
                       "\rstep 5/10  ETA 0:10          "
                       "\r                   \reval\n");
}

TEST(TrainMetricsTest, ProgressElsewherePrintsPlainLines) {
  std::ostringstream out;
  ProgressLine progress(out, /*terminal=*/false, 10);
  progress.update(2, "step 2/10", 4.0);
  progress.print("eval");
  progress.finish();
  EXPECT_EQ(out.str(), "step 2/10\neval\n");
}
