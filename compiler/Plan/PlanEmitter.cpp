// Writes a partitioned module as the FlatBuffers plan file. Instructions are
// generic (op name, value ids, symbols, attributes), so a new var or dist op
// needs no change here; what the schema cannot express is a diagnostic.
#include "compiler/Plan/PlanEmitter.h"
#include "compiler/Transforms/Passes.h"

#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"
#include "runtime/plan/PlanFile.h"
#include "runtime/plan/schema/plan_generated.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace fb = var::plan::fb;

using flatbuffers::Offset;

namespace {

/// The argument attribute naming what feeds an argument (var::kRoleAttr in
/// compiler/Transforms/Passes.h).
constexpr llvm::StringLiteral kArgRoleAttr = "var.role";

/// The module attributes the zero pass sets; any other dist.* attribute is
/// configuration the schema has no field for.
constexpr llvm::StringLiteral kZeroStageAttr = "dist.zero_stage";
constexpr llvm::StringLiteral kBucketMBAttr = "dist.bucket_mb";
constexpr llvm::StringLiteral kPrefetchAttr = "dist.prefetch_buckets";
constexpr llvm::StringLiteral kOffloadOptimizerAttr = "dist.offload_optimizer";
constexpr llvm::StringLiteral kOffloadParamsAttr = "dist.offload_params";
constexpr llvm::StringLiteral kGradAccumAttr = "dist.grad_accum";
constexpr llvm::StringLiteral kClipGradNormAttr = "dist.clip_grad_norm";

std::optional<fb::DType> convertElementType(Type type) {
  if (type.isF32())
    return fb::DType::F32;
  if (type.isF16())
    return fb::DType::F16;
  if (type.isBF16())
    return fb::DType::BF16;
  if (type.isF64())
    return fb::DType::F64;
  if (type.isSignlessInteger(1))
    return fb::DType::I1;
  if (type.isSignlessInteger(8))
    return fb::DType::I8;
  if (type.isSignlessInteger(16))
    return fb::DType::I16;
  if (type.isSignlessInteger(32))
    return fb::DType::I32;
  if (type.isSignlessInteger(64))
    return fb::DType::I64;
  return std::nullopt;
}

fb::InitKind convertInitKind(var::InitKind kind) {
  switch (kind) {
  case var::InitKind::zeros:
    return fb::InitKind::Zeros;
  case var::InitKind::ones:
    return fb::InitKind::Ones;
  case var::InitKind::normal:
    return fb::InitKind::Normal;
  case var::InitKind::uniform:
    return fb::InitKind::Uniform;
  case var::InitKind::kaiming_normal_fan_in:
    return fb::InitKind::KaimingNormalFanIn;
  case var::InitKind::kaiming_normal_fan_out:
    return fb::InitKind::KaimingNormalFanOut;
  case var::InitKind::kaiming_uniform:
    return fb::InitKind::KaimingUniform;
  case var::InitKind::xavier_uniform:
    return fb::InitKind::XavierUniform;
  }
  llvm_unreachable("unknown var::InitKind");
}

std::optional<fb::ArgRole> parseArgRole(StringRef role) {
  return llvm::StringSwitch<std::optional<fb::ArgRole>>(role)
      .Case("input", fb::ArgRole::Input)
      .Case("labels", fb::ArgRole::Labels)
      .Case("lr", fb::ArgRole::Lr)
      .Case("step", fb::ArgRole::Step)
      .Default(std::nullopt);
}

/// "file:line:col" of the first file location inside `loc`, or "".
std::string formatLocation(Location loc) {
  auto fileLoc = loc->findInstanceOf<FileLineColLoc>();
  if (!fileLoc)
    return "";
  return (fileLoc.getFilename().strref() + ":" + Twine(fileLoc.getLine()) +
          ":" + Twine(fileLoc.getColumn()))
      .str();
}

/// Walks the module once, building the FlatBuffer bottom-up (FlatBuffers
/// needs children before parents).
class PlanEmitter {
public:
  PlanEmitter(ModuleOp module, const var::PlanEmitOptions &options)
      : module(module), options(options) {}

