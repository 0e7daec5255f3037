// Verifiers of the `dist` ops: buckets must describe their parameters
// exactly, and every flat tensor must be the full bucket or a shard of it.
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"

#include <cmath>

using namespace mlir;

namespace dist {

namespace {

bool isFull(RankedTensorType type) {
  return type.getRank() == 1 && !type.isDynamicDim(0);
}

/// The bucket `name`, or a diagnostic from `op`.
FailureOr<BucketOp> lookupBucket(Operation *op, SymbolTableCollection &symbols,
                                 FlatSymbolRefAttr name) {
  auto bucket = symbols.lookupNearestSymbolFrom<BucketOp>(op, name);
  if (!bucket)
    return op->emitOpError("references undefined bucket ") << name;
  return bucket;
}

/// `type` must be the full bucket or its shard, in `elementType` when given.
LogicalResult checkFlat(Operation *op, BucketOp bucket, StringRef what,
                        Type type, Type elementType = {}) {
  auto flat = llvm::cast<RankedTensorType>(type);
  bool shapeOk =
      flat.isDynamicDim(0) || flat.getDimSize(0) == bucket.getNumElements();
  bool typeOk = !elementType || flat.getElementType() == elementType;
  if (shapeOk && typeOk)
    return success();
  return op->emitOpError(what)
         << " type " << flat << " is neither bucket @" << bucket.getSymName()
         << " (" << bucket.getFullType() << ") nor its shard ("
         << bucket.getShardType() << ")";
}

/// The bucket's state must be what the optimizer keeps.
LogicalResult checkState(Operation *op, BucketOp bucket,
                         ArrayRef<StringRef> expected) {
  SmallVector<StringRef> keys;
  for (Attribute key : bucket.getState())
    keys.push_back(llvm::cast<StringAttr>(key).getValue());
  if (ArrayRef<StringRef>(keys) == expected)
    return success();
  auto diag = op->emitOpError("bucket @")
              << bucket.getSymName() << " keeps state [";
  llvm::interleaveComma(keys, diag);
  diag << "], this optimizer needs [";
  llvm::interleaveComma(expected, diag);
  return diag << "]";
}

LogicalResult checkUpdate(Operation *op, SymbolTableCollection &symbols,
                          FlatSymbolRefAttr name, Value grad, Value result,
                          ArrayRef<StringRef> state) {
  FailureOr<BucketOp> bucket = lookupBucket(op, symbols, name);
  if (failed(bucket) || failed(checkFlat(op, *bucket, "grad", grad.getType())))
    return failure();
  auto gradType = llvm::cast<RankedTensorType>(grad.getType());
  auto resultType = llvm::cast<RankedTensorType>(result.getType());
  if (resultType.getShape() != gradType.getShape() ||
      !resultType.getElementType().isF32())
    return op->emitOpError("result type ")
           << resultType << " must be the f32 master of grad type " << gradType;
  return checkState(op, *bucket, state);
}

} // namespace

//===----------------------------------------------------------------------===//
// BucketOp
//===----------------------------------------------------------------------===//

RankedTensorType BucketOp::getFullType() {
  return RankedTensorType::get({getNumElements()}, getElementType());
}

RankedTensorType BucketOp::getShardType() {
  return RankedTensorType::get({ShapedType::kDynamic}, getElementType());
}

int64_t BucketOp::indexOf(FlatSymbolRefAttr param) {
  for (auto [index, name] : llvm::enumerate(getParams()))
    if (name == param)
      return index;
  return -1;
}

LogicalResult BucketOp::verify() {
  if (!llvm::isa<FloatType>(getElementType()))
    return emitOpError("element type ")
           << getElementType() << " is not a float type";
  if (getParams().empty())
    return emitOpError("holds no parameters");
  if (getOffsets().size() != getParams().size())
    return emitOpError("has ") << getParams().size() << " parameters but "
                               << getOffsets().size() << " offsets";
  int64_t previous = -1;
  for (int64_t offset : getOffsets()) {
    if (offset < 0 || offset % kAlignElements != 0 || offset <= previous)
      return emitOpError("offsets must increase and be multiples of ")
             << kAlignElements << ", got " << offset << " after " << previous;
    previous = offset;
  }
  if (getNumElements() <= getOffsets().back())
    return emitOpError("numel ")
           << getNumElements() << " ends before the last parameter's offset "
           << getOffsets().back();
  llvm::SmallDenseSet<Attribute> seen;
  for (Attribute param : getParams())
    if (!seen.insert(param).second)
      return emitOpError("lists parameter ") << param << " twice";
  return success();
}

LogicalResult BucketOp::verifySymbolUses(SymbolTableCollection &symbols) {
  ArrayRef<int64_t> offsets = getOffsets();
  for (auto [index, attr] : llvm::enumerate(getParams())) {
    auto name = llvm::cast<FlatSymbolRefAttr>(attr);
    auto param = symbols.lookupNearestSymbolFrom<var::ParamOp>(*this, name);
    if (!param)
      return emitOpError("references undefined parameter ") << name;
    if (!param.isTrainable())
      return emitOpError("parameter ")
             << name << " is a buffer; buckets hold trainable parameters";
    std::optional<int64_t> size = var::numElements(param.getTensorType());
    if (!size)
      return emitOpError("parameter ") << name << " has no static size";
    int64_t end =
        index + 1 < offsets.size() ? offsets[index + 1] : getNumElements();
    if (offsets[index] + *size > end)
      return emitOpError("parameter ")
             << name << " (" << *size << " elements at offset "
             << offsets[index] << ") overruns its slot, which ends at " << end;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Packing and views
//===----------------------------------------------------------------------===//

LogicalResult PackOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<BucketOp> bucket = lookupBucket(*this, symbols, getBucketAttr());
  if (failed(bucket))
    return failure();
  if (getResult().getType() != bucket->getFullType())
    return emitOpError("result type ")
           << getResult().getType() << " is not the full bucket @"
           << bucket->getSymName() << " (" << bucket->getFullType() << ")";
  ArrayAttr params = bucket->getParams();
  if (getGrads().size() != params.size())
    return emitOpError("packs ")
           << getGrads().size() << " gradients into bucket @"
           << bucket->getSymName() << " of " << params.size() << " parameters";
  for (auto [grad, attr] : llvm::zip(getGrads(), params)) {
    auto name = llvm::cast<FlatSymbolRefAttr>(attr);
    auto param = symbols.lookupNearestSymbolFrom<var::ParamOp>(*this, name);
    auto type = llvm::cast<RankedTensorType>(grad.getType());
    if (!param || type.getShape() != param.getTensorType().getShape() ||
        type.getElementType() != bucket->getElementType())
      return emitOpError("gradient type ")
             << type << " does not fit parameter " << name << " in bucket @"
             << bucket->getSymName() << " of " << bucket->getElementType();
  }
  return success();
}

LogicalResult UnpackOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<BucketOp> bucket = lookupBucket(*this, symbols, getBucketAttr());
  if (failed(bucket))
    return failure();
  if (getFull().getType() != bucket->getFullType())
    return emitOpError("operand type ")
           << getFull().getType() << " is not the full bucket @"
           << bucket->getSymName() << " (" << bucket->getFullType() << ")";
  if (bucket->indexOf(getParamAttr()) < 0)
    return emitOpError("parameter ")
           << getParamAttr() << " is not in bucket @" << bucket->getSymName();
  auto param =
      symbols.lookupNearestSymbolFrom<var::ParamOp>(*this, getParamAttr());
  RankedTensorType type = getResult().getType();
  if (type.getShape() != param.getTensorType().getShape() ||
      type.getElementType() != bucket->getElementType())
    return emitOpError("result type ")
           << type << " is not parameter " << getParamAttr() << " in "
           << bucket->getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

/// A collective from a full bucket to a shard or back.
static LogicalResult checkFullToShard(Operation *op, RankedTensorType full,
                                      RankedTensorType shard) {
  if (!isFull(full) || !shard.isDynamicDim(0) ||
      full.getElementType() != shard.getElementType())
    return op->emitOpError("goes between a full bucket (static size) and a "
                           "shard (dynamic size) of one element type, got ")
           << op->getOperand(0).getType() << " -> "
           << op->getResult(0).getType();
  return success();
}

LogicalResult ReduceScatterOp::verify() {
  return checkFullToShard(*this, getInput().getType(), getResult().getType());
}

LogicalResult AllGatherOp::verify() {
  return checkFullToShard(*this, getResult().getType(), getInput().getType());
}

//===----------------------------------------------------------------------===//
// Parameter storage and updates
//===----------------------------------------------------------------------===//

LogicalResult LoadParamsOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<BucketOp> bucket = lookupBucket(*this, symbols, getBucketAttr());
  if (failed(bucket))
    return failure();
  return checkFlat(*this, *bucket, "result", getResult().getType(),
                   bucket->getElementType());
}

LogicalResult StoreParamsOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<BucketOp> bucket = lookupBucket(*this, symbols, getBucketAttr());
  if (failed(bucket))
    return failure();
  return checkFlat(*this, *bucket, "value", getValue().getType(),
                   bucket->getElementType());
}

