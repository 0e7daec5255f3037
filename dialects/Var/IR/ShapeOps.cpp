// Ops that move data without arithmetic (var.reshape, var.flatten,
// var.concat, var.transpose, var.fold_time, var.unfold_time) and
// var.mean_time.
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace var {

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (!adaptor.getShapeAttr())
    return opError(loc, name, "needs a target 'shape'");
  ArrayRef<int64_t> target = adaptor.getShape();
  int inferred = -1;
  int64_t known = 1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == -1) {
      if (inferred >= 0)
        return opError(loc, name, "shape may have only one -1 entry");
      inferred = i;
      continue;
    }
    if (d < 1)
      return opError(loc, name, "shape entries must be positive or -1, got ",
                     d);
    if (llvm::MulOverflow(known, d, known))
      return opError(loc, name, "shape has too many elements");
  }
  std::optional<int64_t> count = mulDims(input->getShape());
  if (!count)
    return opError(loc, name, "input has too many elements");
  SmallVector<int64_t> shape(target);
  if (ShapedType::isDynamic(*count)) {
    if (inferred < 0)
      return opError(loc, name,
                     "reshaping a tensor with a dynamic dimension needs a -1 "
                     "entry");
    shape[inferred] = ShapedType::kDynamic;
  } else if (inferred >= 0) {
    if (*count % known != 0)
      return opError(loc, name, "cannot reshape ", *count, " elements (",
                     formatShape(input->getShape()), ") into (",
                     formatShape(target), ")");
    shape[inferred] = *count / known;
  } else if (*count != known) {
    return opError(loc, name, "cannot reshape ", *count, " elements (",
                   formatShape(input->getShape()), ") into ", known, " (",
                   formatShape(target), ")");
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> ReshapeOp::getForwardFlops() { return 0; }

//===----------------------------------------------------------------------===//
// FlattenOp
//===----------------------------------------------------------------------===//

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  int64_t rank = input->getRank();
  int64_t start = valueOr(adaptor.getStartDimAttr(), 1);
  int64_t end = valueOr(adaptor.getEndDimAttr(), -1);
  int64_t first = start < 0 ? start + rank : start;
  int64_t last = end < 0 ? end + rank : end;
  if (first < 0 || first >= rank || last < 0 || last >= rank || first > last)
    return opError(loc, name, "cannot flatten dimensions ", start, " to ", end,
                   " of a rank-", rank, " tensor");
  std::optional<int64_t> merged =
      mulDims(input->getShape().slice(first, last - first + 1));
  if (!merged)
    return opError(loc, name, "flattened dimension has too many elements");
  SmallVector<int64_t> shape(input->getShape().take_front(first));
  shape.push_back(*merged);
  llvm::append_range(shape, input->getShape().drop_front(last + 1));
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> FlattenOp::getForwardFlops() { return 0; }

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return opError(loc, name, "needs at least one input");
  if (!adaptor.getAxisAttr())
    return opError(loc, name, "needs an 'axis'");
  FailureOr<RankedTensorType> first =
      rankedOperand(loc, name, "input", inputs[0]);
  if (failed(first))
    return failure();
  int64_t rank = first->getRank();
  int64_t axis = adaptor.getAxisAttr().getInt();
  int64_t dim = axis < 0 ? axis + rank : axis;
  if (dim < 0 || dim >= rank)
    return opError(loc, name, "axis ", axis, " is out of range for rank ",
                   rank);
  SmallVector<int64_t> shape(first->getShape());
  for (auto [i, value] : llvm::enumerate(inputs.drop_front())) {
    FailureOr<RankedTensorType> type = rankedOperand(loc, name, "input", value);
    if (failed(type))
      return failure();
    if (type->getRank() != rank ||
        type->getElementType() != first->getElementType())
      return opError(loc, name, "input ", i + 1, " is ", *type,
                     " but input 0 is ", *first);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t size = type->getDimSize(d);
      if (d == dim) {
        if (ShapedType::isDynamic(shape[d]) || ShapedType::isDynamic(size) ||
            llvm::AddOverflow(shape[d], size, shape[d]))
          shape[d] = ShapedType::kDynamic;
      } else if (!dimsCompatible(shape[d], size)) {
        return opError(loc, name, "input ", i + 1, " has size ", size,
                       " in dimension ", d, " where input 0 has ", shape[d]);
      } else if (ShapedType::isDynamic(shape[d])) {
        shape[d] = size;
      }
    }
  }
  types.push_back(RankedTensorType::get(shape, first->getElementType()));
  return success();
}

