// Ops of a training step (VarTrainOps.td): step outputs, the training forms
// of batch norm and dropout, and the backward ops. A backward op checks its
// shapes with the rule of the forward op it inverts (ShapeRules.h).
#include "dialects/Var/IR/ChannelLayout.h"
#include "dialects/Var/IR/ShapeRules.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace var {

/// Same rank and element type, and every dimension possibly equal.
static bool typesCompatible(RankedTensorType a, RankedTensorType b) {
  return a.getElementType() == b.getElementType() &&
         succeeded(verifyCompatibleShape(a.getShape(), b.getShape()));
}

//===----------------------------------------------------------------------===//
// ParamGradOp, UpdateBufferOp, FillOp
//===----------------------------------------------------------------------===//

/// The var.param that `op` names, or a diagnostic.
static FailureOr<ParamOp> lookupParam(Operation *op,
                                      SymbolTableCollection &symbols,
                                      FlatSymbolRefAttr name) {
  auto param = symbols.lookupNearestSymbolFrom<ParamOp>(op, name);
  if (!param)
    return op->emitOpError("references undefined parameter ") << name;
  return param;
}

LogicalResult ParamGradOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<ParamOp> param = lookupParam(*this, symbols, getNameAttr());
  if (failed(param))
    return failure();
  if (!param->isTrainable())
    return emitOpError("parameter ")
           << getNameAttr()
           << " is a buffer, which has no gradient (its new value goes to "
              "var.update_buffer)";
  // The gradient may be in the compute precision (bf16 for an f32 master
  // weight); its shape is the parameter's.
  if (param->getType().getShape() != getGrad().getType().getShape())
    return emitOpError("grad type ")
           << getGrad().getType() << " differs from parameter " << getNameAttr()
           << " of type " << param->getType();
  return success();
}

LogicalResult UpdateBufferOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<ParamOp> param = lookupParam(*this, symbols, getNameAttr());
  if (failed(param))
    return failure();
  if (param->isTrainable())
    return emitOpError("parameter ")
           << getNameAttr()
           << " is trainable, not a buffer (its gradient goes to "
              "var.param_grad)";
  if (param->getType() != getValue().getType())
    return emitOpError("value type ")
           << getValue().getType() << " differs from buffer " << getNameAttr()
           << " of type " << param->getType();
  return success();
}

/// `value` rounded to the element type of `type`.
static APFloat fillValue(APFloat value, RankedTensorType type) {
  bool losesInfo;
  value.convert(
      llvm::cast<FloatType>(type.getElementType()).getFloatSemantics(),
      APFloat::rmNearestTiesToEven, &losesInfo);
  return value;
}

LogicalResult FillOp::verify() {
  RankedTensorType type = getType();
  if (!type.hasStaticShape())
    return emitOpError("result shape must be static, got ") << type;
  if (!getValue().isFinite())
    return emitOpError("value must be finite, got ")
           << getValue().convertToDouble();
  if (!fillValue(getValue(), type).isFinite())
    return emitOpError("value ") << getValue().convertToDouble()
                                 << " overflows " << type.getElementType();
  return success();
}

OpFoldResult FillOp::fold(FoldAdaptor) {
  return DenseElementsAttr::get(getType(), fillValue(getValue(), getType()));
}

//===----------------------------------------------------------------------===//
// BatchNormTrainOp, DropoutTrainOp, DropoutGradOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormTrainOp::inferReturnTypes(MLIRContext *,
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
  // Saved mean and 1/std, new running mean and variance: one per channel.
  types.append(4, adaptor.getWeight().getType());
  return success();
}

/// FLOPs of a training batch norm of `input`: 7 an element (8 with an
/// activation) and 8 a channel.
static std::optional<int64_t> batchNormTrainFlops(Value input, Value weight,
                                                  bool activation) {
  auto channels = llvm::cast<RankedTensorType>(weight.getType()).getDimSize(0);
  return addFlops({mulFlops({activation ? 8 : 7, numElements(input.getType())}),
                   mulFlops({8, channels})});
}

/// FLOPs of a max pool giving `output`: one comparison a window element.
static std::optional<int64_t> maxPoolFlops(Value output,
                                           ArrayRef<int64_t> kernel) {
  return mulFlops({numElements(output.getType()), mulDims(kernel)});
}

