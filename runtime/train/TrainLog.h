// Where a training run reports: the terminal (a progress line with ETA, or
// plain lines), TensorBoard scalars (--tensorboard) and JSON Lines
// (--metrics). Rank 0 owns one; the numbers it gets are already summed
// over ranks.
#ifndef VAR_RUNTIME_TRAIN_TRAINLOG_H
#define VAR_RUNTIME_TRAIN_TRAINLOG_H

#include "runtime/train/EventFile.h"
#include "runtime/train/Metrics.h"
#include "runtime/train/MetricsLog.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>

namespace var::train {

/// One log point of training.
struct TrainRecord {
  int64_t step = 0; // optimizer steps done
  double epoch = 0; // fractional epochs done
  ClassificationSummary train;
  double lr = 0;
  std::optional<double> gradNorm; // when the plan clips
  double clipsPerSecond = 0;
  int64_t framesPerClip = 1; // throughput in frames too, as video work counts
  double elapsedSeconds = 0; // since training began, for the ETA
};

class TrainLog {
public:
  /// `tensorboardDir` and `metricsFile` may be empty (off); `terminal`
  /// picks the progress line over plain lines.
  static std::string open(const std::string &tensorboardDir,
                          const std::string &metricsFile, std::ostream &out,
                          bool terminal, int64_t totalSteps,
                          std::unique_ptr<TrainLog> &log);

  std::string logTrain(const TrainRecord &record);
  /// An evaluation at `step`: kept on the terminal, scalars under eval/.
  std::string logEval(int64_t step, double epoch,
                      const ClassificationSummary &eval, double chance);
  /// A message that stays on the terminal.
  void print(const std::string &line) { progress.print(line); }
  void finish() { progress.finish(); }

  const EventFileWriter *getEvents() const { return events.get(); }

private:
  TrainLog(std::ostream &out, bool terminal, int64_t totalSteps)
      : progress(out, terminal, totalSteps), totalSteps(totalSteps) {}

  ProgressLine progress;
  int64_t totalSteps;
  std::unique_ptr<EventFileWriter> events;
  std::unique_ptr<JsonLinesWriter> metrics;
};

/// This process's peak resident memory in bytes (the CPU backend's
/// memory; a GPU backend reports its allocator's peak instead).
int64_t getPeakResidentBytes();

} // namespace var::train

#endif
