// Sliding-window ops: var.conv, var.max_pool, var.avg_pool, and
// var.global_avg_pool. Shapes follow PyTorch's Conv*d / *Pool*d. A
// channels-last op is checked on its channels-first view (ChannelLayout.h)
// and its result moved back, so one rule serves both layouts.
#include "dialects/Var/IR/ChannelLayout.h"
#include "dialects/Var/IR/ShapeRules.h"
#include "dialects/Var/IR/VarOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace var {

LogicalResult checkSpatialInput(std::optional<Location> loc, StringRef opName,
                                RankedTensorType input, bool channelsLast) {
  int64_t rank = input.getRank();
  if (rank < 3 || rank > 5)
    return opError(loc, opName, "input must be ",
                   channelsLast ? "(N, spatial..., C) (channels_last)"
                                : "(N, C, spatial...)",
                   " with 1 to 3 spatial dimensions, got rank ", rank);
  return success();
}

/// A ranked (N, C, spatial...) or (N, spatial..., C) operand.
static FailureOr<RankedTensorType> spatialInput(std::optional<Location> loc,
                                                StringRef name, Value input,
                                                bool channelsLast) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, "input", input);
  if (failed(type) || failed(checkSpatialInput(loc, name, *type, channelsLast)))
    return failure();
  return type;
}

/// Where a channel count was read from, for diagnostics.
static StringRef channelWhere(bool channelsLast) {
  return channelsLast ? " (in its last dimension: channels_last)" : "";
}

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType>
inferConvType(std::optional<Location> loc, StringRef name,
              RankedTensorType input, RankedTensorType weight,
              RankedTensorType bias,
              std::optional<ArrayRef<int64_t>> strideAttr,
              std::optional<ArrayRef<int64_t>> paddingAttr,
              std::optional<ArrayRef<int64_t>> dilationAttr, int64_t groups,
              bool channelsLast) {
  if (failed(checkSpatialInput(loc, name, input, channelsLast)))
    return failure();
  if (channelsLast)
    input = toChannelsFirst(input);
  int64_t rank = input.getRank();
  size_t spatial = rank - 2;
  if (weight.getRank() != rank)
    return opError(loc, name, "weight rank ", weight.getRank(),
                   " does not match input rank ", rank,
                   " (weight is (C_out, C_in / groups, kernel...))");
  if (!weight.hasStaticShape() ||
      llvm::any_of(weight.getShape(), [](int64_t d) { return d < 1; }))
    return opError(loc, name,
                   "weight must have a static, non-empty shape, got ", weight);
  Type elementType = input.getElementType();
  if (weight.getElementType() != elementType)
    return opError(loc, name, "weight element type ", weight.getElementType(),
                   " differs from input's ", elementType);

  if (groups < 1)
    return opError(loc, name, "groups must be at least 1, got ", groups);
  int64_t outChannels = weight.getDimSize(0);
  int64_t inChannels = input.getDimSize(1);
  if (outChannels % groups != 0)
    return opError(loc, name, "output channels ", outChannels,
                   " are not divisible by groups ", groups);
  int64_t groupedChannels;
  if (llvm::MulOverflow(weight.getDimSize(1), groups, groupedChannels))
    groupedChannels = -1;
  if (!ShapedType::isDynamic(inChannels) && groupedChannels != inChannels)
    return opError(loc, name, "input has ", inChannels, " channels",
                   channelWhere(channelsLast), " but the weight expects ",
                   weight.getDimSize(1), " per group x ", groups, " groups");

  if (bias) {
    if (bias.getRank() != 1 || bias.getDimSize(0) != outChannels)
      return opError(loc, name, "bias must be (", outChannels, "), got (",
                     formatShape(bias.getShape()), ")");
    if (bias.getElementType() != elementType)
      return opError(loc, name, "bias element type ", bias.getElementType(),
                     " differs from input's ", elementType);
  }

  auto stride = spatialAttr(loc, name, "stride", strideAttr, spatial, 1, 1);
  auto padding = spatialAttr(loc, name, "padding", paddingAttr, spatial, 0, 0);
  auto dilation =
      spatialAttr(loc, name, "dilation", dilationAttr, spatial, 1, 1);
  if (failed(stride) || failed(padding) || failed(dilation))
    return failure();

  SmallVector<int64_t> shape = {input.getDimSize(0), outChannels};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t in = input.getDimSize(2 + i);
    int64_t kernel = weight.getDimSize(2 + i);
    int64_t out = windowOutputSize(in, kernel, (*stride)[i], (*padding)[i],
                                   (*dilation)[i]);
    if (!ShapedType::isDynamic(out) && out < 1)
      return opError(loc, name, "kernel ", kernel, " (dilation ",
                     (*dilation)[i], ") does not fit spatial dimension ", i,
                     " of size ", in, " with padding ", (*padding)[i]);
    shape.push_back(out);
  }
  auto result = RankedTensorType::get(shape, elementType);
  return channelsLast ? toChannelsLast(result) : result;
}

