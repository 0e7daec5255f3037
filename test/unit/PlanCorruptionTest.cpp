// The plan loader on corrupt input: truncated, random and flipped bytes,
// and valid FlatBuffers whose ids, dtypes, offsets or counts are wrong.
#include "test/unit/PlanFileTest.h"

#include <random>

namespace var::plantest {

//===----------------------------------------------------------------------===//
// Corrupt input
//===----------------------------------------------------------------------===//

/// The loader's verdict on `bytes`, which must be a clean rejection.
std::string loadError(const std::vector<uint8_t> &bytes) {
  plan::Expected<plan::Plan> loaded =
      plan::loadPlanFromBuffer(bytes.data(), bytes.size());
  EXPECT_FALSE(loaded) << "corrupt plan loaded";
  if (loaded)
    return "";
  EXPECT_EQ(loaded.error().rfind("plan: ", 0), 0u) << loaded.error();
  return loaded.error();
}

/// Valid FlatBuffers with wrong contents: unpack the emitted plan into the
/// generated object API, change one field, pack it again.
class CorruptPlanTest : public PlanFileTest {
protected:
  void SetUp() override {
    bytes = emitModule();
    object = fb::UnPackPlan(bytes.data());
    ASSERT_TRUE(object);
    // Repacking the untouched object gives a plan that loads.
    plan::Expected<plan::Plan> same =
        plan::loadPlanFromBuffer(pack().data(), pack().size());
    ASSERT_TRUE(same) << same.error();
  }

  std::vector<uint8_t> pack() {
    flatbuffers::FlatBufferBuilder builder;
    fb::FinishPlanBuffer(builder, fb::Plan::Pack(builder, object.get()));
    return std::vector<uint8_t>(builder.GetBufferPointer(),
                                builder.GetBufferPointer() + builder.GetSize());
  }

  /// Error of the repacked plan, which must mention `expected`.
  void expectError(const std::string &expected) {
    std::string error = loadError(pack());
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }

  fb::FunctionT &function(const std::string &name) {
    for (auto &function : object->functions)
      if (function->name == name)
        return *function;
    ADD_FAILURE() << "no function " << name;
    return *object->functions.front();
  }
  fb::InstructionT &inst(const std::string &fn, size_t index) {
    return *function(fn).instructions.at(index);
  }

  std::vector<uint8_t> bytes;
  std::unique_ptr<fb::PlanT> object;
};

TEST_F(PlanFileTest, TruncatedBuffersAreRejected) {
  std::vector<uint8_t> bytes = emitModule();
  for (size_t size = 0; size < bytes.size(); size += size < 64 ? 1 : 13) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + size);
    std::string error = loadError(prefix);
    EXPECT_FALSE(error.empty()) << size;
  }
  EXPECT_NE(loadError({}).find("too few"), std::string::npos);
  EXPECT_TRUE(plan::loadPlanFromBuffer(nullptr, 0).error().size() > 0);
}

TEST_F(PlanFileTest, RandomBytesAreRejected) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> bytes(rng() % 512);
    for (uint8_t &byte : bytes)
      byte = static_cast<uint8_t>(rng());
    // Half of them get past the identifier check.
    if (bytes.size() >= 8 && i % 2)
      std::memcpy(bytes.data() + 4, "VARP", 4);
    loadError(bytes);
  }
  EXPECT_NE(loadError(std::vector<uint8_t>(64, 0)).find("not a VAR plan file"),
            std::string::npos);
}

TEST_F(PlanFileTest, ByteFlipsNeverCrash) {
  std::vector<uint8_t> bytes = emitModule();
  std::mt19937 rng(42);
  int loaded = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> flipped = bytes;
    for (int flips = 1 + rng() % 4; flips > 0; --flips)
      flipped[rng() % flipped.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    plan::Expected<plan::Plan> result =
        plan::loadPlanFromBuffer(flipped.data(), flipped.size());
    if (!result) {
      EXPECT_EQ(result.error().rfind("plan: ", 0), 0u) << result.error();
      continue;
    }
    // What loads is consistent enough to resolve and walk.
    ++loaded;
    plan::Expected<plan::Plan> resolved = result->resolve(2);
    if (!resolved)
      continue;
    for (const plan::PlanFunction &function : resolved->functions)
      for (const plan::Instruction &inst : function.instructions) {
        for (uint32_t id : inst.operands)
          ASSERT_LT(id, function.values.size());
        for (const plan::SymbolRef &symbol : inst.symbols)
          ASSERT_LT(symbol.index, symbol.kind == plan::SymbolKind::Param
                                      ? resolved->params.size()
                                      : resolved->buckets.size());
      }
  }
  // Flips in floats, names and padding leave a loadable plan; the rest fail.
  EXPECT_GT(loaded, 0);
  EXPECT_LT(loaded, 5000);
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 10.0);
}

