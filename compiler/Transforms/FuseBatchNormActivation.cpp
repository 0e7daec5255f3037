// --var-fuse-bn-act: folds the ReLU or ReLU6 that follows a batch norm into
// it, and that activation's gradient into the batch norm's backward, so
// that neither pass over the activation is a kernel of its own.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_FUSEBATCHNORMACTIVATION
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The name of `op`'s activation when it is var.relu or var.relu6.
StringRef activationOf(Operation *op) {
  if (isa<ReluOp>(op))
    return "relu";
  if (isa<Relu6Op>(op))
    return "relu6";
  return {};
}

/// The name of the activation whose gradient `op` is (var.relu_grad or
/// var.relu6_grad).
StringRef activationGradOf(Operation *op) {
  if (isa<ReluGradOp>(op))
    return "relu";
  if (isa<Relu6GradOp>(op))
    return "relu6";
  return {};
}

/// Gives batch norm `bn` (var.batch_norm or var.batch_norm_train) the
/// activation that is the only user of its normalized result; the
/// activation's users then read the batch norm.
template <typename BatchNorm> bool fuseForward(BatchNorm bn) {
  Value normalized = bn.getResult();
  if (bn.getActivation() || !normalized.hasOneUse())
    return false;
  Operation *user = *normalized.getUsers().begin();
  StringRef activation = activationOf(user);
  if (activation.empty() ||
      user->getResult(0).getType() != normalized.getType())
    return false;
  bn.setActivation(activation);
  user->getResult(0).replaceAllUsesWith(normalized);
  user->erase();
  return true;
}

/// Makes var.batch_norm_grad `grad` read the gradient of the activation's
/// output and the activation's output (what var.relu_grad masks with)
/// instead of the activation gradient, when that is its only use.
bool fuseBackward(BatchNormGradOp grad) {
  Operation *def = grad.getGrad().getDefiningOp();
  if (grad.getActivation() || !def || !def->hasOneUse())
    return false;
  StringRef activation = activationGradOf(def);
  if (activation.empty())
    return false;
  // activation_grad(value, dz): operand 0 is the activation's output.
  Value value = def->getOperand(0), outputGrad = def->getOperand(1);
  OpBuilder builder(grad);
  auto fused = builder.create<BatchNormGradOp>(
      grad.getLoc(), grad.getInput(), outputGrad, grad.getWeight(),
      grad.getSavedMean(), grad.getSavedInvstd(), value,
      grad.getChannelsLastAttr(), builder.getStringAttr(activation));
  fused->setDiscardableAttrs(grad->getDiscardableAttrDictionary());
  grad->replaceAllUsesWith(fused);
  grad->erase();
  def->erase();
  return true;
}

struct FuseBatchNormActivationPass
    : impl::FuseBatchNormActivationBase<FuseBatchNormActivationPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      numFused += fuseBatchNormActivation(func);
  }
};

} // namespace

int64_t fuseBatchNormActivation(func::FuncOp func) {
  SmallVector<Operation *> candidates;
  func.walk([&](Operation *op) {
    if (isa<BatchNormOp, BatchNormTrainOp, BatchNormGradOp>(op))
      candidates.push_back(op);
  });
  int64_t fused = 0;
  for (Operation *op : candidates) {
    if (auto bn = dyn_cast<BatchNormOp>(op))
      fused += fuseForward(bn);
    else if (auto bn = dyn_cast<BatchNormTrainOp>(op))
      fused += fuseForward(bn);
    else
      fused += fuseBackward(cast<BatchNormGradOp>(op));
  }
  return fused;
}

} // namespace var
