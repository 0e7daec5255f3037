// var-opt: mlir-opt with the VAR dialects and passes, the driver of lit tests.
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistDialect.h"
#include "dialects/Var/IR/VarDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry
      .insert<var::VarDialect, dist::DistDialect, mlir::func::FuncDialect>();
  var::registerVarPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "VAR optimizer driver\n", registry));
}
