// Declarations and registration of the VAR compiler passes.
#ifndef VAR_COMPILER_TRANSFORMS_PASSES_H
#define VAR_COMPILER_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace var {

#define GEN_PASS_DECL
#include "compiler/Transforms/Passes.h.inc"

/// Sets the dynamic leading dimension of `func`'s tensor arguments to `batch`
/// and re-infers every result type; the core of --var-specialize-batch.
mlir::LogicalResult specializeBatch(mlir::func::FuncOp func, int64_t batch);

#define GEN_PASS_REGISTRATION
#include "compiler/Transforms/Passes.h.inc"

} // namespace var

#endif
