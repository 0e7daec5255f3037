// Classification metrics of a stretch of training or an evaluation pass:
// cross-entropy loss, top-1, top-5 and mean class accuracy, as sums that
// ranks add up before the ratios are taken.
#ifndef VAR_RUNTIME_TRAIN_METRICS_H
#define VAR_RUNTIME_TRAIN_METRICS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace var::train {

/// The ratios, from the sums of every rank.
struct ClassificationSummary {
  double loss = 0;              // mean cross-entropy per clip
  double top1 = 0, top5 = 0;    // fractions of clips
  double meanClassAccuracy = 0; // top-1 per class, averaged over the classes
                                // that occur
  int64_t count = 0;
};

class ClassificationMetrics {
public:
  explicit ClassificationMetrics(int64_t classes);

  /// Adds a batch of (batch, classes) logits and their labels. `stepLoss`
  /// is the batch's mean loss as the training step computed it; without
  /// it (an evaluation pass returns only logits) the loss is the
  /// cross-entropy of the logits' softmax. A clip counts for top-k when
  /// fewer than k classes rank above its label, where a class ranks above
  /// it with a higher logit, or an equal one and a lower index (so top-1 is
  /// the first maximum).
  void addBatch(const std::vector<float> &logits,
                const std::vector<int64_t> &labels,
                std::optional<double> stepLoss = std::nullopt);

  /// The sums as one array for an all-reduce: loss, top-1, top-5, count,
  /// then per class the correct count and the count. Float sums are exact
  /// for counts below 2^24.
  std::vector<float> sums() const;
  /// The ratios from sums() added over ranks.
  static ClassificationSummary summarize(const std::vector<float> &sums);

  void reset();
  int64_t getClasses() const { return classes; }

private:
  int64_t classes;
  double loss = 0, top1 = 0, top5 = 0, count = 0;
  std::vector<double> classCorrect, classCount;
};

} // namespace var::train

#endif