  LogicalResult emit(std::vector<uint8_t> &out);

private:
  using SymbolOffsets = SmallVector<Offset<fb::SymbolRef>>;
  using AttributeOffsets = SmallVector<Offset<fb::Attribute>>;

  FailureOr<Offset<fb::Config>> emitConfig();
  FailureOr<Offset<fb::Param>> emitParam(var::ParamOp param);
  FailureOr<Offset<fb::Bucket>> emitBucket(dist::BucketOp bucket);
  FailureOr<Offset<fb::Function>> emitFunction(func::FuncOp func);
  FailureOr<Offset<fb::Instruction>> emitInstruction(Operation *op);
  LogicalResult emitAttribute(Operation *op, NamedAttribute attr,
                              AttributeOffsets &attrs, SymbolOffsets &symbols);
  LogicalResult emitSymbol(Operation *op, StringAttr name, Attribute ref,
                           SymbolOffsets &symbols);
  /// Gives `value` the next id of the function being emitted.
  LogicalResult defineValue(Value value, Operation *op);

  FailureOr<fb::DType> getDType(Type type, Operation *op, const Twine &what);
  Offset<flatbuffers::String> createString(StringRef string) {
    return builder.CreateString(string.data(), string.size());
  }
  /// For strings that repeat (op and attribute names): stored once.
  Offset<flatbuffers::String> createSharedString(StringRef string) {
    return builder.CreateSharedString(string.data(), string.size());
  }
  template <typename T> auto createVector(ArrayRef<T> elements) {
    return builder.CreateVector(elements.data(), elements.size());
  }
  FailureOr<Offset<fb::TypeValue>> emitTypeValue(Type type, Operation *op,
                                                 const Twine &what);

  ModuleOp module;
  const var::PlanEmitOptions &options;
  flatbuffers::FlatBufferBuilder builder;
  llvm::StringMap<uint32_t> paramIndex;
  llvm::StringMap<uint32_t> bucketIndex;

  // Of the function being emitted.
  llvm::DenseMap<Value, uint32_t> valueIds;
  /// The bucket each flat value (a full bucket or a shard, 1-D) comes from.
  llvm::DenseMap<Value, int32_t> bucketOf;
  std::vector<Offset<fb::Value>> values;
};

} // namespace

FailureOr<fb::DType> PlanEmitter::getDType(Type type, Operation *op,
                                           const Twine &what) {
  if (std::optional<fb::DType> dtype = convertElementType(type))
    return *dtype;
  return op->emitOpError() << what << " has element type " << type
                           << ", which the plan cannot encode (float: f32, "
                              "f16, bf16, f64; signless integer: i1 to i64)";
}

FailureOr<Offset<fb::TypeValue>>
PlanEmitter::emitTypeValue(Type type, Operation *op, const Twine &what) {
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    FailureOr<fb::DType> dtype = getDType(tensor.getElementType(), op, what);
    if (failed(dtype))
      return failure();
    SmallVector<int64_t> shape;
    for (int64_t dim : tensor.getShape())
      shape.push_back(ShapedType::isDynamic(dim) ? var::plan::kDynamicDim
                                                 : dim);
    return fb::CreateTypeValue(builder, createVector<int64_t>(shape), *dtype,
                               /*element_only=*/false);
  }
  if (!isa<IntegerType, FloatType>(type))
    return op->emitOpError() << what << " is of type " << type
                             << "; the plan encodes ranked tensors and "
                                "element types";
  FailureOr<fb::DType> dtype = getDType(type, op, what);
  if (failed(dtype))
    return failure();
  return fb::CreateTypeValue(builder, 0, *dtype, /*element_only=*/true);
}

