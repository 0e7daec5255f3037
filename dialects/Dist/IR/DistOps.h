// Op classes of the `dist` dialect.
#ifndef VAR_DIALECTS_DIST_IR_DISTOPS_H
#define VAR_DIALECTS_DIST_IR_DISTOPS_H

#include "dialects/Dist/IR/DistDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "runtime/plan/BucketLayout.h"

namespace dist {

/// Parameters start at multiples of this many elements inside a bucket: the
/// runtime's layout rule.
using var::plan::kAlignElements;

/// The streams a step runs on: "compute", "comm" (collectives), "copy"
/// (host<->device) and "host" (CPU work: offloaded updates).
bool isStreamName(llvm::StringRef name);

/// The discardable attribute naming the stream of an op (--var-schedule).
inline constexpr llvm::StringLiteral kStreamAttr = "dist.stream";

} // namespace dist

#define GET_OP_CLASSES
#include "dialects/Dist/IR/DistOps.h.inc"

#endif
