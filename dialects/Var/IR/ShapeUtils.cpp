// Shape arithmetic shared by the `var` ops.
#include "dialects/Var/IR/ShapeUtils.h"

#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace var {

std::optional<int64_t> mulDims(llvm::ArrayRef<int64_t> dims) {
  int64_t product = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    if (llvm::MulOverflow(product, d, product))
      return std::nullopt;
  }
  return product;
}

std::optional<int64_t> numElements(Type type) {
  auto ranked = llvm::dyn_cast<RankedTensorType>(type);
  if (!ranked || !ranked.hasStaticShape())
    return std::nullopt;
  return mulDims(ranked.getShape());
}

std::optional<int64_t>
mulFlops(std::initializer_list<std::optional<int64_t>> factors) {
  int64_t product = 1;
  for (const std::optional<int64_t> &f : factors) {
    if (!f || ShapedType::isDynamic(*f) ||
        llvm::MulOverflow(product, *f, product))
      return std::nullopt;
  }
  return product;
}

std::optional<int64_t>
addFlops(std::initializer_list<std::optional<int64_t>> terms) {
  int64_t sum = 0;
  for (const std::optional<int64_t> &t : terms) {
    if (!t || llvm::AddOverflow(sum, *t, sum))
      return std::nullopt;
  }
  return sum;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << '?';
        else
          os << d;
      },
      "x");
  return out;
}

FailureOr<RankedTensorType> rankedOperand(std::optional<Location> loc,
                                          llvm::StringRef opName,
                                          llvm::StringRef what, Value value) {
  if (!value)
    return opError(loc, opName, "is missing its ", what, " operand");
  auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return opError(loc, opName, what, " must be a ranked tensor, got ",
                   value.getType());
  return type;
}

FailureOr<llvm::SmallVector<int64_t>>
spatialAttr(std::optional<Location> loc, llvm::StringRef opName,
            llvm::StringRef name, std::optional<llvm::ArrayRef<int64_t>> values,
            size_t spatialRank, int64_t fill, int64_t minValue) {
  if (!values)
    return llvm::SmallVector<int64_t>(spatialRank, fill);
  if (values->size() != spatialRank)
    return opError(loc, opName, "'", name, "' has ", values->size(),
                   " entries but the input has ", spatialRank,
                   " spatial dimensions");
  for (int64_t v : *values)
    if (v < minValue)
      return opError(loc, opName, "'", name, "' entries must be at least ",
                     minValue, ", got ", v);
  return llvm::SmallVector<int64_t>(values->begin(), values->end());
}

int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation) {
  if (ShapedType::isDynamic(in))
    return ShapedType::kDynamic;
  // Attributes are bounded by the verifier only after inference, so guard
  // the arithmetic against absurd values from a hostile file. in - span - 1
  // cannot overflow (in >= 0, span >= 0); adding the padding twice can, and
  // such a window is rejected rather than sized wrong.
  int64_t span;
  if (llvm::MulOverflow(dilation, kernel - 1, span))
    return 0;
  int64_t reach = in - span - 1;
  if (llvm::AddOverflow(reach, padding, reach) ||
      llvm::AddOverflow(reach, padding, reach) || reach < 0)
    return 0;
  return reach / stride + 1;
}

} // namespace var