std::optional<int64_t> convFlops(RankedTensorType result,
                                 RankedTensorType weight) {
  return mulFlops({2, numElements(result), weight.getDimSize(1),
                   mulDims(weight.getShape().drop_front(2))});
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  bool channelsLast = isChannelsLast(adaptor);
  FailureOr<RankedTensorType> input =
      spatialInput(loc, name, adaptor.getInput(), channelsLast);
  FailureOr<RankedTensorType> weight =
      rankedOperand(loc, name, "weight", adaptor.getWeight());
  if (failed(input) || failed(weight))
    return failure();
  RankedTensorType biasType;
  if (Value bias = adaptor.getBias()) {
    FailureOr<RankedTensorType> ranked = rankedOperand(loc, name, "bias", bias);
    if (failed(ranked))
      return failure();
    biasType = *ranked;
  }
  FailureOr<RankedTensorType> result =
      inferConvType(loc, name, *input, *weight, biasType, adaptor.getStride(),
                    adaptor.getPadding(), adaptor.getDilation(),
                    valueOr(adaptor.getGroupsAttr(), 1), channelsLast);
  if (failed(result))
    return failure();
  types.push_back(*result);
  return success();
}

std::optional<int64_t> ConvOp::getForwardFlops() {
  auto weight = llvm::cast<RankedTensorType>(getWeight().getType());
  return addFlops(
      {convFlops(getType(), weight), getBias() ? numElements(getType()) : 0});
}

//===----------------------------------------------------------------------===//
// MaxPoolOp, AvgPoolOp
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType>
inferPoolType(std::optional<Location> loc, StringRef name,
              RankedTensorType input,
              std::optional<ArrayRef<int64_t>> kernelAttr,
              std::optional<ArrayRef<int64_t>> strideAttr,
              std::optional<ArrayRef<int64_t>> paddingAttr, bool channelsLast) {
  if (failed(checkSpatialInput(loc, name, input, channelsLast)))
    return failure();
  if (channelsLast)
    input = toChannelsFirst(input);
  size_t spatial = input.getRank() - 2;
  if (!kernelAttr)
    return opError(loc, name, "needs a 'kernel'");
  auto kernel = spatialAttr(loc, name, "kernel", kernelAttr, spatial, 1, 1);
  if (failed(kernel))
    return failure();
  auto stride =
      spatialAttr(loc, name, "stride",
                  strideAttr ? strideAttr : ArrayRef(*kernel), spatial, 1, 1);
  auto padding = spatialAttr(loc, name, "padding", paddingAttr, spatial, 0, 0);
  if (failed(stride) || failed(padding))
    return failure();

  SmallVector<int64_t> shape(input.getShape().take_front(2));
  for (size_t i = 0; i < spatial; ++i) {
    if ((*padding)[i] > (*kernel)[i] / 2)
      return opError(loc, name, "padding ", (*padding)[i],
                     " must be at most half the kernel ", (*kernel)[i]);
    int64_t in = input.getDimSize(2 + i);
    int64_t out =
        windowOutputSize(in, (*kernel)[i], (*stride)[i], (*padding)[i], 1);
    if (!ShapedType::isDynamic(out) && out < 1)
      return opError(loc, name, "kernel ", (*kernel)[i],
                     " does not fit spatial dimension ", i, " of size ", in);
    shape.push_back(out);
  }
  auto result = RankedTensorType::get(shape, input.getElementType());
  return channelsLast ? toChannelsLast(result) : result;
}

