// Sliding-window ops: var.conv, var.max_pool, var.avg_pool, and
// var.global_avg_pool. Shapes follow PyTorch's Conv*d / *Pool*d.
#include "dialects/Var/IR/VarOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace var {

/// (N, C, spatial...) with 1 to 3 spatial dimensions.
static FailureOr<RankedTensorType> spatialInput(std::optional<Location> loc,
                                                StringRef name, Value input) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, "input", input);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  if (rank < 3 || rank > 5)
    return opError(loc, name,
                   "input must be (N, C, spatial...) with 1 to 3 spatial "
                   "dimensions, got rank ",
                   rank);
  return type;
}

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      spatialInput(loc, name, adaptor.getInput());
  FailureOr<RankedTensorType> weight =
      rankedOperand(loc, name, "weight", adaptor.getWeight());
  if (failed(input) || failed(weight))
    return failure();
  int64_t rank = input->getRank();
  size_t spatial = rank - 2;
  if (weight->getRank() != rank)
    return opError(loc, name, "weight rank ", weight->getRank(),
                   " does not match input rank ", rank,
                   " (weight is (C_out, C_in / groups, kernel...))");
  if (!weight->hasStaticShape() ||
      llvm::any_of(weight->getShape(), [](int64_t d) { return d < 1; }))
    return opError(loc, name,
                   "weight must have a static, non-empty shape, got ", *weight);
  Type elementType = input->getElementType();
  if (weight->getElementType() != elementType)
    return opError(loc, name, "weight element type ", weight->getElementType(),
                   " differs from input's ", elementType);

  int64_t groups = valueOr(adaptor.getGroupsAttr(), 1);
  if (groups < 1)
    return opError(loc, name, "groups must be at least 1, got ", groups);
  int64_t outChannels = weight->getDimSize(0);
  int64_t inChannels = input->getDimSize(1);
  if (outChannels % groups != 0)
    return opError(loc, name, "output channels ", outChannels,
                   " are not divisible by groups ", groups);
  int64_t groupedChannels;
  if (llvm::MulOverflow(weight->getDimSize(1), groups, groupedChannels))
    groupedChannels = -1;
  if (!ShapedType::isDynamic(inChannels) && groupedChannels != inChannels)
    return opError(loc, name, "input has ", inChannels,
                   " channels but the weight expects ", weight->getDimSize(1),
                   " per group x ", groups, " groups");

  if (Value bias = adaptor.getBias()) {
    FailureOr<RankedTensorType> biasType =
        rankedOperand(loc, name, "bias", bias);
    if (failed(biasType))
      return failure();
    if (biasType->getRank() != 1 || biasType->getDimSize(0) != outChannels)
      return opError(loc, name, "bias must be (", outChannels, "), got (",
                     formatShape(biasType->getShape()), ")");
    if (biasType->getElementType() != elementType)
      return opError(loc, name, "bias element type ",
                     biasType->getElementType(), " differs from input's ",
                     elementType);
  }

  auto stride =
      spatialAttr(loc, name, "stride", adaptor.getStride(), spatial, 1, 1);
  auto padding =
      spatialAttr(loc, name, "padding", adaptor.getPadding(), spatial, 0, 0);
  auto dilation =
      spatialAttr(loc, name, "dilation", adaptor.getDilation(), spatial, 1, 1);
  if (failed(stride) || failed(padding) || failed(dilation))
    return failure();

  SmallVector<int64_t> shape = {input->getDimSize(0), outChannels};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t in = input->getDimSize(2 + i);
    int64_t kernel = weight->getDimSize(2 + i);
    int64_t out = windowOutputSize(in, kernel, (*stride)[i], (*padding)[i],
                                   (*dilation)[i]);
    if (!ShapedType::isDynamic(out) && out < 1)
      return opError(loc, name, "kernel ", kernel, " (dilation ",
                     (*dilation)[i], ") does not fit spatial dimension ", i,
                     " of size ", in, " with padding ", (*padding)[i]);
    shape.push_back(out);
  }
  types.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

std::optional<int64_t> ConvOp::getForwardFlops() {
  auto weight = llvm::cast<RankedTensorType>(getWeight().getType());
  std::optional<int64_t> outputs = numElements(getType());
  std::optional<int64_t> macs =
      mulFlops({outputs, weight.getDimSize(1),
                mulDims(weight.getShape().drop_front(2))});
  return addFlops({mulFlops({2, macs}), getBias() ? outputs : 0});
}

//===----------------------------------------------------------------------===//
// MaxPoolOp, AvgPoolOp
//===----------------------------------------------------------------------===//

template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, StringRef name,
                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      spatialInput(loc, name, adaptor.getInput());
  if (failed(input))
    return failure();
  size_t spatial = input->getRank() - 2;
  if (!adaptor.getKernelAttr())
    return opError(loc, name, "needs a 'kernel'");
  auto kernel =
      spatialAttr(loc, name, "kernel", adaptor.getKernel(), spatial, 1, 1);
  if (failed(kernel))
    return failure();
  std::optional<ArrayRef<int64_t>> strideValues = adaptor.getStride();
  auto stride = spatialAttr(loc, name, "stride",
                            strideValues ? strideValues : ArrayRef(*kernel),
                            spatial, 1, 1);
  auto padding =
      spatialAttr(loc, name, "padding", adaptor.getPadding(), spatial, 0, 0);
  if (failed(stride) || failed(padding))
    return failure();

  SmallVector<int64_t> shape(input->getShape().take_front(2));
  for (size_t i = 0; i < spatial; ++i) {
    if ((*padding)[i] > (*kernel)[i] / 2)
      return opError(loc, name, "padding ", (*padding)[i],
                     " must be at most half the kernel ", (*kernel)[i]);
    int64_t in = input->getDimSize(2 + i);
    int64_t out =
        windowOutputSize(in, (*kernel)[i], (*stride)[i], (*padding)[i], 1);
    if (!ShapedType::isDynamic(out) && out < 1)
      return opError(loc, name, "kernel ", (*kernel)[i],
                     " does not fit spatial dimension ", i, " of size ", in);
    shape.push_back(out);
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  return inferPool(loc, getOperationName(), adaptor, types);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  return inferPool(loc, getOperationName(), adaptor, types);
}

std::optional<int64_t> MaxPoolOp::getForwardFlops() {
  return mulFlops({numElements(getType()), mulDims(getKernel())});
}

std::optional<int64_t> AvgPoolOp::getForwardFlops() {
  return mulFlops({numElements(getType()), mulDims(getKernel())});
}

//===----------------------------------------------------------------------===//
// GlobalAvgPoolOp
//===----------------------------------------------------------------------===//

LogicalResult GlobalAvgPoolOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      spatialInput(loc, getOperationName(), adaptor.getInput());
  if (failed(input))
    return failure();
  SmallVector<int64_t> shape(input->getShape().take_front(2));
  if (adaptor.getKeepDims())
    shape.append(input->getRank() - 2, 1);
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> GlobalAvgPoolOp::getForwardFlops() {
  return numElements(getInput().getType());
}

} // namespace var
