// Loads a plan file: FlatBuffers verification first, then a range check of
// every id, index, size and offset while converting to plain structs.
#include "runtime/plan/PlanFile.h"

#include "runtime/plan/schema/plan_generated.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>
#include <unordered_set>

using namespace var::plan;

const uint32_t var::plan::kPlanSchemaVersion =
    static_cast<uint32_t>(fb::Version::Current);

// The plain enums mirror the schema's so conversion is a range check.
static_assert(static_cast<int>(DType::F32) == static_cast<int>(fb::DType::F32));
static_assert(static_cast<int>(DType::I64) == static_cast<int>(fb::DType::I64));
static_assert(static_cast<int>(DType::I64) == static_cast<int>(fb::DType::MAX));
static_assert(static_cast<int>(InitKind::XavierUniform) ==
              static_cast<int>(fb::InitKind::MAX));
static_assert(static_cast<int>(ArgRole::Step) ==
              static_cast<int>(fb::ArgRole::MAX));
static_assert(static_cast<int>(SymbolKind::Bucket) ==
              static_cast<int>(fb::SymbolKind::MAX));

std::string_view var::plan::getDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F64:
    return "f64";
  case DType::I1:
    return "i1";
  case DType::I8:
    return "i8";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

int64_t var::plan::getDTypeBytes(DType dtype) {
  switch (dtype) {
  case DType::I1:
  case DType::I8:
    return 1;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  }
  return 0;
}

const Attribute *Instruction::findAttribute(std::string_view name) const {
  for (const Attribute &attr : attributes)
    if (attr.name == name)
      return &attr;
  return nullptr;
}

const SymbolRef *Instruction::findSymbol(std::string_view name) const {
  for (const SymbolRef &symbol : symbols)
    if (symbol.name == name)
      return &symbol;
  return nullptr;
}

const PlanFunction *Plan::findFunction(std::string_view name) const {
  for (const PlanFunction &function : functions)
    if (function.name == name)
      return &function;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// Initializers that take one numeric argument; the others take none.
bool takesInitArg(InitKind kind) {
  return kind == InitKind::Normal || kind == InitKind::Uniform;
}

bool isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::F64;
}

// The copy below reads the file's little-endian scalars as they are.
static_assert(FLATBUFFERS_LITTLEENDIAN, "plan loading needs a little-endian "
                                        "host");

/// A vector of scalars or structs, copied bytewise: the verifier checks a
/// vector's bounds and the alignment of its length, not of its elements, so
/// 8-byte elements of a crafted file may sit at any 4-byte boundary.
template <typename T>
std::vector<T> toVector(const flatbuffers::Vector<T> *vector) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!vector || vector->size() == 0)
    return {};
  std::vector<T> elements(vector->size());
  std::memcpy(elements.data(), vector->Data(), elements.size() * sizeof(T));
  return elements;
}

std::vector<std::string>
toStrings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>
              *vector) {
  std::vector<std::string> strings;
  if (!vector)
    return strings;
  strings.reserve(vector->size());
  for (const flatbuffers::String *string : *vector)
    strings.push_back(string ? string->str() : std::string());
  return strings;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Converts the verified FlatBuffer to plain structs, checking every field a
/// later stage would index with or size an allocation by. The first failed
/// check stops it; its message says where in the plan it is.
class PlanReader {
public:
  Expected<Plan> read(const fb::Plan &root);

private:
  bool fail(const std::string &message) {
    error = "plan: " + message;
    return false;
  }

  bool readDType(fb::DType raw, DType &dtype, const std::string &what);
  /// Dimensions must be >= 0, or kDynamicDim where allowDynamic; the element
  /// count, and its size in bytes at 8 bytes each, must fit in int64.
  bool readShape(const flatbuffers::Vector<int64_t> *raw,
                 std::vector<int64_t> &shape, bool allowDynamic,
                 const std::string &what, int64_t *numel = nullptr);
  bool readConfig(const fb::Config &raw);
  bool readParams(const fb::Plan &root);
  bool readBuckets(const fb::Plan &root);
  bool readFunction(const fb::Function &raw, PlanFunction &function);
  bool readInstruction(const fb::Instruction &raw, Instruction &inst,
                       const std::string &where);
  bool readAttribute(const fb::Attribute &raw, Attribute &attr,
                     const std::string &where);

  /// Marks value `id` of the function being read as defined.
  bool define(uint32_t id, const std::string &where);
  bool checkDefined(uint32_t id, const std::string &where);

  Plan plan;
  std::string error;
  /// Of the function being read: which values are defined so far.
  std::vector<bool> defined;
};

} // namespace