std::optional<int64_t> BatchNormTrainOp::getForwardFlops() {
  return batchNormTrainFlops(getInput(), getWeight(),
                             getActivation().has_value());
}

/// The input's type, after var.batch_norm_train's checks of the input and
/// the per-channel operands (the saved statistics in place of the running
/// ones).
LogicalResult BatchNormApplyOp::inferReturnTypes(MLIRContext *,
                                                 std::optional<Location> loc,
                                                 Adaptor adaptor,
                                                 SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  bool channelsLast = isChannelsLast(adaptor);
  FailureOr<RankedTensorType> input =
      checkBatchNormInput(loc, name, adaptor.getInput(), channelsLast);
  if (failed(input) ||
      failed(checkBatchNormVectors(
          loc, name, *input, channelsLast,
          {{"weight", adaptor.getWeight()},
           {"bias", adaptor.getBias()},
           {"saved_mean", adaptor.getSavedMean()},
           {"saved_invstd", adaptor.getSavedInvstd()}})) ||
      failed(checkFusedActivation(loc, name, adaptor.getActivationAttr())))
    return failure();
  types.push_back(*input);
  return success();
}

std::optional<int64_t> BatchNormApplyOp::getForwardFlops() {
  return mulFlops({getActivation() ? 3 : 2, numElements(getInput().getType())});
}

/// var.max_pool_with_indices' results over the batch norm's result (the
/// input's type), then var.batch_norm_train's four statistics.
LogicalResult BatchNormTrainMaxPoolOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  bool channelsLast = isChannelsLast(adaptor);
  FailureOr<RankedTensorType> input = checkBatchNorm(
      loc, name, adaptor.getInput(), adaptor.getWeight(), adaptor.getBias(),
      adaptor.getRunningMean(), adaptor.getRunningVar(), adaptor.getEpsAttr(),
      adaptor.getMomentumAttr(), channelsLast);
  if (failed(input) ||
      failed(checkFusedActivation(loc, name, adaptor.getActivationAttr())))
    return failure();
  std::optional<ArrayRef<int64_t>> kernel;
  if (adaptor.getKernelAttr())
    kernel = adaptor.getKernel();
  if (failed(inferIndexedPoolTypes(loc, name, *input, kernel,
                                   adaptor.getStride(), adaptor.getPadding(),
                                   channelsLast, types)))
    return failure();
  types.append(4, adaptor.getWeight().getType());
  return success();
}

std::optional<int64_t> BatchNormTrainMaxPoolOp::getForwardFlops() {
  return addFlops({batchNormTrainFlops(getInput(), getWeight(),
                                       getActivation().has_value()),
                   maxPoolFlops(getOutput(), getKernel())});
}

/// The drop probability and mask key of a dropout that regenerates its mask.
static LogicalResult checkDropoutMask(std::optional<Location> loc,
                                      StringRef name, FloatAttr p,
                                      IntegerAttr key) {
  if (failed(checkDropProbability(loc, name, p)))
    return failure();
  if (!key)
    return opError(loc, name, "needs a mask 'key'");
  if (key.getInt() < 0)
    return opError(loc, name, "mask key must be non-negative, got ",
                   key.getInt());
  return success();
}

LogicalResult DropoutTrainOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input) || failed(checkDropoutMask(loc, name, adaptor.getPAttr(),
                                               adaptor.getKeyAttr())))
    return failure();
  types.push_back(*input);
  return success();
}

std::optional<int64_t> DropoutTrainOp::getForwardFlops() {
  return numElements(getType());
}

fused::FusedStep DropoutTrainOp::getFusedStep() {
  return {fused::Opcode::DropoutTrain, getP().convertToDouble(),
          static_cast<int64_t>(getKey())};
}

LogicalResult DropoutGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> grad =
      rankedOperand(loc, name, "grad", adaptor.getGrad());
  if (failed(grad) || failed(checkDropoutMask(loc, name, adaptor.getPAttr(),
                                              adaptor.getKeyAttr())))
    return failure();
  types.push_back(*grad);
  return success();
}

std::optional<int64_t> DropoutGradOp::getForwardFlops() {
  return numElements(getType());
}

fused::FusedStep DropoutGradOp::getFusedStep() {
  return {fused::Opcode::DropoutGrad, getP().convertToDouble(),
          static_cast<int64_t>(getKey())};
}

