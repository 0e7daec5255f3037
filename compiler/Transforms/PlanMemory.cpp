// --var-plan-memory: static offsets for every value a step keeps in its
// arena, from runtime/plan's liveness planner; the same numbers give varc's
// peak-activation bytes.
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"
#include "runtime/plan/MemoryPlanner.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_PLANMEMORY
#include "compiler/Transforms/Passes.h.inc"

// Everything else is a view of, or is written straight into, a buffer that
// the model-state policy counts: parameters (get_param, unpack, load_params,
// the cast of an updated master), gradient buffers and shards (pack and the
// collectives), gathered buckets (all_gather), the master (updates) and
// pinned state (host<->device copies).
bool occupiesArena(Value value) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return true; // a step input
  if (llvm::isa<GetParamOp, dist::UnpackOp, dist::LoadParamsOp, dist::PackOp,
                dist::AllReduceOp, dist::ReduceScatterOp, dist::AllGatherOp,
                dist::AdamWUpdateOp, dist::SGDUpdateOp, dist::ToHostOp,
                dist::ToDeviceOp>(def))
    return false;
  if (auto cast = llvm::dyn_cast<CastOp>(def))
    if (Operation *source = cast.getInput().getDefiningOp())
      return !llvm::isa<dist::AdamWUpdateOp, dist::SGDUpdateOp>(source);
  return true;
}

namespace {

StringRef streamOf(Operation *op) {
  auto stream = op->getAttrOfType<StringAttr>(dist::kStreamAttr);
  return stream ? stream.getValue() : "compute";
}

LogicalResult planFunction(func::FuncOp func) {
  if (func.isExternal())
    return success();
  Block &body = func.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t end = 1; // 0 is the entry, where the inputs arrive
  for (Operation &op : body)
    position[&op] = end++;

  std::vector<plan::BufferLifetime> buffers;
  SmallVector<Value> arenaValues; // buffers[i] holds arenaValues[i]
  SmallVector<Value> values;
  for (BlockArgument arg : body.getArguments())
    values.push_back(arg);
  for (Operation &op : body)
    llvm::append_range(values, op.getResults());
  for (Value value : values) {
    if (!occupiesArena(value))
      continue;
    auto type = llvm::cast<RankedTensorType>(value.getType());
    std::optional<int64_t> elements = numElements(type);
    if (!elements)
      return func.emitError("value of type ")
             << type << " has no static size; specialize the batch first";
    Operation *def = value.getDefiningOp();
    int64_t first = def ? position[def] : 0;
    StringRef stream = def ? streamOf(def) : "compute";
    int64_t last = first;
    for (Operation *user : value.getUsers()) {
      // Read on another stream: program order says nothing about when that
      // read ends, so the value lives to the end of the step.
      last = streamOf(user) == stream ? std::max(last, position[user]) : end;
    }
    int64_t bytes =
        *elements * ((type.getElementType().getIntOrFloatBitWidth() + 7) / 8);
    buffers.push_back(
        {static_cast<int64_t>(buffers.size()), bytes, first, last});
    arenaValues.push_back(value);
  }
  plan::Expected<plan::ArenaPlan> arena = plan::planArena(buffers);
  if (!arena)
    return func.emitError("cannot plan the arena: ") << arena.error();

  Builder builder(func.getContext());
  for (auto [index, value] : llvm::enumerate(arenaValues)) {
    IntegerAttr offset = builder.getI64IntegerAttr(arena->offsets[index]);
    if (auto arg = llvm::dyn_cast<BlockArgument>(value)) {
      func.setArgAttr(arg.getArgNumber(), kArgOffsetAttr, offset);
      continue;
    }
    Operation *def = value.getDefiningOp();
    SmallVector<Attribute> offsets(def->getNumResults(),
                                   builder.getI64IntegerAttr(-1));
    if (auto existing = def->getAttrOfType<ArrayAttr>(kOffsetAttr))
      offsets.assign(existing.begin(), existing.end());
    offsets[llvm::cast<OpResult>(value).getResultNumber()] = offset;
    def->setAttr(kOffsetAttr, builder.getArrayAttr(offsets));
  }
  func->setAttr(kArenaBytesAttr, builder.getI64IntegerAttr(arena->arenaBytes));
  return success();
}

struct PlanMemoryPass : impl::PlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(planFunction(func)))
        return signalPassFailure();
  }
};

} // namespace

} // namespace var
