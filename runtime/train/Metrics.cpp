// Loss and accuracy sums over batches of logits.
#include "runtime/train/Metrics.h"

#include <algorithm>
#include <cmath>

namespace var::train {

ClassificationMetrics::ClassificationMetrics(int64_t classes)
    : classes(classes), classCorrect(classes, 0.0), classCount(classes, 0.0) {}

void ClassificationMetrics::addBatch(const std::vector<float> &logits,
                                     const std::vector<int64_t> &labels,
                                     std::optional<double> stepLoss) {
  auto batch = static_cast<int64_t>(labels.size());
  for (int64_t i = 0; i < batch; ++i) {
    const float *row = logits.data() + i * classes;
    int64_t label = labels[i];
    float target = row[label];
    int64_t above = 0;
    for (int64_t c = 0; c < classes; ++c)
      above += row[c] > target || (row[c] == target && c < label);
    top1 += above < 1;
    top5 += above < 5;
    classCorrect[label] += above < 1;
    classCount[label] += 1;
    if (!stepLoss) {
      // log-sum-exp around the maximum, in double.
      double maximum = *std::max_element(row, row + classes);
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c)
        sum += std::exp(static_cast<double>(row[c]) - maximum);
      loss += maximum + std::log(sum) - target;
    }
  }
  if (stepLoss)
    loss += *stepLoss * static_cast<double>(batch);
  count += static_cast<double>(batch);
}

std::vector<float> ClassificationMetrics::sums() const {
  std::vector<float> out = {static_cast<float>(loss), static_cast<float>(top1),
                            static_cast<float>(top5),
                            static_cast<float>(count)};
  for (int64_t c = 0; c < classes; ++c) {
    out.push_back(static_cast<float>(classCorrect[c]));
    out.push_back(static_cast<float>(classCount[c]));
  }
  return out;
}

ClassificationSummary
ClassificationMetrics::summarize(const std::vector<float> &sums) {
  ClassificationSummary summary;
  if (sums.size() < 4 || sums[3] <= 0)
    return summary;
  double count = sums[3];
  summary.count = static_cast<int64_t>(count);
  summary.loss = sums[0] / count;
  summary.top1 = sums[1] / count;
  summary.top5 = sums[2] / count;
  double accuracySum = 0;
  int64_t present = 0;
  for (size_t i = 4; i + 1 < sums.size(); i += 2)
    if (sums[i + 1] > 0) {
      accuracySum += static_cast<double>(sums[i]) / sums[i + 1];
      ++present;
    }
  summary.meanClassAccuracy = present ? accuracySum / present : 0.0;
  return summary;
}

void ClassificationMetrics::reset() {
  loss = top1 = top5 = count = 0;
  std::fill(classCorrect.begin(), classCorrect.end(), 0.0);
  std::fill(classCount.begin(), classCount.end(), 0.0);
}

} // namespace var::train