std::optional<int64_t> MaxPoolWithIndicesOp::getForwardFlops() {
  return maxPoolFlops(getOutput(), getKernel());
}

//===----------------------------------------------------------------------===//
// Convolution and pooling backward
//===----------------------------------------------------------------------===//

LogicalResult ConvGradInputOp::verify() {
  RankedTensorType grad = getGrad().getType();
  RankedTensorType weight = getWeight().getType();
  FailureOr<RankedTensorType> forward = inferConvType(
      getLoc(), getOperationName(), getType(), weight, RankedTensorType(),
      getStride(), getPadding(), getDilation(), getGroups(), getChannelsLast());
  if (failed(forward))
    return failure();
  if (*forward != grad)
    return emitOpError("result type ")
           << getType() << " does not convolve to grad type " << grad
           << ": the convolution with weight " << weight << " gives "
           << *forward;
  return success();
}

std::optional<int64_t> ConvGradInputOp::getForwardFlops() {
  return convFlops(getGrad().getType(), getWeight().getType());
}

LogicalResult ConvGradWeightOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType grad = getGrad().getType();
  FailureOr<RankedTensorType> forward = inferConvType(
      getLoc(), getOperationName(), input, getType(), RankedTensorType(),
      getStride(), getPadding(), getDilation(), getGroups(), getChannelsLast());
  if (failed(forward))
    return failure();
  if (*forward != grad)
    return emitOpError("result type ")
           << getType() << " does not convolve input " << input
           << " to grad type " << grad << ": the convolution gives "
           << *forward;
  return success();
}

std::optional<int64_t> ConvGradWeightOp::getForwardFlops() {
  return convFlops(getGrad().getType(), getType());
}

LogicalResult MaxPoolGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  FailureOr<RankedTensorType> output =
      rankedOperand(loc, name, "output", adaptor.getOutput());
  if (failed(input) || failed(output))
    return failure();
  std::optional<ArrayRef<int64_t>> kernel;
  if (adaptor.getKernelAttr())
    kernel = adaptor.getKernel();
  FailureOr<RankedTensorType> pooled =
      inferPoolType(loc, name, *input, kernel, adaptor.getStride(),
                    adaptor.getPadding(), isChannelsLast(adaptor));
  if (failed(pooled))
    return failure();
  if (*pooled != *output)
    return opError(loc, name, "output type ", *output,
                   " is not the max pool of input type ", *input,
                   ": the pool gives ", *pooled);
  types.push_back(*input);
  return success();
}

std::optional<int64_t> MaxPoolGradOp::getForwardFlops() {
  return numElements(getType());
}

/// That `full` (the forward pool's input type, named `fullName`) pools, as
/// the forward (`pool`: "max" or "average") would, to `grad`.
static LogicalResult checkPoolsTo(std::optional<Location> loc, StringRef name,
                                  StringRef fullName, RankedTensorType full,
                                  RankedTensorType grad,
                                  ArrayRef<int64_t> kernel,
                                  std::optional<ArrayRef<int64_t>> stride,
                                  std::optional<ArrayRef<int64_t>> padding,
                                  bool channelsLast, StringRef pool) {
  FailureOr<RankedTensorType> forward =
      inferPoolType(loc, name, full, kernel, stride, padding, channelsLast);
  if (failed(forward))
    return failure();
  if (*forward != grad)
    return opError(loc, name, fullName, " type ", full,
                   " does not pool to grad type ", grad, ": the ", pool,
                   " pool gives ", *forward);
  return success();
}

/// That the result of pool backward `op` pools, as its forward (`pool`:
/// "max" or "average") would, to grad's type.
template <typename PoolGradOp>
static LogicalResult verifyPoolsToGrad(PoolGradOp op, StringRef pool) {
  return checkPoolsTo(op.getLoc(), op.getOperationName(), "result",
                      op.getType(), op.getGrad().getType(), op.getKernel(),
                      op.getStride(), op.getPadding(), op.getChannelsLast(),
                      pool);
}

