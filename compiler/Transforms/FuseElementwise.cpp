// --var-fuse-elementwise: groups chains of elementwise ops into
// var.fused_elementwise ops, so that each chain is one kernel and its
// intermediates are never stored.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// The groups of one block, found in one walk in program order.
class ElementwiseGrouping {
public:
  explicit ElementwiseGrouping(Block &block) : block(block) {}

  /// Assigns every fusible op of the block to a group.
  void run();
  /// The groups of two or more ops, each in program order.
  SmallVector<SmallVector<Operation *>> getFusibleGroups();

private:
  /// Whether `op` may join the group of `leader`: no value of the group has
  /// a user outside it (other than `op`) earlier in the block than `op`.
  bool canJoin(Operation *leader, Operation *op);
  /// The operands the group of `leaders` plus `op` would read from outside.
  size_t countInputs(ArrayRef<Operation *> leaders, Operation *op);
  SmallVector<Operation *> membersOf(Operation *leader);
  bool isGrouped(Operation *op) { return groups.findValue(op) != groups.end(); }
  bool sameGroup(Operation *a, Operation *b) {
    return isGrouped(a) && isGrouped(b) && groups.isEquivalent(a, b);
  }

  Block &block;
  llvm::EquivalenceClasses<Operation *> groups;
  /// The program order of the ops grouped so far.
  SmallVector<Operation *> grouped;
};

/// The static result shape of a fusible op with one ranked result, or
/// nullopt for an op that cannot fuse.
std::optional<ArrayRef<int64_t>> fusibleShape(Operation *op) {
  if (!isa<FusibleElementwiseOpInterface>(op) || op->getNumResults() != 1)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  return type.getShape();
}

SmallVector<Operation *> ElementwiseGrouping::membersOf(Operation *leader) {
  return SmallVector<Operation *>(groups.findLeader(leader),
                                  groups.member_end());
}

bool ElementwiseGrouping::canJoin(Operation *leader, Operation *op) {
  for (Operation *member : membersOf(leader))
    for (Operation *user : member->getResult(0).getUsers()) {
      if (user == op || sameGroup(user, member))
        continue;
      if (user->getBlock() != &block || user->isBeforeInBlock(op))
        return false;
    }
  return true;
}

size_t ElementwiseGrouping::countInputs(ArrayRef<Operation *> leaders,
                                        Operation *op) {
  SmallPtrSet<Operation *, 32> members = {op};
  for (Operation *leader : leaders)
    for (Operation *member : membersOf(leader))
      members.insert(member);
  llvm::SmallPtrSet<Value, 16> inputs;
  for (Operation *member : members)
    for (Value operand : member->getOperands())
      if (!members.contains(operand.getDefiningOp()))
        inputs.insert(operand);
  return inputs.size();
}

void ElementwiseGrouping::run() {
  for (Operation &op : block) {
    std::optional<ArrayRef<int64_t>> shape = fusibleShape(&op);
    if (!shape)
      continue;
    // The groups of the operands that this op can extend, within the limits.
    SmallVector<Operation *> leaders;
    size_t steps = 1;
    for (Value operand : op.getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def || !isGrouped(def) ||
          llvm::any_of(leaders,
                       [&](Operation *l) { return sameGroup(l, def); }) ||
          *fusibleShape(def) != *shape || !canJoin(def, &op))
        continue;
      size_t size = membersOf(def).size();
      SmallVector<Operation *> extended = leaders;
      extended.push_back(def);
      if (steps + size > static_cast<size_t>(fused::kMaxSteps) ||
          countInputs(extended, &op) > static_cast<size_t>(fused::kMaxInputs))
        continue;
      steps += size;
      leaders = std::move(extended);
    }
    groups.insert(&op);
    for (Operation *leader : leaders)
      groups.unionSets(leader, &op);
    grouped.push_back(&op);
  }
}

