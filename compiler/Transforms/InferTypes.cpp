// Result types re-inferred after a pass changed an op's operands or
// attributes (batch, layout, precision, padding).
#include "compiler/Transforms/Passes.h"

using namespace mlir;

namespace var {

LogicalResult updateInferredTypes(InferTypeOpInterface op) {
  SmallVector<Type> types;
  Operation *operation = op.getOperation();
  if (failed(op.inferReturnTypes(
          operation->getContext(), operation->getLoc(),
          operation->getOperands(), operation->getRawDictionaryAttrs(),
          operation->getPropertiesStorage(), operation->getRegions(), types)))
    return failure();
  for (auto [result, type] : llvm::zip_equal(operation->getResults(), types))
    result.setType(type);
  return success();
}

} // namespace var
