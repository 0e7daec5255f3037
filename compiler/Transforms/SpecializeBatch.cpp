// --var-specialize-batch: turns a batch-polymorphic forward into one with a
// static batch by re-running every op's type inference in program order.
#include "compiler/Transforms/Passes.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_SPECIALIZEBATCH
#include "compiler/Transforms/Passes.h.inc"

LogicalResult specializeBatch(func::FuncOp func, int64_t batch) {
  if (batch < 1)
    return func.emitError("batch size must be at least 1, got ") << batch;
  if (func.isExternal())
    return func.emitError("cannot specialize a function without a body");

  for (BlockArgument arg : func.getArguments()) {
    auto type = llvm::dyn_cast<RankedTensorType>(arg.getType());
    if (type && type.getRank() > 0 && type.isDynamicDim(0)) {
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = batch;
      arg.setType(type.clone(shape));
    }
  }

  SmallVector<Type> resultTypes;
  WalkResult walk = func.getBody().walk([&](Operation *op) {
    if (op->hasTrait<OpTrait::ReturnLike>()) {
      resultTypes.assign(op->getOperandTypes().begin(),
                         op->getOperandTypes().end());
      return WalkResult::advance();
    }
    if (op->getNumResults() == 0)
      return WalkResult::advance();
    auto infer = llvm::dyn_cast<InferTypeOpInterface>(op);
    if (!infer) {
      // An op without operands (var.get_param) has its result type fixed by
      // attributes, independent of the batch.
      if (op->getNumOperands() == 0)
        return WalkResult::advance();
      op->emitOpError("does not infer its result types, so its batch cannot "
                      "be specialized");
      return WalkResult::interrupt();
    }
    if (failed(updateInferredTypes(infer))) {
      op->emitOpError("has no valid type for batch size ") << batch;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  SmallVector<Type> argTypes(func.getBody().getArgumentTypes());
  func.setFunctionType(
      FunctionType::get(func.getContext(), argTypes, resultTypes));
  return success();
}

namespace {
struct SpecializeBatchPass
    : public impl::SpecializeBatchBase<SpecializeBatchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func) {
      module.emitError("no function @") << entry << " to specialize";
      return signalPassFailure();
    }
    if (failed(specializeBatch(func, batch)))
      return signalPassFailure();
  }
};
} // namespace

} // namespace var
