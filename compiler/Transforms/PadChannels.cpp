// --var-pad-channels: the channels that one channels-last convolution
// hands to the next (through batch norm and activations) are padded with
// zero filters to a multiple of `multiple`, so that GPU libraries run both
// convolutions on their aligned tensor-core kernels. Parameters keep their
// shapes: the padding is a var.concat with a var.fill after each read.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_PADCHANNELS
#include "compiler/Transforms/Passes.h.inc"

namespace {

RankedTensorType tensorType(Value value) {
  return llvm::dyn_cast<RankedTensorType>(value.getType());
}

/// A convolution without groups in the layout `channelsLast`: its channels
/// are dimension 0 (out) and 1 (in) of its weight.
bool isDenseConv(Operation *op, bool channelsLast) {
  auto conv = llvm::dyn_cast<ConvOp>(op);
  return conv && conv.getChannelsLast() == channelsLast &&
         conv.getGroups() == 1 && tensorType(conv.getResult());
}

/// Ops that map an all-zero channel to an all-zero channel, each channel on
/// its own: the activations with f(0) = 0 and casts.
bool keepsZeroChannels(Operation *op) {
  return llvm::isa<ReluOp, Relu6Op, SiluOp, HardSwishOp, CastOp>(op);
}

/// The convolution whose output channels get padded, the ops between it and
/// the convolutions that read them, and those convolutions.
struct Chain {
  ConvOp producer;
  llvm::SetVector<Operation *> between;
  llvm::SetVector<ConvOp> consumers;
};

/// Follows `producer`'s result through batch norms and zero-keeping
/// activations to the convolutions that take it as input. Fails when any
/// other op reads a value of the chain (it would see the padding), or a
/// value leaves the function.
FailureOr<Chain> followChannels(ConvOp producer) {
  Chain chain;
  chain.producer = producer;
  SmallVector<Value> worklist{producer.getResult()};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      unsigned operand = use.getOperandNumber();
      if (isDenseConv(user, producer.getChannelsLast()) && operand == 0) {
        chain.consumers.insert(llvm::cast<ConvOp>(user));
        continue;
      }
      auto bn = llvm::dyn_cast<BatchNormOp>(user);
      bool channelwise = (bn && operand == 0 &&
                          bn.getChannelsLast() == producer.getChannelsLast()) ||
                         keepsZeroChannels(user);
      if (!channelwise)
        return failure();
      if (chain.between.insert(user))
        worklist.push_back(user->getResult(0));
    }
  }
  return chain;
}

/// `value` with `count` entries of `fill` appended along `axis`.
Value appendFill(OpBuilder &b, Location loc, Value value, int64_t axis,
                 int64_t count, double fill) {
  RankedTensorType type = tensorType(value);
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] = count;
  Value pad = b.create<FillOp>(loc, type.clone(shape), b.getF64FloatAttr(fill));
  return b.create<ConcatOp>(loc, ValueRange{value, pad},
                            b.getI64IntegerAttr(axis));
}

/// Replaces operand `index` of `op` by itself padded along `axis`.
void padOperand(Operation *op, unsigned index, int64_t axis, int64_t count,
                double fill = 0.0) {
  OpBuilder b(op);
  op->setOperand(index, appendFill(b, op->getLoc(), op->getOperand(index), axis,
                                   count, fill));
}

LogicalResult reinferTypes(Operation *op) {
  if (failed(updateInferredTypes(llvm::cast<InferTypeOpInterface>(op))))
    return op->emitOpError("has no valid type with padded channels");
  return success();
}

/// Pads `chain` from `channels` to `padded` channels: the producer's
/// filters and bias, the batch norms' parameters and statistics (weight,
/// bias and mean with zeros, variance with ones) and the consumers' input
/// channels. A padded channel is zero after the producer, stays zero
/// through batch norm (x = 0, mean = 0, scale = 0, shift = 0) and the
/// activations, and meets zero weights in the consumers: every other
/// channel computes what it did, and the padded weights' gradients are
/// dropped by the concat's backward (a slice).
LogicalResult padChain(const Chain &chain, int64_t channels, int64_t padded) {
  int64_t count = padded - channels;
  ConvOp producer = chain.producer;
  padOperand(producer, 1, 0, count);
  if (producer.getBias())
    padOperand(producer, 2, 0, count);
  if (failed(reinferTypes(producer)))
    return failure();
  for (Operation *op : chain.between) {
    if (llvm::isa<BatchNormOp>(op)) {
      for (unsigned index : {1u, 2u, 3u})
        padOperand(op, index, 0, count);
      padOperand(op, 4, 0, count, /*fill=*/1.0);
    }
    if (failed(reinferTypes(op)))
      return failure();
  }
  for (ConvOp consumer : chain.consumers) {
    padOperand(consumer, 1, 1, count);
    if (failed(reinferTypes(consumer)))
      return failure();
  }
  return success();
}

struct PadChannelsPass : impl::PadChannelsBase<PadChannelsPass> {
  using PadChannelsBase::PadChannelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (multiple < 1) {
      module.emitError("pad channels to a multiple of at least 1, not ")
          << multiple.getValue();
      return signalPassFailure();
    }
    auto forward = module.lookupSymbol<func::FuncOp>(entry);
    if (!forward) {
      module.emitError("no function @")
          << entry.getValue() << " to pad channels of";
      return signalPassFailure();
    }
    FailureOr<int64_t> count = padChannels(forward, multiple, anyLayout);
    if (failed(count))
      return signalPassFailure();
    numPadded += *count;
  }
};

} // namespace

FailureOr<int64_t> padChannels(func::FuncOp forward, int64_t multiple,
                               bool anyLayout) {
  SmallVector<ConvOp> convs;
  forward.walk([&](ConvOp conv) {
    if (isDenseConv(conv, /*channelsLast=*/true) ||
        (anyLayout && isDenseConv(conv, /*channelsLast=*/false)))
      convs.push_back(conv);
  });
  int64_t count = 0;
  for (ConvOp conv : convs) {
    RankedTensorType type = tensorType(conv.getResult());
    int64_t channels =
        type.getDimSize(conv.getChannelsLast() ? type.getRank() - 1 : 1);
    if (ShapedType::isDynamic(channels) || channels % multiple == 0)
      continue;
    FailureOr<Chain> chain = followChannels(conv);
    if (failed(chain) || chain->consumers.empty())
      continue;
    int64_t padded = llvm::divideCeil(channels, multiple) * multiple;
    if (failed(padChain(*chain, channels, padded)))
      return failure();
    ++count;
  }
  return count;
}

} // namespace var
