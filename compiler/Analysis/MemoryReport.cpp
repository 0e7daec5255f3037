// varc --report: per-rank bytes of a partitioned plan, from runtime/plan's
// bucket layout, model-state policy and arena planner.
#include "compiler/Analysis/MemoryReport.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace var {

namespace {

/// Bytes of the non-trainable parameters (batch-norm running statistics),
/// which every rank keeps whole in the step's memory.
int64_t bufferBytes(ModuleOp module) {
  int64_t bytes = 0;
  for (ParamOp param : module.getOps<ParamOp>())
    if (!param.isTrainable())
      bytes += numElements(param.getTensorType()).value_or(0) *
               param.getTensorType().getElementTypeBitWidth() / 8;
  return bytes;
}

/// The arguments of the step that takes the most, each 256-byte aligned:
/// a device run keeps them in an area of their own (exec::Executor::run).
int64_t argumentBytes(ModuleOp module) {
  int64_t most = 0;
  for (auto function : module.getOps<func::FuncOp>()) {
    int64_t total = 0;
    for (Type type : function.getArgumentTypes())
      if (auto tensor = dyn_cast<RankedTensorType>(type))
        total +=
            (numElements(tensor).value_or(0) *
                 static_cast<int64_t>(tensor.getElementTypeBitWidth()) / 8 +
             255) /
            256 * 256;
    most = std::max(most, total);
  }
  return most;
}

} // namespace

FailureOr<MemoryReport> computeMemoryReport(ModuleOp module,
                                            int64_t worldSize) {
  auto stage = module->getAttrOfType<IntegerAttr>("dist.zero_stage");
  auto bucketMB = module->getAttrOfType<FloatAttr>("dist.bucket_mb");
  auto prefetch = module->getAttrOfType<IntegerAttr>("dist.prefetch_buckets");
  auto offloadOptimizer =
      module->getAttrOfType<BoolAttr>("dist.offload_optimizer");
  auto offloadParams = module->getAttrOfType<BoolAttr>("dist.offload_params");
  if (!stage || !bucketMB || !prefetch || !offloadOptimizer || !offloadParams)
    return module.emitError("the module is not partitioned (no dist.* "
                            "attributes); run --var-zero first");
  if (worldSize < 1)
    return module.emitError("world size must be at least 1, got ") << worldSize;

  MemoryReport report;
  report.worldSize = worldSize;
  report.zeroStage = stage.getInt();

  // Model states, per compute type: each sequence of buckets is one layout,
  // rebuilt by the runtime's code and checked against the IR.
  llvm::MapVector<Type, SmallVector<dist::BucketOp>> groups;
  for (dist::BucketOp bucket : module.getOps<dist::BucketOp>())
    groups[bucket.getElementType()].push_back(bucket);
  auto capacity = static_cast<int64_t>(bucketMB.getValueAsDouble() * 1048576.0);
  plan::ModelStatesBytes states;
  for (auto &[type, buckets] : groups) {
    std::vector<plan::ParamSpec> specs;
    for (dist::BucketOp bucket : buckets)
      for (Attribute name : bucket.getParams()) {
        auto param = module.lookupSymbol<ParamOp>(
            llvm::cast<FlatSymbolRefAttr>(name).getValue());
        specs.push_back(
            {param.getSymName().str(), *numElements(param.getTensorType())});
      }
    int64_t elementBytes = type.getIntOrFloatBitWidth() / 8;
    auto layout = plan::BucketLayout::build(specs, capacity, elementBytes);
    if (!layout)
      return module.emitError("cannot lay out buckets: ") << layout.error();
    auto resolved = layout->resolve(worldSize);
    if (!resolved)
      return module.emitError("cannot shard buckets: ") << resolved.error();
    if (resolved->getBuckets().size() != buckets.size())
      return module.emitError("the dist.bucket ops of ")
             << type << " are not the runtime's layout";
    for (auto [bucket, planned] : llvm::zip(buckets, resolved->getBuckets()))
      if (bucket.getNumElements() != planned.numel)
        return bucket.emitOpError("has ")
               << bucket.getNumElements() << " elements, the runtime's layout "
               << planned.numel;

    plan::ModelStatesConfig config;
    config.zeroStage = static_cast<int>(stage.getInt());
    config.precision =
        elementBytes == 2 ? plan::Precision::Bf16Mixed : plan::Precision::Fp32;
    config.stateElementsPerParam =
        static_cast<int64_t>(buckets.front().getState().size());
    config.offloadOptimizer = offloadOptimizer.getValue();
    config.offloadParams = offloadParams.getValue();
    config.prefetchBuckets = prefetch.getInt();
    auto bytes = plan::modelStatesBytes(*resolved, config);
    if (!bytes)
      return module.emitError("cannot size model states: ") << bytes.error();
    states.parameters = states.parameters + bytes->parameters;
    states.gradients = states.gradients + bytes->gradients;
    states.optimizerState = states.optimizerState + bytes->optimizerState;
    states.communicationBuffers =
        states.communicationBuffers + bytes->communicationBuffers;
    report.buckets += static_cast<int64_t>(buckets.size());
    report.parameterCount += resolved->getTotalParamNumel();
    report.paddedParameterCount += resolved->getTotalPaddedNumel();
  }
  if (groups.empty())
    return module.emitError("the plan has no buckets: nothing is trained");

  // The arena of the largest step, as --var-plan-memory planned it.
  int64_t arena = 0;
  for (auto step : module.getOps<func::FuncOp>()) {
    if (step.getName() != "train_step" && step.getName() != "accumulate_step")
      continue;
    auto bytes = step->getAttrOfType<IntegerAttr>(kArenaBytesAttr);
    if (!bytes)
      return step.emitError("the step has no planned arena; run "
                            "--var-plan-memory first");
    arena = std::max(arena, bytes.getInt());
  }
  report.parameters = states.parameters;
  report.gradients = states.gradients;
  report.optimizerState = states.optimizerState;
  report.communicationBuffers = states.communicationBuffers;
  report.peakActivations = {arena + bufferBytes(module) + argumentBytes(module),
                            0};
  report.total = report.parameters + report.gradients + report.optimizerState +
                 report.peakActivations + report.communicationBuffers;
  return report;
}

void printMemoryReportJson(const MemoryReport &report, llvm::StringRef source,
                           llvm::raw_ostream &os) {
  auto space = [&](int64_t plan::SpaceBytes::*field) {
    return llvm::json::Object{
        {"parameters", report.parameters.*field},
        {"gradients", report.gradients.*field},
        {"optimizer_state", report.optimizerState.*field},
        {"peak_activations", report.peakActivations.*field},
        {"communication_buffers", report.communicationBuffers.*field},
        {"total", report.total.*field},
    };
  };
  llvm::json::Array ranks;
  for (int64_t rank = 0; rank < report.worldSize; ++rank)
    ranks.push_back(llvm::json::Object{
        {"rank", rank},
        {"device", space(&plan::SpaceBytes::device)},
        {"host", space(&plan::SpaceBytes::host)},
    });
  llvm::json::Object root{
      {"model", source},
      {"world_size", report.worldSize},
      {"zero_stage", report.zeroStage},
      {"buckets", report.buckets},
      {"parameter_count", report.parameterCount},
      {"padded_parameter_count", report.paddedParameterCount},
      {"unit", "bytes"},
      {"ranks", std::move(ranks)},
  };
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

} // namespace var
