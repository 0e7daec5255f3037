// A learning-rate schedule as a DeepSpeed config's `scheduler` block gives
// it: varc reads it (compiler/Driver/DeepSpeedConfig.cpp), the plan carries
// it (Config.lr_schedule), varrun resolves it (runtime/train/LrSchedule.h)
// under its own flags. Unset fields take DeepSpeed's defaults there.
#ifndef VAR_RUNTIME_PLAN_LRSCHEDULESPEC_H
#define VAR_RUNTIME_PLAN_LRSCHEDULESPEC_H

#include <cstdint>
#include <optional>
#include <string>

namespace var::plan {

struct LrScheduleSpec {
  /// DeepSpeed's name: "WarmupLR", "WarmupDecayLR" or "WarmupCosineLR".
  std::string type;
  std::optional<double> warmupMinLr, warmupMaxLr;
  std::optional<int64_t> warmupNumSteps;
  /// "log" or "linear".
  std::optional<std::string> warmupType;
  std::optional<int64_t> totalNumSteps;
  std::optional<double> warmupMinRatio, cosMinRatio;
};

} // namespace var::plan

#endif
