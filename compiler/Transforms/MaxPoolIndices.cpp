// --var-max-pool-indices: a max pool whose backward would read the pool's
// input again keeps the i8 window position of each maximum instead, so that
// the input (a stage's largest activation) need not live until the
// backward.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_MAXPOOLINDICES
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The window of a pool or its backward with every default spelled out:
/// the stride is the kernel's, the padding 0.
struct Window {
  SmallVector<int64_t> kernel, stride, padding;
  bool channelsLast;

  bool operator==(const Window &other) const {
    return kernel == other.kernel && stride == other.stride &&
           padding == other.padding && channelsLast == other.channelsLast;
  }
};

template <typename Op> Window windowOf(Op op) {
  Window w;
  w.kernel.assign(op.getKernel().begin(), op.getKernel().end());
  std::optional<ArrayRef<int64_t>> stride = op.getStride();
  w.stride.assign(stride ? stride->begin() : w.kernel.begin(),
                  stride ? stride->end() : w.kernel.end());
  if (std::optional<ArrayRef<int64_t>> padding = op.getPadding())
    w.padding.assign(padding->begin(), padding->end());
  else
    w.padding.assign(w.kernel.size(), 0);
  w.channelsLast = op.getChannelsLast();
  return w;
}

/// The backward ops that read `pool`'s result as their `output`, when every
/// one of them is the pool's own (its input, its window) and there is at
/// least one; empty otherwise.
SmallVector<MaxPoolGradOp> backwardsOf(MaxPoolOp pool) {
  SmallVector<MaxPoolGradOp> backwards;
  Window window = windowOf(pool);
  for (Operation *user : pool.getResult().getUsers()) {
    auto grad = dyn_cast<MaxPoolGradOp>(user);
    if (!grad || grad.getOutput() != pool.getResult())
      continue;
    if (grad.getInput() != pool.getInput() || !(windowOf(grad) == window))
      return {};
    if (!llvm::is_contained(backwards, grad))
      backwards.push_back(grad);
  }
  return backwards;
}

bool rewritePool(MaxPoolOp pool) {
  std::optional<int64_t> positions = mulDims(pool.getKernel());
  if (!positions || *positions > kMaxIndexedWindow)
    return false;
  SmallVector<MaxPoolGradOp> backwards = backwardsOf(pool);
  if (backwards.empty())
    return false;

  OpBuilder builder(pool);
  auto indexed = builder.create<MaxPoolWithIndicesOp>(
      pool.getLoc(), pool.getInput(), pool.getKernelAttr(),
      pool.getStrideAttr(), pool.getPaddingAttr(), pool.getChannelsLastAttr());
  indexed->setDiscardableAttrs(pool->getDiscardableAttrDictionary());
  pool.getResult().replaceAllUsesWith(indexed.getOutput());
  pool->erase();
  for (MaxPoolGradOp grad : backwards) {
    builder.setInsertionPoint(grad);
    auto routed = builder.create<MaxPoolGradIndicesOp>(
        grad.getLoc(), grad.getType(), indexed.getIndices(), grad.getGrad(),
        grad.getKernelAttr(), grad.getStrideAttr(), grad.getPaddingAttr(),
        grad.getChannelsLastAttr());
    routed->setDiscardableAttrs(grad->getDiscardableAttrDictionary());
    grad.getResult().replaceAllUsesWith(routed.getResult());
    grad->erase();
  }
  return true;
}

struct MaxPoolIndicesPass : impl::MaxPoolIndicesBase<MaxPoolIndicesPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      numRewritten += useMaxPoolIndices(func);
  }
};

} // namespace

int64_t useMaxPoolIndices(func::FuncOp func) {
  SmallVector<MaxPoolOp> pools;
  func.walk([&](MaxPoolOp pool) { pools.push_back(pool); });
  int64_t rewritten = 0;
  for (MaxPoolOp pool : pools)
    rewritten += rewritePool(pool);
  return rewritten;
}

} // namespace var