FailureOr<Offset<fb::Config>> PlanEmitter::emitConfig() {
  int64_t zeroStage = 0, prefetch = 1, gradAccum = 1;
  double bucketMB = 25.0, clipGradNorm = 0.0;
  bool offloadOptimizer = false, offloadParams = false;
  for (NamedAttribute attr : module->getAttrs()) {
    StringRef name = attr.getName().strref();
    if (!name.starts_with("dist."))
      continue;
    auto intAttr = dyn_cast<IntegerAttr>(attr.getValue());
    auto floatAttr = dyn_cast<FloatAttr>(attr.getValue());
    auto boolAttr = dyn_cast<BoolAttr>(attr.getValue());
    bool ok = true;
    if (name == kZeroStageAttr && (ok = intAttr && !boolAttr))
      zeroStage = intAttr.getInt();
    else if (name == kPrefetchAttr && (ok = intAttr && !boolAttr))
      prefetch = intAttr.getInt();
    else if (name == kGradAccumAttr && (ok = intAttr && !boolAttr))
      gradAccum = intAttr.getInt();
    else if (name == kBucketMBAttr && (ok = bool(floatAttr)))
      bucketMB = floatAttr.getValueAsDouble();
    else if (name == kClipGradNormAttr && (ok = bool(floatAttr)))
      clipGradNorm = floatAttr.getValueAsDouble();
    else if (name == kOffloadOptimizerAttr && (ok = bool(boolAttr)))
      offloadOptimizer = boolAttr.getValue();
    else if (name == kOffloadParamsAttr && (ok = bool(boolAttr)))
      offloadParams = boolAttr.getValue();
    else if (name == "dist.world_size" && (ok = intAttr && !boolAttr)) {
      // varc pins the module too; the two must agree.
      if (intAttr.getInt() != options.worldSize)
        return module.emitError("module is pinned to ")
               << intAttr.getInt() << " ranks but the plan to "
               << options.worldSize;
    } else if (ok)
      return module.emitError("module attribute '")
             << name << "' has no field in the plan schema";
    if (!ok)
      return module.emitError("module attribute '")
             << name << "' has the wrong kind of value";
  }
  // int in the schema; the loader checks the ranges.
  auto fitsInt = [](int64_t value) {
    return value >= std::numeric_limits<int32_t>::min() &&
           value <= std::numeric_limits<int32_t>::max();
  };
  if (!fitsInt(zeroStage) || !fitsInt(prefetch) || !fitsInt(gradAccum))
    return module.emitError("ZeRO stage, prefetch or gradient accumulation "
                            "count out of range");
  if (options.worldSize < 0 || !fitsInt(options.worldSize))
    return module.emitError("world size ")
           << options.worldSize << " is out of range";

  fb::DType precision;
  if (options.precision == "bf16")
    precision = fb::DType::BF16;
  else if (options.precision == "fp32")
    precision = fb::DType::F32;
  else
    return module.emitError("precision '")
           << options.precision << "' is not bf16 or fp32";

  Offset<fb::LrSchedule> schedule = 0;
  if (const std::optional<var::plan::LrScheduleSpec> &spec =
          options.lrSchedule) {
    Offset<flatbuffers::String> type = builder.CreateString(spec->type);
    Offset<flatbuffers::String> warmupType =
        spec->warmupType ? builder.CreateString(*spec->warmupType) : 0;
    fb::LrScheduleBuilder table(builder);
    table.add_type(type);
    if (spec->warmupMinLr)
      table.add_warmup_min_lr(*spec->warmupMinLr);
    if (spec->warmupMaxLr)
      table.add_warmup_max_lr(*spec->warmupMaxLr);
    if (spec->warmupNumSteps)
      table.add_warmup_num_steps(*spec->warmupNumSteps);
    if (spec->warmupType)
      table.add_warmup_type(warmupType);
    if (spec->totalNumSteps)
      table.add_total_num_steps(*spec->totalNumSteps);
    if (spec->warmupMinRatio)
      table.add_warmup_min_ratio(*spec->warmupMinRatio);
    if (spec->cosMinRatio)
      table.add_cos_min_ratio(*spec->cosMinRatio);
    schedule = table.Finish();
  }
  return fb::CreateConfig(
      builder, static_cast<int32_t>(zeroStage), precision, bucketMB,
      static_cast<int32_t>(prefetch), offloadOptimizer, offloadParams,
      static_cast<int32_t>(gradAccum), static_cast<int32_t>(options.worldSize),
      clipGradNorm, options.initialLR, options.trainBatch, schedule);
}

