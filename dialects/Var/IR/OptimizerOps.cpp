// var.optimizer_state, var.adamw_update and var.sgd_update: checks that the
// symbols they name exist and fit, and that hyperparameters are in range.
#include "dialects/Var/IR/VarOps.h"

#include <cmath>

using namespace mlir;

namespace var {

namespace {

/// The trainable parameter `name`, or a diagnostic from `op`.
FailureOr<ParamOp> trainableParam(Operation *op, SymbolTableCollection &symbols,
                                  FlatSymbolRefAttr name) {
  auto param = symbols.lookupNearestSymbolFrom<ParamOp>(op, name);
  if (!param)
    return op->emitOpError("references undefined parameter ") << name;
  if (!param.isTrainable())
    return op->emitOpError("parameter ")
           << name << " is a buffer; only trainable parameters have optimizer "
           << "state and updates";
  return param;
}

/// The optimizer state `name`, which must belong to `param` and have `key`.
LogicalResult checkState(Operation *op, SymbolTableCollection &symbols,
                         FlatSymbolRefAttr name, FlatSymbolRefAttr param,
                         StringRef key) {
  auto state = symbols.lookupNearestSymbolFrom<OptimizerStateOp>(op, name);
  if (!state)
    return op->emitOpError("references undefined optimizer state ") << name;
  if (state.getParamAttr() != param || state.getKey() != key)
    return op->emitOpError("state ")
           << name << " is \"" << state.getKey() << "\" of "
           << state.getParamAttr() << ", expected \"" << key << "\" of "
           << param;
  return success();
}

/// The gradient must have the parameter's shape; its element type may be
/// the compute type (BF16) while the parameter is FP32.
LogicalResult checkGrad(Operation *op, ParamOp param, Value grad) {
  auto gradType = llvm::cast<RankedTensorType>(grad.getType());
  if (gradType.getShape() != param.getTensorType().getShape())
    return op->emitOpError("gradient shape ")
           << formatShape(gradType.getShape()) << " differs from parameter @"
           << param.getSymName() << " of shape "
           << formatShape(param.getTensorType().getShape());
  if (!param.getTensorType().getElementType().isF32())
    return op->emitOpError("parameter @")
           << param.getSymName() << " must be f32 (the master weights), got "
           << param.getTensorType().getElementType();
  return success();
}

LogicalResult checkRange(Operation *op, StringRef name, double value,
                         double low, double high, bool highOpen) {
  bool ok = std::isfinite(value) && value >= low &&
            (highOpen ? value < high : value <= high);
  if (!ok)
    return op->emitOpError(name) << " must be in [" << low << ", " << high
                                 << (highOpen ? ")" : "]") << ", got " << value;
  return success();
}

} // namespace

LogicalResult
OptimizerStateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<ParamOp> param = trainableParam(*this, symbols, getParamAttr());
  if (failed(param))
    return failure();
  RankedTensorType type = getTensorType();
  if (type.getShape() != param->getTensorType().getShape() ||
      !type.getElementType().isF32())
    return emitOpError("type ")
           << type << " must be f32 with the shape of parameter "
           << getParamAttr() << " (" << param->getTensorType() << ")";
  return success();
}

LogicalResult AdamWUpdateOp::verify() {
  if (failed(checkRange(*this, "beta1", getBeta1().convertToDouble(), 0.0, 1.0,
                        true)) ||
      failed(checkRange(*this, "beta2", getBeta2().convertToDouble(), 0.0, 1.0,
                        true)) ||
      failed(checkRange(*this, "weight_decay",
                        getWeightDecay().convertToDouble(), 0.0, 1.0, false)))
    return failure();
  double eps = getEps().convertToDouble();
  if (!std::isfinite(eps) || eps <= 0.0)
    return emitOpError("eps must be positive and finite, got ") << eps;
  return success();
}

LogicalResult AdamWUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<ParamOp> param = trainableParam(*this, symbols, getParamAttr());
  if (failed(param) || failed(checkGrad(*this, *param, getGrad())) ||
      failed(checkState(*this, symbols, getExpAvgAttr(), getParamAttr(),
                        "exp_avg")) ||
      failed(checkState(*this, symbols, getExpAvgSqAttr(), getParamAttr(),
                        "exp_avg_sq")))
    return failure();
  return success();
}

LogicalResult SGDUpdateOp::verify() {
  double momentum = getMomentum().convertToDouble();
  if (failed(checkRange(*this, "momentum", momentum, 0.0, 1.0, false)) ||
      failed(checkRange(*this, "dampening", getDampening().convertToDouble(),
                        0.0, 1.0, false)) ||
      failed(checkRange(*this, "weight_decay",
                        getWeightDecay().convertToDouble(), 0.0, 1.0, false)))
    return failure();
  if (momentum > 0.0 && !getMomentumBufferAttr())
    return emitOpError("momentum ") << momentum << " needs a momentum buffer";
  if (momentum == 0.0 && getMomentumBufferAttr())
    return emitOpError("a momentum buffer without momentum is never used");
  if (getNesterov() &&
      (momentum == 0.0 || getDampening().convertToDouble() != 0.0))
    return emitOpError("Nesterov momentum needs momentum > 0 and dampening 0");
  return success();
}

LogicalResult SGDUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<ParamOp> param = trainableParam(*this, symbols, getParamAttr());
  if (failed(param) || failed(checkGrad(*this, *param, getGrad())))
    return failure();
  if (FlatSymbolRefAttr buffer = getMomentumBufferAttr())
    return checkState(*this, symbols, buffer, getParamAttr(),
                      "momentum_buffer");
  return success();
}

} // namespace var
