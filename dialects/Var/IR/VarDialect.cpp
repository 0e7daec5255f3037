// Registration of the `var` dialect and its generated definitions.
#include "dialects/Var/IR/VarDialect.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace var;

#include "dialects/Var/IR/VarDialect.cpp.inc"
#include "dialects/Var/IR/VarEnums.cpp.inc"
#include "dialects/Var/IR/VarInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/Var/IR/VarOps.cpp.inc"

void VarDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Var/IR/VarOps.cpp.inc"
      >();
}
