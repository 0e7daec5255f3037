// --var-fuse-bn-pool: a training batch norm whose normalized result only a
// max pool with indices reads becomes one op that pools the normalized
// values as it makes them, so that the full-size result is never stored.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_FUSEBATCHNORMMAXPOOL
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// Replaces `pool` and the batch norm whose result it reads by one
/// var.batch_norm_train_max_pool, when the pool is that result's only
/// user and both ops have one layout.
bool fusePool(MaxPoolWithIndicesOp pool) {
  auto bn = pool.getInput().getDefiningOp<BatchNormTrainOp>();
  if (!bn || bn.getResult() != pool.getInput() || !bn.getResult().hasOneUse() ||
      bn.getChannelsLast() != pool.getChannelsLast())
    return false;
  // At the batch norm: its operands are defined before it, and every
  // user of either op's results comes after it.
  OpBuilder builder(bn);
  auto fused = builder.create<BatchNormTrainMaxPoolOp>(
      builder.getFusedLoc({bn.getLoc(), pool.getLoc()}), bn.getInput(),
      bn.getWeight(), bn.getBias(), bn.getRunningMean(), bn.getRunningVar(),
      bn.getEpsAttr(), bn.getMomentumAttr(), bn.getChannelsLastAttr(),
      bn.getActivationAttr(), pool.getKernelAttr(), pool.getStrideAttr(),
      pool.getPaddingAttr());
  fused->setDiscardableAttrs(bn->getDiscardableAttrDictionary());
  pool.getOutput().replaceAllUsesWith(fused.getOutput());
  pool.getIndices().replaceAllUsesWith(fused.getIndices());
  bn.getSavedMean().replaceAllUsesWith(fused.getSavedMean());
  bn.getSavedInvstd().replaceAllUsesWith(fused.getSavedInvstd());
  bn.getNewRunningMean().replaceAllUsesWith(fused.getNewRunningMean());
  bn.getNewRunningVar().replaceAllUsesWith(fused.getNewRunningVar());
  pool->erase();
  bn->erase();
  return true;
}

struct FuseBatchNormMaxPoolPass
    : impl::FuseBatchNormMaxPoolBase<FuseBatchNormMaxPoolPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      numFused += fuseBatchNormMaxPool(func);
  }
};

} // namespace

int64_t fuseBatchNormMaxPool(func::FuncOp func) {
  SmallVector<MaxPoolWithIndicesOp> pools;
  func.walk([&](MaxPoolWithIndicesOp pool) { pools.push_back(pool); });
  int64_t fused = 0;
  for (MaxPoolWithIndicesOp pool : pools)
    fused += fusePool(pool);
  return fused;
}

} // namespace var
