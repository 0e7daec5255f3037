// Where the channels of an activation sit: dimension 1 (N, C, spatial...), or
// last under an op's `channels_last` (N, spatial..., C). Shape rules, gradient
// rules and --var-channels-last convert between the two with these helpers.
#ifndef VAR_DIALECTS_VAR_IR_CHANNELLAYOUT_H
#define VAR_DIALECTS_VAR_IR_CHANNELLAYOUT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace var {

/// The attribute that puts an op's activations in channels-last layout; the
/// plan carries it to the runtime as a bool.
inline constexpr llvm::StringLiteral kChannelsLastAttr = "channels_last";

/// An op's `channels_last` during type inference. Written in the attribute
/// dictionary of the custom form (`{channels_last}`), it reaches inference in
/// the dictionary, not yet in the properties, so both are read.
template <typename Adaptor> bool isChannelsLast(Adaptor adaptor) {
  if (adaptor.getChannelsLast())
    return true;
  mlir::DictionaryAttr attrs = adaptor.getAttributes();
  return attrs && attrs.get(kChannelsLastAttr);
}

/// The channel dimension of a rank-`rank` activation (rank >= 2). A rank-2
/// (N, C) tensor has its channels in dimension 1 either way.
inline int64_t channelDim(int64_t rank, bool channelsLast) {
  return channelsLast ? rank - 1 : 1;
}

/// The permutation (var.transpose) from (N, C, d1, ..., dk) to
/// (N, d1, ..., dk, C): [0, 2, ..., rank - 1, 1].
llvm::SmallVector<int64_t> toChannelsLastPermutation(int64_t rank);

/// Its inverse, from (N, d1, ..., dk, C) to (N, C, d1, ..., dk):
/// [0, rank - 1, 1, ..., rank - 2].
llvm::SmallVector<int64_t> toChannelsFirstPermutation(int64_t rank);

/// `shape` permuted as var.transpose does: result[i] = shape[permutation[i]].
llvm::SmallVector<int64_t> permuteShape(llvm::ArrayRef<int64_t> shape,
                                        llvm::ArrayRef<int64_t> permutation);

/// The inverse permutation: inverse[permutation[i]] = i.
llvm::SmallVector<int64_t>
invertPermutation(llvm::ArrayRef<int64_t> permutation);

/// Whether `permutation` is 0, 1, ..., n - 1.
bool isIdentityPermutation(llvm::ArrayRef<int64_t> permutation);

/// `type` with its channels moved from dimension 1 to the last dimension,
/// and back; rank 2 and lower are returned as they are.
mlir::RankedTensorType toChannelsLast(mlir::RankedTensorType type);
mlir::RankedTensorType toChannelsFirst(mlir::RankedTensorType type);

} // namespace var

#endif