bool PlanReader::readDType(fb::DType raw, DType &dtype,
                           const std::string &what) {
  auto value = static_cast<int>(raw);
  if (value < static_cast<int>(DType::F32) ||
      value > static_cast<int>(DType::I64))
    return fail(what + " has unknown dtype " + std::to_string(value));
  dtype = static_cast<DType>(value);
  return true;
}

bool PlanReader::readShape(const flatbuffers::Vector<int64_t> *raw,
                           std::vector<int64_t> &shape, bool allowDynamic,
                           const std::string &what, int64_t *numel) {
  shape = toVector(raw);
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim == kDynamicDim && allowDynamic)
      continue;
    if (dim < 0)
      return fail(what + " has shape " + formatShape(shape) + ": dimension " +
                  std::to_string(dim) + " is negative");
    if (__builtin_mul_overflow(count, dim, &count) ||
        count > std::numeric_limits<int64_t>::max() / 8)
      return fail(what + " has shape " + formatShape(shape) +
                  ", too large for int64");
  }
  if (numel)
    *numel = count;
  return true;
}

bool PlanReader::readConfig(const fb::Config &raw) {
  PlanConfig &config = plan.config;
  config.zeroStage = raw.zero_stage();
  if (config.zeroStage < 0 || config.zeroStage > 3)
    return fail("ZeRO stage " + std::to_string(config.zeroStage) +
                " is not 0 to 3");
  if (!readDType(raw.compute_dtype(), config.computeDType, "the config"))
    return false;
  if (!isFloat(config.computeDType) || config.computeDType == DType::F64)
    return fail("compute dtype " +
                std::string(getDTypeName(config.computeDType)) +
                " is not f32, bf16 or f16");
  config.bucketMB = raw.bucket_mb();
  if (!std::isfinite(config.bucketMB) || config.bucketMB <= 0)
    return fail("bucket size " + std::to_string(config.bucketMB) +
                " MiB is not positive");
  config.prefetchBuckets = raw.prefetch_buckets();
  if (config.prefetchBuckets < 0)
    return fail("prefetch of " + std::to_string(config.prefetchBuckets) +
                " buckets is negative");
  config.offloadOptimizer = raw.offload_optimizer();
  config.offloadParams = raw.offload_params();
  config.gradAccum = raw.grad_accum();
  if (config.gradAccum < 1)
    return fail("gradient accumulation of " + std::to_string(config.gradAccum) +
                " micro-steps");
  config.clipGradNorm = raw.clip_grad_norm();
  if (!std::isfinite(config.clipGradNorm) || config.clipGradNorm < 0)
    return fail("gradient clipping norm " +
                std::to_string(config.clipGradNorm) +
                " is neither 0 (off) nor positive");
  config.pinnedWorldSize = raw.world_size();
  if (config.pinnedWorldSize < 0)
    return fail("pinned world size " + std::to_string(config.pinnedWorldSize) +
                " is negative");
  config.initialLR = raw.initial_lr();
  if (!std::isfinite(config.initialLR) || config.initialLR < 0)
    return fail("initial learning rate " + std::to_string(config.initialLR) +
                " is not a finite non-negative number");
  config.trainBatch = raw.train_batch();
  if (config.trainBatch < 0)
    return fail("train batch " + std::to_string(config.trainBatch) +
                " is negative");
  if (const fb::LrSchedule *schedule = raw.lr_schedule()) {
    // Values are checked where they are resolved (varrun may override
    // them); only what could not be represented is refused here.
    LrScheduleSpec spec;
    spec.type = schedule->type()->str();
    spec.warmupMinLr = schedule->warmup_min_lr();
    spec.warmupMaxLr = schedule->warmup_max_lr();
    spec.warmupNumSteps = schedule->warmup_num_steps();
    if (schedule->warmup_type())
      spec.warmupType = schedule->warmup_type()->str();
    spec.totalNumSteps = schedule->total_num_steps();
    spec.warmupMinRatio = schedule->warmup_min_ratio();
    spec.cosMinRatio = schedule->cos_min_ratio();
    config.lrSchedule = std::move(spec);
  }
  return true;
}

