// Layers with per-channel or matrix parameters: var.batch_norm, var.linear,
// var.lstm. Parameter layouts are PyTorch's, so state_dicts load unchanged.
#include "dialects/Var/IR/ChannelLayout.h"
#include "dialects/Var/IR/ShapeRules.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

LogicalResult checkVector(std::optional<Location> loc, StringRef name,
                          StringRef what, Value value, int64_t size,
                          Type elementType) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, what, value);
  if (failed(type))
    return failure();
  if (type->getRank() != 1 || !dimsCompatible(type->getDimSize(0), size))
    return opError(loc, name, what, " must be (", formatShape(size), "), got (",
                   formatShape(type->getShape()), ")");
  if (type->getElementType() != elementType)
    return opError(loc, name, what, " element type ", type->getElementType(),
                   " differs from input's ", elementType);
  return success();
}

FailureOr<RankedTensorType> checkMatrix(std::optional<Location> loc,
                                        StringRef name, StringRef what,
                                        Value value, Type elementType) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, what, value);
  if (failed(type))
    return failure();
  if (type->getRank() != 2 || !type->hasStaticShape() ||
      type->getDimSize(0) < 1 || type->getDimSize(1) < 1)
    return opError(loc, name, what, " must be a static, non-empty matrix, got ",
                   *type);
  if (type->getElementType() != elementType)
    return opError(loc, name, what, " element type ", type->getElementType(),
                   " differs from input's ", elementType);
  return type;
}

//===----------------------------------------------------------------------===//
// BatchNormOp
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> checkBatchNormInput(std::optional<Location> loc,
                                                StringRef name, Value input,
                                                bool channelsLast) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, "input", input);
  if (failed(type))
    return failure();
  if (type->getRank() < 2)
    return opError(loc, name, "input must be ",
                   channelsLast ? "(N, ..., C) (channels_last)" : "(N, C, ...)",
                   ", got rank ", type->getRank());
  return type;
}

LogicalResult
checkBatchNormVectors(std::optional<Location> loc, StringRef name,
                      RankedTensorType input, bool channelsLast,
                      ArrayRef<std::pair<StringRef, Value>> vectors) {
  int64_t channels =
      input.getDimSize(channelDim(input.getRank(), channelsLast));
  Type elementType = input.getElementType();
  // cuDNN normalizes a bf16 or f16 input with f32 scale, shift and
  // statistics, which is how mixed precision keeps batch norm in FP32: an f32
  // weight makes the bias and running statistics f32 too.
  auto weightType =
      llvm::dyn_cast<RankedTensorType>(vectors.front().second.getType());
  bool fp32Params =
      !elementType.isF32() && weightType && weightType.getElementType().isF32();
  Type paramType = fp32Params ? weightType.getElementType() : elementType;
  for (auto [what, value] : vectors) {
    // checkVector compares with the input's type; here the weight sets it.
    if (fp32Params) {
      FailureOr<RankedTensorType> type = rankedOperand(loc, name, what, value);
      if (failed(type))
        return failure();
      if (type->getElementType() != paramType)
        return opError(loc, name, what, " element type ",
                       type->getElementType(), " differs from weight's ",
                       paramType, " (an f32 weight under a ", elementType,
                       " input needs f32 bias and statistics)");
    }
    if (failed(checkVector(loc, name, what, value, channels, paramType)))
      return failure();
  }
  return success();
}

FailureOr<RankedTensorType>
checkBatchNorm(std::optional<Location> loc, StringRef name, Value inputValue,
               Value weight, Value bias, Value runningMean, Value runningVar,
               FloatAttr epsAttr, FloatAttr momentumAttr, bool channelsLast) {
  FailureOr<RankedTensorType> input =
      checkBatchNormInput(loc, name, inputValue, channelsLast);
  if (failed(input) ||
      failed(checkBatchNormVectors(loc, name, *input, channelsLast,
                                   {{"weight", weight},
                                    {"bias", bias},
                                    {"running_mean", runningMean},
                                    {"running_var", runningVar}})))
    return failure();
  double eps = valueOr(epsAttr, 1e-5);
  if (!(eps > 0.0))
    return opError(loc, name, "eps must be positive, got ", eps);
  double momentum = valueOr(momentumAttr, 0.1);
  if (!(momentum >= 0.0 && momentum <= 1.0))
    return opError(loc, name, "momentum must be in [0, 1], got ", momentum);
  return input;
}

LogicalResult checkFusedActivation(std::optional<Location> loc, StringRef name,
                                   StringAttr activation) {
  if (!activation || activation.getValue() == "relu" ||
      activation.getValue() == "relu6" || activation.getValue() == "silu")
    return success();
  return opError(loc, name,
                 "activation must be \"relu\", \"relu6\" or \"silu\", got \"",
                 activation.getValue(), "\"");
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input = checkBatchNorm(
      loc, getOperationName(), adaptor.getInput(), adaptor.getWeight(),
      adaptor.getBias(), adaptor.getRunningMean(), adaptor.getRunningVar(),
      adaptor.getEpsAttr(), adaptor.getMomentumAttr(), isChannelsLast(adaptor));
  if (failed(input) ||
      failed(checkFusedActivation(loc, getOperationName(),
                                  adaptor.getActivationAttr())))
    return failure();
  types.push_back(*input);
  return success();
}

