// --var-zero: ZeRO partitioning of a training step. Parameters go into flat
// buckets (the layout comes from runtime/plan, the code the runtime sizes its
// buffers with), gradients are packed and reduced per bucket, updates run per
// bucket on the rank's shard, and at stage 3 parameter buckets are gathered
// before use and released after.
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"
#include "runtime/plan/BucketLayout.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>
#include <numeric>

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_ZERO
#include "compiler/Transforms/Passes.h.inc"

namespace {

/// A trainable parameter the step updates, with where the step reads it.
struct ParamUse {
  ParamOp param;
  Operation *update = nullptr;
  SmallVector<GetParamOp> reads;
  Type computeType;
  int64_t firstRead = 0;
};

/// A bucket being built: its parameters in order and its update op.
struct BucketInfo {
  dist::BucketOp op;
  SmallVector<ParamUse *> params;
  SmallVector<int64_t> offsets; // from plan::BucketLayout
  int64_t numel = 0;
  Value reduced; // the packed gradient after all-reduce / reduce-scatter
};

LogicalResult checkConfig(ModuleOp module, const ZeroConfig &c) {
  if (c.stage < 0 || c.stage > 3)
    return module.emitError("ZeRO stage must be 0, 1, 2 or 3, got ") << c.stage;
  if (!std::isfinite(c.bucketMB) || c.bucketMB <= 0.0 ||
      c.bucketMB * 1048576.0 > 1e15)
    return module.emitError("bucket size must be a positive number of MiB "
                            "(at most 1e9), got ")
           << c.bucketMB;
  if (c.prefetchBuckets < 0)
    return module.emitError("prefetch-buckets must be 0 or more, got ")
           << c.prefetchBuckets;
  if (!std::isfinite(c.clipGradNorm) || c.clipGradNorm < 0.0)
    return module.emitError("clip-grad-norm must be 0 (off) or positive, got ")
           << c.clipGradNorm;
  if (c.gradAccum < 1)
    return module.emitError("grad-accum must be at least 1, got ")
           << c.gradAccum;
  if (c.offloadOptimizer && c.stage == 0)
    return module.emitError("optimizer offload needs ZeRO stage 1, 2 or 3 "
                            "(stage 0 keeps no optimizer shard to offload)");
  if (c.offloadParams && c.stage != 3)
    return module.emitError("parameter offload needs ZeRO stage 3 (only "
                            "stage 3 shards parameters), got stage ")
           << c.stage;
  return success();
}

/// Hyperparameters of an update op, without its operands and symbols, so
/// that the updates of one bucket can be compared.
DictionaryAttr hyperparameters(Operation *update) {
  NamedAttrList attrs;
  for (NamedAttribute attr : update->getAttrs())
    if (!llvm::isa<FlatSymbolRefAttr>(attr.getValue()))
      attrs.push_back(attr);
  return attrs.getDictionary(update->getContext());
}

/// The state keys a bucket keeps for the updates of `update`'s kind.
SmallVector<StringRef> stateKeys(Operation *update) {
  if (llvm::isa<AdamWUpdateOp>(update))
    return {"exp_avg", "exp_avg_sq"};
  if (llvm::cast<SGDUpdateOp>(update).getMomentum().convertToDouble() != 0.0)
    return {"momentum_buffer"};
  return {};
}

class Partitioner {
public:
  Partitioner(ModuleOp module, func::FuncOp step, const ZeroConfig &config)
      : module(module), step(step), config(config), table(module) {}

  LogicalResult run();

private:
  LogicalResult collect();
  LogicalResult buildBuckets();
  void packGradients();
  LogicalResult emitUpdates();
  void gatherParameters();
  /// Gathers each bucket of `order` before the first use, in the ops that
  /// `inRegion` accepts, of the reads `readsOf` gives, `prefetchBuckets`
  /// buckets ahead, and releases it after the last.
  void gatherRegion(
      ArrayRef<BucketInfo *> order,
      llvm::function_ref<SmallVector<GetParamOp>(BucketInfo *)> readsOf,
      llvm::function_ref<bool(Operation *)> inRegion,
      const llvm::DenseMap<Operation *, int64_t> &positionOf);
  LogicalResult buildAccumulateStep();