bool PlanReader::readParams(const fb::Plan &root) {
  if (!root.params())
    return true;
  std::unordered_set<std::string> names;
  for (const fb::Param *raw : *root.params()) {
    std::string what = "parameter " + std::to_string(plan.params.size());
    PlanParam param;
    param.name = raw->name()->str();
    if (param.name.empty())
      return fail(what + " has no name");
    what += " ('" + param.name + "')";
    if (!names.insert(param.name).second)
      return fail(what + " is declared twice");
    if (!readShape(raw->shape(), param.shape, /*allowDynamic=*/false, what,
                   &param.numel) ||
        !readDType(raw->dtype(), param.dtype, what))
      return false;
    auto init = static_cast<int>(raw->init());
    if (init > static_cast<int>(InitKind::XavierUniform))
      return fail(what + " has unknown initializer " + std::to_string(init));
    param.init = static_cast<InitKind>(init);
    param.initArgs = toVector(raw->init_args());
    size_t wanted = takesInitArg(param.init) ? 1 : 0;
    if (param.initArgs.size() != wanted)
      return fail(what + " has " + std::to_string(param.initArgs.size()) +
                  " initializer arguments; its initializer takes " +
                  std::to_string(wanted));
    for (double arg : param.initArgs)
      if (!std::isfinite(arg) || arg <= 0)
        return fail(what + " has initializer argument " + std::to_string(arg) +
                    "; it must be positive");
    param.buffer = raw->buffer();
    plan.params.push_back(std::move(param));
  }
  return true;
}

bool PlanReader::readBuckets(const fb::Plan &root) {
  if (!root.buckets())
    return true;
  std::unordered_set<std::string> names;
  // Which bucket holds each parameter so far, or -1.
  std::vector<int64_t> holder(plan.params.size(), -1);
  for (const fb::Bucket *raw : *root.buckets()) {
    auto index = static_cast<int64_t>(plan.buckets.size());
    std::string what = "bucket " + std::to_string(index);
    PlanBucket bucket;
    bucket.name = raw->name()->str();
    if (bucket.name.empty())
      return fail(what + " has no name");
    what += " ('" + bucket.name + "')";
    if (!names.insert(bucket.name).second)
      return fail(what + " is declared twice");
    if (!readDType(raw->dtype(), bucket.dtype, what))
      return false;
    if (!isFloat(bucket.dtype))
      return fail(what + " has non-float dtype " +
                  std::string(getDTypeName(bucket.dtype)));
    bucket.numel = raw->numel();
    if (bucket.numel <= 0 ||
        bucket.numel > std::numeric_limits<int64_t>::max() / 8)
      return fail(what + " has " + std::to_string(bucket.numel) + " elements");
    bucket.params = toVector(raw->params());
    bucket.offsets = toVector(raw->offsets());
    if (bucket.params.empty())
      return fail(what + " holds no parameters");
    if (bucket.params.size() != bucket.offsets.size())
      return fail(what + " has " + std::to_string(bucket.params.size()) +
                  " parameters but " + std::to_string(bucket.offsets.size()) +
                  " offsets");
    int64_t end = 0; // of the previous parameter
    for (size_t i = 0; i < bucket.params.size(); ++i) {
      uint32_t paramIndex = bucket.params[i];
      int64_t offset = bucket.offsets[i];
      if (paramIndex >= plan.params.size())
        return fail(what + " holds parameter " + std::to_string(paramIndex) +
                    ", but the plan has " + std::to_string(plan.params.size()));
      const PlanParam &param = plan.params[paramIndex];
      std::string where = what + ", parameter '" + param.name + "'";
      if (param.buffer)
        return fail(where + " is a buffer, not trainable");
      if (holder[paramIndex] != -1)
        return fail(where + " is already in bucket " +
                    std::to_string(holder[paramIndex]));
      holder[paramIndex] = index;
      if (offset < end || offset % kAlignElements != 0)
        return fail(where + " is at offset " + std::to_string(offset) +
                    "; offsets must ascend from " + std::to_string(end) +
                    " in multiples of " + std::to_string(kAlignElements));
      // Both operands are at most int64 max / 8.
      if (offset > bucket.numel || param.numel > bucket.numel - offset)
        return fail(where + " (" + std::to_string(param.numel) +
                    " elements at offset " + std::to_string(offset) +
                    ") ends beyond the bucket's " +
                    std::to_string(bucket.numel) + " elements");
      end = offset + param.numel;
    }
    bucket.stateKeys = toStrings(raw->state());
    for (const std::string &key : bucket.stateKeys)
      if (key.empty())
        return fail(what + " has an empty optimizer state key");
    plan.buckets.push_back(std::move(bucket));
  }
  return true;
}

