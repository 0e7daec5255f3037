// --var-fold-bn-bias: a training batch norm subtracts its batch's mean, so
// a per-channel constant added before it changes neither its result nor
// any gradient but its own, which is zero. A convolution's bias that only
// a training batch norm reads is therefore dropped from the convolution
// (a pass over the largest tensors of a VGG, forward) and added to the
// running mean instead, and the sum that is a batch norm input gradient's
// per-channel total (the bias gradient, a pass backward) becomes zero.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_FOLDBATCHNORMBIAS
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The channel dimension of a batch norm over a tensor of `rank`.
int64_t channelDim(int64_t rank, bool channelsLast) {
  return channelsLast ? rank - 1 : 1;
}

/// Whether `sum` totals a var.batch_norm_grad's input gradient over every
/// dimension but the channels, to one value a channel: that total is zero,
/// because the batch norm's result does not move when its input moves by
/// the same amount everywhere in a channel.
bool sumsChannelsOfInputGrad(ReduceSumOp sum) {
  auto grad = sum.getInput().getDefiningOp<BatchNormGradOp>();
  if (!grad || sum.getInput() != grad.getInputGrad() || sum.getKeepDims())
    return false;
  auto type = llvm::cast<RankedTensorType>(sum.getInput().getType());
  int64_t channel = channelDim(type.getRank(), grad.getChannelsLast());
  ArrayRef<int64_t> dims = sum.getDims();
  if (static_cast<int64_t>(dims.size()) != type.getRank() - 1)
    return false;
  return llvm::find(dims, channel) == dims.end();
}

/// The training batch norm that is the only reader, with its backward ops,
/// of `conv`'s result, or null. Its backward ops must read the result as
/// their input and this batch norm's saved mean, which no other op reads:
/// every use of the mean then moves with the input.
BatchNormTrainOp onlyBatchNormOf(ConvOp conv) {
  Value result = conv.getResult();
  BatchNormTrainOp train;
  for (OpOperand &use : result.getUses()) {
    auto bn = llvm::dyn_cast<BatchNormTrainOp>(use.getOwner());
    if (!bn)
      continue;
    if (train || use.getOperandNumber() != 0 ||
        bn.getChannelsLast() != conv.getChannelsLast())
      return {};
    train = bn;
  }
  if (!train)
    return {};
  for (OpOperand &use : result.getUses()) {
    if (use.getOwner() == train)
      continue;
    auto grad = llvm::dyn_cast<BatchNormGradOp>(use.getOwner());
    if (!grad || grad.getInput() != result ||
        grad.getSavedMean() != train.getSavedMean())
      return {};
  }
  for (Operation *user : train.getSavedMean().getUsers()) {
    auto grad = llvm::dyn_cast<BatchNormGradOp>(user);
    if (!grad || grad.getInput() != result)
      return {};
  }
  return train;
}

/// Drops `conv`'s bias, which `bn` alone reads: the running mean that `bn`
/// returns gets momentum * bias added, the share of the batch mean that the
/// bias was. Returns false where the types do not allow it.
bool dropBias(ConvOp conv, BatchNormTrainOp bn) {
  Value bias = conv.getBias();
  Value runningMean = bn.getNewRunningMean();
  auto biasType = llvm::cast<RankedTensorType>(bias.getType());
  auto meanType = llvm::cast<RankedTensorType>(runningMean.getType());
  if (biasType.getShape() != meanType.getShape())
    return false;

  OpBuilder b(bn);
  b.setInsertionPointAfter(bn);
  Location loc = bn.getLoc();
  Value shift = bias;
  if (biasType.getElementType() != meanType.getElementType())
    shift = b.create<CastOp>(loc, bias, meanType.getElementType());
  Value momentum = b.create<FillOp>(loc, meanType, bn.getMomentumAttr());
  Value moved = b.create<MulOp>(loc, meanType, shift, momentum);
  auto sum = b.create<AddOp>(loc, meanType, runningMean, moved);
  runningMean.replaceAllUsesExcept(sum.getResult(), sum);
  conv.getBiasMutable().clear();
  return true;
}

struct FoldBatchNormBias : impl::FoldBatchNormBiasBase<FoldBatchNormBias> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      int64_t dropped = 0, zeroed = 0;
      foldBatchNormBias(func, dropped, zeroed);
      numBiases += dropped;
      numSums += zeroed;
    });
  }
};

} // namespace

void foldBatchNormBias(func::FuncOp func, int64_t &biasesDropped,
                       int64_t &sumsZeroed) {
  SmallVector<ReduceSumOp> sums;
  func.walk([&](ReduceSumOp sum) {
    if (sumsChannelsOfInputGrad(sum))
      sums.push_back(sum);
  });
  for (ReduceSumOp sum : sums) {
    OpBuilder b(sum);
    Value zero =
        b.create<FillOp>(sum.getLoc(), sum.getType(), b.getF64FloatAttr(0.0));
    sum.getResult().replaceAllUsesWith(zero);
    sum.erase();
    ++sumsZeroed;
  }

  SmallVector<std::pair<ConvOp, BatchNormTrainOp>> convs;
  func.walk([&](ConvOp conv) {
    if (!conv.getBias())
      return;
    if (BatchNormTrainOp bn = onlyBatchNormOf(conv))
      convs.emplace_back(conv, bn);
  });
  for (auto [conv, bn] : convs)
    if (dropBias(conv, bn))
      ++biasesDropped;
}

} // namespace var