TEST_F(CorruptPlanTest, WrongVersion) {
  object->version = 99;
  expectError("schema version 99; this runtime reads version 1");
}

TEST_F(CorruptPlanTest, NegativeFlops) {
  inst("train_step", 2).flops = -5;
  expectError("instruction 2 (dist.all_gather) counts -5 FLOPs");
}

TEST_F(CorruptPlanTest, OutOfRangeValueId) {
  inst("train_step", 2).operands[0] = 9999;
  expectError("instruction 2 (dist.all_gather) uses value 9999, but the "
              "function has");
}

TEST_F(CorruptPlanTest, UseBeforeDefinition) {
  // The all-gather reads the unpack that follows it.
  inst("train_step", 2).operands[0] = inst("train_step", 3).results[0];
  expectError("before it is defined");
}

TEST_F(CorruptPlanTest, ValueDefinedTwice) {
  inst("train_step", 3).results[0] = inst("train_step", 2).results[0];
  expectError("which is already defined");
}

TEST_F(CorruptPlanTest, OutOfRangeFunctionResult) {
  function("forward").results[0] = 4;
  expectError("function 'forward' result uses value 4");
}

TEST_F(CorruptPlanTest, BadValueDType) {
  function("train_step").values[5]->dtype = static_cast<fb::DType>(200);
  expectError("value 5 has unknown dtype 200");
}

TEST_F(CorruptPlanTest, BadParamDType) {
  object->params[0]->dtype = fb::DType::Invalid;
  expectError("parameter 0 ('conv.weight') has unknown dtype 0");
}

TEST_F(CorruptPlanTest, NegativeParamDim) {
  object->params[1]->shape = {-4};
  expectError("dimension -4 is negative");
}

TEST_F(CorruptPlanTest, HugeParamShape) {
  object->params[1]->shape = {int64_t(1) << 40, int64_t(1) << 40};
  expectError("too large for int64");
}

TEST_F(CorruptPlanTest, OffsetBeyondBucket) {
  object->buckets[0]->offsets[2] = 256;
  expectError("parameter 'fc.bias' (5 elements at offset 256) ends beyond "
              "the bucket's 256 elements");
}

TEST_F(CorruptPlanTest, OverlappingOrUnalignedOffsets) {
  object->buckets[0]->offsets[1] = 64; // conv.weight covers [0, 108)
  expectError("offsets must ascend from 108");
  object->buckets[0]->offsets[1] = 130;
  expectError("in multiples of 64");
}

TEST_F(CorruptPlanTest, ParamOutsideBucketTable) {
  object->buckets[1]->params[0] = 6;
  expectError("holds parameter 6, but the plan has 6");
}

TEST_F(CorruptPlanTest, ParamInTwoBuckets) {
  object->buckets[1]->params[0] = 0;
  expectError("'conv.weight' is already in bucket 0");
}

TEST_F(CorruptPlanTest, BufferInBucket) {
  object->buckets[1]->params[1] = 3;
  expectError("'bn.running_var' is a buffer");
}

TEST_F(CorruptPlanTest, MismatchedOffsets) {
  object->buckets[1]->offsets.pop_back();
  expectError("has 2 parameters but 1 offsets");
}

TEST_F(CorruptPlanTest, WrongOperandCount) {
  inst("train_step", 2).operands.push_back(0); // all_gather takes one
  expectError("(dist.all_gather) has 2 operands; the op takes 1");
  inst("train_step", 2).operands = {};
  expectError("has 0 operands; the op takes 1");
  inst("train_step", 2).operands = {5};
  inst("train_step", 5).operands.push_back(0); // linear takes 2 or 3
  expectError("(var.linear) has 4 operands; the op takes 2 to 3");
}

TEST_F(CorruptPlanTest, WrongResultCount) {
  inst("train_step", 6).results.push_back(99); // release has none
  expectError("(dist.release) has 1 results; the op takes 0");
}

TEST_F(CorruptPlanTest, UnknownOp) {
  inst("forward", 2).op = "var.teleport";
  expectError("op 'var.teleport' is unknown to this runtime");
}

TEST_F(CorruptPlanTest, SymbolOutOfRange) {
  inst("forward", 0).symbols[0]->index = 6;
  expectError("symbol 'name' refers to index 6, but the plan has 6 "
              "parameters");
  inst("forward", 0).symbols[0]->kind = fb::SymbolKind::Bucket;
  inst("forward", 0).symbols[0]->index = 2;
  expectError("but the plan has 2 buckets");
  inst("forward", 0).symbols[0]->kind = static_cast<fb::SymbolKind>(7);
  expectError("has unknown kind 7");
}