bool PlanReader::define(uint32_t id, const std::string &where) {
  if (id >= defined.size())
    return fail(where + " defines value " + std::to_string(id) +
                ", but the function has " + std::to_string(defined.size()) +
                " values");
  if (defined[id])
    return fail(where + " defines value " + std::to_string(id) +
                ", which is already defined");
  defined[id] = true;
  return true;
}

bool PlanReader::checkDefined(uint32_t id, const std::string &where) {
  if (id >= defined.size())
    return fail(where + " uses value " + std::to_string(id) +
                ", but the function has " + std::to_string(defined.size()) +
                " values");
  if (!defined[id])
    return fail(where + " uses value " + std::to_string(id) +
                " before it is defined");
  return true;
}

bool PlanReader::readAttribute(const fb::Attribute &raw, Attribute &attr,
                               const std::string &where) {
  attr.name = raw.name()->str();
  std::string what = where + ", attribute '" + attr.name + "'";
  if (attr.name.empty())
    return fail(where + " has an attribute without a name");
  // The verifier has checked that the table matches the tag, but a tag of
  // NONE (or one this loader does not know) comes with no table.
  if (!raw.value())
    return fail(what + " has no value");
  switch (raw.value_type()) {
  case fb::AttributeValue::IntValue:
    attr.value = raw.value_as_IntValue()->value();
    return true;
  case fb::AttributeValue::FloatValue:
    attr.value = raw.value_as_FloatValue()->value();
    return true;
  case fb::AttributeValue::BoolValue:
    attr.value = raw.value_as_BoolValue()->value();
    return true;
  case fb::AttributeValue::StringValue: {
    const flatbuffers::String *string = raw.value_as_StringValue()->value();
    attr.value = string ? string->str() : std::string();
    return true;
  }
  case fb::AttributeValue::IntArray:
    attr.value = toVector(raw.value_as_IntArray()->values());
    return true;
  case fb::AttributeValue::FloatArray:
    attr.value = toVector(raw.value_as_FloatArray()->values());
    return true;
  case fb::AttributeValue::StringArray:
    attr.value = toStrings(raw.value_as_StringArray()->values());
    return true;
  case fb::AttributeValue::TypeValue: {
    const fb::TypeValue *type = raw.value_as_TypeValue();
    TypeAttrValue value;
    value.elementOnly = type->element_only();
    if (!readShape(type->shape(), value.shape, /*allowDynamic=*/true, what) ||
        !readDType(type->dtype(), value.dtype, what))
      return false;
    if (value.elementOnly && !value.shape.empty())
      return fail(what + " is an element type with a shape");
    attr.value = std::move(value);
    return true;
  }
  case fb::AttributeValue::NONE:
    break;
  }
  return fail(what + " has unknown kind " +
              std::to_string(static_cast<int>(raw.value_type())));
}