  int64_t position(Operation *op) const { return positions.lookup(op); }

  ModuleOp module;
  func::FuncOp step;
  const ZeroConfig &config;
  SymbolTable table;
  llvm::DenseMap<Operation *, int64_t> positions;
  llvm::MapVector<StringRef, ParamUse> params;
  std::vector<BucketInfo> buckets;
  int64_t lossPosition = 0;
};

LogicalResult Partitioner::collect() {
  Block &body = step.getBody().front();
  int64_t index = 0;
  for (Operation &op : body)
    positions[&op] = index++;
  if (!module.getOps<dist::BucketOp>().empty())
    return step.emitError("the module is already partitioned (it has "
                          "dist.bucket ops)");

  Operation *loss = nullptr;
  for (Operation &op : body) {
    if (!loss && llvm::isa<SoftmaxCrossEntropyOp>(op))
      loss = &op;
    if (!llvm::isa<AdamWUpdateOp, SGDUpdateOp>(op))
      continue;
    auto name = op.getAttrOfType<FlatSymbolRefAttr>("param");
    auto param = table.lookup<ParamOp>(name.getValue());
    ParamUse &use = params[param.getSymName()];
    if (use.update)
      return op.emitOpError("is the second update of parameter ") << name;
    use.param = param;
    use.update = &op;
  }
  if (params.empty())
    return step.emitError("the training step has no optimizer updates; run "
                          "--var-optimizer before --var-zero");
  if (!loss)
    return step.emitError("the training step has no "
                          "var.softmax_cross_entropy loss");
  lossPosition = position(loss);

  for (Operation &op : body) {
    auto read = llvm::dyn_cast<GetParamOp>(op);
    if (!read)
      continue;
    auto it = params.find(read.getName());
    if (it == params.end())
      continue; // a buffer, replicated on every rank
    ParamUse &use = it->second;
    Type type = read.getType().getElementType();
    if (use.reads.empty()) {
      use.computeType = type;
      use.firstRead = position(read);
    } else if (type != use.computeType) {
      return read.emitOpError("reads parameter @")
             << read.getName() << " as " << type << " but an earlier read "
             << "uses " << use.computeType << "; a bucket has one compute type";
    }
    use.reads.push_back(read);
  }
  for (auto &[name, use] : params)
    if (use.reads.empty())
      return use.update->emitOpError("updates parameter @")
             << name << ", which the step never reads";
  return success();
}

LogicalResult Partitioner::buildBuckets() {
  // One bucket sequence per compute type, each in execution order.
  llvm::MapVector<Type, SmallVector<ParamUse *>> groups;
  SmallVector<ParamUse *> ordered;
  for (auto &entry : params)
    ordered.push_back(&entry.second);
  llvm::stable_sort(ordered, [](ParamUse *a, ParamUse *b) {
    return a->firstRead < b->firstRead;
  });
  for (ParamUse *use : ordered)
    groups[use->computeType].push_back(use);

  auto capacity = static_cast<int64_t>(config.bucketMB * 1048576.0);
  for (auto &[type, group] : groups) {
    std::vector<plan::ParamSpec> specs;
    for (ParamUse *use : group)
      specs.push_back({use->param.getSymName().str(),
                       *numElements(use->param.getTensorType())});
    int64_t elementBytes = type.getIntOrFloatBitWidth() / 8;
    plan::Expected<plan::BucketLayout> layout =
        plan::BucketLayout::build(specs, capacity, elementBytes);
    if (!layout)
      return step.emitError("cannot lay out buckets: ") << layout.error();
    size_t next = 0;
    for (const plan::Bucket &bucket : layout->getBuckets()) {
      BucketInfo info;
      for (const plan::BucketParam &param : bucket.params) {
        info.params.push_back(group[next++]);
        info.offsets.push_back(param.offset);
      }
      info.numel = bucket.numel;
      buckets.push_back(std::move(info));
    }
  }
  llvm::stable_sort(buckets, [](const BucketInfo &a, const BucketInfo &b) {
    return a.params.front()->firstRead < b.params.front()->firstRead;
  });

  // Buckets go with the parameters, before the first function.
  OpBuilder builder(module.getContext());
  builder.setInsertionPoint(*module.getOps<func::FuncOp>().begin());
  for (auto [index, info] : llvm::enumerate(buckets)) {
    Operation *first = info.params.front()->update;
    DictionaryAttr hyper = hyperparameters(first);
    SmallVector<Attribute> names;
    for (ParamUse *use : info.params) {
      if (hyperparameters(use->update) != hyper ||
          use->update->getName() != first->getName())
        return use->update->emitOpError("differs in optimizer or "
                                        "hyperparameters from the update of "
                                        "@")
               << info.params.front()->param.getSymName()
               << " in the same bucket";
      names.push_back(FlatSymbolRefAttr::get(use->param.getSymNameAttr()));
    }
    std::string name = "bucket" + std::to_string(index);
    if (table.lookup(name))
      return step.emitError("bucket @")
             << name << " would clash with an existing symbol";
    SmallVector<Attribute> keys;
    for (StringRef key : stateKeys(first))
      keys.push_back(builder.getStringAttr(key));
    info.op = builder.create<dist::BucketOp>(
        step.getLoc(), builder.getStringAttr(name), builder.getArrayAttr(names),
        builder.getDenseI64ArrayAttr(info.offsets),
        builder.getI64IntegerAttr(info.numel), builder.getArrayAttr(keys),
        TypeAttr::get(info.params.front()->computeType));
  }
  return success();
}

/// Gradient of `use` as its update op holds it.
Value gradientOf(ParamUse *use) {
  if (auto adamw = llvm::dyn_cast<AdamWUpdateOp>(use->update))
    return adamw.getGrad();
  return llvm::cast<SGDUpdateOp>(use->update).getGrad();
}

void Partitioner::packGradients() {
  OpBuilder builder(module.getContext());
  for (BucketInfo &info : buckets) {
    SmallVector<Value> grads;
    Value latest;
    for (ParamUse *use : info.params) {
      Value grad = gradientOf(use);
      grads.push_back(grad);
      if (!latest ||
          position(grad.getDefiningOp()) > position(latest.getDefiningOp()))
        latest = grad;
    }
    builder.setInsertionPointAfterValue(latest);
    Location loc = latest.getLoc();
    // Accumulation goes where the gradient persists: the full bucket at
    // stages 0 and 1, the rank's shard from stage 2 on.
    bool accumulate = config.gradAccum > 1;
    UnitAttr packAccumulate =
        accumulate && config.stage <= 1 ? builder.getUnitAttr() : UnitAttr();
    UnitAttr shardAccumulate =
        accumulate && config.stage >= 2 ? builder.getUnitAttr() : UnitAttr();
    auto pack = builder.create<dist::PackOp>(loc, info.op.getFullType(),
                                             FlatSymbolRefAttr::get(info.op),
                                             grads, packAccumulate);
    if (config.stage == 0)
      info.reduced = builder.create<dist::AllReduceOp>(loc, pack);
    else
      info.reduced = builder.create<dist::ReduceScatterOp>(
          loc, info.op.getShardType(), pack, shardAccumulate);
    // From stage 2 on, the full gradient is staging: freed once scattered.
    if (config.stage >= 2)
      builder.create<dist::ReleaseOp>(loc, pack);
  }
}

LogicalResult Partitioner::emitUpdates() {
  // Buckets update in the order their gradients were reduced.
  SmallVector<BucketInfo *> order;
  for (BucketInfo &info : buckets)
    order.push_back(&info);
  llvm::stable_sort(order, [](BucketInfo *a, BucketInfo *b) {
    return a->reduced.getDefiningOp()->isBeforeInBlock(
        b->reduced.getDefiningOp());
  });

  OpBuilder builder(module.getContext());
  builder.setInsertionPoint(step.getBody().front().getTerminator());
  // Global-norm clipping: every rank sums the squares of the gradients it
  // holds, the ranks' parts are added (from stage 1 on, where each holds a
  // shard), and every update scales by the same coefficient.
  Value clip;
  if (config.clipGradNorm > 0.0) {
    SmallVector<Value> reduced;
    for (BucketInfo *info : order)
      reduced.push_back(info->reduced);
    Location loc = step.getLoc();
    clip = builder.create<dist::SumSquaresOp>(loc, reduced);
    if (config.stage >= 1)
      clip =
          builder.create<dist::AllReduceOp>(loc, clip, builder.getUnitAttr());
    clip = builder.create<dist::ClipCoefficientOp>(
        loc, clip, builder.getF64FloatAttr(config.clipGradNorm));
    if (config.offloadOptimizer)
      clip = builder.create<dist::ToHostOp>(loc, clip);
  }
  for (BucketInfo *info : order) {
    Operation *first = info->params.front()->update;
    Location loc = first->getLoc();
    auto bucket = FlatSymbolRefAttr::get(info->op);
    Value grad = info->reduced;
    if (config.offloadOptimizer)
      grad = builder.create<dist::ToHostOp>(loc, grad);
    auto gradType = llvm::cast<RankedTensorType>(grad.getType());
    auto masterType =
        RankedTensorType::get(gradType.getShape(), builder.getF32Type());
    UnitAttr onHost =
        config.offloadOptimizer ? builder.getUnitAttr() : UnitAttr();
    Value master;
    if (auto adamw = llvm::dyn_cast<AdamWUpdateOp>(first)) {
      master = builder.create<dist::AdamWUpdateOp>(
          loc, masterType, bucket, grad, adamw.getLr(), adamw.getStep(), clip,
          adamw.getBeta1Attr(), adamw.getBeta2Attr(), adamw.getEpsAttr(),
          adamw.getWeightDecayAttr(), onHost);
    } else {
      auto sgd = llvm::cast<SGDUpdateOp>(first);
      master = builder.create<dist::SGDUpdateOp>(
          loc, masterType, bucket, grad, sgd.getLr(), sgd.getStep(), clip,
          sgd.getMomentumAttr(), sgd.getDampeningAttr(),
          sgd.getWeightDecayAttr(), sgd.getNesterovAttr(), onHost);
    }
    // The compute copy: an explicit cast where the master is wider.
    Value copy = master;
    Type computeType = info->op.getElementType();
    if (computeType != masterType.getElementType())
      copy = builder.create<CastOp>(loc, master, computeType);
    // Where the compute copy lives: device, except stage 3 with offloaded
    // parameters, whose shards stay on the host.
    bool copyOnHost = config.offloadOptimizer;
    bool storeOnHost = config.offloadParams;
    if (copyOnHost && !storeOnHost)
      copy = builder.create<dist::ToDeviceOp>(loc, copy);
    else if (!copyOnHost && storeOnHost)
      copy = builder.create<dist::ToHostOp>(loc, copy);
    if (config.stage == 1 || config.stage == 2)
      copy =
          builder.create<dist::AllGatherOp>(loc, info->op.getFullType(), copy);
    builder.create<dist::StoreParamsOp>(loc, bucket, copy);
  }
  for (auto &[name, use] : params)
    use.update->erase();
  for (auto state :
       llvm::make_early_inc_range(module.getOps<OptimizerStateOp>()))
    if (params.count(state.getParam()))
      state.erase();
  return success();
}

void Partitioner::gatherRegion(
    ArrayRef<BucketInfo *> order,
    llvm::function_ref<SmallVector<GetParamOp>(BucketInfo *)> readsOf,
    llvm::function_ref<bool(Operation *)> inRegion,
    const llvm::DenseMap<Operation *, int64_t> &positionOf) {
  auto position = [&](Operation *op) { return positionOf.lookup(op); };
  // Per bucket: the uses of its parameters in this region, first and last.
  struct Region {
    SmallVector<OpOperand *> uses;
    Operation *first = nullptr;
    Operation *last = nullptr;
  };
  SmallVector<BucketInfo *> active;
  SmallVector<Region> regions;
  for (BucketInfo *info : order) {
    Region region;
    for (GetParamOp read : readsOf(info))
      for (OpOperand &operand : read->getUses()) {
        Operation *user = operand.getOwner();
        if (!inRegion(user))
          continue;
        region.uses.push_back(&operand);
        if (!region.first || position(user) < position(region.first))
          region.first = user;
        if (!region.last || position(user) > position(region.last))
          region.last = user;
      }
    if (!region.uses.empty()) {
      active.push_back(info);
      regions.push_back(std::move(region));
    }
  }
  // Execution order of the region, then gathers `prefetch` buckets ahead.
  SmallVector<size_t> byFirst(active.size());
  std::iota(byFirst.begin(), byFirst.end(), 0);
  llvm::stable_sort(byFirst, [&](size_t a, size_t b) {
    return position(regions[a].first) < position(regions[b].first);
  });
  OpBuilder builder(module.getContext());
  for (auto [rank, index] : llvm::enumerate(byFirst)) {
    BucketInfo *info = active[index];
    Region &region = regions[index];
    size_t ahead = rank > static_cast<size_t>(config.prefetchBuckets)
                       ? rank - config.prefetchBuckets
                       : 0;
    builder.setInsertionPoint(regions[byFirst[ahead]].first);
    Location loc = region.first->getLoc();
    auto bucket = FlatSymbolRefAttr::get(info->op);
    Value shard = builder.create<dist::LoadParamsOp>(
        loc, info->op.getShardType(), bucket);
    if (config.offloadParams)
      shard = builder.create<dist::ToDeviceOp>(loc, shard);
    Value full =
        builder.create<dist::AllGatherOp>(loc, info->op.getFullType(), shard);
    llvm::DenseMap<Attribute, Value> views;
    for (OpOperand *operand : region.uses) {
      auto read = llvm::cast<GetParamOp>(operand->get().getDefiningOp());
      Value &view = views[read.getNameAttr()];
      if (!view)
        view = builder.create<dist::UnpackOp>(loc, read.getType(), bucket,
                                              read.getNameAttr(), full);
      operand->set(view);
    }
    OpBuilder after(region.last->getContext());
    after.setInsertionPointAfter(region.last);
    after.create<dist::ReleaseOp>(loc, full);
  }
}

void Partitioner::gatherParameters() {
  SmallVector<BucketInfo *> order;
  for (BucketInfo &info : buckets)
    order.push_back(&info);
  auto stepReads = [](BucketInfo *info) {
    SmallVector<GetParamOp> reads;
    for (ParamUse *use : info->params)
      llvm::append_range(reads, use->reads);
    return reads;
  };
  gatherRegion(
      order, stepReads,
      [&](Operation *user) { return position(user) < lossPosition; },
      positions);
  gatherRegion(
      order, stepReads,
      [&](Operation *user) { return position(user) > lossPosition; },
      positions);
  for (auto &[name, use] : params)
    for (GetParamOp read : use.reads)
      if (read->use_empty())
        read->erase();

  // Every other function that reads parameters (the evaluation forward)
  // gathers them the same way: no rank holds them whole any more.
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func == step || func.isExternal())
      continue;
    llvm::DenseMap<Operation *, int64_t> funcPositions;
    llvm::DenseMap<BucketInfo *, SmallVector<GetParamOp>> funcReads;
    int64_t index = 0;
    for (Operation &op : func.getBody().front()) {
      funcPositions[&op] = index++;
      auto read = llvm::dyn_cast<GetParamOp>(op);
      if (!read)
        continue;
      for (BucketInfo &info : buckets)
        if (info.op.indexOf(read.getNameAttr()) >= 0)
          funcReads[&info].push_back(read);
    }
    if (funcReads.empty())
      continue;
    gatherRegion(
        order, [&](BucketInfo *info) { return funcReads.lookup(info); },
        [](Operation *) { return true; }, funcPositions);
    for (auto &[info, reads] : funcReads)
      for (GetParamOp read : reads)
        if (read->use_empty())
          read->erase();
  }
}

