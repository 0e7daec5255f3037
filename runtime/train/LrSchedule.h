// Learning-rate schedules: the LR each optimizer step feeds the plan's
// train_step. DeepSpeed's WarmupLR, WarmupDecayLR and WarmupCosineLR, with
// DeepSpeed's formulas and its engine's timing, and a step decay.
#ifndef VAR_RUNTIME_TRAIN_LRSCHEDULE_H
#define VAR_RUNTIME_TRAIN_LRSCHEDULE_H

#include "runtime/plan/LrScheduleSpec.h"

#include <cstdint>
#include <optional>
#include <string>

namespace var::train {

enum class LrScheduleKind {
  Constant,       // the base LR at every step
  WarmupLR,       // warm up from warmup_min_lr to warmup_max_lr, then hold
  WarmupDecayLR,  // the same, then linear decay to 0 at total_num_steps
  WarmupCosineLR, // base LR x a ratio: warm up, then cosine to cos_min_ratio
  StepDecay,      // base LR x gamma^floor((step - 1) / step_size)
};

enum class WarmupType { Log, Linear };

/// A schedule's parameters, under DeepSpeed's names. Unset fields take
/// DeepSpeed's defaults (see resolve()).
struct LrScheduleConfig {
  LrScheduleKind kind = LrScheduleKind::Constant;
  std::optional<double> warmupMinLr, warmupMaxLr;
  std::optional<int64_t> warmupNumSteps;
  std::optional<WarmupType> warmupType;
  std::optional<int64_t> totalNumSteps;
  std::optional<double> warmupMinRatio, cosMinRatio;
  std::optional<int64_t> stepSize;
  std::optional<double> gamma;
};

/// A resolved schedule: every parameter has a value.
class LrSchedule {
public:
  /// Fills in DeepSpeed's defaults: warmup_min_lr 0, warmup_max_lr the
  /// base LR (DeepSpeed's default is 0.001; VAR's base LR is the plan's or
  /// --lr), warmup_num_steps 1000, warmup_type log, warmup_min_ratio 0,
  /// cos_min_ratio 0.0001, gamma 0.1; total_num_steps defaults to
  /// `trainingSteps`. Step decay needs step_size. Returns the error, naming
  /// the parameter, or "".
  static std::string resolve(const LrScheduleConfig &config, double baseLr,
                             int64_t trainingSteps, LrSchedule &out);

  /// The LR of optimizer step `step` (1-based, the step count the plan's
  /// train_step takes). DeepSpeed's engine sets the LR of its scheduler's
  /// iteration -1 when it is built and calls step() after each optimizer
  /// step, so optimizer step s runs with the LR of iteration s - 2; this
  /// function does the same, so that runs match DeepSpeed step by step.
  double lrAtStep(int64_t step) const;
  /// DeepSpeed's get_lr() with last_batch_iteration = `iteration`.
  double lrAtIteration(int64_t iteration) const;

  LrScheduleKind getKind() const { return kind; }
  /// One line naming the schedule and its parameters, for the log.
  std::string describe() const;

private:
  /// The warmup fraction in [0, 1] at `iteration` < warmupNumSteps.
  double warmupGamma(int64_t iteration) const;

  LrScheduleKind kind = LrScheduleKind::Constant;
  double baseLr = 0, warmupMinLr = 0, warmupMaxLr = 0;
  int64_t warmupNumSteps = 2, totalNumSteps = 0;
  WarmupType warmupType = WarmupType::Log;
  double warmupMinRatio = 0, cosMinRatio = 0;
  int64_t stepSize = 1;
  double gamma = 0.1;
};

/// The run's schedule: the one the plan carries (its DeepSpeed config's
/// `scheduler`), with `flags`' set fields over it; `kind` (--lr-schedule)
/// names another schedule, whose parameters then start from DeepSpeed's
/// defaults. The error names what this runtime does not know or accept.
std::string resolveLrSchedule(const std::optional<plan::LrScheduleSpec> &plan,
                              std::optional<LrScheduleKind> kind,
                              const LrScheduleConfig &flags, double baseLr,
                              int64_t trainingSteps, LrSchedule &out);

/// Parses a schedule name as DeepSpeed's config writes it ("WarmupLR",
/// "WarmupDecayLR", "WarmupCosineLR") or VAR's lower-case flag spelling
/// ("constant", "warmup", "warmup-decay", "warmup-cosine", "step").
std::optional<LrScheduleKind> parseLrScheduleKind(const std::string &name);
std::optional<WarmupType> parseWarmupType(const std::string &name);
const char *getLrScheduleName(LrScheduleKind kind);

} // namespace var::train

#endif
