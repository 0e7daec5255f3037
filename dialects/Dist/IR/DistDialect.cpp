// Registration of the `dist` dialect and its generated definitions.
#include "dialects/Dist/IR/DistDialect.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarDialect.h"

using namespace mlir;
using namespace dist;

#include "dialects/Dist/IR/DistDialect.cpp.inc"

void DistDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Dist/IR/DistOps.cpp.inc"
      >();
}
