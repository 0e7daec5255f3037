// Channel layout permutations; see ChannelLayout.h.
#include "dialects/Var/IR/ChannelLayout.h"

using namespace mlir;

namespace var {

SmallVector<int64_t> toChannelsLastPermutation(int64_t rank) {
  SmallVector<int64_t> permutation = {0};
  for (int64_t d = 2; d < rank; ++d)
    permutation.push_back(d);
  permutation.push_back(1);
  return permutation;
}

SmallVector<int64_t> toChannelsFirstPermutation(int64_t rank) {
  return invertPermutation(toChannelsLastPermutation(rank));
}

SmallVector<int64_t> permuteShape(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> permutation) {
  SmallVector<int64_t> result;
  for (int64_t d : permutation)
    result.push_back(shape[d]);
  return result;
}

SmallVector<int64_t> invertPermutation(ArrayRef<int64_t> permutation) {
  SmallVector<int64_t> inverse(permutation.size());
  for (auto [i, d] : llvm::enumerate(permutation))
    inverse[d] = static_cast<int64_t>(i);
  return inverse;
}

bool isIdentityPermutation(ArrayRef<int64_t> permutation) {
  for (auto [i, d] : llvm::enumerate(permutation))
    if (d != static_cast<int64_t>(i))
      return false;
  return true;
}

RankedTensorType toChannelsLast(RankedTensorType type) {
  if (type.getRank() <= 2)
    return type;
  return type.clone(
      permuteShape(type.getShape(), toChannelsLastPermutation(type.getRank())));
}

RankedTensorType toChannelsFirst(RankedTensorType type) {
  if (type.getRank() <= 2)
    return type;
  return type.clone(permuteShape(type.getShape(),
                                 toChannelsFirstPermutation(type.getRank())));
}

} // namespace var
