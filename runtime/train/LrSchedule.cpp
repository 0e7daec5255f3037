// DeepSpeed's warmup schedules (deepspeed/runtime/lr_schedules.py), written
// from their documented formulas, and a step decay.
#include "runtime/train/LrSchedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace var::train {

namespace {

struct KindName {
  LrScheduleKind kind;
  const char *deepSpeed, *flag;
};

const KindName kKindNames[] = {
    {LrScheduleKind::Constant, "Constant", "constant"},
    {LrScheduleKind::WarmupLR, "WarmupLR", "warmup"},
    {LrScheduleKind::WarmupDecayLR, "WarmupDecayLR", "warmup-decay"},
    {LrScheduleKind::WarmupCosineLR, "WarmupCosineLR", "warmup-cosine"},
    {LrScheduleKind::StepDecay, "StepLR", "step"},
};

std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

} // namespace

std::optional<LrScheduleKind> parseLrScheduleKind(const std::string &name) {
  for (const KindName &entry : kKindNames)
    if (name == entry.deepSpeed || name == entry.flag)
      return entry.kind;
  return std::nullopt;
}

std::optional<WarmupType> parseWarmupType(const std::string &name) {
  if (name == "log")
    return WarmupType::Log;
  if (name == "linear")
    return WarmupType::Linear;
  return std::nullopt;
}

const char *getLrScheduleName(LrScheduleKind kind) {
  for (const KindName &entry : kKindNames)
    if (entry.kind == kind)
      return entry.deepSpeed;
  return "?";
}

std::string LrSchedule::resolve(const LrScheduleConfig &config, double baseLr,
                                int64_t trainingSteps, LrSchedule &out) {
  // A parameter the schedule does not read is a mistake worth naming (a
  // --warmup-steps without --lr-schedule would otherwise do nothing).
  bool warmup = config.kind == LrScheduleKind::WarmupLR ||
                config.kind == LrScheduleKind::WarmupDecayLR ||
                config.kind == LrScheduleKind::WarmupCosineLR;
  bool cosine = config.kind == LrScheduleKind::WarmupCosineLR;
  bool step = config.kind == LrScheduleKind::StepDecay;
  for (auto [set, used, name] :
       {std::tuple{config.warmupMinLr.has_value(), warmup && !cosine,
                   "warmup_min_lr"},
        std::tuple{config.warmupMaxLr.has_value(), warmup && !cosine,
                   "warmup_max_lr"},
        std::tuple{config.warmupNumSteps.has_value(), warmup,
                   "warmup_num_steps"},
        std::tuple{config.warmupType.has_value(), warmup, "warmup_type"},
        std::tuple{config.totalNumSteps.has_value(),
                   cosine || config.kind == LrScheduleKind::WarmupDecayLR,
                   "total_num_steps"},
        std::tuple{config.warmupMinRatio.has_value(), cosine,
                   "warmup_min_ratio"},
        std::tuple{config.cosMinRatio.has_value(), cosine, "cos_min_ratio"},
        std::tuple{config.stepSize.has_value(), step, "step_size"},
        std::tuple{config.gamma.has_value(), step, "gamma"}})
    if (set && !used)
      return std::string(name) + " does not apply to the " +
             getLrScheduleName(config.kind) + " schedule";

  LrSchedule s;
  s.kind = config.kind;
  s.baseLr = baseLr;
  s.warmupMinLr = config.warmupMinLr.value_or(0.0);
  s.warmupMaxLr = config.warmupMaxLr.value_or(baseLr);
  // DeepSpeed warms up over at least 2 steps (log(1) would divide by 0).
  s.warmupNumSteps = std::max<int64_t>(2, config.warmupNumSteps.value_or(1000));
  s.warmupType = config.warmupType.value_or(WarmupType::Log);
  s.totalNumSteps = config.totalNumSteps.value_or(trainingSteps);
  s.warmupMinRatio = config.warmupMinRatio.value_or(0.0);
  s.cosMinRatio = config.cosMinRatio.value_or(0.0001);
  s.stepSize = config.stepSize.value_or(0);
  s.gamma = config.gamma.value_or(0.1);

  auto checkRatio = [](double value, const char *name) -> std::string {
    if (!std::isfinite(value) || value < 0 || value > 1)
      return std::string(name) + " must be in [0, 1], got " +
             formatNumber(value);
    return "";
  };
  for (auto [value, name] :
       {std::pair{s.warmupMinLr, "warmup_min_lr"},
        std::pair{s.warmupMaxLr, "warmup_max_lr"}, std::pair{s.gamma, "gamma"}})
    if (!std::isfinite(value) || value < 0)
      return std::string(name) + " must be a non-negative number, got " +
             formatNumber(value);
  std::string error = checkRatio(s.warmupMinRatio, "warmup_min_ratio");
  if (error.empty())
    error = checkRatio(s.cosMinRatio, "cos_min_ratio");
  if (!error.empty())
    return error;
  if (config.warmupNumSteps && *config.warmupNumSteps < 0)
    return "warmup_num_steps must be non-negative, got " +
           std::to_string(*config.warmupNumSteps);
  if (s.kind == LrScheduleKind::WarmupDecayLR ||
      s.kind == LrScheduleKind::WarmupCosineLR) {
    if (s.totalNumSteps <= 0)
      return "total_num_steps must be positive, got " +
             std::to_string(s.totalNumSteps);
    // The cosine phase divides by its length; DeepSpeed divides by zero.
    if (s.kind == LrScheduleKind::WarmupCosineLR &&
        s.totalNumSteps <= s.warmupNumSteps)
      return "total_num_steps (" + std::to_string(s.totalNumSteps) +
             ") must exceed warmup_num_steps (" +
             std::to_string(s.warmupNumSteps) + ") for WarmupCosineLR";
  }
  if (s.kind == LrScheduleKind::StepDecay && s.stepSize <= 0)
    return "the step schedule needs a positive step size (--lr-step-size), "
           "got " +
           std::to_string(s.stepSize);
  out = s;
  return "";
}