bool PlanReader::readInstruction(const fb::Instruction &raw, Instruction &inst,
                                 const std::string &where) {
  inst.op = raw.op()->str();
  std::string what = where + " (" + inst.op + ")";
  const OpSignature *signature = lookupOpSignature(inst.op);
  if (!signature)
    return fail(what + ": op '" + inst.op + "' is unknown to this runtime");
  inst.operands = toVector(raw.operands());
  inst.results = toVector(raw.results());
  auto countError = [&](const char *kind, size_t count, int min, int max) {
    std::string wanted = std::to_string(min);
    if (max != min)
      wanted = max < 0 ? "at least " + wanted
                       : wanted + " to " + std::to_string(max);
    return fail(what + " has " + std::to_string(count) + " " + kind +
                "; the op takes " + wanted);
  };
  auto outside = [](size_t count, int min, int max) {
    return count < static_cast<size_t>(min) ||
           (max >= 0 && count > static_cast<size_t>(max));
  };
  if (outside(inst.operands.size(), signature->minOperands,
              signature->maxOperands))
    return countError("operands", inst.operands.size(), signature->minOperands,
                      signature->maxOperands);
  if (outside(inst.results.size(), signature->minResults,
              signature->maxResults))
    return countError("results", inst.results.size(), signature->minResults,
                      signature->maxResults);
  for (uint32_t operand : inst.operands)
    if (!checkDefined(operand, what))
      return false;
  for (uint32_t result : inst.results)
    if (!define(result, what))
      return false;

  if (raw.symbols()) {
    for (const fb::SymbolRef *rawSymbol : *raw.symbols()) {
      SymbolRef symbol;
      symbol.name = rawSymbol->name()->str();
      symbol.index = rawSymbol->index();
      size_t limit;
      const char *table;
      switch (rawSymbol->kind()) {
      case fb::SymbolKind::Param:
        symbol.kind = SymbolKind::Param;
        limit = plan.params.size();
        table = "parameters";
        break;
      case fb::SymbolKind::Bucket:
        symbol.kind = SymbolKind::Bucket;
        limit = plan.buckets.size();
        table = "buckets";
        break;
      default:
        return fail(what + ", symbol '" + symbol.name + "' has unknown kind " +
                    std::to_string(static_cast<int>(rawSymbol->kind())));
      }
      if (symbol.index >= limit)
        return fail(what + ", symbol '" + symbol.name + "' refers to index " +
                    std::to_string(symbol.index) + ", but the plan has " +
                    std::to_string(limit) + " " + table);
      inst.symbols.push_back(std::move(symbol));
    }
  }

  if (raw.attributes()) {
    inst.attributes.reserve(raw.attributes()->size());
    for (const fb::Attribute *rawAttr : *raw.attributes()) {
      Attribute attr;
      if (!readAttribute(*rawAttr, attr, what))
        return false;
      inst.attributes.push_back(std::move(attr));
    }
  }
  if (raw.location())
    inst.location = raw.location()->str();
  inst.flops = raw.flops();
  if (inst.flops < 0)
    return fail(what + " counts " + std::to_string(inst.flops) + " FLOPs");
  return true;
}

