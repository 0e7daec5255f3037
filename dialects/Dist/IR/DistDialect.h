// The `dist` dialect's C++ entry point: include this to use the dialect.
#ifndef VAR_DIALECTS_DIST_IR_DISTDIALECT_H
#define VAR_DIALECTS_DIST_IR_DISTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Dist/IR/DistDialect.h.inc"

#endif
