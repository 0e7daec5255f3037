// var.softmax_cross_entropy: the training loss, always reduced in FP32.
#include "dialects/Var/IR/ShapeRules.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

FailureOr<RankedTensorType>
checkSoftmaxCrossEntropy(std::optional<Location> loc, StringRef name,
                         Value logitsValue, Value labelsValue,
                         FloatAttr labelSmoothing) {
  FailureOr<RankedTensorType> logits =
      rankedOperand(loc, name, "logits", logitsValue);
  FailureOr<RankedTensorType> labels =
      rankedOperand(loc, name, "labels", labelsValue);
  if (failed(logits) || failed(labels))
    return failure();
  if (logits->getRank() != 2)
    return opError(loc, name, "logits must be (N, classes), got rank ",
                   logits->getRank());
  if (labels->getRank() != 1)
    return opError(loc, name, "labels must be (N), got rank ",
                   labels->getRank());
  if (!llvm::isa<IntegerType>(labels->getElementType()))
    return opError(loc, name, "labels must be integer class indices, got ",
                   labels->getElementType());
  if (!dimsCompatible(logits->getDimSize(0), labels->getDimSize(0)))
    return opError(loc, name, "batch of logits (", logits->getDimSize(0),
                   ") and labels (", labels->getDimSize(0), ") differ");
  double smoothing = valueOr(labelSmoothing, 0.0);
  if (!(smoothing >= 0.0 && smoothing < 1.0))
    return opError(loc, name, "label_smoothing must be in [0, 1), got ",
                   smoothing);
  return logits;
}

LogicalResult SoftmaxCrossEntropyOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  if (failed(checkSoftmaxCrossEntropy(loc, getOperationName(),
                                      adaptor.getLogits(), adaptor.getLabels(),
                                      adaptor.getLabelSmoothingAttr())))
    return failure();
  types.push_back(RankedTensorType::get({}, Float32Type::get(context)));
  return success();
}

std::optional<int64_t> SoftmaxCrossEntropyOp::getForwardFlops() {
  auto logits = llvm::cast<RankedTensorType>(getLogits().getType());
  return addFlops({mulFlops({3, numElements(logits)}),
                   mulFlops({2, logits.getDimSize(0)})});
}

} // namespace var
