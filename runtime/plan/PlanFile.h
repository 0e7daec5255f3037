// The plan file loaded into plain C++ structs: the FlatBuffers verifier, then
// a range check of every id, index, size and offset, so nothing past
// loadPlan ever trusts the file. The schema is runtime/plan/schema/plan.fbs.
#ifndef VAR_RUNTIME_PLAN_PLANFILE_H
#define VAR_RUNTIME_PLAN_PLANFILE_H

#include "runtime/plan/BucketLayout.h" // Expected, PlanError
#include "runtime/plan/LrScheduleSpec.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace var::plan {

/// The schema version this loader reads (fb::Version::Current).
extern const uint32_t kPlanSchemaVersion;

/// Element types; the values of fb::DType.
enum class DType : uint8_t {
  F32 = 1,
  F16 = 2,
  BF16 = 3,
  F64 = 4,
  I1 = 5,
  I8 = 6,
  I16 = 7,
  I32 = 8,
  I64 = 9,
};
/// "f32", "bf16", "i64", ... as MLIR spells them.
std::string_view getDTypeName(DType dtype);
/// Bytes per element (I1 takes a byte).
int64_t getDTypeBytes(DType dtype);

/// The values of fb::InitKind (and var::InitKind).
enum class InitKind : uint8_t {
  Zeros = 0,
  Ones = 1,
  Normal = 2,
  Uniform = 3,
  KaimingNormalFanIn = 4,
  KaimingNormalFanOut = 5,
  KaimingUniform = 6,
  XavierUniform = 7,
};

/// The values of fb::ArgRole.
enum class ArgRole : uint8_t {
  None = 0,
  Input = 1,
  Labels = 2,
  Lr = 3,
  Step = 4
};

/// The values of fb::SymbolKind.
enum class SymbolKind : uint8_t { Param = 0, Bucket = 1 };

/// A dimension whose size depends on the world size (a bucket shard's)
/// until the plan is resolved.
inline constexpr int64_t kDynamicDim = -1;

struct PlanConfig {
  int64_t zeroStage = 0;
  DType computeDType = DType::F32;
  double bucketMB = 25.0;
  int64_t prefetchBuckets = 1;
  bool offloadOptimizer = false;
  bool offloadParams = false;
  int64_t gradAccum = 1;
  /// The global gradient L2 norm the step clips to; 0: no clipping.
  double clipGradNorm = 0.0;
  /// The only world size the plan runs at; 0: any.
  int64_t pinnedWorldSize = 0;
  /// The learning rate the runtime starts from.
  double initialLR = 1e-3;
  /// DeepSpeed's train_batch_size to check against; 0: not given.
  int64_t trainBatch = 0;
  /// The DeepSpeed config's scheduler; none: constant LR.
  std::optional<LrScheduleSpec> lrSchedule;
};

struct PlanParam {
  std::string name;
  std::vector<int64_t> shape; // static
  DType dtype = DType::F32;
  InitKind init = InitKind::Zeros;
  std::vector<double> initArgs;
  bool buffer = false;
  /// Product of shape (checked not to overflow).
  int64_t numel = 0;

  bool isTrainable() const { return !buffer; }
};

struct PlanBucket {
  std::string name;
  DType dtype = DType::F32;
  int64_t numel = 0;
  std::vector<uint32_t> params; // indices into Plan::params
  std::vector<int64_t> offsets; // one per param, in elements
  std::vector<std::string> stateKeys;
  /// numel padded to a multiple of worldSize * kAlignElements, and the
  /// elements one rank owns; 0 until the plan is resolved.
  int64_t paddedNumel = 0;
  int64_t shardNumel = 0;
};

/// An SSA value; its id is its index in PlanFunction::values.
struct PlanValue {
  /// kDynamicDim marks a shard's size until the plan is resolved.
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  /// The bucket (index) this value is a shard of, or -1.
  int64_t shardOf = -1;
  /// Byte offset in the function's arena, or -1 (see plan.fbs).
  int64_t arenaOffset = -1;

  bool isShard() const { return shardOf >= 0; }
};

struct PlanArgument {
  uint32_t value = 0;
  ArgRole role = ArgRole::None;
};

/// A type attribute: a ranked tensor (dims may be kDynamicDim) or a bare
/// element type.
struct TypeAttrValue {
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  bool elementOnly = false;
};

/// A unit attribute reads as `true`.
using AttributeValue =
    std::variant<int64_t, double, bool, std::string, std::vector<int64_t>,
                 std::vector<double>, std::vector<std::string>, TypeAttrValue>;

struct Attribute {
  std::string name;
  AttributeValue value;
};

struct SymbolRef {
  std::string name; // the attribute that held it: "param", "bucket"
  SymbolKind kind = SymbolKind::Param;
  uint32_t index = 0; // into Plan::params or Plan::buckets
};

struct Instruction {
  std::string op; // "var.conv", "dist.all_gather", ...
  std::vector<uint32_t> operands;
  std::vector<uint32_t> results;
  std::vector<SymbolRef> symbols;
  std::vector<Attribute> attributes; // sorted by name
  std::string location;
  /// FLOPs of one execution, from the compiler; 0: not counted.
  int64_t flops = 0;

  const Attribute *findAttribute(std::string_view name) const;
  /// The attribute `name` if it has type T, else null.
  template <typename T> const T *getAttr(std::string_view name) const {
    const Attribute *attr = findAttribute(name);
    return attr ? std::get_if<T>(&attr->value) : nullptr;
  }
  /// The first symbol held by attribute `name`.
  const SymbolRef *findSymbol(std::string_view name) const;
};

struct PlanFunction {
  std::string name;
  std::vector<PlanArgument> args;
  std::vector<uint32_t> results;
  std::vector<PlanValue> values;
  std::vector<Instruction> instructions;
  /// Size of the arena that values with an arenaOffset live in.
  int64_t arenaBytes = 0;
};

struct Plan {
  PlanConfig config;
  std::vector<PlanParam> params;
  std::vector<PlanBucket> buckets;
  std::vector<PlanFunction> functions;
  /// The world size shards are resolved for; 0 until resolve().
  int64_t worldSize = 0;

  const PlanFunction *findFunction(std::string_view name) const;
  bool isResolved() const { return worldSize != 0; }

  /// This plan for a job of worldSize ranks: every bucket's paddedNumel and
  /// shardNumel (from BucketLayout, the compiler's arithmetic) and every
  /// shard's size. Fails when the plan is pinned to another world size, or
  /// a shard the compiler sized statically disagrees.
  Expected<Plan> resolve(int64_t worldSize) const;
};

/// Reads, verifies and converts the plan file at `path`.
Expected<Plan> loadPlan(const std::string &path);
/// The same for a plan already in memory (any alignment).
Expected<Plan> loadPlanFromBuffer(const uint8_t *data, size_t size);

/// How many operands and results an op takes; max of -1: no upper bound.
/// The loader rejects instructions of unknown ops or other counts, so the
/// executor may index operands and results without checking.
struct OpSignature {
  std::string_view op;
  int minOperands;
  int maxOperands;
  int minResults;
  int maxResults;
};
/// The signature of `op`, or null for an op this runtime does not know.
const OpSignature *lookupOpSignature(std::string_view op);
/// Every op the runtime knows, sorted by name.
const std::vector<OpSignature> &getOpSignatures();

} // namespace var::plan

#endif