/// Erases `op` after everything that uses its results, recursively.
void eraseWithUsers(Operation *op) {
  for (Value result : op->getResults())
    for (Operation *user : llvm::make_early_inc_range(result.getUsers()))
      eraseWithUsers(user);
  op->erase();
}

LogicalResult Partitioner::buildAccumulateStep() {
  StringRef name = "accumulate_step";
  if (table.lookup(name))
    return step.emitError("cannot build @")
           << name << " for gradient accumulation: the symbol exists";
  auto micro = llvm::cast<func::FuncOp>(step->clone());
  micro.setName(name);
  table.insert(micro, std::next(Block::iterator(step)));

  // No update: drop each one with what follows from it (casts, copies,
  // gathers, stores), then the communication that only fed it.
  SmallVector<Operation *> updates;
  micro.walk([&](Operation *op) {
    if (llvm::isa<dist::AdamWUpdateOp, dist::SGDUpdateOp>(op))
      updates.push_back(op);
  });
  for (Operation *update : updates)
    eraseWithUsers(update);
  Block &body = micro.getBody().front();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
    auto scatter = llvm::dyn_cast<dist::ReduceScatterOp>(op);
    bool feedsOnlyUpdate =
        llvm::isa<dist::ToHostOp, dist::AllReduceOp, dist::SumSquaresOp,
                  dist::ClipCoefficientOp>(op) ||
        (scatter && !scatter.getAccumulate());
    if (feedsOnlyUpdate && op.use_empty())
      op.erase();
  }
  // The learning rate and step count only matter to updates.
  llvm::BitVector unused(micro.getNumArguments());
  for (BlockArgument arg : micro.getArguments())
    if (arg.use_empty() && micro.getArgAttr(arg.getArgNumber(), kRoleAttr))
      unused.set(arg.getArgNumber());
  (void)micro.eraseArguments(unused);
  return success();
}

