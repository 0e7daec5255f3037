// What `varc --report` prints: the bytes one rank allocates, per memory space,
// for a partitioned training plan. Model states come from runtime/plan's
// allocation policy, activations from its arena planner over the steps'
// liveness: the numbers the runtime will allocate, not an estimate.
#ifndef VAR_COMPILER_ANALYSIS_MEMORYREPORT_H
#define VAR_COMPILER_ANALYSIS_MEMORYREPORT_H

#include "runtime/plan/ModelStates.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace var {

struct MemoryReport {
  int64_t worldSize = 0;
  int64_t zeroStage = 0;
  int64_t buckets = 0;
  /// Trainable parameter elements, and the bucketed elements after
  /// alignment and padding to the world size (the P of the ZeRO formulas).
  int64_t parameterCount = 0;
  int64_t paddedParameterCount = 0;
  plan::SpaceBytes parameters;
  plan::SpaceBytes gradients;
  plan::SpaceBytes optimizerState;
  /// The arena of the largest step (train or accumulate): inputs,
  /// activations, their gradients and per-parameter gradients before
  /// packing, at liveness-planned offsets. Non-trainable buffers (batch-norm
  /// running statistics) are counted here too: every rank keeps them whole;
  /// and the arguments of the step that takes the most, which a device run
  /// keeps in an area of their own.
  plan::SpaceBytes peakActivations;
  plan::SpaceBytes communicationBuffers;
  plan::SpaceBytes total;
};

/// Computes the report of `module`, which --var-zero has partitioned, for
/// `worldSize` ranks; emits a diagnostic and fails otherwise.
mlir::FailureOr<MemoryReport> computeMemoryReport(mlir::ModuleOp module,
                                                  int64_t worldSize);

/// Every rank's report as JSON (`ranks`: one entry per rank, each with
/// `device` and `host` byte counts of `parameters`, `gradients`,
/// `optimizer_state`, `peak_activations`, `communication_buffers` and
/// `total`). Ranks of one SPMD plan allocate the same.
void printMemoryReportJson(const MemoryReport &report, llvm::StringRef source,
                           llvm::raw_ostream &os);

} // namespace var

#endif
