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

#endif
