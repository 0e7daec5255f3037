// The terminal, TensorBoard and JSON Lines views of the same log points.
#include "runtime/train/TrainLog.h"

#include <cstdio>
#include <sys/resource.h>

namespace var::train {

int64_t getPeakResidentBytes() {
  struct rusage usage;
  if (::getrusage(RUSAGE_SELF, &usage) != 0)
    return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024; // KiB on Linux
}

std::string TrainLog::open(const std::string &tensorboardDir,
                           const std::string &metricsFile, std::ostream &out,
                           bool terminal, int64_t totalSteps,
                           std::unique_ptr<TrainLog> &log) {
  std::unique_ptr<TrainLog> made(new TrainLog(out, terminal, totalSteps));
  if (!tensorboardDir.empty()) {
    std::string error = EventFileWriter::open(tensorboardDir, made->events);
    if (!error.empty())
      return "--tensorboard: " + error;
  }
  if (!metricsFile.empty()) {
    std::string error = JsonLinesWriter::open(metricsFile, made->metrics);
    if (!error.empty())
      return "--metrics: " + error;
  }
  log = std::move(made);
  return "";
}

std::string TrainLog::logTrain(const TrainRecord &r) {
  char text[256];
  int used = std::snprintf(
      text, sizeof text,
      "step %lld/%lld  loss %.4f  train accuracy %.1f%%  lr %.4g",
      static_cast<long long>(r.step), static_cast<long long>(totalSteps),
      r.train.loss, 100.0 * r.train.top1, r.lr);
  if (r.gradNorm)
    used += std::snprintf(text + used, sizeof text - used, "  grad norm %.4g",
                          *r.gradNorm);
  std::snprintf(text + used, sizeof text - used, "  (%.1f clips/s)",
                r.clipsPerSecond);
  progress.update(r.step, text, r.elapsedSeconds);

  double memoryMiB = static_cast<double>(getPeakResidentBytes()) / (1 << 20);
  std::vector<std::pair<std::string, double>> scalars = {
      {"train/loss", r.train.loss},
      {"train/top1", r.train.top1},
      {"train/lr", r.lr},
      {"train/clips_per_s", r.clipsPerSecond},
      {"train/frames_per_s", r.clipsPerSecond * r.framesPerClip},
      {"memory/peak_rss_mib", memoryMiB}};
  if (r.gradNorm)
    scalars.insert(scalars.begin() + 3, {"train/grad_norm", *r.gradNorm});
  if (events) {
    std::string error = events->addScalars(r.step, scalars);
    if (!error.empty())
      return "--tensorboard: " + error;
  }
  if (metrics) {
    std::vector<std::pair<std::string, double>> fields = {
        {"step", static_cast<double>(r.step)},
        {"epoch", r.epoch},
        {"loss", r.train.loss},
        {"top1", r.train.top1},
        {"lr", r.lr}};
    if (r.gradNorm)
      fields.push_back({"grad_norm", *r.gradNorm});
    fields.push_back({"clips_per_s", r.clipsPerSecond});
    fields.push_back({"frames_per_s", r.clipsPerSecond * r.framesPerClip});
    fields.push_back({"peak_rss_mib", memoryMiB});
    std::string error = metrics->write("train", fields);
    if (!error.empty())
      return "--metrics: " + error;
  }
  return "";
}

std::string TrainLog::logEval(int64_t step, double epoch,
                              const ClassificationSummary &e, double chance) {
  char text[256];
  std::snprintf(text, sizeof text,
                "eval accuracy %.1f%% on %lld clips (chance %.1f%%)  top-5 "
                "%.1f%%  mean class %.1f%%  loss %.4f  (step %lld)",
                100.0 * e.top1, static_cast<long long>(e.count), 100.0 * chance,
                100.0 * e.top5, 100.0 * e.meanClassAccuracy, e.loss,
                static_cast<long long>(step));
  progress.print(text);
  if (events) {
    std::string error = events->addScalars(
        step, {{"eval/loss", e.loss},
               {"eval/top1", e.top1},
               {"eval/top5", e.top5},
               {"eval/mean_class_accuracy", e.meanClassAccuracy}});
    if (!error.empty())
      return "--tensorboard: " + error;
  }
  if (metrics) {
    std::string error =
        metrics->write("eval", {{"step", static_cast<double>(step)},
                                {"epoch", epoch},
                                {"loss", e.loss},
                                {"top1", e.top1},
                                {"top5", e.top5},
                                {"mean_class_accuracy", e.meanClassAccuracy},
                                {"clips", static_cast<double>(e.count)}});
    if (!error.empty())
      return "--metrics: " + error;
  }
  return "";
}

} // namespace var::train
