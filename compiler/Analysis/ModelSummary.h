// What `varc --summary` reports: parameter and buffer sizes, and forward
// FLOPs per op kind from FlopCountOpInterface.
#ifndef VAR_COMPILER_ANALYSIS_MODELSUMMARY_H
#define VAR_COMPILER_ANALYSIS_MODELSUMMARY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace var {

struct StateSize {
  int64_t tensors = 0;
  int64_t elements = 0;
  int64_t bytes = 0;
};

struct OpKindFlops {
  std::string kind; // the op name, e.g. "var.conv"
  int64_t ops = 0;
  int64_t flops = 0;
};

struct ModelSummary {
  StateSize trainable;
  StateSize buffers;
  int64_t batch = 0;
  std::vector<mlir::Type> inputTypes;
  std::vector<mlir::Type> resultTypes;
  std::vector<OpKindFlops> flopsByKind; // in order of first appearance
  int64_t totalFlops = 0;
};

/// Summarizes `entry`, whose shapes must be static (specialize the batch
/// first). Emits a diagnostic at the op whose FLOPs cannot be counted.
mlir::FailureOr<ModelSummary>
summarizeModel(mlir::ModuleOp module, mlir::func::FuncOp entry, int64_t batch);

void printModelSummary(const ModelSummary &summary, llvm::StringRef source,
                       llvm::StringRef entryName, llvm::raw_ostream &os);

} // namespace var

#endif
