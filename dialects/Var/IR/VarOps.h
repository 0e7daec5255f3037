// Op classes, attributes and interfaces of the `var` dialect.
#ifndef VAR_DIALECTS_VAR_IR_VAROPS_H
#define VAR_DIALECTS_VAR_IR_VAROPS_H

#include "dialects/Var/IR/ShapeUtils.h"
#include "dialects/Var/IR/VarDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "runtime/plan/FusedOpcodes.h"

#include "dialects/Var/IR/VarEnums.h.inc"

#include "dialects/Var/IR/VarInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/Var/IR/VarOps.h.inc"

namespace var {

/// The most positions a window of var.max_pool_with_indices may have: its
/// i8 indices name positions 0 to 126 (runtime/cpu/WindowGeometry.h has the
/// same bound).
inline constexpr int64_t kMaxIndexedWindow = 127;

} // namespace var

#endif