LogicalResult MaxPoolGradIndicesOp::verify() {
  RankedTensorType indices = getIndices().getType();
  RankedTensorType grad = getGrad().getType();
  if (indices.getShape() != grad.getShape())
    return emitOpError("indices type ")
           << indices << " does not have the shape of grad type " << grad;
  if (failed(checkIndexedWindow(getLoc(), getOperationName(), getKernel())))
    return failure();
  return verifyPoolsToGrad(*this, "max");
}

std::optional<int64_t> MaxPoolGradIndicesOp::getForwardFlops() {
  return numElements(getType());
}

LogicalResult AvgPoolGradOp::verify() {
  return verifyPoolsToGrad(*this, "average");
}

std::optional<int64_t> AvgPoolGradOp::getForwardFlops() {
  return numElements(getType());
}

LogicalResult GlobalAvgPoolGradOp::verify() {
  RankedTensorType grad = getGrad().getType();
  // The forward kept its spatial dimensions (as 1s) unless grad is (N, C).
  bool keepDims = grad.getRank() != 2;
  FailureOr<RankedTensorType> forward = inferGlobalAvgPoolType(
      getLoc(), getOperationName(), getType(), keepDims, getChannelsLast());
  if (failed(forward))
    return failure();
  if (*forward != grad)
    return emitOpError("result type ")
           << getType() << " does not pool to grad type " << grad
           << ": the global average pool gives " << *forward;
  return success();
}

std::optional<int64_t> GlobalAvgPoolGradOp::getForwardFlops() {
  return numElements(getType());
}

//===----------------------------------------------------------------------===//
// Normalization, linear and LSTM backward
//===----------------------------------------------------------------------===//

/// The results of a batch norm backward op (input, weight and bias
/// gradients) from its input and weight. As in var.batch_norm: the weight has
/// the input's element type, or is f32 under a bf16 or f16 input; the other
/// per-channel operands match the weight (ODS's AllTypesMatch).
static LogicalResult batchNormGradTypes(std::optional<Location> loc,
                                        StringRef name, Value inputValue,
                                        Value weight, bool channelsLast,
                                        SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      checkBatchNormInput(loc, name, inputValue, channelsLast);
  if (failed(input))
    return failure();
  Type weightElementType = input->getElementType();
  auto weightType = llvm::dyn_cast<RankedTensorType>(weight.getType());
  if (weightType && weightType.getElementType().isF32())
    weightElementType = weightType.getElementType();
  int64_t channels =
      input->getDimSize(channelDim(input->getRank(), channelsLast));
  if (failed(checkVector(loc, name, "weight", weight, channels,
                         weightElementType)))
    return failure();
  types.append({*input, weight.getType(), weight.getType()});
  return success();
}

/// The results of a batch norm backward with an optional fused `activation`
/// and its `value` (var.batch_norm_grad's rules).
static LogicalResult
batchNormGradActivationTypes(std::optional<Location> loc, StringRef name,
                             Value input, Value weight, StringAttr activation,
                             Value value, bool channelsLast,
                             SmallVectorImpl<Type> &types) {
  if (failed(checkFusedActivation(loc, name, activation)))
    return failure();
  // The activation value is the forward's bias, from which the op
  // recomputes the pre-activation (SiLU's always), or the fused ReLU's or
  // ReLU6's output, what var.relu_grad would mask with.
  if (bool(value) != bool(activation))
    return opError(loc, name, "activation and its value come together");
  auto valueType =
      value ? dyn_cast<RankedTensorType>(value.getType()) : RankedTensorType();
  bool bias = value && (activation.getValue() == "silu" ||
                        (valueType && valueType.getRank() == 1));
  Type expected = bias ? weight.getType() : input.getType();
  if (value && value.getType() != expected)
    return opError(loc, name, "activation value type ", value.getType(),
                   " differs from ", bias ? "weight" : "input", " type ",
                   expected);
  return batchNormGradTypes(loc, name, input, weight, channelsLast, types);
}

LogicalResult BatchNormGradOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  return batchNormGradActivationTypes(
      loc, getOperationName(), adaptor.getInput(), adaptor.getWeight(),
      adaptor.getActivationAttr(), adaptor.getActivationValue(),
      isChannelsLast(adaptor), types);
}

std::optional<int64_t> BatchNormGradOp::getForwardFlops() {
  return mulFlops({getActivation() ? 9 : 8, numElements(getInput().getType())});
}

