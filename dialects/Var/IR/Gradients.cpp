// Reverse-mode rules of DifferentiableOpInterface: for each forward op, the
// backward ops that turn its results' gradients into its operands'. The
// autodiff pass (compiler/Transforms/Autodiff.cpp) drives them. A layout op's
// backward ops take its `channels_last`, so they see the layout it computed in.
#include "dialects/Var/IR/ChannelLayout.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

namespace {

/// The single result's gradient; the autodiff pass calls a rule only when at
/// least one result's gradient exists, so for one result it is never null.
Value onlyGrad(ArrayRef<Value> resultGrads) {
  assert(resultGrads.size() == 1 && resultGrads[0] && "one result gradient");
  return resultGrads[0];
}

RankedTensorType tensorType(Value value) {
  return llvm::cast<RankedTensorType>(value.getType());
}

/// The dimensions 0..rank-1 except `keep`.
SmallVector<int64_t> allDimsBut(int64_t rank, int64_t keep) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != keep)
      dims.push_back(d);
  return dims;
}

Value reduceSum(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> dims,
                bool keepDims) {
  return b.create<ReduceSumOp>(loc, value, b.getDenseI64ArrayAttr(dims),
                               keepDims ? b.getUnitAttr() : nullptr);
}

Value reshape(OpBuilder &b, Location loc, Value value, RankedTensorType to) {
  if (value.getType() == to)
    return value;
  return b.create<ReshapeOp>(loc, value, b.getDenseI64ArrayAttr(to.getShape()));
}

/// The inverse of NumPy broadcasting: sums `grad` (the gradient of a
/// broadcast result) down to `target`, an operand's shape.
Value sumToShape(OpBuilder &b, Location loc, Value grad,
                 RankedTensorType target) {
  RankedTensorType type = tensorType(grad);
  if (type == target)
    return grad;
  int64_t extra = type.getRank() - target.getRank();
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d < extra ||
        (target.getDimSize(d - extra) == 1 && type.getDimSize(d) != 1))
      dims.push_back(d);
  Value summed = dims.empty() ? grad : reduceSum(b, loc, grad, dims, true);
  return reshape(b, loc, summed, target);
}

/// A needed gradient of an integer operand (labels) does not exist.
LogicalResult requireFloatIfNeeded(Operation *op, ArrayRef<bool> needed,
                                   unsigned index) {
  if (needed[index])
    return op->emitOpError("operand #")
           << index << " holds integers and has no gradient";
  return success();
}

void prepare(Operation *op, SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(op->getNumOperands(), Value());
}

} // namespace

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

LogicalResult ConvOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  Value grad = onlyGrad(resultGrads);
  Location loc = getLoc();
  if (needed[0])
    operandGrads[0] = b.create<ConvGradInputOp>(
        loc, getInput().getType(), grad, getWeight(), getStrideAttr(),
        getPaddingAttr(), getDilationAttr(), getGroupsAttr(),
        getChannelsLastAttr());
  if (needed[1])
    operandGrads[1] = b.create<ConvGradWeightOp>(
        loc, getWeight().getType(), getInput(), grad, getStrideAttr(),
        getPaddingAttr(), getDilationAttr(), getGroupsAttr(),
        getChannelsLastAttr());
  if (getBias() && needed[2]) {
    int64_t rank = tensorType(grad).getRank();
    operandGrads[2] = reduceSum(
        b, loc, grad, allDimsBut(rank, channelDim(rank, getChannelsLast())),
        /*keepDims=*/false);
  }
  return success();
}

LogicalResult MaxPoolOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<MaxPoolGradOp>(
        getLoc(), getInput(), getResult(), onlyGrad(resultGrads),
        getKernelAttr(), getStrideAttr(), getPaddingAttr(),
        getChannelsLastAttr());
  return success();
}

LogicalResult AvgPoolOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<AvgPoolGradOp>(
        getLoc(), getInput().getType(), onlyGrad(resultGrads), getKernelAttr(),
        getStrideAttr(), getPaddingAttr(), getChannelsLastAttr());
  return success();
}

