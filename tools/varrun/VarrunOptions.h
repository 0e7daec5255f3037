// varrun's command line: the flags, their help text and the parser.
#ifndef VAR_TOOLS_VARRUN_VARRUNOPTIONS_H
#define VAR_TOOLS_VARRUN_VARRUNOPTIONS_H

#include "runtime/data/DataFlags.h"
#include "runtime/data/Synthetic.h"
#include "runtime/train/LrSchedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace var::tools {

struct Options {
  std::string plan;
  int nprocPerNode = 0;
  std::string device = "auto";
  /// --cuda-graphs: record and replay steps where the plan allows.
  bool cudaGraphs = true;
  /// --cuda-graphs=auto: steps with NCCL collectives are recorded too
  /// (local: they run eagerly).
  bool cudaGraphsWithNccl = true;
  std::string data = var::data::kSyntheticSourceName;
  int64_t steps = 0, epochs = 0;
  bool stepsGiven = false, epochsGiven = false; // --steps=0: no training
  std::optional<double> lr;
  uint64_t seed = 0;
  int64_t logEvery = 10;
  int64_t trainSize = 4096, evalSize = 512;
  int64_t taskClasses = 0;
  std::string exportWeights;
  std::string initWeights;
  std::vector<std::string> resetClassifier;
  std::string inputFile, dumpForward, dumpStep;
  int64_t commTimeout = 300;
  std::string checkpointDir;
  int64_t checkpointEvery = 0, keepCheckpoints = 0;
  bool resume = false;

  /// The schedule: flags override the plan's DeepSpeed scheduler.
  std::optional<var::train::LrScheduleKind> lrSchedule;
  var::train::LrScheduleConfig lrFlags;
  int64_t evalEverySteps = 0, evalEveryEpochs = 0;
  std::string tensorboard, metrics;
  int64_t profileFirst = 0, profileLast = 0;
  /// --trace: the timeline's file and steps (0: off).
  std::string trace;
  int64_t traceFirst = 0, traceLast = 0;
  /// Unset: defaultPeakTflops for the backend and compute type.
  std::optional<double> peakTflops;
  var::data::DataOptions dataOptions; // the video data flags
};

/// Prints `message` and the help text to stderr; returns exit code 2.
int usageError(const std::string &message);

/// Parses argv; returns an exit code when varrun should stop (help, error).
std::optional<int> parseOptions(int argc, char **argv, Options &options);

} // namespace var::tools

#endif
