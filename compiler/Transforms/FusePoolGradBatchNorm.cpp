// --var-fuse-pool-grad-bn: a batch norm backward whose gradient is a max
// pool's routed gradient reads the pooled gradient and the pool's indices
// instead, so that the full-size gradient (mostly zeros) is never stored.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_FUSEPOOLGRADBATCHNORM
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// Whether the windows of `pool` tile its input: stride equal to the
/// kernel and no padding, so every input element lies in at most one.
bool windowsTile(MaxPoolGradIndicesOp pool) {
  std::optional<ArrayRef<int64_t>> stride = pool.getStride();
  std::optional<ArrayRef<int64_t>> padding = pool.getPadding();
  return (!stride || *stride == pool.getKernel()) &&
         (!padding || llvm::all_of(*padding, [](int64_t p) { return p == 0; }));
}

/// The batch norm backward that alone reads `pool`'s result as its grad,
/// when the pair can fuse; null otherwise.
BatchNormGradOp fusibleUser(MaxPoolGradIndicesOp pool) {
  if (!pool.getResult().hasOneUse())
    return {};
  auto norm = dyn_cast<BatchNormGradOp>(*pool.getResult().getUsers().begin());
  if (!norm || norm.getGrad() != pool.getResult() || !pool.getChannelsLast() ||
      !norm.getChannelsLast() || !windowsTile(pool))
    return {};
  return norm;
}

bool fusePair(MaxPoolGradIndicesOp pool) {
  BatchNormGradOp norm = fusibleUser(pool);
  if (!norm)
    return false;
  OpBuilder builder(norm);
  auto fused = builder.create<BatchNormGradMaxPoolOp>(
      norm.getLoc(), norm.getInput(), pool.getIndices(), pool.getGrad(),
      norm.getWeight(), norm.getSavedMean(), norm.getSavedInvstd(),
      norm.getActivationValue(), pool.getKernelAttr(), pool.getStrideAttr(),
      pool.getPaddingAttr(), norm.getChannelsLastAttr(),
      norm.getActivationAttr());
  fused->setDiscardableAttrs(norm->getDiscardableAttrDictionary());
  norm.replaceAllUsesWith(fused.getResults());
  norm->erase();
  pool->erase();
  return true;
}

struct FusePoolGradBatchNormPass
    : impl::FusePoolGradBatchNormBase<FusePoolGradBatchNormPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      numFused += fusePoolGradBatchNorm(func);
  }
};

} // namespace

int64_t fusePoolGradBatchNorm(func::FuncOp func) {
  SmallVector<MaxPoolGradIndicesOp> pools;
  func.walk([&](MaxPoolGradIndicesOp pool) { pools.push_back(pool); });
  int64_t fused = 0;
  for (MaxPoolGradIndicesOp pool : pools)
    fused += fusePair(pool);
  return fused;
}

} // namespace var