bool PlanReader::readFunction(const fb::Function &raw, PlanFunction &function) {
  function.name = raw.name()->str();
  std::string what = "function '" + function.name + "'";
  if (function.name.empty())
    return fail("a function has no name");
  function.arenaBytes = raw.arena_bytes();
  if (function.arenaBytes < 0)
    return fail(what + " has a negative arena size " +
                std::to_string(function.arenaBytes));

  if (raw.values()) {
    function.values.reserve(raw.values()->size());
    for (const fb::Value *rawValue : *raw.values()) {
      std::string where =
          what + ", value " + std::to_string(function.values.size());
      PlanValue value;
      int64_t numel = 0;
      if (!readShape(rawValue->shape(), value.shape, /*allowDynamic=*/true,
                     where, &numel) ||
          !readDType(rawValue->dtype(), value.dtype, where))
        return false;
      value.shardOf = rawValue->shard_of();
      if (value.shardOf < -1 ||
          value.shardOf >= static_cast<int64_t>(plan.buckets.size()))
        return fail(where + " is a shard of bucket " +
                    std::to_string(value.shardOf) + ", but the plan has " +
                    std::to_string(plan.buckets.size()) + " buckets");
      bool dynamic =
          std::count(value.shape.begin(), value.shape.end(), kDynamicDim) != 0;
      if (value.isShard() && value.shape.size() != 1)
        return fail(where + " is a shard of bucket " +
                    std::to_string(value.shardOf) + " with shape " +
                    formatShape(value.shape) + "; shards are 1-D");
      if (dynamic && !value.isShard())
        return fail(where + " has a dynamic shape " + formatShape(value.shape) +
                    " but is no bucket shard");
      value.arenaOffset = rawValue->arena_offset();
      if (value.arenaOffset != -1) {
        // An arena value has a static size (readShape keeps numel * 8 in
        // int64) that fits the arena.
        int64_t bytes = numel * getDTypeBytes(value.dtype);
        if (value.arenaOffset < 0 || dynamic ||
            value.arenaOffset > function.arenaBytes ||
            bytes > function.arenaBytes - value.arenaOffset)
          return fail(where + " at arena offset " +
                      std::to_string(value.arenaOffset) +
                      " does not fit the function's arena of " +
                      std::to_string(function.arenaBytes) + " bytes");
      }
      function.values.push_back(std::move(value));
    }
  }
  defined.assign(function.values.size(), false);

  if (raw.args()) {
    for (const fb::Argument *rawArg : *raw.args()) {
      std::string where =
          what + ", argument " + std::to_string(function.args.size());
      PlanArgument arg;
      arg.value = rawArg->value();
      auto role = static_cast<int>(rawArg->role());
      if (role > static_cast<int>(ArgRole::Step))
        return fail(where + " has unknown role " + std::to_string(role));
      arg.role = static_cast<ArgRole>(role);
      if (!define(arg.value, where))
        return false;
      // The runtime writes these scalars itself.
      const PlanValue &value = function.values[arg.value];
      if ((arg.role == ArgRole::Lr && value.dtype != DType::F32) ||
          (arg.role == ArgRole::Step && value.dtype != DType::I64) ||
          ((arg.role == ArgRole::Lr || arg.role == ArgRole::Step) &&
           !value.shape.empty()))
        return fail(where + " (" + (arg.role == ArgRole::Lr ? "lr" : "step") +
                    ") is not an " + (arg.role == ArgRole::Lr ? "f32" : "i64") +
                    " scalar");
      function.args.push_back(arg);
    }
  }

  if (raw.instructions()) {
    function.instructions.reserve(raw.instructions()->size());
    for (const fb::Instruction *rawInst : *raw.instructions()) {
      Instruction inst;
      if (!readInstruction(*rawInst, inst,
                           what + ", instruction " +
                               std::to_string(function.instructions.size())))
        return false;
      function.instructions.push_back(std::move(inst));
    }
  }

  function.results = toVector(raw.results());
  for (uint32_t result : function.results)
    if (!checkDefined(result, what + " result"))
      return false;
  return true;
}

Expected<Plan> PlanReader::read(const fb::Plan &root) {
  if (root.version() != kPlanSchemaVersion)
    return PlanError{
        "plan: the file has schema version " + std::to_string(root.version()) +
        "; this runtime reads version " + std::to_string(kPlanSchemaVersion) +
        " (recompile it with a matching varc)"};
  if (!readConfig(*root.config()) || !readParams(root) || !readBuckets(root))
    return PlanError{error};
  if (root.functions()) {
    std::unordered_set<std::string> names;
    for (const fb::Function *raw : *root.functions()) {
      PlanFunction function;
      if (!readFunction(*raw, function))
        return PlanError{error};
      if (!names.insert(function.name).second)
        return PlanError{"plan: function '" + function.name +
                         "' is defined twice"};
      plan.functions.push_back(std::move(function));
    }
  }
  return std::move(plan);
}