LogicalResult
GlobalAvgPoolOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                ArrayRef<bool> needed,
                                SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<GlobalAvgPoolGradOp>(
        getLoc(), getInput().getType(), onlyGrad(resultGrads),
        getChannelsLastAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization, linear, LSTM
//===----------------------------------------------------------------------===//

LogicalResult
BatchNormTrainOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (getActivation())
    return emitOpError("has a fused activation and no backward rule; run "
                       "var-fuse-bn-act after autodiff");
  // The saved and running statistics feed the backward and the buffers, not
  // the loss; a model that computes with them is not differentiable here.
  for (unsigned i = 1; i < resultGrads.size(); ++i)
    if (resultGrads[i])
      return emitOpError("result #")
             << i << " (a batch statistic) reaches the loss; only the "
             << "normalized result can be differentiated";
  if (needed[3] || needed[4])
    return emitOpError("running statistics must be buffers, not trainable");
  if (!resultGrads[0] || !(needed[0] || needed[1] || needed[2]))
    return success();
  auto grads = b.create<BatchNormGradOp>(
      getLoc(), getInput(), resultGrads[0], getWeight(), getSavedMean(),
      getSavedInvstd(), /*activation_value=*/Value(), getChannelsLastAttr(),
      /*activation=*/StringAttr());
  for (unsigned i = 0; i < 3; ++i)
    if (needed[i])
      operandGrads[i] = grads->getResult(i);
  return success();
}

// Only training steps with frozen batch norm differentiate var.batch_norm
// itself (otherwise the autodiff pass turns it into var.batch_norm_train):
// the running statistics are constants of the step.
LogicalResult
BatchNormOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (getActivation())
    return emitOpError("has a fused activation and no backward rule; run "
                       "var-fuse-bn-act after autodiff");
  if (needed[3] || needed[4])
    return emitOpError("running statistics must be buffers, not trainable, "
                       "to be frozen (declare the running mean and variance "
                       "with `buffer`)");
  if (!(needed[0] || needed[1] || needed[2]))
    return success();
  auto grads = b.create<BatchNormFrozenGradOp>(
      getLoc(), getInput(), onlyGrad(resultGrads), getWeight(),
      getRunningMean(), getRunningVar(), getEpsAttr(), getChannelsLastAttr());
  for (unsigned i = 0; i < 3; ++i)
    if (needed[i])
      operandGrads[i] = grads->getResult(i);
  return success();
}

LogicalResult LinearOp::buildGradients(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  Value grad = onlyGrad(resultGrads);
  Location loc = getLoc();
  if (needed[0])
    operandGrads[0] = b.create<LinearGradInputOp>(loc, grad, getWeight());
  if (needed[1])
    operandGrads[1] = b.create<LinearGradWeightOp>(loc, getInput(), grad);
  if (getBias() && needed[2]) {
    int64_t rank = tensorType(grad).getRank();
    operandGrads[2] =
        reduceSum(b, loc, grad, allDimsBut(rank, rank - 1), false);
  }
  return success();
}

LogicalResult LSTMOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (!llvm::is_contained(needed, true))
    return success();
  Location loc = getLoc();
  auto gradOrZero = [&](Value grad, Value result) -> Value {
    if (grad)
      return grad;
    return b.create<FillOp>(loc, result.getType(), b.getF64FloatAttr(0.0));
  };
  auto grads =
      b.create<LSTMGradOp>(loc, getInput(), getWIh(), getWHh(), getBIh(),
                           getBHh(), gradOrZero(resultGrads[0], getSequence()),
                           gradOrZero(resultGrads[1], getLast()));
  for (unsigned i = 0; i < 5; ++i)
    if (needed[i])
      operandGrads[i] = grads->getResult(i);
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

namespace {
/// An activation whose gradient is computed from `value` (its input or its
/// output) and the result's gradient.
template <typename GradOp>
LogicalResult activationGradient(Operation *op, Value value,
                                 ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed, OpBuilder &b,
                                 SmallVectorImpl<Value> &operandGrads) {
  prepare(op, operandGrads);
  if (needed[0])
    operandGrads[0] =
        b.create<GradOp>(op->getLoc(), value, onlyGrad(resultGrads));
  return success();
}
} // namespace

LogicalResult ReluOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  return activationGradient<ReluGradOp>(*this, getResult(), resultGrads, needed,
                                        b, operandGrads);
}

LogicalResult Relu6Op::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &operandGrads) {
  return activationGradient<Relu6GradOp>(*this, getResult(), resultGrads,
                                         needed, b, operandGrads);
}

LogicalResult SigmoidOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  return activationGradient<SigmoidGradOp>(*this, getResult(), resultGrads,
                                           needed, b, operandGrads);
}

