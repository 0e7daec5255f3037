// The runtime's copy of varc's memory report: bucket layouts rebuilt from
// the plan's parameters, per compute type, then ModelStates' bytes.
#include "runtime/plan/PlanMemoryReport.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace var::plan {

Expected<PlanMemoryReport> computePlanMemoryReport(const Plan &plan) {
  if (!plan.isResolved())
    return PlanError{"the plan is not resolved for a world size"};
  // Buckets of one compute type form one layout, in plan order.
  std::map<DType, std::vector<const PlanBucket *>> groups;
  for (const PlanBucket &bucket : plan.buckets)
    groups[bucket.dtype].push_back(&bucket);
  auto capacity = static_cast<int64_t>(plan.config.bucketMB * 1048576.0);
  PlanMemoryReport report;
  for (const auto &[dtype, buckets] : groups) {
    std::vector<ParamSpec> specs;
    for (const PlanBucket *bucket : buckets)
      for (uint32_t index : bucket->params)
        specs.push_back({plan.params[index].name, plan.params[index].numel});
    int64_t elementBytes = getDTypeBytes(dtype);
    Expected<BucketLayout> layout =
        BucketLayout::build(specs, capacity, elementBytes);
    if (!layout)
      return PlanError{"cannot lay out buckets: " + layout.error()};
    Expected<BucketLayout> resolved = layout->resolve(plan.worldSize);
    if (!resolved)
      return PlanError{"cannot shard buckets: " + resolved.error()};
    if (resolved->getBuckets().size() != buckets.size())
      return PlanError{"the plan's buckets are not the runtime's layout"};
    ModelStatesConfig config;
    config.zeroStage = static_cast<int>(plan.config.zeroStage);
    config.precision =
        elementBytes == 2 ? Precision::Bf16Mixed : Precision::Fp32;
    config.stateElementsPerParam =
        static_cast<int64_t>(buckets.front()->stateKeys.size());
    config.offloadOptimizer = plan.config.offloadOptimizer;
    config.offloadParams = plan.config.offloadParams;
    config.prefetchBuckets = plan.config.prefetchBuckets;
    Expected<ModelStatesBytes> bytes = modelStatesBytes(*resolved, config);
    if (!bytes)
      return PlanError{"cannot size model states: " + bytes.error()};
    report.parameters = report.parameters + bytes->parameters;
    report.gradients = report.gradients + bytes->gradients;
    report.optimizerState = report.optimizerState + bytes->optimizerState;
    report.communicationBuffers =
        report.communicationBuffers + bytes->communicationBuffers;
  }
  int64_t arena = 0;
  for (const PlanFunction &function : plan.functions)
    if (function.name == "train_step" || function.name == "accumulate_step")
      arena = std::max(arena, function.arenaBytes);
  int64_t buffers = 0;
  for (const PlanParam &param : plan.params)
    if (param.buffer)
      buffers += param.numel * getDTypeBytes(param.dtype);
  // A device run's arguments: an area of their own (exec::Executor::run),
  // sized for the function that takes the most, each 256-byte aligned.
  int64_t arguments = 0;
  for (const PlanFunction &function : plan.functions) {
    int64_t total = 0;
    for (const PlanArgument &arg : function.args) {
      const PlanValue &value = function.values[arg.value];
      int64_t elements = 1;
      for (int64_t dim : value.shape)
        elements *= dim;
      total += (elements * getDTypeBytes(value.dtype) + 255) / 256 * 256;
    }
    arguments = std::max(arguments, total);
  }
  report.peakActivations = {arena + buffers + arguments, 0};
  report.total = report.parameters + report.gradients + report.optimizerState +
                 report.communicationBuffers + report.peakActivations;
  return report;
}

std::string formatPlanMemoryReport(const PlanMemoryReport &report) {
  auto mib = [](int64_t bytes) { return static_cast<double>(bytes) / 1048576; };
  char text[320];
  std::snprintf(text, sizeof(text),
                "device %.1f MiB (parameters %.1f, gradients %.1f, optimizer "
                "state %.1f, communication %.1f, activations %.1f), pinned "
                "host %.1f MiB",
                mib(report.total.device), mib(report.parameters.device),
                mib(report.gradients.device), mib(report.optimizerState.device),
                mib(report.communicationBuffers.device),
                mib(report.peakActivations.device), mib(report.total.host));
  return text;
}

} // namespace var::plan