Expected<Plan> var::plan::loadPlanFromBuffer(const uint8_t *data, size_t size) {
  // Root offset and identifier.
  if (!data || size < 2 * sizeof(flatbuffers::uoffset_t))
    return PlanError{"plan: " + std::to_string(size) +
                     " bytes are too few for a plan file"};
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return PlanError{"plan: " + std::to_string(size) +
                     " bytes are more than a plan file can hold"};
  if (!fb::PlanBufferHasIdentifier(data))
    return PlanError{"plan: not a VAR plan file (no \"" +
                     std::string(fb::PlanIdentifier()) + "\" identifier)"};

  // FlatBuffers reads scalars in place, so the buffer must be aligned for
  // the widest one; a copy costs little next to loading.
  std::vector<uint64_t> aligned;
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned.resize((size + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    std::memcpy(aligned.data(), data, size);
    data = reinterpret_cast<const uint8_t *>(aligned.data());
  }

  flatbuffers::Verifier::Options options;
  // Tables scale with the instruction count; the verifier stays linear in
  // the buffer size whatever this bound.
  options.max_tables = std::numeric_limits<flatbuffers::uoffset_t>::max();
  flatbuffers::Verifier verifier(data, size, options);
  if (!fb::VerifyPlanBuffer(verifier))
    return PlanError{"plan: the file is corrupt (FlatBuffers verification "
                     "failed)"};
  return PlanReader().read(*fb::GetPlan(data));
}

Expected<Plan> var::plan::loadPlan(const std::string &path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file)
    return PlanError{"plan: cannot open '" + path +
                     "': " + std::strerror(errno)};
  std::streamoff size = file.tellg();
  if (size < 0)
    return PlanError{"plan: cannot read '" + path + "'"};
  std::vector<uint64_t> storage((static_cast<size_t>(size) + 7) / 8);
  file.seekg(0);
  if (!file.read(reinterpret_cast<char *>(storage.data()), size))
    return PlanError{"plan: cannot read '" + path + "'"};
  Expected<Plan> plan =
      loadPlanFromBuffer(reinterpret_cast<const uint8_t *>(storage.data()),
                         static_cast<size_t>(size));
  if (!plan)
    return PlanError{plan.error() + " (in '" + path + "')"};
  return plan;
}

//===----------------------------------------------------------------------===//
// Resolving
//===----------------------------------------------------------------------===//

Expected<Plan> Plan::resolve(int64_t newWorldSize) const {
  if (config.pinnedWorldSize != 0 && newWorldSize != config.pinnedWorldSize)
    return PlanError{"plan was compiled for " +
                     std::to_string(config.pinnedWorldSize) +
                     " ranks; this job has " + std::to_string(newWorldSize) +
                     " (recompile without --world-size, or with " +
                     std::to_string(newWorldSize) + ")"};
  Plan resolved = *this;
  resolved.worldSize = newWorldSize;
  for (PlanBucket &bucket : resolved.buckets) {
    // The bucket as BucketLayout sees it: one run of `numel` elements, so
    // padding and shards come from the same arithmetic as the compiler's.
    int64_t bytes = getDTypeBytes(bucket.dtype);
    Expected<BucketLayout> layout = BucketLayout::build(
        {ParamSpec{bucket.name, bucket.numel}}, bucket.numel * bytes, bytes);
    if (!layout)
      return PlanError{"plan: bucket '" + bucket.name + "': " + layout.error()};
    Expected<BucketLayout> sharded = layout->resolve(newWorldSize);
    if (!sharded)
      return PlanError{"plan: bucket '" + bucket.name +
                       "': " + sharded.error()};
    const Bucket &only = sharded->getBuckets().front();
    bucket.paddedNumel = only.paddedNumel;
    bucket.shardNumel = only.shardNumel;
  }
  for (PlanFunction &function : resolved.functions) {
    for (size_t id = 0; id < function.values.size(); ++id) {
      PlanValue &value = function.values[id];
      if (!value.isShard())
        continue;
      const PlanBucket &bucket = resolved.buckets[value.shardOf];
      int64_t &dim = value.shape.front();
      // A static size the compiler chose must agree; one an earlier resolve
      // chose is replaced.
      if (!isResolved() && dim != kDynamicDim && dim != bucket.shardNumel)
        return PlanError{"plan: function '" + function.name + "', value " +
                         std::to_string(id) + " is a shard of bucket '" +
                         bucket.name + "' with " + std::to_string(dim) +
                         " elements, but at world size " +
                         std::to_string(newWorldSize) + " a shard has " +
                         std::to_string(bucket.shardNumel)};
      dim = bucket.shardNumel;
    }
  }
  return resolved;
}