template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, StringRef name,
                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  bool channelsLast = isChannelsLast(adaptor);
  FailureOr<RankedTensorType> input =
      spatialInput(loc, name, adaptor.getInput(), channelsLast);
  if (failed(input))
    return failure();
  std::optional<ArrayRef<int64_t>> kernel;
  if (adaptor.getKernelAttr())
    kernel = adaptor.getKernel();
  FailureOr<RankedTensorType> result =
      inferPoolType(loc, name, *input, kernel, adaptor.getStride(),
                    adaptor.getPadding(), channelsLast);
  if (failed(result))
    return failure();
  types.push_back(*result);
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

LogicalResult checkIndexedWindow(std::optional<Location> loc, StringRef name,
                                 ArrayRef<int64_t> kernel) {
  std::optional<int64_t> positions = mulDims(kernel);
  if (!positions || *positions > kMaxIndexedWindow)
    return opError(loc, name, "window [", kernel, "] has more than ",
                   kMaxIndexedWindow,
                   " positions, which i8 indices cannot name");
  return success();
}

LogicalResult inferIndexedPoolTypes(std::optional<Location> loc, StringRef name,
                                    RankedTensorType input,
                                    std::optional<ArrayRef<int64_t>> kernel,
                                    std::optional<ArrayRef<int64_t>> stride,
                                    std::optional<ArrayRef<int64_t>> padding,
                                    bool channelsLast,
                                    SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> output =
      inferPoolType(loc, name, input, kernel, stride, padding, channelsLast);
  if (failed(output) || failed(checkIndexedWindow(loc, name, *kernel)))
    return failure();
  types.push_back(*output);
  types.push_back(RankedTensorType::get(
      output->getShape(), IntegerType::get(input.getContext(), 8)));
  return success();
}

/// var.max_pool's result, then i8 indices of its shape.
LogicalResult MaxPoolWithIndicesOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  std::optional<ArrayRef<int64_t>> kernel;
  if (adaptor.getKernelAttr())
    kernel = adaptor.getKernel();
  return inferIndexedPoolTypes(loc, name, *input, kernel, adaptor.getStride(),
                               adaptor.getPadding(), isChannelsLast(adaptor),
                               types);
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

FailureOr<RankedTensorType> inferGlobalAvgPoolType(std::optional<Location> loc,
                                                   StringRef name,
                                                   RankedTensorType input,
                                                   bool keepDims,
                                                   bool channelsLast) {
  if (failed(checkSpatialInput(loc, name, input, channelsLast)))
    return failure();
  if (channelsLast)
    input = toChannelsFirst(input);
  SmallVector<int64_t> shape(input.getShape().take_front(2));
  if (keepDims)
    shape.append(input.getRank() - 2, 1);
  auto result = RankedTensorType::get(shape, input.getElementType());
  return channelsLast ? toChannelsLast(result) : result;
}

LogicalResult GlobalAvgPoolOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  FailureOr<RankedTensorType> result = inferGlobalAvgPoolType(
      loc, name, *input, adaptor.getKeepDims(), isChannelsLast(adaptor));
  if (failed(result))
    return failure();
  types.push_back(*result);
  return success();
}

std::optional<int64_t> GlobalAvgPoolOp::getForwardFlops() {
  return numElements(getInput().getType());
}

} // namespace var