FailureOr<Offset<fb::Param>> PlanEmitter::emitParam(var::ParamOp param) {
  RankedTensorType type = param.getTensorType();
  if (!type.hasStaticShape())
    return param.emitOpError("has a dynamic shape; parameters must be static");
  FailureOr<fb::DType> dtype =
      getDType(type.getElementType(), param, "the parameter");
  if (failed(dtype))
    return failure();
  SmallVector<double, 1> initArgs;
  if (std::optional<APFloat> arg = param.getInitArg())
    initArgs.push_back(arg->convertToDouble());
  return fb::CreateParam(builder, createString(param.getSymName()),
                         createVector(type.getShape()), *dtype,
                         convertInitKind(param.getInit()),
                         createVector<double>(initArgs), param.getBuffer());
}

FailureOr<Offset<fb::Bucket>> PlanEmitter::emitBucket(dist::BucketOp bucket) {
  FailureOr<fb::DType> dtype =
      getDType(bucket.getElementType(), bucket, "the bucket");
  if (failed(dtype))
    return failure();
  std::vector<uint32_t> params;
  for (Attribute attr : bucket.getParams()) {
    auto name = cast<FlatSymbolRefAttr>(attr);
    auto it = paramIndex.find(name.getValue());
    if (it == paramIndex.end())
      return bucket.emitOpError("holds ")
             << name << ", which is no var.param of the module";
    params.push_back(it->second);
  }
  std::vector<Offset<flatbuffers::String>> state;
  for (Attribute key : bucket.getState())
    state.push_back(createString(cast<StringAttr>(key).getValue()));
  return fb::CreateBucket(builder, createString(bucket.getSymName()), *dtype,
                          bucket.getNumElements(), builder.CreateVector(params),
                          createVector(bucket.getOffsets()),
                          builder.CreateVector(state));
}

LogicalResult PlanEmitter::emitSymbol(Operation *op, StringAttr name,
                                      Attribute ref, SymbolOffsets &symbols) {
  auto flat = dyn_cast<FlatSymbolRefAttr>(ref);
  if (!flat)
    return op->emitOpError("attribute '")
           << name.getValue() << "' holds a nested symbol reference";
  fb::SymbolKind kind;
  uint32_t index;
  if (auto it = paramIndex.find(flat.getValue()); it != paramIndex.end()) {
    kind = fb::SymbolKind::Param;
    index = it->second;
  } else if (auto it = bucketIndex.find(flat.getValue());
             it != bucketIndex.end()) {
    kind = fb::SymbolKind::Bucket;
    index = it->second;
  } else {
    return op->emitOpError("refers to ")
           << flat << ", which is neither a var.param nor a dist.bucket";
  }
  symbols.push_back(fb::CreateSymbolRef(
      builder, createSharedString(name.getValue()), kind, index));
  return success();
}