double LrSchedule::warmupGamma(int64_t iteration) const {
  if (warmupType == WarmupType::Log)
    return std::log(static_cast<double>(iteration + 1)) /
           std::log(static_cast<double>(warmupNumSteps));
  return static_cast<double>(iteration) / static_cast<double>(warmupNumSteps);
}

double LrSchedule::lrAtIteration(int64_t iteration) const {
  switch (kind) {
  case LrScheduleKind::Constant:
    return baseLr;
  case LrScheduleKind::StepDecay:
    return baseLr *
           std::pow(gamma, static_cast<double>(std::max<int64_t>(0, iteration) /
                                               stepSize));
  case LrScheduleKind::WarmupLR:
  case LrScheduleKind::WarmupDecayLR: {
    if (iteration < 0)
      return warmupMinLr;
    double fraction = 1.0;
    if (iteration < warmupNumSteps)
      fraction = warmupGamma(iteration);
    else if (kind == LrScheduleKind::WarmupDecayLR)
      fraction = std::max(
          0.0, static_cast<double>(totalNumSteps - iteration) /
                   std::max<double>(1.0, static_cast<double>(totalNumSteps -
                                                             warmupNumSteps)));
    return warmupMinLr + (warmupMaxLr - warmupMinLr) * fraction;
  }
  case LrScheduleKind::WarmupCosineLR: {
    if (iteration < 0)
      return 0.0;
    if (iteration < warmupNumSteps)
      return baseLr *
             (warmupMinRatio + warmupGamma(iteration) * (1.0 - warmupMinRatio));
    double done = static_cast<double>(iteration - warmupNumSteps + 1) /
                  static_cast<double>(totalNumSteps - warmupNumSteps);
    double cosine = (1.0 + std::cos(M_PI * done)) / 2.0;
    return baseLr * std::max(0.0, cosMinRatio + (1.0 - cosMinRatio) * cosine);
  }
  }
  return baseLr;
}

