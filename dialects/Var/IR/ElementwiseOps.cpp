// Elementwise ops with more than one input or an attribute: var.add, var.mul
// (NumPy broadcasting) and var.dropout. Activations are generated from ODS.
#include "dialects/Var/IR/ShapeRules.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Dialect/Traits.h"

using namespace mlir;

namespace var {

template <typename Adaptor>
static LogicalResult inferBroadcast(std::optional<Location> loc, StringRef name,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> lhs =
      rankedOperand(loc, name, "lhs", adaptor.getLhs());
  FailureOr<RankedTensorType> rhs =
      rankedOperand(loc, name, "rhs", adaptor.getRhs());
  if (failed(lhs) || failed(rhs))
    return failure();
  if (lhs->getElementType() != rhs->getElementType())
    return opError(loc, name, "operands have different element types ",
                   lhs->getElementType(), " and ", rhs->getElementType());
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(lhs->getShape(), rhs->getShape(),
                                          shape))
    return opError(loc, name, "shapes (", formatShape(lhs->getShape()),
                   ") and (", formatShape(rhs->getShape()),
                   ") do not broadcast");
  types.push_back(RankedTensorType::get(shape, lhs->getElementType()));
  return success();
}

LogicalResult AddOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return inferBroadcast(loc, getOperationName(), adaptor, types);
}

LogicalResult MulOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return inferBroadcast(loc, getOperationName(), adaptor, types);
}

std::optional<int64_t> AddOp::getForwardFlops() {
  return numElements(getType());
}

std::optional<int64_t> MulOp::getForwardFlops() {
  return numElements(getType());
}

LogicalResult checkDropProbability(std::optional<Location> loc, StringRef name,
                                   FloatAttr pAttr) {
  if (!pAttr)
    return opError(loc, name, "needs a drop probability 'p'");
  double p = pAttr.getValueAsDouble();
  if (!(p >= 0.0 && p < 1.0))
    return opError(loc, name, "drop probability p must be in [0, 1), got ", p);
  return success();
}

LogicalResult DropoutOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (failed(checkDropProbability(loc, name, adaptor.getPAttr())))
    return failure();
  types.push_back(*input);
  return success();
}

std::optional<int64_t> DropoutOp::getForwardFlops() {
  return numElements(getType());
}

} // namespace var
