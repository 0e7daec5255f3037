// --var-rematerialize: a multiply whose result the backward reads long after
// the forward is copied to those reads, so that the arena need not keep the
// result across the step's peak.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_REMATERIALIZE
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The last position at which `value` is read, or -1 when it is not.
int64_t lastRead(Value value,
                 const llvm::DenseMap<Operation *, int64_t> &position) {
  int64_t last = -1;
  for (Operation *user : value.getUsers())
    last = std::max(last, position.lookup(user));
  return last;
}

/// Copies `mul` right before the reads of its result that follow the widest
/// stretch without one, when both factors are read there or later anyway.
bool rematerialize(MulOp mul,
                   const llvm::DenseMap<Operation *, int64_t> &position,
                   int64_t minBytes) {
  auto type = llvm::cast<RankedTensorType>(mul.getType());
  std::optional<int64_t> elements = numElements(type);
  if (!elements ||
      *elements * ((type.getElementTypeBitWidth() + 7) / 8) < minBytes)
    return false;

  SmallVector<Operation *> readers(mul->getUsers().begin(),
                                   mul->getUsers().end());
  llvm::sort(readers, [&](Operation *a, Operation *b) {
    return position.lookup(a) < position.lookup(b);
  });
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  // The late reads start at `split`; a split at 0 would leave no early read.
  size_t split = 0;
  int64_t widest = 0, previous = position.lookup(mul);
  for (auto [index, reader] : llvm::enumerate(readers)) {
    int64_t gap = position.lookup(reader) - previous;
    if (gap > widest) {
      widest = gap;
      split = index;
    }
    previous = position.lookup(reader);
  }
  if (split == 0)
    return false;

  Operation *firstLate = readers[split];
  for (Value factor : mul->getOperands())
    if (factor.getParentBlock() != mul->getBlock() ||
        lastRead(factor, position) < position.lookup(firstLate))
      return false;

  OpBuilder builder(firstLate);
  Operation *copy = builder.clone(*mul);
  llvm::SmallPtrSet<Operation *, 4> late(readers.begin() + split,
                                         readers.end());
  mul.getResult().replaceUsesWithIf(copy->getResult(0), [&](OpOperand &use) {
    return late.contains(use.getOwner());
  });
  return true;
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
      llvm::DenseMap<Operation *, int64_t> position;
      SmallVector<MulOp> muls;
      int64_t next = 0;
      for (Operation &op : body) {
        position[&op] = next++;
        if (auto mul = llvm::dyn_cast<MulOp>(op))
          muls.push_back(mul);
      }
      for (MulOp mul : muls)
        if (rematerialize(mul, position, minBytes))
          ++numRematerialized;
    }
  }
};

} // namespace

} // namespace var