LogicalResult SiluOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  return activationGradient<SiluGradOp>(*this, getInput(), resultGrads, needed,
                                        b, operandGrads);
}

LogicalResult
HardSwishOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  return activationGradient<HardSwishGradOp>(*this, getInput(), resultGrads,
                                             needed, b, operandGrads);
}

LogicalResult AddOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  Value grad = onlyGrad(resultGrads);
  for (unsigned i = 0; i < 2; ++i)
    if (needed[i])
      operandGrads[i] = sumToShape(b, getLoc(), grad,
                                   tensorType(getOperation()->getOperand(i)));
  return success();
}

LogicalResult MulOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  Value grad = onlyGrad(resultGrads);
  Value operands[2] = {getLhs(), getRhs()};
  for (unsigned i = 0; i < 2; ++i)
    if (needed[i]) {
      Value product = b.create<MulOp>(getLoc(), grad, operands[1 - i]);
      operandGrads[i] =
          sumToShape(b, getLoc(), product, tensorType(operands[i]));
    }
  return success();
}

LogicalResult
DropoutTrainOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                               ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<DropoutGradOp>(getLoc(), onlyGrad(resultGrads),
                                              getPAttr(), getKeyAttr());
  return success();
}

LogicalResult CastOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (!needed[0])
    return success();
  // The gradient of a bf16 compute copy flows back in f32, and vice versa.
  Value grad = onlyGrad(resultGrads);
  Type elementType = tensorType(getInput()).getElementType();
  if (tensorType(grad).getElementType() != elementType)
    grad = b.create<CastOp>(getLoc(), grad, elementType);
  operandGrads[0] = grad;
  return success();
}

//===----------------------------------------------------------------------===//
// Shape and time
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] =
        reshape(b, getLoc(), onlyGrad(resultGrads), tensorType(getInput()));
  return success();
}

LogicalResult FlattenOp::buildGradients(OpBuilder &b,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] =
        reshape(b, getLoc(), onlyGrad(resultGrads), tensorType(getInput()));
  return success();
}

LogicalResult ConcatOp::buildGradients(OpBuilder &b,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  Value grad = onlyGrad(resultGrads);
  int64_t axis = getAxis();
  int64_t offset = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    int64_t size = tensorType(input).getDimSize(axis);
    if (needed[i])
      operandGrads[i] = b.create<SliceOp>(getLoc(), grad, axis, offset, size);
    offset += size;
  }
  return success();
}

LogicalResult
TransposeOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (!needed[0])
    return success();
  // Result dimension i came from input dimension permutation[i], so the
  // gradient sends it back there.
  ArrayRef<int64_t> permutation = getPermutation();
  SmallVector<int64_t> inverse(permutation.size());
  for (auto [i, d] : llvm::enumerate(permutation))
    inverse[d] = static_cast<int64_t>(i);
  operandGrads[0] = b.create<TransposeOp>(getLoc(), onlyGrad(resultGrads),
                                          b.getDenseI64ArrayAttr(inverse));
  return success();
}

LogicalResult FoldTimeOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<UnfoldTimeOp>(
        getLoc(), onlyGrad(resultGrads), tensorType(getInput()).getDimSize(1));
  return success();
}

LogicalResult
UnfoldTimeOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                             ArrayRef<bool> needed,
                             SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<FoldTimeOp>(getLoc(), onlyGrad(resultGrads));
  return success();
}

LogicalResult MeanTimeOp::buildGradients(OpBuilder &b,
                                         ArrayRef<Value> resultGrads,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (needed[0])
    operandGrads[0] = b.create<MeanTimeGradOp>(
        getLoc(), onlyGrad(resultGrads), tensorType(getInput()).getDimSize(1));
  return success();
}

//===----------------------------------------------------------------------===//
// Loss
//===----------------------------------------------------------------------===//

LogicalResult
SoftmaxCrossEntropyOp::buildGradients(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &operandGrads) {
  prepare(*this, operandGrads);
  if (failed(requireFloatIfNeeded(*this, needed, 1)))
    return failure();
  if (needed[0])
    operandGrads[0] = b.create<SoftmaxCrossEntropyGradOp>(
        getLoc(), getLogits(), getLabels(), onlyGrad(resultGrads),
        getLabelSmoothingAttr());
  return success();
}

} // namespace var