double LrSchedule::lrAtStep(int64_t step) const {
  // Step decay is VAR's own (torch's StepLR counted in optimizer steps):
  // steps 1..step_size run at the base LR.
  if (kind == LrScheduleKind::StepDecay || kind == LrScheduleKind::Constant)
    return lrAtIteration(step - 1);
  return lrAtIteration(step - 2);
}

std::string LrSchedule::describe() const {
  std::string text = getLrScheduleName(kind);
  std::string warmup = " warmup_num_steps " + std::to_string(warmupNumSteps) +
                       " warmup_type " +
                       (warmupType == WarmupType::Log ? "log" : "linear");
  switch (kind) {
  case LrScheduleKind::Constant:
    return text + " lr " + formatNumber(baseLr);
  case LrScheduleKind::StepDecay:
    return text + " lr " + formatNumber(baseLr) + " step_size " +
           std::to_string(stepSize) + " gamma " + formatNumber(gamma);
  case LrScheduleKind::WarmupLR:
  case LrScheduleKind::WarmupDecayLR:
    text += " warmup_min_lr " + formatNumber(warmupMinLr) + " warmup_max_lr " +
            formatNumber(warmupMaxLr) + warmup;
    if (kind == LrScheduleKind::WarmupDecayLR)
      text += " total_num_steps " + std::to_string(totalNumSteps);
    return text;
  case LrScheduleKind::WarmupCosineLR:
    return text + " lr " + formatNumber(baseLr) + " warmup_min_ratio " +
           formatNumber(warmupMinRatio) + " cos_min_ratio " +
           formatNumber(cosMinRatio) + warmup + " total_num_steps " +
           std::to_string(totalNumSteps);
  }
  return text;
}

/// The plan's schedule as a config.
static std::string getPlanConfig(const plan::LrScheduleSpec &spec,
                                 LrScheduleConfig &out) {
  std::optional<LrScheduleKind> kind = parseLrScheduleKind(spec.type);
  if (!kind)
    return "the plan's LR schedule '" + spec.type + "' is unknown";
  LrScheduleConfig config;
  config.kind = *kind;
  if (spec.warmupType) {
    config.warmupType = parseWarmupType(*spec.warmupType);
    if (!config.warmupType)
      return "the plan's warmup_type '" + *spec.warmupType +
             "' is neither log nor linear";
  }
  config.warmupMinLr = spec.warmupMinLr;
  config.warmupMaxLr = spec.warmupMaxLr;
  config.warmupNumSteps = spec.warmupNumSteps;
  config.totalNumSteps = spec.totalNumSteps;
  config.warmupMinRatio = spec.warmupMinRatio;
  config.cosMinRatio = spec.cosMinRatio;
  out = config;
  return "";
}

std::string resolveLrSchedule(const std::optional<plan::LrScheduleSpec> &plan,
                              std::optional<LrScheduleKind> kind,
                              const LrScheduleConfig &flags, double baseLr,
                              int64_t trainingSteps, LrSchedule &out) {
  LrScheduleConfig merged;
  if (plan) {
    std::string error = getPlanConfig(*plan, merged);
    if (!error.empty())
      return error;
  }
  if (kind && *kind != merged.kind)
    merged = LrScheduleConfig{};
  merged.kind = kind.value_or(merged.kind);
  for (auto [field, flag] :
       {std::pair{&merged.warmupMinLr, &flags.warmupMinLr},
        std::pair{&merged.warmupMaxLr, &flags.warmupMaxLr},
        std::pair{&merged.warmupMinRatio, &flags.warmupMinRatio},
        std::pair{&merged.cosMinRatio, &flags.cosMinRatio},
        std::pair{&merged.gamma, &flags.gamma}})
    if (*flag)
      *field = *flag;
  for (auto [field, flag] :
       {std::pair{&merged.warmupNumSteps, &flags.warmupNumSteps},
        std::pair{&merged.totalNumSteps, &flags.totalNumSteps},
        std::pair{&merged.stepSize, &flags.stepSize}})
    if (*flag)
      *field = *flag;
  if (flags.warmupType)
    merged.warmupType = flags.warmupType;
  return LrSchedule::resolve(merged, baseLr, trainingSteps, out);
}

} // namespace var::train