LogicalResult PlanEmitter::emitAttribute(Operation *op, NamedAttribute attr,
                                         AttributeOffsets &attrs,
                                         SymbolOffsets &symbols) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  fb::AttributeValue kind = fb::AttributeValue::NONE;
  Offset<void> table;

  auto unsupported = [&]() {
    return op->emitOpError("attribute '")
           << name << "' is of a kind the plan cannot encode";
  };
  auto ints = [&](ArrayRef<int64_t> values) {
    kind = fb::AttributeValue::IntArray;
    table = fb::CreateIntArray(builder, createVector(values)).Union();
  };
  auto floats = [&](ArrayRef<double> values) {
    kind = fb::AttributeValue::FloatArray;
    table = fb::CreateFloatArray(builder, createVector(values)).Union();
  };

  if (isa<SymbolRefAttr>(value))
    return emitSymbol(op, attr.getName(), value, symbols);

  if (isa<UnitAttr>(value)) {
    kind = fb::AttributeValue::BoolValue;
    table = fb::CreateBoolValue(builder, true).Union();
  } else if (auto boolAttr = dyn_cast<BoolAttr>(value)) {
    kind = fb::AttributeValue::BoolValue;
    table = fb::CreateBoolValue(builder, boolAttr.getValue()).Union();
  } else if (auto intAttr = dyn_cast<IntegerAttr>(value)) {
    const APInt &bits = intAttr.getValue();
    bool isUnsigned = intAttr.getType().isUnsignedInteger();
    if (isUnsigned ? !bits.isIntN(63) : !bits.isSignedIntN(64))
      return op->emitOpError("attribute '") << name << "' does not fit int64";
    kind = fb::AttributeValue::IntValue;
    table =
        fb::CreateIntValue(builder, isUnsigned ? int64_t(bits.getZExtValue())
                                               : bits.getSExtValue())
            .Union();
  } else if (auto floatAttr = dyn_cast<FloatAttr>(value)) {
    kind = fb::AttributeValue::FloatValue;
    table = fb::CreateFloatValue(builder, floatAttr.getValueAsDouble()).Union();
  } else if (auto string = dyn_cast<StringAttr>(value)) {
    kind = fb::AttributeValue::StringValue;
    table =
        fb::CreateStringValue(builder, createString(string.strref())).Union();
  } else if (auto typeAttr = dyn_cast<TypeAttr>(value)) {
    FailureOr<Offset<fb::TypeValue>> type =
        emitTypeValue(typeAttr.getValue(), op, "attribute '" + name + "'");
    if (failed(type))
      return failure();
    kind = fb::AttributeValue::TypeValue;
    table = type->Union();
  } else if (auto dense = dyn_cast<DenseI64ArrayAttr>(value)) {
    ints(dense.asArrayRef());
  } else if (auto dense = dyn_cast<DenseI32ArrayAttr>(value)) {
    ints(SmallVector<int64_t>(dense.asArrayRef()));
  } else if (auto dense = dyn_cast<DenseI16ArrayAttr>(value)) {
    ints(SmallVector<int64_t>(dense.asArrayRef()));
  } else if (auto dense = dyn_cast<DenseI8ArrayAttr>(value)) {
    ints(SmallVector<int64_t>(dense.asArrayRef()));
  } else if (auto dense = dyn_cast<DenseBoolArrayAttr>(value)) {
    ints(SmallVector<int64_t>(dense.asArrayRef()));
  } else if (auto dense = dyn_cast<DenseF64ArrayAttr>(value)) {
    floats(dense.asArrayRef());
  } else if (auto dense = dyn_cast<DenseF32ArrayAttr>(value)) {
    floats(SmallVector<double>(dense.asArrayRef()));
  } else if (auto array = dyn_cast<ArrayAttr>(value)) {
    // Homogeneous arrays only; an empty one reads as an empty IntArray.
    if (llvm::all_of(array, llvm::IsaPred<IntegerAttr>)) {
      SmallVector<int64_t> values;
      for (Attribute element : array) {
        const APInt &bits = cast<IntegerAttr>(element).getValue();
        if (!bits.isSignedIntN(64))
          return op->emitOpError("attribute '")
                 << name << "' holds an integer that does not fit int64";
        values.push_back(bits.getSExtValue());
      }
      ints(values);
    } else if (llvm::all_of(array, llvm::IsaPred<FloatAttr>)) {
      SmallVector<double> values;
      for (Attribute element : array)
        values.push_back(cast<FloatAttr>(element).getValueAsDouble());
      floats(values);
    } else if (llvm::all_of(array, llvm::IsaPred<StringAttr>)) {
      std::vector<Offset<flatbuffers::String>> values;
      for (Attribute element : array)
        values.push_back(createString(cast<StringAttr>(element).strref()));
      kind = fb::AttributeValue::StringArray;
      table =
          fb::CreateStringArray(builder, builder.CreateVector(values)).Union();
    } else if (llvm::all_of(array, llvm::IsaPred<SymbolRefAttr>)) {
      for (Attribute element : array)
        if (failed(emitSymbol(op, attr.getName(), element, symbols)))
          return failure();
      return success();
    } else {
      return unsupported();
    }
  } else {
    return unsupported();
  }
  attrs.push_back(
      fb::CreateAttribute(builder, createSharedString(name), kind, table));
  return success();
}