TEST_F(CorruptPlanTest, ShardOfUnknownBucket) {
  function("train_step").values[5]->shard_of = 2;
  expectError("value 5 is a shard of bucket 2, but the plan has 2 buckets");
}

TEST_F(CorruptPlanTest, ArenaOffsetOutsideArena) {
  fb::FunctionT &step = function("train_step");
  step.arena_bytes = 4;
  // Value 0, the input clips, is larger than 4 bytes.
  step.values[0]->arena_offset = 0;
  expectError("value 0 at arena offset 0 does not fit the function's arena "
              "of 4 bytes");
  step.values[0]->arena_offset = -7;
  expectError("value 0 at arena offset -7 does not fit");
  step.values[0]->arena_offset = -1;
  step.arena_bytes = -5;
  expectError("function 'train_step' has a negative arena size -5");
}

TEST_F(CorruptPlanTest, DynamicDimOutsideShard) {
  function("train_step").values[5]->shard_of = -1;
  expectError("value 5 has a dynamic shape [-1] but is no bucket shard");
  function("train_step").values[5]->shard_of = 0;
  function("train_step").values[5]->shape = {-1, 2};
  expectError("shards are 1-D");
}

TEST_F(CorruptPlanTest, BadArgument) {
  std::vector<fb::Argument> &args = function("train_step").args;
  args[2] = fb::Argument(2, static_cast<fb::ArgRole>(9));
  expectError("argument 2 has unknown role 9");
  args[2] = fb::Argument(0, fb::ArgRole::Lr); // the input batch's value
  expectError("argument 2 defines value 0, which is already defined");
  args[2] = fb::Argument(2, fb::ArgRole::Lr);
  args[0] = fb::Argument(0, fb::ArgRole::Lr);
  expectError("argument 0 (lr) is not an f32 scalar");
}

TEST_F(CorruptPlanTest, BadConfig) {
  object->config->zero_stage = 4;
  expectError("ZeRO stage 4 is not 0 to 3");
  object->config->zero_stage = 3;
  object->config->compute_dtype = fb::DType::I32;
  expectError("compute dtype i32 is not f32, bf16 or f16");
  object->config->compute_dtype = fb::DType::BF16;
  object->config->grad_accum = 0;
  expectError("gradient accumulation of 0");
  object->config->grad_accum = 1;
  object->config->world_size = -8;
  expectError("pinned world size -8 is negative");
  object->config->world_size = 0;
  object->config->clip_grad_norm = -1.0;
  expectError("gradient clipping norm -1.000000 is neither 0 (off) nor "
              "positive");
  object->config->clip_grad_norm = 0.0;
  object->config->initial_lr = -0.5;
  expectError("initial learning rate -0.500000 is not a finite non-negative "
              "number");
  object->config->initial_lr = 0.1;
  object->config->train_batch = -4;
  expectError("train batch -4 is negative");
}

TEST_F(CorruptPlanTest, BadInitializer) {
  object->params[4]->init_args.clear();
  expectError("('fc.weight') has 0 initializer arguments; its initializer "
              "takes 1");
  object->params[4]->init_args = {-1.0};
  expectError("it must be positive");
  object->params[4]->init = static_cast<fb::InitKind>(42);
  expectError("unknown initializer 42");
}

TEST_F(CorruptPlanTest, DuplicateNames) {
  object->params[1]->name = "conv.weight";
  expectError("('conv.weight') is declared twice");
  object->params[1]->name = "bn.weight";
  object->buckets[1]->name = "bucket0";
  expectError("('bucket0') is declared twice");
  object->buckets[1]->name = "bucket1";
  function("forward").name = "train_step";
  expectError("function 'train_step' is defined twice");
}

TEST_F(CorruptPlanTest, AttributeWithoutValue) {
  auto &attrs = inst("forward", 1).attributes;
  ASSERT_FALSE(attrs.empty());
  attrs[0]->value.Reset();
  expectError("attribute '" + attrs[0]->name + "' has no value");
}

TEST_F(CorruptPlanTest, TypeAttributeWithBadDType) {
  fb::TypeValueT type;
  type.dtype = static_cast<fb::DType>(77);
  inst("forward", 1).attributes[0]->value.Set(std::move(type));
  expectError("unknown dtype 77");
}

TEST_F(CorruptPlanTest, StaticShardOfWrongSize) {
  // A shard the compiler sized for one world size, resolved for another.
  function("train_step").values[5]->shape = {100};
  plan::Plan loaded = load(pack());
  plan::Expected<plan::Plan> resolved = loaded.resolve(2);
  ASSERT_FALSE(resolved);
  EXPECT_NE(resolved.error().find("with 100 elements, but at world size 2 a "
                                  "shard has 128"),
            std::string::npos)
      << resolved.error();
}

} // namespace var::plantest