LogicalResult ClipCoefficientOp::verify() {
  double maxNorm = getMaxNorm().convertToDouble();
  if (!std::isfinite(maxNorm) || maxNorm <= 0.0)
    return emitOpError("max_norm must be positive and finite, got ") << maxNorm;
  return success();
}

LogicalResult AdamWUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return checkUpdate(*this, symbols, getBucketAttr(), getGrad(), getResult(),
                     {"exp_avg", "exp_avg_sq"});
}

LogicalResult SGDUpdateOp::verifySymbolUses(SymbolTableCollection &symbols) {
  SmallVector<StringRef, 1> state;
  if (getMomentum().convertToDouble() != 0.0)
    state.push_back("momentum_buffer");
  return checkUpdate(*this, symbols, getBucketAttr(), getGrad(), getResult(),
                     state);
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

bool isStreamName(StringRef name) {
  return name == "compute" || name == "comm" || name == "copy" ||
         name == "host";
}

static LogicalResult checkStream(Operation *op, StringRef stream,
                                 int64_t event) {
  if (!isStreamName(stream))
    return op->emitOpError("stream \"")
           << stream << "\" is not compute, comm, copy or host";
  if (event < 0)
    return op->emitOpError("event number must not be negative, got ") << event;
  return success();
}

LogicalResult RecordEventOp::verify() {
  return checkStream(*this, getStream(), getEventAttr().getInt());
}

LogicalResult WaitEventOp::verify() {
  return checkStream(*this, getStream(), getEventAttr().getInt());
}

} // namespace dist

#define GET_OP_CLASSES
#include "dialects/Dist/IR/DistOps.cpp.inc"