std::optional<int64_t> BatchNormOp::getForwardFlops() {
  return mulFlops({getActivation() ? 3 : 2, numElements(getType())});
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (input->getRank() < 1)
    return opError(loc, name, "input must have at least one dimension");
  Type elementType = input->getElementType();
  FailureOr<RankedTensorType> weight =
      checkMatrix(loc, name, "weight", adaptor.getWeight(), elementType);
  if (failed(weight))
    return failure();
  int64_t in = weight->getDimSize(1), out = weight->getDimSize(0);
  if (!dimsCompatible(input->getShape().back(), in))
    return opError(loc, name, "input has ", input->getShape().back(),
                   " features but the weight (out, in) = (", out, ", ", in,
                   ") expects ", in);
  if (Value bias = adaptor.getBias())
    if (failed(checkVector(loc, name, "bias", bias, out, elementType)))
      return failure();
  SmallVector<int64_t> shape(input->getShape());
  shape.back() = out;
  types.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

std::optional<int64_t> LinearOp::getForwardFlops() {
  auto weight = llvm::cast<RankedTensorType>(getWeight().getType());
  std::optional<int64_t> outputs = numElements(getType());
  return addFlops(
      {mulFlops({2, numElements(getInput().getType()), weight.getDimSize(0)}),
       getBias() ? outputs : 0});
}

//===----------------------------------------------------------------------===//
// LSTMOp
//===----------------------------------------------------------------------===//

LogicalResult inferLSTMTypes(std::optional<Location> loc, StringRef name,
                             Value inputValue, Value wIhValue, Value wHhValue,
                             Value bIh, Value bHh,
                             SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", inputValue);
  if (failed(input))
    return failure();
  if (input->getRank() != 3)
    return opError(loc, name, "input must be (B, T, I), got rank ",
                   input->getRank());
  Type elementType = input->getElementType();
  FailureOr<RankedTensorType> wIh =
      checkMatrix(loc, name, "w_ih", wIhValue, elementType);
  FailureOr<RankedTensorType> wHh =
      checkMatrix(loc, name, "w_hh", wHhValue, elementType);
  if (failed(wIh) || failed(wHh))
    return failure();
  int64_t gates = wIh->getDimSize(0);
  if (gates % 4 != 0)
    return opError(loc, name, "w_ih must be (4 * hidden, input), but ", gates,
                   " rows are not a multiple of 4");
  int64_t hidden = gates / 4;
  if (!dimsCompatible(input->getDimSize(2), wIh->getDimSize(1)))
    return opError(loc, name, "input has ", input->getDimSize(2),
                   " features but w_ih expects ", wIh->getDimSize(1));
  if (wHh->getDimSize(0) != gates || wHh->getDimSize(1) != hidden)
    return opError(loc, name, "w_hh must be (", gates, ", ", hidden,
                   ") for hidden size ", hidden, ", got (",
                   formatShape(wHh->getShape()), ")");
  if (failed(checkVector(loc, name, "b_ih", bIh, gates, elementType)) ||
      failed(checkVector(loc, name, "b_hh", bHh, gates, elementType)))
    return failure();
  int64_t batch = input->getDimSize(0), steps = input->getDimSize(1);
  types.push_back(RankedTensorType::get({batch, steps, hidden}, elementType));
  types.push_back(RankedTensorType::get({batch, hidden}, elementType));
  return success();
}

LogicalResult LSTMOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  return inferLSTMTypes(loc, getOperationName(), adaptor.getInput(),
                        adaptor.getWIh(), adaptor.getWHh(), adaptor.getBIh(),
                        adaptor.getBHh(), types);
}

LSTMFlops lstmFlops(RankedTensorType input, RankedTensorType wIh) {
  if (!input.hasStaticShape())
    return {};
  int64_t batch = input.getDimSize(0), steps = input.getDimSize(1);
  int64_t gates = wIh.getDimSize(0), hidden = gates / 4;
  int64_t features = wIh.getDimSize(1);
  std::optional<int64_t> products =
      mulFlops({2, batch, gates, addFlops({features, hidden})});
  std::optional<int64_t> perStep = addFlops(
      {products, mulFlops({2, batch, gates}), mulFlops({9, batch, hidden})});
  return {mulFlops({steps, perStep}), mulFlops({steps, products})};
}

std::optional<int64_t> LSTMOp::getForwardFlops() {
  return lstmFlops(llvm::cast<RankedTensorType>(getInput().getType()),
                   llvm::cast<RankedTensorType>(getWIh().getType()))
      .total;
}

} // namespace var
