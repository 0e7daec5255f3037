// The plan emitter: a partitioned module (var.param, dist.bucket, functions
// of var/dist ops) written as the FlatBuffers plan file that varrun loads.
// The schema is runtime/plan/schema/plan.fbs.
#ifndef VAR_COMPILER_PLAN_PLANEMITTER_H
#define VAR_COMPILER_PLAN_PLANEMITTER_H

#include "runtime/plan/LrScheduleSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace var {

struct PlanEmitOptions {
  /// The only world size the plan may run at; 0: any (the runtime resolves
  /// shard sizes when it loads the plan).
  int64_t worldSize = 0;
  /// The compute precision, as varc names it: "bf16" or "fp32".
  std::string precision = "bf16";
  /// The learning rate the runtime starts from.
  double initialLR = 1e-3;
  /// DeepSpeed's train_batch_size, 0 if not given.
  int64_t trainBatch = 0;
  /// The DeepSpeed config's scheduler, for the runtime.
  std::optional<plan::LrScheduleSpec> lrSchedule;
};

/// Serializes `module` into `out`. Fails, with a diagnostic on the offending
/// op, on anything the plan cannot express: an op outside var/dist (other
/// than func.return), an op with regions, a dynamic dimension that is not a
/// bucket shard's, a symbol that is neither a parameter nor a bucket, an
/// attribute or element type without an encoding.
mlir::LogicalResult emitPlan(mlir::ModuleOp module,
                             const PlanEmitOptions &options,
                             std::vector<uint8_t> &out);

/// emitPlan, written to `path` ("-" for stdout) through a temporary file, so
/// a failed run leaves no partial plan behind.
mlir::LogicalResult writePlanFile(mlir::ModuleOp module,
                                  const PlanEmitOptions &options,
                                  llvm::StringRef path);

} // namespace var

#endif
