// --var-channels-last: the forward's convolutions, pooling and batch norm
// compute channels-last (NHWC / NDHWC), with var.transpose at the layout
// boundaries; transposes that meet through layout-agnostic ops cancel.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/ChannelLayout.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_CHANNELSLAST
#include "compiler/Transforms/Passes.h.inc"

namespace {

RankedTensorType tensorType(Value value) {
  return llvm::cast<RankedTensorType>(value.getType());
}

/// Forward ops that take `channels_last`. Their activation is operand 0 and
/// result 0; everything else they read is a weight or per-channel.
bool isLayoutOp(Operation *op) {
  return llvm::isa<ConvOp, MaxPoolOp, AvgPoolOp, GlobalAvgPoolOp, BatchNormOp>(
      op);
}

/// Elementwise ops whose result element at an index depends only on the
/// operands' elements at that index (after NumPy broadcasting), so they
/// compute the same function on permuted operands. Not var.dropout: its
/// mask hashes the element index, so permuting its input changes the mask.
bool isLayoutAgnostic(Operation *op) {
  return llvm::isa<ReluOp, Relu6Op, SigmoidOp, SiluOp, HardSwishOp, CastOp,
                   AddOp, MulOp>(op);
}

Value createTranspose(OpBuilder &b, Location loc, Value value,
                      ArrayRef<int64_t> permutation) {
  return b.create<TransposeOp>(loc, value, b.getDenseI64ArrayAttr(permutation));
}

/// Re-runs `op`'s type inference after its operands or attributes changed.
LogicalResult reinferTypes(Operation *op) {
  if (failed(updateInferredTypes(llvm::cast<InferTypeOpInterface>(op))))
    return op->emitOpError("has no valid type in channels-last layout");
  return success();
}

/// Replaces every use of `op`'s single result, except the new transpose's,
/// by the result transposed by `permutation`.
void transposeResult(OpBuilder &b, Operation *op,
                     ArrayRef<int64_t> permutation) {
  Value result = op->getResult(0);
  b.setInsertionPointAfter(op);
  Value back = createTranspose(b, op->getLoc(), result, permutation);
  result.replaceAllUsesExcept(back, back.getDefiningOp());
}

/// Sets `channels_last` on a layout op of rank 4 or 5, with a transpose to
/// channels-last before it and one back after it. A global average pool
/// without keep_dims gives (N, C) in either layout and needs none after.
LogicalResult convertOp(Operation *op) {
  Value input = op->getOperand(0);
  int64_t rank = tensorType(input).getRank();
  if (rank < 4 || rank > 5 || op->hasAttr(kChannelsLastAttr))
    return success();
  OpBuilder b(op);
  op->setOperand(0, createTranspose(b, op->getLoc(), input,
                                    toChannelsLastPermutation(rank)));
  op->setAttr(kChannelsLastAttr, b.getUnitAttr());
  if (failed(reinferTypes(op)))
    return failure();
  int64_t resultRank = tensorType(op->getResult(0)).getRank();
  if (resultRank > 2)
    transposeResult(b, op, toChannelsFirstPermutation(resultRank));
  return success();
}

void eraseIfUnused(Operation *op) {
  if (op && op->use_empty())
    op->erase();
}

/// transpose(transpose(x, p), q) is transpose(x, [p[q[0]], p[q[1]], ...]),
/// or x itself when that is the identity (as is transpose(x, identity)).
/// The inner transpose goes once nothing else reads it.
bool composeTransposes(TransposeOp outer) {
  if (isIdentityPermutation(outer.getPermutation())) {
    outer.replaceAllUsesWith(outer.getInput());
    outer.erase();
    return true;
  }
  auto inner = outer.getInput().getDefiningOp<TransposeOp>();
  if (!inner)
    return false;
  SmallVector<int64_t> composed =
      permuteShape(inner.getPermutation(), outer.getPermutation());
  if (isIdentityPermutation(composed)) {
    outer.replaceAllUsesWith(inner.getInput());
    outer.erase();
  } else {
    OpBuilder b(outer);
    outer.getInputMutable().assign(inner.getInput());
    outer.setPermutationAttr(b.getDenseI64ArrayAttr(composed));
  }
  eraseIfUnused(inner);
  return true;
}

/// Two transposes of one value by one permutation (a tensor that feeds two
/// convolutions): the later one reads the earlier one's result.
bool mergeDuplicate(TransposeOp transpose) {
  for (Operation *user : transpose.getInput().getUsers()) {
    auto other = llvm::dyn_cast<TransposeOp>(user);
    if (other && other != transpose &&
        other->getBlock() == transpose->getBlock() &&
        other->isBeforeInBlock(transpose) &&
        other.getPermutation() == transpose.getPermutation()) {
      transpose.replaceAllUsesWith(other.getResult());
      transpose.erase();
      return true;
    }
  }
  return false;
}

/// The transpose that defines `value`, if its permutation is `permutation`.
TransposeOp transposeBy(Value value, ArrayRef<int64_t> permutation) {
  auto transpose = value.getDefiningOp<TransposeOp>();
  if (transpose && transpose.getPermutation() == permutation)
    return transpose;
  return {};
}

/// A transpose that only `user` reads: moving it past `user` removes it.
bool onlyFeeds(TransposeOp transpose, Operation *user) {
  return llvm::all_of(transpose->getUsers(),
                      [&](Operation *other) { return other == user; });
}

/// An operand that a binary op broadcasts: a 1 where the result is not.
bool isBroadcast(RankedTensorType operand, RankedTensorType result) {
  for (auto [in, out] : llvm::zip_equal(operand.getShape(), result.getShape()))
    if (in == 1 && out != 1)
      return true;
  return false;
}

/// Moves a transpose below a layout-agnostic op:
///   op(transpose(a, p), transpose(b, p)) -> transpose(op(a, b), p),
/// exact because the operands have the result's rank, and broadcasting
/// permutes with them. At least one operand must be a full-size transpose
/// that only `op` reads (so one transpose moves, none is added for it). An
/// operand that is not a transpose by p may be a broadcast one (the (N, C,
/// 1, 1) scale of a squeeze-excitation block): it is transposed by p's
/// inverse, a small tensor.
FailureOr<bool> sinkThroughElementwise(Operation *op) {
  RankedTensorType resultType = tensorType(op->getResult(0));
  TransposeOp moved;
  for (Value operand : op->getOperands()) {
    auto transpose = operand.getDefiningOp<TransposeOp>();
    if (transpose && onlyFeeds(transpose, op) &&
        tensorType(operand).getShape() == resultType.getShape()) {
      moved = transpose;
      break;
    }
  }
  if (!moved)
    return false;
  SmallVector<int64_t> permutation(moved.getPermutation());
  for (Value operand : op->getOperands()) {
    RankedTensorType type = tensorType(operand);
    if (type.getRank() != resultType.getRank())
      return false;
    if (!transposeBy(operand, permutation) && !isBroadcast(type, resultType))
      return false;
  }

  OpBuilder b(op);
  SmallVector<int64_t> inverse = invertPermutation(permutation);
  llvm::SmallSetVector<Operation *, 2> replaced;
  for (OpOperand &use : op->getOpOperands()) {
    if (TransposeOp transpose = transposeBy(use.get(), permutation)) {
      use.set(transpose.getInput());
      replaced.insert(transpose);
    } else {
      use.set(createTranspose(b, op->getLoc(), use.get(), inverse));
    }
  }
  if (failed(reinferTypes(op)))
    return failure();
  transposeResult(b, op, permutation);
  for (Operation *transpose : replaced)
    eraseIfUnused(transpose);
  return true;
}

/// concat(transpose(x_i, p), axis) -> transpose(concat(x_i, p[axis]), p):
/// channel concatenation becomes concatenation along the last dimension.
/// Every input must be a transpose by p, one of them read only here.
FailureOr<bool> sinkThroughConcat(ConcatOp concat) {
  auto first = concat.getInputs().front().getDefiningOp<TransposeOp>();
  if (!first)
    return false;
  SmallVector<int64_t> permutation(first.getPermutation());
  bool movesOne = false;
  for (Value input : concat.getInputs()) {
    TransposeOp transpose = transposeBy(input, permutation);
    if (!transpose)
      return false;
    movesOne |= onlyFeeds(transpose, concat);
  }
  if (!movesOne)
    return false;
  int64_t rank = static_cast<int64_t>(permutation.size());
  int64_t axis = concat.getAxisAttr().getInt();
  if (axis < 0)
    axis += rank;
  llvm::SmallSetVector<Operation *, 2> replaced;
  for (OpOperand &use : concat->getOpOperands()) {
    auto transpose = use.get().getDefiningOp<TransposeOp>();
    use.set(transpose.getInput());
    replaced.insert(transpose);
  }
  OpBuilder b(concat);
  concat.setAxisAttr(b.getI64IntegerAttr(permutation[axis]));
  if (failed(reinferTypes(concat)))
    return failure();
  transposeResult(b, concat, permutation);
  for (Operation *transpose : replaced)
    eraseIfUnused(transpose);
  return true;
}

/// Applies the rewrites above until none applies. Each one removes a
/// transpose or moves one further down the block (a transpose added for a
/// broadcast operand never moves back), so this ends.
LogicalResult cancelTransposes(Block &body) {
  bool changed = true;
  while (changed) {
    changed = false;
    // Every rewrite erases only the op it visits or ops before it, and adds
    // ops right before or after it, so the next op stays valid.
    for (Operation &op : llvm::make_early_inc_range(body)) {
      FailureOr<bool> rewritten = false;
      if (auto transpose = llvm::dyn_cast<TransposeOp>(op))
        rewritten = composeTransposes(transpose) || mergeDuplicate(transpose);
      else if (isLayoutAgnostic(&op))
        rewritten = sinkThroughElementwise(&op);
      else if (auto concat = llvm::dyn_cast<ConcatOp>(op))
        rewritten = sinkThroughConcat(concat);
      if (failed(rewritten))
        return failure();
      changed |= *rewritten;
    }
  }
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (llvm::isa<TransposeOp>(op))
      eraseIfUnused(&op);
  return success();
}

/// Undoes convertOp on one op, keeping the transposes around it: the op
/// computes NCHW again between a transpose back and one forth.
LogicalResult emulateInNCHW(Operation *op) {
  Value input = op->getOperand(0);
  int64_t rank = tensorType(input).getRank();
  OpBuilder b(op);
  op->setOperand(0, createTranspose(b, op->getLoc(), input,
                                    toChannelsFirstPermutation(rank)));
  op->removeAttr(kChannelsLastAttr);
  if (failed(reinferTypes(op)))
    return failure();
  int64_t resultRank = tensorType(op->getResult(0)).getRank();
  if (resultRank > 2)
    transposeResult(b, op, toChannelsLastPermutation(resultRank));
  return success();
}

} // namespace

LogicalResult applyChannelsLast(func::FuncOp forward, bool emulateNCHW) {
  if (forward.isExternal())
    return forward.emitError(
        "cannot change the layout of a function without a body");
  if (!forward.getBody().hasOneBlock())
    return forward.emitError("the forward must be a single block");
  Block &body = forward.getBody().front();
  SmallVector<Operation *> layoutOps;
  for (Operation &op : body)
    if (isLayoutOp(&op))
      layoutOps.push_back(&op);
  for (Operation *op : layoutOps)
    if (failed(convertOp(op)))
      return failure();
  if (failed(cancelTransposes(body)))
    return failure();
  if (emulateNCHW)
    for (Operation *op : layoutOps)
      if (op->hasAttr(kChannelsLastAttr) && failed(emulateInNCHW(op)))
        return failure();
  return success();
}

namespace {
struct ChannelsLastPass : public impl::ChannelsLastBase<ChannelsLastPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(entry);
    if (!forward) {
      module.emitError("no function @") << entry << " to make channels-last";
      return signalPassFailure();
    }
    if (failed(applyChannelsLast(forward, emulateNCHW)))
      signalPassFailure();
  }
};
} // namespace

} // namespace var
