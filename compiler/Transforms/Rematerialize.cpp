// --var-rematerialize: a multiply whose result the backward reads long after
// the forward is copied to those reads, and so, up to `batch-norms` of them,
// is a training batch norm's result (as var.batch_norm_apply), so that the
// arena need not keep the result across the step's peak.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_REMATERIALIZE
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The bytes of a statically shaped `type`.
std::optional<int64_t> numBytes(Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  std::optional<int64_t> elements = numElements(tensor);
  if (!elements)
    return std::nullopt;
  return *elements * ((tensor.getElementTypeBitWidth() + 7) / 8);
}

/// The last position at which `value` is read, or -1 when it is not.
int64_t lastRead(Value value,
                 const llvm::DenseMap<Operation *, int64_t> &position) {
  int64_t last = -1;
  for (Operation *user : value.getUsers())
    last = std::max(last, position.lookup(user));
  return last;
}

/// The reads of a result that follow the widest stretch of the block
/// without one: the first of them, right before which a copy goes, and all.
struct LateReads {
  Operation *firstLate = nullptr;
  llvm::SmallPtrSet<Operation *, 4> readers;
};

/// The late reads of `result`, made by `producer`; none when its first read
/// already follows the widest stretch, or when one of `operands` (those of
/// the copy) is not read at or after the first late read anyway, so that
/// the copy would keep it alive longer.
std::optional<LateReads>
findLateReads(Operation *producer, Value result, ValueRange operands,
              const llvm::DenseMap<Operation *, int64_t> &position) {
  SmallVector<Operation *> readers(result.getUsers().begin(),
                                   result.getUsers().end());
  llvm::sort(readers, [&](Operation *a, Operation *b) {
    return position.lookup(a) < position.lookup(b);
  });
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  // The late reads start at `split`; a split at 0 would leave no early read.
  size_t split = 0;
  int64_t widest = 0, previous = position.lookup(producer);
  for (auto [index, reader] : llvm::enumerate(readers)) {
    int64_t gap = position.lookup(reader) - previous;
    if (gap > widest) {
      widest = gap;
      split = index;
    }
    previous = position.lookup(reader);
  }
  if (split == 0)
    return std::nullopt;

  LateReads late;
  late.firstLate = readers[split];
  for (Value operand : operands)
    if (operand.getParentBlock() != producer->getBlock() ||
        lastRead(operand, position) < position.lookup(late.firstLate))
      return std::nullopt;
  late.readers.insert(readers.begin() + split, readers.end());
  return late;
}

/// Points the late reads of `result` at `copy`'s result.
void readCopy(Value result, Operation *copy, const LateReads &late) {
  result.replaceUsesWithIf(copy->getResult(0), [&](OpOperand &use) {
    return late.readers.contains(use.getOwner());
  });
}

/// Copies `mul` right before the reads of its result that follow the widest
/// stretch without one, when both factors are read there or later anyway.
bool rematerialize(MulOp mul,
                   const llvm::DenseMap<Operation *, int64_t> &position,
                   int64_t minBytes) {
  std::optional<int64_t> bytes = numBytes(mul.getType());
  if (!bytes || *bytes < minBytes)
    return false;
  std::optional<LateReads> late =
      findLateReads(mul, mul.getResult(), mul->getOperands(), position);
  if (!late)
    return false;
  OpBuilder builder(late->firstLate);
  readCopy(mul.getResult(), builder.clone(*mul), *late);
  return true;
}

/// A training batch norm whose result's late reads can read a
/// var.batch_norm_apply instead: the backward reads its input, weight,
/// bias and saved statistics there or later anyway.
struct BatchNormCandidate {
  BatchNormTrainOp batchNorm;
  LateReads late;
  int64_t bytes;
};

/// The candidates among `batchNorms` (in program order), largest result
/// first, ties in program order.
SmallVector<BatchNormCandidate>
findBatchNormCandidates(ArrayRef<BatchNormTrainOp> batchNorms,
                        const llvm::DenseMap<Operation *, int64_t> &position) {
  SmallVector<BatchNormCandidate> candidates;
  for (BatchNormTrainOp batchNorm : batchNorms) {
    std::optional<int64_t> bytes = numBytes(batchNorm.getResult().getType());
    if (!bytes)
      continue;
    Value operands[] = {batchNorm.getInput(), batchNorm.getWeight(),
                        batchNorm.getBias(), batchNorm.getSavedMean(),
                        batchNorm.getSavedInvstd()};
    if (std::optional<LateReads> late =
            findLateReads(batchNorm, batchNorm.getResult(), operands, position))
      candidates.push_back({batchNorm, std::move(*late), *bytes});
  }
  llvm::stable_sort(
      candidates, [](const BatchNormCandidate &a, const BatchNormCandidate &b) {
        return a.bytes > b.bytes;
      });
  return candidates;
}

/// var.batch_norm_apply of `batchNorm` right before its first late reader.
void rematerialize(BatchNormTrainOp batchNorm, const LateReads &late) {
  OpBuilder builder(late.firstLate);
  auto apply = builder.create<BatchNormApplyOp>(
      batchNorm.getLoc(), batchNorm.getInput(), batchNorm.getWeight(),
      batchNorm.getBias(), batchNorm.getSavedMean(), batchNorm.getSavedInvstd(),
      batchNorm.getChannelsLastAttr(), batchNorm.getActivationAttr());
  readCopy(batchNorm.getResult(), apply, late);
}

/// Positions of the ops of `body`, in program order.
llvm::DenseMap<Operation *, int64_t> positionsOf(Block &body) {
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t next = 0;
  for (Operation &op : body)
    position[&op] = next++;
  return position;
}

struct RematerializePass : impl::RematerializeBase<RematerializePass> {
  using RematerializeBase::RematerializeBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      Block &body = func.getBody().front();
      // Positions are taken once: a copy sits right before a read that a
      // later multiply never shares, so earlier copies do not reorder reads.
      llvm::DenseMap<Operation *, int64_t> position = positionsOf(body);
      for (auto mul : llvm::to_vector(body.getOps<MulOp>()))
        if (rematerialize(mul, position, minBytes))
          ++numRematerialized;
      if (batchNorms <= 0)
        continue;
      // After the products, whose copies may read a batch norm's result
      // late and then read its copy too; positions again, with them.
      position = positionsOf(body);
      SmallVector<BatchNormCandidate> candidates = findBatchNormCandidates(
          llvm::to_vector(body.getOps<BatchNormTrainOp>()), position);
      for (const BatchNormCandidate &candidate :
           ArrayRef(candidates).take_front(batchNorms)) {
        rematerialize(candidate.batchNorm, candidate.late);
        ++numBatchNormsRecomputed;
      }
    }
  }
};

} // namespace

} // namespace var
