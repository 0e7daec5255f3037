// --var-fuse-bn-act: folds the ReLU, ReLU6 or SiLU that follows a batch
// norm into it, and that activation's gradient into the batch norm's
// backward, so that neither pass over the activation is a kernel of its
// own. The fused backward recomputes the normalized value from the batch
// norm's input, saved statistics, weight and bias where it can, so that
// it reads neither the activation's output nor its input. SiLU's gradient
// reads its input, the normalized value that the fused forward no longer
// stores: its forward and backward fold together or not at all.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include <type_traits>

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

/// The batch norm backward that `siluGrad` (a var.silu_grad of `bn`'s
/// normalized result) feeds alone, when it is `bn`'s: same input, weight
/// and saved statistics, no activation of its own.
BatchNormGradOp backwardOf(BatchNormTrainOp bn, SiluGradOp siluGrad) {
  Value dz = siluGrad.getResult();
  if (siluGrad.getValue() != bn.getResult() ||
      siluGrad.getGrad() == bn.getResult() || !dz.hasOneUse())
    return {};
  auto grad = dyn_cast<BatchNormGradOp>(*dz.getUsers().begin());
  if (!grad || grad.getGrad() != dz || grad.getActivation() ||
      grad.getInput() != bn.getInput() || grad.getWeight() != bn.getWeight() ||
      grad.getSavedMean() != bn.getSavedMean() ||
      grad.getSavedInvstd() != bn.getSavedInvstd())
    return {};
  return grad;
}

/// Folds the var.silu of `bn`'s normalized result into `bn`, and the
/// var.silu_grad of that result with the batch norm backward it feeds into
/// one var.batch_norm_grad that recomputes the value from the bias. Every
/// other user of the normalized result keeps it apart. An evaluation batch
/// norm (or a frozen one) fuses only where nothing differentiates it.
/// Returns the ops folded (the SiLU and its gradients), 0 when none.
template <typename BatchNorm> int64_t fuseSilu(BatchNorm bn) {
  Value normalized = bn.getResult();
  if (bn.getActivation())
    return 0;
  SiluOp silu;
  SmallVector<std::pair<SiluGradOp, BatchNormGradOp>> backwards;
  for (Operation *user : normalized.getUsers()) {
    if (auto op = dyn_cast<SiluOp>(user); op && !silu) {
      silu = op;
      continue;
    }
    auto siluGrad = dyn_cast<SiluGradOp>(user);
    BatchNormGradOp grad;
    if constexpr (std::is_same_v<BatchNorm, BatchNormTrainOp>)
      if (siluGrad)
        grad = backwardOf(bn, siluGrad);
    if (!grad)
      return 0;
    backwards.push_back({siluGrad, grad});
  }
  if (!silu || silu.getResult().getType() != normalized.getType())
    return 0;
  bn.setActivation("silu");
  silu.getResult().replaceAllUsesWith(normalized);
  silu->erase();
  for (auto [siluGrad, grad] : backwards) {
    OpBuilder builder(grad);
    auto fused = builder.create<BatchNormGradOp>(
        grad.getLoc(), grad.getInput(), siluGrad.getGrad(), grad.getWeight(),
        grad.getSavedMean(), grad.getSavedInvstd(), bn.getBias(),
        grad.getChannelsLastAttr(), builder.getStringAttr("silu"));
    fused->setDiscardableAttrs(grad->getDiscardableAttrDictionary());
    grad->replaceAllUsesWith(fused);
    grad->erase();
    siluGrad->erase();
  }
  return 1 + static_cast<int64_t>(backwards.size());
}

/// Makes var.batch_norm_grad `grad` read the gradient of the activation's
/// output instead of the activation gradient, when that is its only use,
/// and mask it by the pre-activation that it recomputes from the forward's
/// bias when that forward is its own fused training batch norm (so the
/// activation's output need not outlive the forward's other readers), else
/// by the activation's output (what var.relu_grad masks with).
bool fuseBackward(BatchNormGradOp grad) {
  Operation *def = grad.getGrad().getDefiningOp();
  if (grad.getActivation() || !def || !def->hasOneUse())
    return false;
  StringRef activation = activationGradOf(def);
  if (activation.empty())
    return false;
  // activation_grad(value, dz): operand 0 is the activation's output.
  Value value = def->getOperand(0), outputGrad = def->getOperand(1);
  if (auto bn = value.getDefiningOp<BatchNormTrainOp>();
      bn && bn.getResult() == value && bn.getActivation() == activation &&
      grad.getInput() == bn.getInput() && grad.getWeight() == bn.getWeight() &&
      grad.getSavedMean() == bn.getSavedMean() &&
      grad.getSavedInvstd() == bn.getSavedInvstd())
    value = bn.getBias();
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
  // Forwards first: a SiLU fusion replaces the backward it pairs with.
  SmallVector<Operation *> forwards;
  SmallVector<BatchNormGradOp> backwards;
  func.walk([&](Operation *op) {
    if (isa<BatchNormOp, BatchNormTrainOp>(op))
      forwards.push_back(op);
  });
  int64_t fused = 0;
  for (Operation *op : forwards) {
    if (auto bn = dyn_cast<BatchNormOp>(op))
      fused += fuseForward(bn) ? 1 : fuseSilu(bn);
    else if (auto bn = dyn_cast<BatchNormTrainOp>(op))
      fused += fuseForward(bn) ? 1 : fuseSilu(bn);
  }
  func.walk([&](BatchNormGradOp op) { backwards.push_back(op); });
  for (BatchNormGradOp op : backwards)
    fused += fuseBackward(op);
  return fused;
}

} // namespace var
