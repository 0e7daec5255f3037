// --var-mixed-precision: the forward computes in bf16 on bf16 compute copies
// of its f32 master weights; batch norm and the results stay f32.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_MIXEDPRECISION
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// `type` as a tensor of floats, or null.
RankedTensorType floatTensor(Type type) {
  auto tensor = llvm::dyn_cast<RankedTensorType>(type);
  if (!tensor || !llvm::isa<FloatType>(tensor.getElementType()))
    return {};
  return tensor;
}

/// A weight, bias or running statistic of a batch norm: these stay f32 (the
/// input, operand 0, is computed in bf16).
bool isBatchNormParam(OpOperand &use) {
  return llvm::isa<BatchNormOp>(use.getOwner()) && use.getOperandNumber() != 0;
}

/// Refuses a forward that already holds a bf16 tensor: the pass was applied,
/// or the model was written in bf16, and casting again would be wrong.
LogicalResult checkNoBF16(func::FuncOp forward) {
  auto isBF16 = [](Type type) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    return tensor && tensor.getElementType().isBF16();
  };
  auto fail = [&](const Twine &what, Type type) {
    return forward.emitError("@")
           << forward.getName() << " already computes in bf16 (" << what
           << " is " << type
           << "); --var-mixed-precision applies once, to an fp32 forward";
  };
  for (auto [i, type] : llvm::enumerate(forward.getArgumentTypes()))
    if (isBF16(type))
      return fail("argument #" + Twine(i), type);
  for (auto [i, type] : llvm::enumerate(forward.getResultTypes()))
    if (isBF16(type))
      return fail("result #" + Twine(i), type);
  Operation *found = nullptr;
  forward.getBody().walk([&](Operation *op) {
    if (llvm::any_of(op->getResultTypes(), isBF16)) {
      found = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!found)
    return success();
  Type type = *llvm::find_if(found->getResultTypes(), isBF16);
  InFlightDiagnostic diag =
      fail("a result of '" + found->getName().getStringRef() + "'", type);
  diag.attachNote(found->getLoc()) << "computed here";
  return diag;
}

/// Re-runs every op's type inference in program order, as
/// --var-specialize-batch does, so that bf16 flows from the casts and the
/// compute copies through the forward.
LogicalResult reinferTypes(func::FuncOp forward) {
  WalkResult walk = forward.getBody().walk([&](Operation *op) {
    // var.get_param has no operands: its type was set from its uses.
    if (op->getNumResults() == 0 || op->getNumOperands() == 0)
      return WalkResult::advance();
    auto infer = llvm::dyn_cast<InferTypeOpInterface>(op);
    if (!infer) {
      op->emitOpError("does not infer its result types, so mixed precision "
                      "cannot retype it");
      return WalkResult::interrupt();
    }
    if (failed(updateInferredTypes(infer))) {
      op->emitOpError("has no valid type when the forward computes in bf16");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

} // namespace

LogicalResult applyMixedPrecision(func::FuncOp forward, Precision precision) {
  if (precision == Precision::FP32)
    return success();
  if (forward.isExternal())
    return forward.emitError(
        "cannot change the precision of a function without a body");
  if (!forward.getBody().hasOneBlock())
    return forward.emitError("the forward must be a single block");
  if (failed(checkNoBF16(forward)))
    return failure();

  MLIRContext *context = forward.getContext();
  Type bf16 = BFloat16Type::get(context), f32 = Float32Type::get(context);
  Block &body = forward.getBody().front();
  OpBuilder builder(context);

  // Inputs: one cast each, at the top; the arguments stay f32, so the
  // runtime feeds the same tensors as before.
  builder.setInsertionPointToStart(&body);
  for (BlockArgument arg : body.getArguments()) {
    if (!floatTensor(arg.getType()) || arg.use_empty())
      continue;
    auto cast = builder.create<CastOp>(arg.getLoc(), arg, bf16);
    arg.replaceAllUsesExcept(cast, cast);
  }

  // Parameters: a trainable weight that only computes is read as its bf16
  // compute copy, so its gradient is bf16. Batch norm reads its parameters
  // in f32; other uses of such a read, and of buffers, go through a cast,
  // which carries the gradient back to the f32 read.
  SymbolTableCollection symbols;
  SmallVector<GetParamOp> reads;
  forward.getBody().walk([&](GetParamOp get) { reads.push_back(get); });
  for (GetParamOp get : reads) {
    RankedTensorType type = floatTensor(get.getType());
    auto param =
        symbols.lookupNearestSymbolFrom<ParamOp>(get, get.getNameAttr());
    if (!type || !param)
      continue;
    Value value = get.getResult();
    bool feedsBatchNorm = llvm::any_of(value.getUses(), isBatchNormParam);
    bool feedsCompute = llvm::any_of(
        value.getUses(), [](OpOperand &use) { return !isBatchNormParam(use); });
    if (!feedsBatchNorm && param.isTrainable()) {
      value.setType(type.clone(bf16));
      continue;
    }
    if (feedsBatchNorm)
      value.setType(type.clone(f32));
    if (!feedsCompute)
      continue;
    builder.setInsertionPointAfter(get);
    auto cast = builder.create<CastOp>(get.getLoc(), value, bf16);
    value.replaceUsesWithIf(cast, [&](OpOperand &use) {
      return use.getOwner() != cast && !isBatchNormParam(use);
    });
  }

  // Constants (var.fill, e.g. an ensemble's 0.5) compute in bf16 too.
  forward.getBody().walk([&](FillOp fill) {
    if (RankedTensorType type = floatTensor(fill.getType()))
      fill.getResult().setType(type.clone(bf16));
  });

  if (failed(reinferTypes(forward)))
    return failure();

  // Results: back to f32, so that the loss is computed in f32.
  Operation *ret = body.getTerminator();
  builder.setInsertionPoint(ret);
  for (OpOperand &operand : ret->getOpOperands()) {
    RankedTensorType type = floatTensor(operand.get().getType());
    if (type && !type.getElementType().isF32())
      operand.set(builder.create<CastOp>(ret->getLoc(), operand.get(), f32));
  }
  forward.setFunctionType(FunctionType::get(context, body.getArgumentTypes(),
                                            ret->getOperandTypes()));
  return success();
}

namespace {
struct MixedPrecisionPass
    : public impl::MixedPrecisionBase<MixedPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Precision kind;
    if (precision == "bf16") {
      kind = Precision::BF16;
    } else if (precision == "fp32") {
      kind = Precision::FP32;
    } else {
      module.emitError("unknown precision '")
          << precision << "' (expected bf16 or fp32)";
      return signalPassFailure();
    }
    auto forward = module.lookupSymbol<func::FuncOp>(entry);
    if (!forward) {
      module.emitError("no function @") << entry << " to set the precision of";
      return signalPassFailure();
    }
    if (failed(applyMixedPrecision(forward, kind)))
      signalPassFailure();
  }
};
} // namespace

} // namespace var