/// var.batch_norm_grad's results, from a gradient that
/// var.max_pool_grad_indices would route to the input's shape through
/// windows that tile it.
LogicalResult BatchNormGradMaxPoolOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  bool channelsLast = isChannelsLast(adaptor);
  // The CUDA kernels derive dy along a row of channels (NormPassKernels.cu).
  if (!channelsLast)
    return opError(loc, name, "computes channels-last tensors only");
  if (failed(batchNormGradActivationTypes(
          loc, name, adaptor.getInput(), adaptor.getWeight(),
          adaptor.getActivationAttr(), adaptor.getActivationValue(),
          channelsLast, types)))
    return failure();
  FailureOr<RankedTensorType> indices =
      rankedOperand(loc, name, "indices", adaptor.getIndices());
  FailureOr<RankedTensorType> grad =
      rankedOperand(loc, name, "grad", adaptor.getGrad());
  if (failed(indices) || failed(grad))
    return failure();
  if (!adaptor.getKernelAttr())
    return opError(loc, name, "needs a kernel");
  if (indices->getShape() != grad->getShape())
    return opError(loc, name, "indices type ", *indices,
                   " does not have the shape of grad type ", *grad);
  ArrayRef<int64_t> kernel = adaptor.getKernel();
  if (failed(checkIndexedWindow(loc, name, kernel)))
    return failure();
  // Each input element in at most one window: its dy is one term or +0.
  std::optional<ArrayRef<int64_t>> stride = adaptor.getStride();
  std::optional<ArrayRef<int64_t>> padding = adaptor.getPadding();
  if ((stride && *stride != kernel) ||
      (padding && llvm::any_of(*padding, [](int64_t p) { return p != 0; })))
    return opError(loc, name,
                   "windows must tile the input (stride equal to "
                   "the kernel [",
                   kernel, "], no padding)");
  return checkPoolsTo(loc, name, "input", cast<RankedTensorType>(types[0]),
                      *grad, kernel, stride, padding, channelsLast, "max");
}

std::optional<int64_t> BatchNormGradMaxPoolOp::getForwardFlops() {
  return mulFlops(
      {getActivation() ? 10 : 9, numElements(getInput().getType())});
}

LogicalResult BatchNormFrozenGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  double eps = valueOr(adaptor.getEpsAttr(), 1e-5);
  if (!(eps > 0.0))
    return opError(loc, name, "eps must be positive, got ", eps);
  return batchNormGradTypes(loc, name, adaptor.getInput(), adaptor.getWeight(),
                            isChannelsLast(adaptor), types);
}

std::optional<int64_t> BatchNormFrozenGradOp::getForwardFlops() {
  auto weight = llvm::cast<RankedTensorType>(getWeight().getType());
  return addFlops({mulFlops({5, numElements(getInput().getType())}),
                   mulFlops({5, weight.getDimSize(0)})});
}

/// A 2-D weight with the element type of `like` (named `likeName`).
static FailureOr<RankedTensorType> linearWeight(std::optional<Location> loc,
                                                StringRef name, Value weight,
                                                StringRef likeName,
                                                RankedTensorType like) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, "weight", weight);
  if (failed(type) ||
      failed(checkMatrix(loc, name, "weight", weight, type->getElementType())))
    return failure();
  if (type->getElementType() != like.getElementType())
    return opError(loc, name, "weight element type ", type->getElementType(),
                   " differs from ", likeName, "'s ", like.getElementType());
  return type;
}

LogicalResult
LinearGradInputOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> grad =
      rankedOperand(loc, name, "grad", adaptor.getGrad());
  if (failed(grad))
    return failure();
  if (grad->getRank() < 1)
    return opError(loc, name, "grad must have at least one dimension");
  FailureOr<RankedTensorType> weight =
      linearWeight(loc, name, adaptor.getWeight(), "grad", *grad);
  if (failed(weight))
    return failure();
  int64_t out = weight->getDimSize(0), in = weight->getDimSize(1);
  if (!dimsCompatible(grad->getShape().back(), out))
    return opError(loc, name, "grad has ", grad->getShape().back(),
                   " features but the weight (out, in) = (", out, ", ", in,
                   ") produces ", out);
  SmallVector<int64_t> shape(grad->getShape());
  shape.back() = in;
  types.push_back(RankedTensorType::get(shape, grad->getElementType()));
  return success();
}

