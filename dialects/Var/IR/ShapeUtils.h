// Shape arithmetic shared by the ops' type inference and FLOP counts; every
// helper treats ShapedType::kDynamic as "unknown" and keeps it unknown.
#ifndef VAR_DIALECTS_VAR_IR_SHAPEUTILS_H
#define VAR_DIALECTS_VAR_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <string>

namespace var {

/// Element count of a ranked tensor type, or nullopt if any dimension is
/// dynamic or the count overflows int64.
std::optional<int64_t> numElements(mlir::Type type);

/// Product of dimensions; dynamic if any factor is, nullopt on overflow.
std::optional<int64_t> mulDims(llvm::ArrayRef<int64_t> dims);

/// Multiplies FLOP factors, nullopt on a dynamic factor or on overflow.
std::optional<int64_t>
mulFlops(std::initializer_list<std::optional<int64_t>> factors);

/// Adds FLOP terms, nullopt if any is nullopt.
std::optional<int64_t>
addFlops(std::initializer_list<std::optional<int64_t>> terms);

/// "4x?x3" for diagnostics.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Reads a per-spatial-dimension attribute (stride, padding, ...): absent
/// means `fill` in every dimension; present must have `spatialRank` entries,
/// each at least `minValue`. `name` and `opName` make the diagnostic.
mlir::FailureOr<llvm::SmallVector<int64_t>>
spatialAttr(std::optional<mlir::Location> loc, llvm::StringRef opName,
            llvm::StringRef name, std::optional<llvm::ArrayRef<int64_t>> values,
            size_t spatialRank, int64_t fill, int64_t minValue);

/// Output size of a sliding window along one dimension, dynamic in, dynamic
/// out; 0 or less means the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation);

/// A diagnostic in the shape of Operation::emitOpError, for static type
/// inference that has a location but no op yet.
template <typename... Args>
mlir::LogicalResult opError(std::optional<mlir::Location> loc,
                            llvm::StringRef opName, Args &&...args) {
  return mlir::emitOptionalError(loc, "'", opName, "' op ",
                                 std::forward<Args>(args)...);
}

/// The operand's type as a ranked tensor, or a diagnostic naming `what`.
mlir::FailureOr<mlir::RankedTensorType>
rankedOperand(std::optional<mlir::Location> loc, llvm::StringRef opName,
              llvm::StringRef what, mlir::Value value);

/// An optional attribute's value or its default. During parsing, type
/// inference sees only the attributes written, not ODS defaults.
inline double valueOr(mlir::FloatAttr attr, double fallback) {
  return attr ? attr.getValueAsDouble() : fallback;
}
inline int64_t valueOr(mlir::IntegerAttr attr, int64_t fallback) {
  return attr ? attr.getInt() : fallback;
}

/// Two dimensions that may still be equal (either dynamic, or the same).
inline bool dimsCompatible(int64_t a, int64_t b) {
  return mlir::ShapedType::isDynamic(a) || mlir::ShapedType::isDynamic(b) ||
         a == b;
}

} // namespace var

#endif