SmallVector<SmallVector<Operation *>> ElementwiseGrouping::getFusibleGroups() {
  llvm::MapVector<Operation *, SmallVector<Operation *>> byLeader;
  for (Operation *op : grouped)
    byLeader[groups.getLeaderValue(op)].push_back(op);
  SmallVector<SmallVector<Operation *>> result;
  for (auto &[leader, members] : byLeader)
    if (members.size() > 1)
      result.push_back(std::move(members));
  return result;
}

/// Replaces `members` (program order) by one var.fused_elementwise at the
/// place of the last member.
void fuseGroup(ArrayRef<Operation *> members) {
  SmallPtrSet<Operation *, 32> memberSet(members.begin(), members.end());
  llvm::DenseMap<Operation *, int64_t> stepOf;
  SmallVector<Value> inputs;
  llvm::DenseMap<Value, int64_t> inputIndex;
  for (auto [step, member] : llvm::enumerate(members)) {
    stepOf[member] = static_cast<int64_t>(step);
    for (Value operand : member->getOperands())
      if (!memberSet.contains(operand.getDefiningOp()) &&
          inputIndex.try_emplace(operand, inputs.size()).second)
        inputs.push_back(operand);
  }

  auto numInputs = static_cast<int64_t>(inputs.size());
  SmallVector<Attribute> steps;
  SmallVector<int64_t> args, returns;
  SmallVector<double> probabilities;
  SmallVector<int64_t> keys;
  SmallVector<Type> resultTypes;
  SmallVector<Location> locations;
  OpBuilder builder(members.back());
  for (auto [step, member] : llvm::enumerate(members)) {
    fused::FusedStep fusedStep =
        cast<FusibleElementwiseOpInterface>(member).getFusedStep();
    const fused::OpcodeInfo &info = fused::getInfo(fusedStep.opcode);
    assert(static_cast<int>(member->getNumOperands()) == info.arity &&
           "a fusible op's operands are its step's inputs");
    steps.push_back(builder.getStringAttr(info.name));
    for (Value operand : member->getOperands()) {
      Operation *def = operand.getDefiningOp();
      args.push_back(memberSet.contains(def) ? numInputs + stepOf[def]
                                             : inputIndex[operand]);
    }
    if (fused::isDropout(fusedStep.opcode)) {
      probabilities.push_back(fusedStep.p);
      keys.push_back(fusedStep.key);
    }
    Value value = member->getResult(0);
    if (llvm::any_of(
            value.getUsers(),
            [&](Operation *user) { return !memberSet.contains(user); }) ||
        (member == members.back() && returns.empty())) {
      returns.push_back(static_cast<int64_t>(step));
      resultTypes.push_back(value.getType());
    }
    locations.push_back(member->getLoc());
  }

  auto fusedOp = builder.create<FusedElementwiseOp>(
      builder.getFusedLoc(locations), resultTypes, inputs,
      builder.getArrayAttr(steps), builder.getDenseI64ArrayAttr(args),
      builder.getDenseI64ArrayAttr(returns),
      probabilities.empty() ? DenseF64ArrayAttr()
                            : builder.getDenseF64ArrayAttr(probabilities),
      keys.empty() ? DenseI64ArrayAttr() : builder.getDenseI64ArrayAttr(keys));
  for (auto [result, step] : llvm::enumerate(returns))
    members[step]->getResult(0).replaceUsesWithIf(
        fusedOp.getResult(result),
        [&](OpOperand &use) { return !memberSet.contains(use.getOwner()); });
  for (Operation *member : llvm::reverse(members))
    member->erase();
}

struct FuseElementwisePass : impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      numFused += fuseElementwise(func);
  }
};

} // namespace

int64_t fuseElementwise(func::FuncOp func) {
  int64_t removed = 0;
  for (Block &block : func.getBody()) {
    ElementwiseGrouping grouping(block);
    grouping.run();
    for (const SmallVector<Operation *> &members :
         grouping.getFusibleGroups()) {
      fuseGroup(members);
      removed += static_cast<int64_t>(members.size()) - 1;
    }
  }
  return removed;
}

} // namespace var
