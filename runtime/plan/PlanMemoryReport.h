// The memory report of a resolved plan, computed by the runtime from the
// plan file with the same policy varc's --report uses (ModelStates.h: model
// states per space; the largest step's arena, the buffers and the largest
// step's arguments as peak activations), so that a job can set what it
// allocates, or an allocation that failed, beside what the plan promised.
#ifndef VAR_RUNTIME_PLAN_PLANMEMORYREPORT_H
#define VAR_RUNTIME_PLAN_PLANMEMORYREPORT_H

#include "runtime/plan/ModelStates.h"
#include "runtime/plan/PlanFile.h"

#include <string>

namespace var::plan {

struct PlanMemoryReport {
  SpaceBytes parameters, gradients, optimizerState, communicationBuffers,
      peakActivations, total;
};

/// One rank's bytes for `plan`, which must be resolved. Fails on a plan
/// whose buckets are not the runtime's layout.
Expected<PlanMemoryReport> computePlanMemoryReport(const Plan &plan);

/// "device 30.6 MiB (parameters 0.2, gradients 0.1, optimizer state 0.6,
/// communication 0.4, activations 29.3), pinned host 0.0 MiB".
std::string formatPlanMemoryReport(const PlanMemoryReport &report);

} // namespace var::plan

#endif