LogicalResult PlanEmitter::defineValue(Value value, Operation *op) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return op->emitOpError("produces a value of type ")
           << value.getType() << "; the plan holds ranked tensors only";
  FailureOr<fb::DType> dtype = getDType(type.getElementType(), op, "a value");
  if (failed(dtype))
    return failure();
  int32_t shardBucket = -1;
  if (!type.hasStaticShape()) {
    auto it = bucketOf.find(value);
    if (type.getRank() != 1 || it == bucketOf.end())
      return op->emitOpError("has a value of type ")
             << type
             << " with a dynamic size that is no bucket shard; specialize "
                "the batch (--var-specialize-batch) before emitting a plan";
    shardBucket = it->second;
  }
  SmallVector<int64_t> shape;
  for (int64_t dim : type.getShape())
    shape.push_back(ShapedType::isDynamic(dim) ? var::plan::kDynamicDim : dim);
  // The arena offset --var-plan-memory gave the value, if any.
  int64_t arenaOffset = -1;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (auto offset = func.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(),
                                                         var::kArgOffsetAttr))
      arenaOffset = offset.getInt();
  } else if (auto offsets = op->getAttrOfType<ArrayAttr>(var::kOffsetAttr)) {
    unsigned index = cast<OpResult>(value).getResultNumber();
    if (index < offsets.size())
      if (auto offset = dyn_cast<IntegerAttr>(offsets[index]))
        arenaOffset = offset.getInt();
  }
  valueIds[value] = static_cast<uint32_t>(values.size());
  values.push_back(fb::CreateValue(builder, createVector<int64_t>(shape),
                                   *dtype, shardBucket, arenaOffset));
  return success();
}

