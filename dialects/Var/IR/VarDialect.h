// The `var` dialect's C++ entry point: include this to use the dialect.
#ifndef VAR_DIALECTS_VAR_IR_VARDIALECT_H
#define VAR_DIALECTS_VAR_IR_VARDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Var/IR/VarDialect.h.inc"

#endif