std::optional<int64_t> LinearGradInputOp::getForwardFlops() {
  return mulFlops({2, numElements(getGrad().getType()),
                   getWeight().getType().getDimSize(1)});
}

LogicalResult
LinearGradWeightOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                     Adaptor adaptor,
                                     SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  FailureOr<RankedTensorType> grad =
      rankedOperand(loc, name, "grad", adaptor.getGrad());
  if (failed(input) || failed(grad))
    return failure();
  int64_t rank = input->getRank();
  if (rank < 1)
    return opError(loc, name, "input must have at least one dimension");
  if (grad->getRank() != rank)
    return opError(loc, name, "grad rank ", grad->getRank(),
                   " differs from input rank ", rank,
                   " (both are (..., features) over the same rows)");
  for (int64_t d = 0; d + 1 < rank; ++d)
    if (!dimsCompatible(input->getDimSize(d), grad->getDimSize(d)))
      return opError(loc, name, "grad has size ", grad->getDimSize(d),
                     " in dimension ", d, " where input has ",
                     input->getDimSize(d));
  if (grad->getElementType() != input->getElementType())
    return opError(loc, name, "grad element type ", grad->getElementType(),
                   " differs from input's ", input->getElementType());
  types.push_back(
      RankedTensorType::get({grad->getShape().back(), input->getShape().back()},
                            input->getElementType()));
  return success();
}

std::optional<int64_t> LinearGradWeightOp::getForwardFlops() {
  return mulFlops({2, numElements(getInput().getType()),
                   getGrad().getType().getShape().back()});
}

LogicalResult LSTMGradOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  SmallVector<Type, 2> forward;
  if (failed(inferLSTMTypes(loc, name, adaptor.getInput(), adaptor.getWIh(),
                            adaptor.getWHh(), adaptor.getBIh(),
                            adaptor.getBHh(), forward)))
    return failure();
  FailureOr<RankedTensorType> sequenceGrad =
      rankedOperand(loc, name, "sequence_grad", adaptor.getSequenceGrad());
  FailureOr<RankedTensorType> lastGrad =
      rankedOperand(loc, name, "last_grad", adaptor.getLastGrad());
  if (failed(sequenceGrad) || failed(lastGrad))
    return failure();
  auto sequence = llvm::cast<RankedTensorType>(forward[0]);
  auto last = llvm::cast<RankedTensorType>(forward[1]);
  if (!typesCompatible(*sequenceGrad, sequence))
    return opError(loc, name, "sequence_grad type ", *sequenceGrad,
                   " does not match the LSTM's sequence type ", sequence);
  if (!typesCompatible(*lastGrad, last))
    return opError(loc, name, "last_grad type ", *lastGrad,
                   " does not match the LSTM's last-step type ", last);
  for (Value operand : {adaptor.getInput(), adaptor.getWIh(), adaptor.getWHh(),
                        adaptor.getBIh(), adaptor.getBHh()})
    types.push_back(operand.getType());
  return success();
}

std::optional<int64_t> LSTMGradOp::getForwardFlops() {
  LSTMFlops forward = lstmFlops(getInput().getType(), getWIh().getType());
  return addFlops({forward.total, mulFlops({2, forward.products})});
}

//===----------------------------------------------------------------------===//
// Activation gradients
//===----------------------------------------------------------------------===//

template <typename Adaptor>
static LogicalResult inferActivationGrad(std::optional<Location> loc,
                                         StringRef name, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> value =
      rankedOperand(loc, name, "value", adaptor.getValue());
  if (failed(value))
    return failure();
  types.push_back(*value);
  return success();
}

LogicalResult ReluGradOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  return inferActivationGrad(loc, getOperationName(), adaptor, types);
}

LogicalResult Relu6GradOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return inferActivationGrad(loc, getOperationName(), adaptor, types);
}

LogicalResult SigmoidGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  return inferActivationGrad(loc, getOperationName(), adaptor, types);
}

LogicalResult SiluGradOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  return inferActivationGrad(loc, getOperationName(), adaptor, types);
}

LogicalResult HardSwishGradOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  return inferActivationGrad(loc, getOperationName(), adaptor, types);
}

std::optional<int64_t> ReluGradOp::getForwardFlops() {
  return numElements(getType());
}

