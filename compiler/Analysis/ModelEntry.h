// The contract a model file must meet beyond op verification: an entry
// function made of `var` ops that maps clips to logits.
#ifndef VAR_COMPILER_ANALYSIS_MODELENTRY_H
#define VAR_COMPILER_ANALYSIS_MODELENTRY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace var {

/// Finds function `entryName` and checks that it has a body of `var` ops, at
/// least one tensor argument, and returns one (batch, classes) logits tensor.
/// Parameters that the entry never reads are reported as warnings.
mlir::FailureOr<mlir::func::FuncOp> verifyModelEntry(mlir::ModuleOp module,
                                                     llvm::StringRef entryName);

} // namespace var

#endif