FailureOr<Offset<fb::Instruction>> PlanEmitter::emitInstruction(Operation *op) {
  StringRef dialect = op->getName().getDialectNamespace();
  if (dialect != "var" && dialect != "dist")
    return op->emitOpError("has no place in a plan: function bodies hold "
                           "var and dist ops (and func.return) only");
  if (op->getNumRegions() != 0)
    return op->emitOpError("has regions; a plan holds flat instruction lists");
  const var::plan::OpSignature *signature =
      var::plan::lookupOpSignature(op->getName().getStringRef());
  if (!signature)
    return op->emitOpError(
        "is not known to the runtime (the op table in "
        "runtime/plan/OpSignatures.cpp lists what it executes)");

  AttributeOffsets attrs;
  SymbolOffsets symbols;
  for (NamedAttribute attr : op->getAttrs()) {
    if (attr.getName() == var::kOffsetAttr)
      continue; // carried by the values' arena_offset
    if (failed(emitAttribute(op, attr, attrs, symbols)))
      return failure();
  }

  std::vector<uint32_t> operands;
  for (Value operand : op->getOperands()) {
    auto it = valueIds.find(operand);
    if (it == valueIds.end())
      return op->emitOpError("uses a value defined outside its function body");
    operands.push_back(it->second);
  }

  // A flat (1-D) result belongs to the op's bucket, else to the bucket of
  // its first flat operand, shards first: a reduce-scatter of a packed
  // bucket, and a cast or copy of a shard, are shards of that bucket.
  int32_t bucket = -1;
  int bucketSymbols = 0;
  for (NamedAttribute attr : op->getAttrs())
    if (auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue()))
      if (auto it = bucketIndex.find(ref.getValue()); it != bucketIndex.end()) {
        bucket = static_cast<int32_t>(it->second);
        ++bucketSymbols;
      }
  if (bucketSymbols > 1)
    bucket = -1; // no telling which
  for (bool shardsOnly : {true, false}) {
    for (Value operand : op->getOperands()) {
      if (bucket >= 0)
        break;
      auto it = bucketOf.find(operand);
      if (it != bucketOf.end() &&
          (!shardsOnly ||
           !cast<ShapedType>(operand.getType()).hasStaticShape()))
        bucket = it->second;
    }
  }
  std::vector<uint32_t> results;
  for (Value result : op->getResults()) {
    auto type = dyn_cast<RankedTensorType>(result.getType());
    if (type && type.getRank() == 1 && bucket >= 0)
      bucketOf[result] = bucket;
    if (failed(defineValue(result, op)))
      return failure();
    results.push_back(valueIds[result]);
  }

  std::string location = formatLocation(op->getLoc());
  // The profiler's FLOPs; ops without a count (dist ops, shape ops that
  // move data) record 0.
  int64_t flops = 0;
  if (auto counted = dyn_cast<var::FlopCountOpInterface>(op))
    flops = counted.getForwardFlops().value_or(0);
  return fb::CreateInstruction(
      builder, createSharedString(op->getName().getStringRef()),
      builder.CreateVector(operands), builder.CreateVector(results),
      createVector<Offset<fb::SymbolRef>>(symbols),
      createVector<Offset<fb::Attribute>>(attrs),
      location.empty() ? 0 : createString(location), flops);
}

FailureOr<Offset<fb::Function>> PlanEmitter::emitFunction(func::FuncOp func) {
  if (func.isExternal())
    return func.emitOpError("has no body; a plan needs every function's");
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("has several blocks; a plan holds flat "
                            "instruction lists");
  valueIds.clear();
  bucketOf.clear();
  values.clear();

  Block &body = func.getBody().front();
  std::vector<fb::Argument> args;
  for (BlockArgument arg : body.getArguments()) {
    fb::ArgRole role = fb::ArgRole::None;
    if (Attribute attr = func.getArgAttr(arg.getArgNumber(), kArgRoleAttr)) {
      auto name = dyn_cast<StringAttr>(attr);
      std::optional<fb::ArgRole> parsed;
      if (name)
        parsed = parseArgRole(name.getValue());
      if (!parsed)
        return func.emitOpError("argument ")
               << arg.getArgNumber() << " has " << kArgRoleAttr << " " << attr
               << "; expected \"input\", \"labels\", \"lr\" or \"step\"";
      role = *parsed;
    }
    if (failed(defineValue(arg, func)))
      return failure();
    args.emplace_back(valueIds[arg], role);
  }

  std::vector<Offset<fb::Instruction>> instructions;
  std::vector<uint32_t> results;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value operand : ret.getOperands())
        results.push_back(valueIds.lookup(operand));
      continue;
    }
    FailureOr<Offset<fb::Instruction>> inst = emitInstruction(&op);
    if (failed(inst))
      return failure();
    instructions.push_back(*inst);
  }

  int64_t arenaBytes = 0;
  if (auto bytes = func->getAttrOfType<IntegerAttr>(var::kArenaBytesAttr))
    arenaBytes = bytes.getInt();
  return fb::CreateFunction(builder, createString(func.getSymName()),
                            builder.CreateVectorOfStructs(args),
                            builder.CreateVector(results),
                            builder.CreateVector(values),
                            builder.CreateVector(instructions), arenaBytes);
}