std::optional<int64_t> ConcatOp::getForwardFlops() { return 0; }

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

/// "[0, 2, 1]" for diagnostics.
static std::string formatList(ArrayRef<int64_t> values) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(values, os);
  os << "]";
  return text;
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (!adaptor.getPermutationAttr())
    return opError(loc, name, "needs a 'permutation'");
  ArrayRef<int64_t> permutation = adaptor.getPermutation();
  int64_t rank = input->getRank();
  if (static_cast<int64_t>(permutation.size()) != rank)
    return opError(loc, name, "permutation ", formatList(permutation), " has ",
                   permutation.size(), " entries for a rank-", rank, " tensor");
  SmallVector<bool> seen(rank, false);
  SmallVector<int64_t> shape;
  for (int64_t d : permutation) {
    if (d < 0 || d >= rank || seen[d])
      return opError(loc, name, "permutation ", formatList(permutation),
                     " is not a permutation of 0..", rank - 1);
    seen[d] = true;
    shape.push_back(input->getDimSize(d));
  }
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> TransposeOp::getForwardFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Time folding and averaging
//===----------------------------------------------------------------------===//

/// (B, T, ...) with at least `minRank` dimensions.
static FailureOr<RankedTensorType> clipTensor(std::optional<Location> loc,
                                              StringRef name, Value value,
                                              int64_t minRank) {
  FailureOr<RankedTensorType> type = rankedOperand(loc, name, "input", value);
  if (failed(type))
    return failure();
  if (type->getRank() < minRank)
    return opError(loc, name, "input must be (B, T, ...) with rank at least ",
                   minRank, ", got rank ", type->getRank());
  return type;
}

LogicalResult FoldTimeOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      clipTensor(loc, getOperationName(), adaptor.getInput(), 3);
  if (failed(input))
    return failure();
  std::optional<int64_t> merged = mulDims(input->getShape().take_front(2));
  if (!merged)
    return opError(loc, getOperationName(), "batch x time overflows");
  SmallVector<int64_t> shape = {*merged};
  llvm::append_range(shape, input->getShape().drop_front(2));
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> FoldTimeOp::getForwardFlops() { return 0; }

LogicalResult UnfoldTimeOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &types) {
  StringRef name = getOperationName();
  FailureOr<RankedTensorType> input =
      rankedOperand(loc, name, "input", adaptor.getInput());
  if (failed(input))
    return failure();
  if (input->getRank() < 2)
    return opError(loc, name,
                   "input must be (B*T, ...) with rank at least 2, "
                   "got rank ",
                   input->getRank());
  if (!adaptor.getFramesAttr())
    return opError(loc, name, "needs 'frames'");
  int64_t frames = adaptor.getFramesAttr().getInt();
  if (frames < 1)
    return opError(loc, name, "frames must be at least 1, got ", frames);
  int64_t folded = input->getDimSize(0);
  int64_t batch = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(folded)) {
    if (folded % frames != 0)
      return opError(loc, name, "leading dimension ", folded,
                     " is not a multiple of frames ", frames);
    batch = folded / frames;
  }
  SmallVector<int64_t> shape = {batch, frames};
  llvm::append_range(shape, input->getShape().drop_front());
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> UnfoldTimeOp::getForwardFlops() { return 0; }

LogicalResult MeanTimeOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> input =
      clipTensor(loc, getOperationName(), adaptor.getInput(), 2);
  if (failed(input))
    return failure();
  SmallVector<int64_t> shape = {input->getDimSize(0)};
  llvm::append_range(shape, input->getShape().drop_front(2));
  types.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::optional<int64_t> MeanTimeOp::getForwardFlops() {
  return numElements(getInput().getType());
}

} // namespace var