LogicalResult Partitioner::run() {
  if (failed(checkConfig(module, config)) || failed(collect()) ||
      failed(buildBuckets()))
    return failure();
  packGradients();
  if (failed(emitUpdates()))
    return failure();
  if (config.stage == 3)
    gatherParameters();
  if (config.gradAccum > 1 && failed(buildAccumulateStep()))
    return failure();
  Builder builder(module.getContext());
  module->setAttr("dist.zero_stage", builder.getI64IntegerAttr(config.stage));
  module->setAttr("dist.bucket_mb", builder.getF64FloatAttr(config.bucketMB));
  module->setAttr("dist.prefetch_buckets",
                  builder.getI64IntegerAttr(config.prefetchBuckets));
  module->setAttr("dist.offload_optimizer",
                  builder.getBoolAttr(config.offloadOptimizer));
  module->setAttr("dist.offload_params",
                  builder.getBoolAttr(config.offloadParams));
  module->setAttr("dist.clip_grad_norm",
                  builder.getF64FloatAttr(config.clipGradNorm));
  module->setAttr("dist.grad_accum",
                  builder.getI64IntegerAttr(config.gradAccum));
  return success();
}

struct ZeroPass : impl::ZeroBase<ZeroPass> {
  using ZeroBase::ZeroBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto step = module.lookupSymbol<func::FuncOp>(entry);
    if (!step) {
      module.emitError("no training step @")
          << entry << " to partition; run --var-autodiff and --var-optimizer "
          << "first";
      return signalPassFailure();
    }
    ZeroConfig config;
    config.stage = stage;
    config.bucketMB = bucketMB;
    config.prefetchBuckets = prefetchBuckets;
    config.offloadOptimizer = offloadOptimizer;
    config.offloadParams = offloadParams;
    config.gradAccum = gradAccum;
    config.clipGradNorm = clipGradNorm;
    if (failed(partitionZero(module, step, config)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult partitionZero(ModuleOp module, func::FuncOp step,
                            const ZeroConfig &config) {
  return Partitioner(module, step, config).run();
}

} // namespace var
