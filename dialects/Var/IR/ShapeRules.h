// Shape rules of the forward ops as free functions of types and values, so
// that a backward op checks its operands against the very rule of the
// forward op it inverts. Each is defined beside its forward op.
#ifndef VAR_DIALECTS_VAR_IR_SHAPERULES_H
#define VAR_DIALECTS_VAR_IR_SHAPERULES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>

namespace var {

// Every rule reports through opError(loc, opName, ...): `opName` is the op
// being checked, and a nullopt `loc` makes the rule silent. A backward op
// that re-runs a forward rule passes its own name; the messages then name
// the forward op's operands (its `input`, its `weight`). `channelsLast` is
// the op's `channels_last`: activations are (N, spatial..., C) instead of
// (N, C, spatial...); weights and per-channel operands keep their layout.

//===----------------------------------------------------------------------===//
// ConvPoolOps.cpp
//===----------------------------------------------------------------------===//

/// (N, C, spatial...), or (N, spatial..., C), with 1 to 3 spatial
/// dimensions.
mlir::LogicalResult checkSpatialInput(std::optional<mlir::Location> loc,
                                      llvm::StringRef opName,
                                      mlir::RankedTensorType input,
                                      bool channelsLast);

/// The result type of var.conv. `bias` may be null; absent window attributes
/// take their defaults.
mlir::FailureOr<mlir::RankedTensorType>
inferConvType(std::optional<mlir::Location> loc, llvm::StringRef opName,
              mlir::RankedTensorType input, mlir::RankedTensorType weight,
              mlir::RankedTensorType bias,
              std::optional<llvm::ArrayRef<int64_t>> stride,
              std::optional<llvm::ArrayRef<int64_t>> padding,
              std::optional<llvm::ArrayRef<int64_t>> dilation, int64_t groups,
              bool channelsLast);

/// FLOPs of a convolution without bias, from its result and weight types:
/// 2 * |result| * (C_in / groups) * prod(kernel).
std::optional<int64_t> convFlops(mlir::RankedTensorType result,
                                 mlir::RankedTensorType weight);

/// The result type of var.max_pool and var.avg_pool; a nullopt `kernel` is
/// an op that lacks one.
mlir::FailureOr<mlir::RankedTensorType> inferPoolType(
    std::optional<mlir::Location> loc, llvm::StringRef opName,
    mlir::RankedTensorType input, std::optional<llvm::ArrayRef<int64_t>> kernel,
    std::optional<llvm::ArrayRef<int64_t>> stride,
    std::optional<llvm::ArrayRef<int64_t>> padding, bool channelsLast);

/// That the window of `kernel` has at most kMaxIndexedWindow positions, so
/// that an i8 index names each (var.max_pool_with_indices and its
/// backward).
mlir::LogicalResult checkIndexedWindow(std::optional<mlir::Location> loc,
                                       llvm::StringRef opName,
                                       llvm::ArrayRef<int64_t> kernel);

/// The results of var.max_pool_with_indices over `input`: var.max_pool's
/// result type, then i8 indices of its shape (a window that i8 names).
mlir::LogicalResult inferIndexedPoolTypes(
    std::optional<mlir::Location> loc, llvm::StringRef opName,
    mlir::RankedTensorType input, std::optional<llvm::ArrayRef<int64_t>> kernel,
    std::optional<llvm::ArrayRef<int64_t>> stride,
    std::optional<llvm::ArrayRef<int64_t>> padding, bool channelsLast,
    llvm::SmallVectorImpl<mlir::Type> &types);

/// The result type of var.global_avg_pool.
mlir::FailureOr<mlir::RankedTensorType>
inferGlobalAvgPoolType(std::optional<mlir::Location> loc,
                       llvm::StringRef opName, mlir::RankedTensorType input,
                       bool keepDims, bool channelsLast);

//===----------------------------------------------------------------------===//
// NormLinearOps.cpp
//===----------------------------------------------------------------------===//

/// A 1-D operand of `size` entries (a dynamic `size` accepts any) and the
/// given element type.
mlir::LogicalResult checkVector(std::optional<mlir::Location> loc,
                                llvm::StringRef opName, llvm::StringRef what,
                                mlir::Value value, int64_t size,
                                mlir::Type elementType);

/// A 2-D operand with a static, non-empty shape and the given element type.
mlir::FailureOr<mlir::RankedTensorType>
checkMatrix(std::optional<mlir::Location> loc, llvm::StringRef opName,
            llvm::StringRef what, mlir::Value value, mlir::Type elementType);

/// The (N, C, ...) input of a batch normalization, or (N, ..., C).
mlir::FailureOr<mlir::RankedTensorType>
checkBatchNormInput(std::optional<mlir::Location> loc, llvm::StringRef opName,
                    mlir::Value input, bool channelsLast);

/// A batch norm's per-channel operands, each named in messages: as long as
/// the input's channels, in the input's element type or, under a bf16 or
/// f16 input, all f32 when the first (the weight) is.
mlir::LogicalResult checkBatchNormVectors(
    std::optional<mlir::Location> loc, llvm::StringRef opName,
    mlir::RankedTensorType input, bool channelsLast,
    llvm::ArrayRef<std::pair<llvm::StringRef, mlir::Value>> vectors);

/// Every operand and attribute of var.batch_norm; returns the input type,
/// which is also the result type.
mlir::FailureOr<mlir::RankedTensorType>
checkBatchNorm(std::optional<mlir::Location> loc, llvm::StringRef opName,
               mlir::Value input, mlir::Value weight, mlir::Value bias,
               mlir::Value runningMean, mlir::Value runningVar,
               mlir::FloatAttr eps, mlir::FloatAttr momentum,
               bool channelsLast);

/// The `activation` a batch norm op carries after var-fuse-bn-act: absent,
/// "relu", "relu6" or "silu".
mlir::LogicalResult checkFusedActivation(std::optional<mlir::Location> loc,
                                         llvm::StringRef opName,
                                         mlir::StringAttr activation);

/// The result types of var.lstm: the sequence (B, T, H) and the last step
/// (B, H).
mlir::LogicalResult inferLSTMTypes(std::optional<mlir::Location> loc,
                                   llvm::StringRef opName, mlir::Value input,
                                   mlir::Value wIh, mlir::Value wHh,
                                   mlir::Value bIh, mlir::Value bHh,
                                   llvm::SmallVectorImpl<mlir::Type> &types);

/// FLOPs of var.lstm over an input and w_ih of these types: all of them,
/// and the matrix products alone.
struct LSTMFlops {
  std::optional<int64_t> total;
  std::optional<int64_t> products;
};
LSTMFlops lstmFlops(mlir::RankedTensorType input, mlir::RankedTensorType wIh);

//===----------------------------------------------------------------------===//
// ElementwiseOps.cpp, LossOps.cpp
//===----------------------------------------------------------------------===//

/// The drop probability of var.dropout: present and in [0, 1).
mlir::LogicalResult checkDropProbability(std::optional<mlir::Location> loc,
                                         llvm::StringRef opName,
                                         mlir::FloatAttr p);

/// Every operand and attribute of var.softmax_cross_entropy; returns the
/// logits type.
mlir::FailureOr<mlir::RankedTensorType>
checkSoftmaxCrossEntropy(std::optional<mlir::Location> loc,
                         llvm::StringRef opName, mlir::Value logits,
                         mlir::Value labels, mlir::FloatAttr labelSmoothing);

} // namespace var

#endif