LogicalResult PlanEmitter::emit(std::vector<uint8_t> &out) {
  // Indices first: instructions name parameters and buckets by position.
  SmallVector<var::ParamOp> paramOps;
  SmallVector<dist::BucketOp> bucketOps;
  SmallVector<func::FuncOp> funcOps;
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto param = dyn_cast<var::ParamOp>(op)) {
      paramIndex[param.getSymName()] = paramOps.size();
      paramOps.push_back(param);
    } else if (auto bucket = dyn_cast<dist::BucketOp>(op)) {
      bucketIndex[bucket.getSymName()] = bucketOps.size();
      bucketOps.push_back(bucket);
    } else if (auto func = dyn_cast<func::FuncOp>(op)) {
      funcOps.push_back(func);
    } else {
      return op.emitOpError("has no place in a plan at module level "
                            "(var.param, dist.bucket and func.func only; "
                            "run --var-zero before emitting)");
    }
  }

  FailureOr<Offset<fb::Config>> config = emitConfig();
  if (failed(config))
    return failure();
  std::vector<Offset<fb::Param>> params;
  for (var::ParamOp op : paramOps) {
    FailureOr<Offset<fb::Param>> param = emitParam(op);
    if (failed(param))
      return failure();
    params.push_back(*param);
  }
  std::vector<Offset<fb::Bucket>> buckets;
  for (dist::BucketOp op : bucketOps) {
    FailureOr<Offset<fb::Bucket>> bucket = emitBucket(op);
    if (failed(bucket))
      return failure();
    buckets.push_back(*bucket);
  }
  std::vector<Offset<fb::Function>> functions;
  for (func::FuncOp op : funcOps) {
    FailureOr<Offset<fb::Function>> function = emitFunction(op);
    if (failed(function))
      return failure();
    functions.push_back(*function);
  }

  auto paramsOffset = builder.CreateVector(params);
  auto bucketsOffset = builder.CreateVector(buckets);
  auto functionsOffset = builder.CreateVector(functions);
  fb::FinishPlanBuffer(
      builder, fb::CreatePlan(builder, var::plan::kPlanSchemaVersion, *config,
                              paramsOffset, bucketsOffset, functionsOffset));
  out.assign(builder.GetBufferPointer(),
             builder.GetBufferPointer() + builder.GetSize());

  // Whatever the checks above miss, the runtime's own loader catches here,
  // at compile time: varc never writes a plan varrun refuses.
  var::plan::Expected<var::plan::Plan> loaded =
      var::plan::loadPlanFromBuffer(out.data(), out.size());
  if (!loaded)
    return module.emitError("the emitted plan does not load: ")
           << loaded.error();
  if (options.worldSize > 0) {
    var::plan::Expected<var::plan::Plan> resolved =
        loaded->resolve(options.worldSize);
    if (!resolved)
      return module.emitError("the emitted plan does not resolve for ")
             << options.worldSize << " ranks: " << resolved.error();
  }
  return success();
}

LogicalResult var::emitPlan(ModuleOp module, const PlanEmitOptions &options,
                            std::vector<uint8_t> &out) {
  return PlanEmitter(module, options).emit(out);
}

LogicalResult var::writePlanFile(ModuleOp module,
                                 const PlanEmitOptions &options,
                                 StringRef path) {
  std::vector<uint8_t> bytes;
  if (failed(emitPlan(module, options, bytes)))
    return failure();
  llvm::Error error = llvm::writeToOutput(path, [&](raw_ostream &os) {
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    return llvm::Error::success();
  });
  if (error)
    return module.emitError("cannot write the plan to '")
           << path << "': " << llvm::toString(std::move(error));
  return success();
}