std::optional<int64_t> Relu6GradOp::getForwardFlops() {
  return numElements(getType());
}

std::optional<int64_t> SigmoidGradOp::getForwardFlops() {
  return mulFlops({2, numElements(getType())});
}

std::optional<int64_t> SiluGradOp::getForwardFlops() {
  return mulFlops({4, numElements(getType())});
}

std::optional<int64_t> HardSwishGradOp::getForwardFlops() {
  return mulFlops({4, numElements(getType())});
}

//===----------------------------------------------------------------------===//
// Reductions and slices
//===----------------------------------------------------------------------===//

LogicalResult ReduceSumOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (!adaptor.getDimsAttr())
    return opError(loc, name, "needs 'dims'");
  ArrayRef<int64_t> dims = adaptor.getDims();
  if (dims.empty())
    return opError(loc, name, "dims must name at least one dimension");
  int64_t rank = input->getRank();
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= rank)
      return opError(loc, name, "dimension ", d, " is out of range for rank ",
                     rank);
    if (i > 0 && d <= dims[i - 1])
      return opError(loc, name, "dims must be strictly increasing, got [", dims,
                     "]");
  }
  SmallVector<int64_t> shape;
  const int64_t *summed = dims.begin();
  for (int64_t d = 0; d < rank; ++d) {
    if (summed != dims.end() && *summed == d) {
      ++summed;
      if (adaptor.getKeepDims())
        shape.push_back(1);
      continue;
    }
    shape.push_back(input->getDimSize(d));
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> ReduceSumOp::getForwardFlops() {
  return numElements(getInput().getType());
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (!adaptor.getAxisAttr() || !adaptor.getOffsetAttr() ||
      !adaptor.getSizeAttr())
    return opError(loc, name, "needs 'axis', 'offset' and 'size'");
  int64_t rank = input->getRank();
  int64_t axis = adaptor.getAxisAttr().getInt();
  int64_t dim = axis < 0 ? axis + rank : axis;
  if (dim < 0 || dim >= rank)
    return opError(loc, name, "axis ", axis, " is out of range for rank ",
                   rank);
  int64_t offset = adaptor.getOffsetAttr().getInt();
  int64_t size = adaptor.getSizeAttr().getInt();
  if (offset < 0)
    return opError(loc, name, "offset must be non-negative, got ", offset);
  if (size < 1)
    return opError(loc, name, "size must be at least 1, got ", size);
  int64_t extent = input->getDimSize(dim);
  int64_t end;
  if (!ShapedType::isDynamic(extent) &&
      (llvm::AddOverflow(offset, size, end) || end > extent))
    return opError(loc, name, "offset ", offset, " + size ", size,
                   " exceeds dimension ", dim, " of size ", extent);
  SmallVector<int64_t> shape(input->getShape());
  shape[dim] = size;
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> SliceOp::getForwardFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Time and loss backward
//===----------------------------------------------------------------------===//

LogicalResult MeanTimeGradOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> grad =
      rankedOperand(loc, name, "grad", adaptor.getGrad());
  if (failed(grad))
    return failure();
  if (grad->getRank() < 1)
    return opError(loc, name, "grad must be (B, ...), got rank 0");
  if (!adaptor.getFramesAttr())
    return opError(loc, name, "needs 'frames'");
  int64_t frames = adaptor.getFramesAttr().getInt();
  if (frames < 1)
    return opError(loc, name, "frames must be at least 1, got ", frames);
  SmallVector<int64_t> shape = {grad->getDimSize(0), frames};
  llvm::append_range(shape, grad->getShape().drop_front());
  types.push_back(RankedTensorType::get(shape, grad->getElementType()));
  return success();
}

std::optional<int64_t> MeanTimeGradOp::getForwardFlops() {
  return numElements(getType());
}

LogicalResult SoftmaxCrossEntropyGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> logits = checkSoftmaxCrossEntropy(
      loc, getOperationName(), adaptor.getLogits(), adaptor.getLabels(),
      adaptor.getLabelSmoothingAttr());
  if (failed(logits))
    return failure();
  types.push_back(*logits);
  return success();
}

std::optional<int64_t> SoftmaxCrossEntropyGradOp::getForwardFlops() {
  return mulFlops({5, numElements(getLogits().getType())});
}

} // namespace var
