// The plan file end to end: MLIR text -> emitter -> FlatBuffer -> loader ->
// plain structs, field by field; resolution for a world size; the emitter's
// diagnostics; the op table against the dialects (corrupt input:
// PlanCorruptionTest.cpp).
#include "test/unit/PlanFileTest.h"

#include "llvm/Support/FileSystem.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <set>

namespace var::plantest {

//===----------------------------------------------------------------------===//
// Round trip
//===----------------------------------------------------------------------===//

TEST_F(PlanFileTest, HeaderAndConfig) {
  std::vector<uint8_t> bytes = emitModule();
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(std::string(bytes.begin() + 4, bytes.begin() + 8), "VARP");

  plan::Plan loaded = load(bytes);
  EXPECT_EQ(loaded.config.zeroStage, 3);
  EXPECT_EQ(loaded.config.computeDType, plan::DType::BF16);
  EXPECT_DOUBLE_EQ(loaded.config.bucketMB, 15.0);
  EXPECT_EQ(loaded.config.prefetchBuckets, 2);
  EXPECT_TRUE(loaded.config.offloadOptimizer);
  EXPECT_FALSE(loaded.config.offloadParams);
  EXPECT_EQ(loaded.config.gradAccum, 2);
  EXPECT_DOUBLE_EQ(loaded.config.clipGradNorm, 1.0);
  EXPECT_EQ(loaded.config.pinnedWorldSize, 0);
  EXPECT_FALSE(loaded.isResolved());

  EXPECT_DOUBLE_EQ(loaded.config.initialLR, 1e-3);
  EXPECT_EQ(loaded.config.trainBatch, 0);
  EXPECT_FALSE(loaded.config.lrSchedule);

  var::PlanEmitOptions fp32;
  fp32.precision = "fp32";
  fp32.worldSize = 8;
  fp32.initialLR = 0.25;
  fp32.trainBatch = 512;
  plan::Plan pinned = load(emitModule(fp32));
  EXPECT_EQ(pinned.config.computeDType, plan::DType::F32);
  EXPECT_EQ(pinned.config.pinnedWorldSize, 8);
  EXPECT_DOUBLE_EQ(pinned.config.initialLR, 0.25);
  EXPECT_EQ(pinned.config.trainBatch, 512);
}

TEST_F(PlanFileTest, LrScheduleRoundTrip) {
  // Set fields come back; unset ones stay unset (DeepSpeed's defaults
  // apply in the runtime), not zero.
  var::PlanEmitOptions options;
  options.lrSchedule = plan::LrScheduleSpec{};
  options.lrSchedule->type = "WarmupCosineLR";
  options.lrSchedule->warmupNumSteps = 0;
  options.lrSchedule->warmupType = "linear";
  options.lrSchedule->totalNumSteps = 1000;
  options.lrSchedule->cosMinRatio = 0.5;
  plan::Plan loaded = load(emitModule(options));
  ASSERT_TRUE(loaded.config.lrSchedule);
  const plan::LrScheduleSpec &spec = *loaded.config.lrSchedule;
  EXPECT_EQ(spec.type, "WarmupCosineLR");
  EXPECT_EQ(spec.warmupNumSteps, 0);
  EXPECT_EQ(spec.warmupType, "linear");
  EXPECT_EQ(spec.totalNumSteps, 1000);
  EXPECT_EQ(spec.cosMinRatio, 0.5);
  EXPECT_EQ(spec.warmupMinLr, std::nullopt);
  EXPECT_EQ(spec.warmupMaxLr, std::nullopt);
  EXPECT_EQ(spec.warmupMinRatio, std::nullopt);
}

TEST_F(PlanFileTest, Params) {
  plan::Plan loaded = load(emitModule());
  ASSERT_EQ(loaded.params.size(), 6u);
  struct Expect {
    const char *name;
    std::vector<int64_t> shape;
    plan::InitKind init;
    std::vector<double> args;
    bool buffer;
    int64_t numel;
  } expected[] = {
      {"conv.weight",
       {4, 3, 3, 3},
       plan::InitKind::KaimingNormalFanOut,
       {},
       false,
       108},
      {"bn.weight", {4}, plan::InitKind::Ones, {}, false, 4},
      {"bn.bias", {4}, plan::InitKind::Zeros, {}, false, 4},
      {"bn.running_var", {4}, plan::InitKind::Ones, {}, true, 4},
      {"fc.weight", {5, 4}, plan::InitKind::Normal, {0.01}, false, 20},
      {"fc.bias", {5}, plan::InitKind::Uniform, {0.5}, false, 5},
  };
  for (size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE(expected[i].name);
    const plan::PlanParam &param = loaded.params[i];
    EXPECT_EQ(param.name, expected[i].name);
    EXPECT_EQ(param.shape, expected[i].shape);
    EXPECT_EQ(param.dtype, plan::DType::F32);
    EXPECT_EQ(param.init, expected[i].init);
    EXPECT_EQ(param.initArgs, expected[i].args);
    EXPECT_EQ(param.buffer, expected[i].buffer);
    EXPECT_EQ(param.isTrainable(), !expected[i].buffer);
    EXPECT_EQ(param.numel, expected[i].numel);
  }
}

TEST_F(PlanFileTest, Buckets) {
  plan::Plan loaded = load(emitModule());
  ASSERT_EQ(loaded.buckets.size(), 2u);
  const plan::PlanBucket &b0 = loaded.buckets[0];
  EXPECT_EQ(b0.name, "bucket0");
  EXPECT_EQ(b0.dtype, plan::DType::BF16);
  EXPECT_EQ(b0.numel, 256);
  EXPECT_EQ(b0.params, (std::vector<uint32_t>{0, 4, 5}));
  EXPECT_EQ(b0.offsets, (std::vector<int64_t>{0, 128, 192}));
  EXPECT_EQ(b0.stateKeys, (std::vector<std::string>{"exp_avg", "exp_avg_sq"}));
  EXPECT_EQ(b0.paddedNumel, 0);
  EXPECT_EQ(b0.shardNumel, 0);
  const plan::PlanBucket &b1 = loaded.buckets[1];
  EXPECT_EQ(b1.name, "bucket1");
  EXPECT_EQ(b1.dtype, plan::DType::F32);
  EXPECT_EQ(b1.numel, 128);
  EXPECT_EQ(b1.params, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(b1.offsets, (std::vector<int64_t>{0, 64}));
  EXPECT_EQ(b1.stateKeys, (std::vector<std::string>{"momentum_buffer"}));
}

TEST_F(PlanFileTest, ForwardFunction) {
  plan::Plan loaded = load(emitModule());
  ASSERT_EQ(loaded.functions.size(), 2u);
  const plan::PlanFunction *forward = loaded.findFunction("forward");
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ(loaded.findFunction("nothing"), nullptr);

  ASSERT_EQ(forward->args.size(), 1u);
  EXPECT_EQ(forward->args[0].value, 0u);
  EXPECT_EQ(forward->args[0].role, plan::ArgRole::None);
  ASSERT_EQ(forward->values.size(), 4u);
  EXPECT_EQ(forward->values[0].shape, (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_EQ(forward->values[0].dtype, plan::DType::F32);
  EXPECT_FALSE(forward->values[0].isShard());
  EXPECT_EQ(forward->values[3].shape, (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_EQ(forward->results, (std::vector<uint32_t>{3}));

  EXPECT_EQ(opNames(*forward), (std::vector<std::string>{
                                   "var.get_param", "var.conv", "var.relu"}));
  const plan::Instruction &getParam = instruction(*forward, 0);
  EXPECT_TRUE(getParam.operands.empty());
  EXPECT_EQ(getParam.results, (std::vector<uint32_t>{1}));
  ASSERT_EQ(getParam.symbols.size(), 1u);
  EXPECT_EQ(getParam.symbols[0].name, "name");
  EXPECT_EQ(getParam.symbols[0].kind, plan::SymbolKind::Param);
  EXPECT_EQ(getParam.symbols[0].index, 0u);
  // Symbols are not repeated as attributes.
  EXPECT_EQ(getParam.findAttribute("name"), nullptr);

  const plan::Instruction &conv = instruction(*forward, 1);
  EXPECT_EQ(conv.operands, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(conv.results, (std::vector<uint32_t>{2}));
  ASSERT_NE(conv.getAttr<std::vector<int64_t>>("stride"), nullptr);
  EXPECT_EQ(*conv.getAttr<std::vector<int64_t>>("stride"),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(*conv.getAttr<std::vector<int64_t>>("padding"),
            (std::vector<int64_t>{1, 1}));
  // The wrong kind reads as absent.
  EXPECT_EQ(conv.getAttr<int64_t>("stride"), nullptr);
  EXPECT_TRUE(std::is_sorted(
      conv.attributes.begin(), conv.attributes.end(),
      [](const auto &a, const auto &b) { return a.name < b.name; }));
  // Locations point into the parsed text.
  EXPECT_EQ(conv.location.rfind("test.mlir:11:", 0), 0u) << conv.location;
  // FLOPs for the profiler: 2 x (2 x 4 x 4 x 4 outputs) x (3 x 3 x 3 taps)
  // for the conv, one per element for the relu, none for get_param.
  EXPECT_EQ(conv.flops, 2 * 128 * 27);
  EXPECT_EQ(instruction(*forward, 2).flops, 128);
  EXPECT_EQ(getParam.flops, 0);
}

TEST_F(PlanFileTest, TrainStepFunction) {
  plan::Plan loaded = load(emitModule());
  const plan::PlanFunction *step = loaded.findFunction("train_step");
  ASSERT_NE(step, nullptr);

  ASSERT_EQ(step->args.size(), 4u);
  plan::ArgRole roles[] = {plan::ArgRole::Input, plan::ArgRole::Labels,
                           plan::ArgRole::Lr, plan::ArgRole::Step};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(step->args[i].value, i);
    EXPECT_EQ(step->args[i].role, roles[i]);
  }
  EXPECT_EQ(step->values[1].dtype, plan::DType::I64);
  EXPECT_TRUE(step->values[2].shape.empty());
  EXPECT_EQ(step->values[2].dtype, plan::DType::F32);

  EXPECT_EQ(opNames(*step),
            (std::vector<std::string>{"var.cast",
                                      "dist.load_params",
                                      "dist.all_gather",
                                      "dist.unpack",
                                      "dist.unpack",
                                      "var.linear",
                                      "dist.release",
                                      "var.cast",
                                      "var.softmax_cross_entropy",
                                      "var.fill",
                                      "var.fill",
                                      "var.fill",
                                      "dist.pack",
                                      "dist.reduce_scatter",
                                      "dist.release",
                                      "dist.to_host",
                                      "dist.adamw_update",
                                      "var.cast",
                                      "dist.to_device",
                                      "dist.store_params",
                                      "var.fill",
                                      "dist.pack",
                                      "dist.reduce_scatter",
                                      "dist.sgd_update",
                                      "dist.store_params"}));

  // Values: 4 args, then one per result in order.
  auto valueOf = [&](size_t inst) { return instruction(*step, inst).results; };
  uint32_t shard0 = valueOf(1)[0], full0 = valueOf(2)[0];
  EXPECT_EQ(shard0, 5u);
  EXPECT_EQ(step->values[shard0].shape,
            (std::vector<int64_t>{plan::kDynamicDim}));
  EXPECT_EQ(step->values[shard0].dtype, plan::DType::BF16);
  EXPECT_EQ(step->values[shard0].shardOf, 0);
  EXPECT_EQ(step->values[full0].shape, (std::vector<int64_t>{256}));
  EXPECT_FALSE(step->values[full0].isShard());

  // Shards follow their bucket through collectives, copies, casts and
  // updates: bucket 0 on one chain, bucket 1 on the other.
  for (size_t inst : {12u, 15u, 16u, 17u, 18u}) {
    SCOPED_TRACE(inst);
    const plan::PlanValue &value = step->values[valueOf(inst)[0]];
    EXPECT_EQ(value.shardOf, inst == 12 ? -1 : 0);
  }
  EXPECT_EQ(step->values[valueOf(13)[0]].shardOf, 0);
  EXPECT_EQ(step->values[valueOf(16)[0]].dtype, plan::DType::F32);
  EXPECT_EQ(step->values[valueOf(22)[0]].shardOf, 1);
  EXPECT_EQ(step->values[valueOf(23)[0]].shardOf, 1);

  const plan::Instruction &unpack = instruction(*step, 3);
  EXPECT_EQ(unpack.operands, (std::vector<uint32_t>{full0}));
  ASSERT_EQ(unpack.symbols.size(), 2u);
  const plan::SymbolRef *bucket = unpack.findSymbol("bucket");
  const plan::SymbolRef *param = unpack.findSymbol("param");
  ASSERT_TRUE(bucket && param);
  EXPECT_EQ(bucket->kind, plan::SymbolKind::Bucket);
  EXPECT_EQ(bucket->index, 0u);
  EXPECT_EQ(param->kind, plan::SymbolKind::Param);
  EXPECT_EQ(param->index, 4u); // fc.weight

  EXPECT_EQ(instruction(*step, 5).operands.size(), 3u); // linear with bias
  const plan::Instruction &release = instruction(*step, 6);
  EXPECT_EQ(release.operands, (std::vector<uint32_t>{full0}));
  EXPECT_TRUE(release.results.empty());

  const plan::Instruction &fill = instruction(*step, 9);
  ASSERT_NE(fill.getAttr<double>("value"), nullptr);
  EXPECT_DOUBLE_EQ(*fill.getAttr<double>("value"), 1.0);
  EXPECT_EQ(step->values[fill.results[0]].shape,
            (std::vector<int64_t>{4, 3, 3, 3}));

  const plan::Instruction &pack = instruction(*step, 12);
  EXPECT_EQ(pack.operands.size(), 3u);
  EXPECT_EQ(pack.findSymbol("bucket")->index, 0u);

  const plan::Instruction &adamw = instruction(*step, 16);
  EXPECT_EQ(adamw.operands,
            (std::vector<uint32_t>{valueOf(15)[0], 2u, 3u})); // grad, lr, step
  EXPECT_DOUBLE_EQ(*adamw.getAttr<double>("beta1"), 0.9);
  EXPECT_DOUBLE_EQ(*adamw.getAttr<double>("beta2"), 0.999);
  EXPECT_DOUBLE_EQ(*adamw.getAttr<double>("eps"), 1e-8);
  EXPECT_DOUBLE_EQ(*adamw.getAttr<double>("weight_decay"), 0.01);
  ASSERT_NE(adamw.getAttr<bool>("on_host"), nullptr);
  EXPECT_TRUE(*adamw.getAttr<bool>("on_host"));

  const plan::Instruction &sgd = instruction(*step, 23);
  EXPECT_EQ(sgd.findSymbol("bucket")->index, 1u);
  EXPECT_TRUE(*sgd.getAttr<bool>("nesterov"));
  EXPECT_EQ(sgd.getAttr<bool>("on_host"), nullptr); // unset unit attribute

  EXPECT_EQ(step->results.size(), 2u);
  EXPECT_EQ(step->results[0], valueOf(8)[0]);
  EXPECT_EQ(step->results[1], valueOf(7)[0]);
}

TEST_F(PlanFileTest, AttributeKinds) {
  // Attributes the dialects do not use yet still round-trip: the emitter is
  // generic, so a new op needs no schema change.
  const char *text = R"mlir(
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    %r = var.relu %x {i = 7 : i32, u = 9 : ui16, b = false, s = "text",
                      ss = ["a", "b"], fa = [1.5, 2.5], ia = [3, 4],
                      df = array<f32: 0.5>, di = array<i32: -1, 2>,
                      t = tensor<?x3xbf16>, e = i64, empty = []} : tensor<4xf32>
    return %r : tensor<4xf32>
  }
}
)mlir";
  OwningOpRef<ModuleOp> module = parse(text);
  std::vector<uint8_t> bytes = emit(*module);
  ASSERT_FALSE(bytes.empty()) << diagnostics;
  plan::Plan loaded = load(bytes);
  const plan::Instruction &relu = loaded.functions.at(0).instructions.at(0);
  EXPECT_EQ(*relu.getAttr<int64_t>("i"), 7);
  EXPECT_EQ(*relu.getAttr<int64_t>("u"), 9);
  EXPECT_FALSE(*relu.getAttr<bool>("b"));
  EXPECT_EQ(*relu.getAttr<std::string>("s"), "text");
  EXPECT_EQ(*relu.getAttr<std::vector<std::string>>("ss"),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*relu.getAttr<std::vector<double>>("fa"),
            (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(*relu.getAttr<std::vector<int64_t>>("ia"),
            (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(*relu.getAttr<std::vector<double>>("df"),
            (std::vector<double>{0.5}));
  EXPECT_EQ(*relu.getAttr<std::vector<int64_t>>("di"),
            (std::vector<int64_t>{-1, 2}));
  const auto *tensor = relu.getAttr<plan::TypeAttrValue>("t");
  ASSERT_NE(tensor, nullptr);
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{plan::kDynamicDim, 3}));
  EXPECT_EQ(tensor->dtype, plan::DType::BF16);
  EXPECT_FALSE(tensor->elementOnly);
  const auto *element = relu.getAttr<plan::TypeAttrValue>("e");
  ASSERT_NE(element, nullptr);
  EXPECT_TRUE(element->elementOnly);
  EXPECT_EQ(element->dtype, plan::DType::I64);
  EXPECT_TRUE(relu.getAttr<std::vector<int64_t>>("empty")->empty());
}

TEST_F(PlanFileTest, ChannelsLastReachesTheRuntimeAsABool) {
  // The layout contract with the kernels: call.getBool("channels_last").
  const char *text = R"mlir(
module {
  func.func @f(%x: tensor<2x8x8x3xf32>, %y: tensor<2x3x8x8xf32>,
               %w: tensor<4x3x3x3xf32>)
      -> (tensor<2x6x6x4xf32>, tensor<2x4x6x6xf32>) {
    %a = var.conv %x, %w channels_last : tensor<2x8x8x3xf32>, tensor<4x3x3x3xf32>
    %b = var.conv %y, %w : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>
    return %a, %b : tensor<2x6x6x4xf32>, tensor<2x4x6x6xf32>
  }
}
)mlir";
  OwningOpRef<ModuleOp> module = parse(text);
  ASSERT_TRUE(module) << diagnostics;
  std::vector<uint8_t> bytes = emit(*module);
  ASSERT_FALSE(bytes.empty()) << diagnostics;
  plan::Plan loaded = load(bytes);
  const auto &instructions = loaded.functions.at(0).instructions;
  ASSERT_EQ(instructions.size(), 2u);
  ASSERT_NE(instructions[0].getAttr<bool>("channels_last"), nullptr);
  EXPECT_TRUE(*instructions[0].getAttr<bool>("channels_last"));
  EXPECT_EQ(instructions[1].findAttribute("channels_last"), nullptr);
}

//===----------------------------------------------------------------------===//
// Resolution
//===----------------------------------------------------------------------===//

TEST_F(PlanFileTest, ResolveSizesShardsWithBucketLayout) {
  plan::Plan loaded = load(emitModule());
  for (int64_t world : {1, 2, 3, 4, 8}) {
    SCOPED_TRACE(world);
    plan::Expected<plan::Plan> resolved = loaded.resolve(world);
    ASSERT_TRUE(resolved) << resolved.error();
    EXPECT_EQ(resolved->worldSize, world);
    for (const plan::PlanBucket &bucket : resolved->buckets) {
      // The same numbers as the planner's for a bucket of this size.
      plan::Expected<plan::BucketLayout> layout =
          plan::BucketLayout::build({{"p", bucket.numel}}, bucket.numel * 4, 4);
      ASSERT_TRUE(layout);
      plan::Expected<plan::BucketLayout> sharded = layout->resolve(world);
      ASSERT_TRUE(sharded);
      EXPECT_EQ(bucket.paddedNumel, sharded->getBuckets()[0].paddedNumel);
      EXPECT_EQ(bucket.shardNumel, sharded->getBuckets()[0].shardNumel);
      EXPECT_EQ(bucket.shardNumel * world, bucket.paddedNumel);
      EXPECT_EQ(bucket.shardNumel % plan::kAlignElements, 0);
    }
    const plan::PlanFunction *step = resolved->findFunction("train_step");
    for (const plan::PlanValue &value : step->values) {
      for (int64_t dim : value.shape)
        EXPECT_GE(dim, 0);
      if (value.isShard()) {
        EXPECT_EQ(value.shape[0], resolved->buckets[value.shardOf].shardNumel);
      }
    }
  }
  // 256 elements over 3 ranks: padded to 3 * 128 = 384, 128 each.
  plan::Expected<plan::Plan> three = loaded.resolve(3);
  EXPECT_EQ(three->buckets[0].paddedNumel, 384);
  EXPECT_EQ(three->buckets[0].shardNumel, 128);
  EXPECT_EQ(three->findFunction("train_step")->values[5].shape,
            (std::vector<int64_t>{128}));
  // Resolving again re-sizes.
  plan::Expected<plan::Plan> again = three->resolve(4);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->buckets[0].shardNumel, 64);
  EXPECT_EQ(again->findFunction("train_step")->values[5].shape,
            (std::vector<int64_t>{64}));

  plan::Expected<plan::Plan> none = loaded.resolve(0);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("world size must be at least 1"),
            std::string::npos)
      << none.error();
}

TEST_F(PlanFileTest, PinnedWorldSizeRefusesAnother) {
  var::PlanEmitOptions options;
  options.worldSize = 8;
  plan::Plan loaded = load(emitModule(options));
  plan::Expected<plan::Plan> eight = loaded.resolve(8);
  ASSERT_TRUE(eight) << eight.error();
  EXPECT_EQ(eight->buckets[0].shardNumel, 64); // 256 -> 512 over 8
  plan::Expected<plan::Plan> four = loaded.resolve(4);
  ASSERT_FALSE(four);
  EXPECT_NE(four.error().find("plan was compiled for 8 ranks; this job has 4"),
            std::string::npos)
      << four.error();
}

TEST_F(PlanFileTest, WritesAndLoadsAFile) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("plan", "fb", path));
  OwningOpRef<ModuleOp> module = parse(kModule);
  ASSERT_TRUE(succeeded(var::writePlanFile(*module, {}, path)));
  plan::Expected<plan::Plan> loaded = plan::loadPlan(path.str().str());
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->functions.size(), 2u);

  // A damaged file names itself.
  {
    std::FILE *file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fputs("not a plan", file);
    std::fclose(file);
  }
  plan::Expected<plan::Plan> bad = plan::loadPlan(path.str().str());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("not a VAR plan file"), std::string::npos);
  EXPECT_NE(bad.error().find(path.str().str()), std::string::npos);
  llvm::sys::fs::remove(path);

  plan::Expected<plan::Plan> missing = plan::loadPlan(path.str().str());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot open"), std::string::npos);
}

TEST_F(PlanFileTest, LoadsFromUnalignedMemory) {
  std::vector<uint8_t> bytes = emitModule();
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  plan::Expected<plan::Plan> loaded =
      plan::loadPlanFromBuffer(shifted.data() + 1, bytes.size());
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->params.size(), 6u);
}

//===----------------------------------------------------------------------===//
// Emitter diagnostics
//===----------------------------------------------------------------------===//

TEST_F(PlanFileTest, EmitterRejectsOpsOutsideVarAndDist) {
  std::string error = emitError(R"mlir(
module {
  func.func @g(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    %r = func.call @g(%x) : (tensor<4xf32>) -> tensor<4xf32>
    return %r : tensor<4xf32>
  }
}
)mlir");
  EXPECT_NE(error.find("'func.call' op has no place in a plan"),
            std::string::npos)
      << error;
}

TEST_F(PlanFileTest, EmitterRejectsUnspecializedBatch) {
  std::string error = emitError(R"mlir(
module {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %r = var.relu %x : tensor<?x4xf32>
    return %r : tensor<?x4xf32>
  }
}
)mlir");
  EXPECT_NE(error.find("no bucket shard"), std::string::npos) << error;
  EXPECT_NE(error.find("--var-specialize-batch"), std::string::npos) << error;
}

TEST_F(PlanFileTest, EmitterRejectsWhatTheSchemaCannotHold) {
  EXPECT_NE(emitError(R"mlir(
module attributes {dist.mystery = 1 : i64} {
}
)mlir")
                .find("'dist.mystery' has no field in the plan schema"),
            std::string::npos);
  EXPECT_NE(emitError(R"mlir(
module attributes {dist.zero_stage = "three"} {
}
)mlir")
                .find("'dist.zero_stage' has the wrong kind of value"),
            std::string::npos);
  EXPECT_NE(emitError(R"mlir(
module {
  func.func @f(%x: tensor<4xf32> {var.role = "weights"}) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
)mlir")
                .find("has var.role \"weights\""),
            std::string::npos);
  EXPECT_NE(emitError(R"mlir(
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    %r = var.relu %x {dense = dense<1.0> : tensor<2xf32>} : tensor<4xf32>
    return %r : tensor<4xf32>
  }
}
)mlir")
                .find("attribute 'dense' is of a kind the plan cannot "
                      "encode"),
            std::string::npos);
  EXPECT_NE(emitError(R"mlir(
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    %r = var.relu %x {sym = @nowhere} : tensor<4xf32>
    return %r : tensor<4xf32>
  }
}
)mlir")
                .find("neither a var.param nor a dist.bucket"),
            std::string::npos);
  EXPECT_NE(emitError(R"mlir(
module {
  func.func private @external(%x: tensor<4xf32>) -> tensor<4xf32>
}
)mlir")
                .find("has no body"),
            std::string::npos);

  OwningOpRef<ModuleOp> module = parse("module {}");
  var::PlanEmitOptions fp16;
  fp16.precision = "fp16";
  EXPECT_TRUE(emit(*module, fp16).empty());
  EXPECT_NE(diagnostics.find("precision 'fp16' is not bf16 or fp32"),
            std::string::npos)
      << diagnostics;
  var::PlanEmitOptions negative;
  negative.worldSize = -2;
  EXPECT_TRUE(emit(*module, negative).empty());
  EXPECT_NE(diagnostics.find("world size -2"), std::string::npos);
  // An empty module is a (useless) valid plan.
  EXPECT_FALSE(emit(*module).empty()) << diagnostics;
}

//===----------------------------------------------------------------------===//
// The op table and the dialects
//===----------------------------------------------------------------------===//

/// Sets `exact` or `atLeast` to the N of whichever Exactly<N> or AtLeast<N>
/// trait `name` has, for N in 1 .. sizeof...(Is).
template <template <unsigned> class Exactly, template <unsigned> class AtLeast,
          size_t... Is>
void probeCountTraits(RegisteredOperationName name, int &exact, int &atLeast,
                      std::index_sequence<Is...>) {
  auto probe = [&](auto n) {
    constexpr unsigned N = decltype(n)::value;
    if constexpr (N > 1) // ZeroOperands and OneOperand stand for 0 and 1
      if (name.hasTrait<Exactly<N>::template Impl>())
        exact = N;
    if (name.hasTrait<AtLeast<N>::template Impl>())
      atLeast = N;
  };
  (probe(std::integral_constant<unsigned, Is + 1>()), ...);
}

/// The operand (or result) count range ODS gives an op, from its traits.
template <template <unsigned> class Exactly, template <unsigned> class AtLeast>
std::pair<int, int> countRange(RegisteredOperationName name, bool zero,
                               bool one, bool variadic) {
  if (zero)
    return {0, 0};
  if (one)
    return {1, 1};
  int exact = -1, atLeast = -1;
  probeCountTraits<Exactly, AtLeast>(name, exact, atLeast,
                                     std::make_index_sequence<12>());
  if (exact >= 0)
    return {exact, exact};
  if (atLeast >= 0)
    return {atLeast, -1};
  return {variadic ? 0 : -2, -1};
}

template <unsigned N> using NOperands = OpTrait::NOperands<N>;
template <unsigned N> using AtLeastNOperands = OpTrait::AtLeastNOperands<N>;
template <unsigned N> using NResults = OpTrait::NResults<N>;
template <unsigned N> using AtLeastNResults = OpTrait::AtLeastNResults<N>;

TEST_F(PlanFileTest, OpTableMatchesTheDialects) {
  std::set<std::string> instructionOps;
  for (RegisteredOperationName name : context.getRegisteredOperations()) {
    StringRef dialect = name.getDialectNamespace();
    if (dialect != "var" && dialect != "dist")
      continue;
    // Module-level declarations are tables of the plan, not instructions.
    if (name.hasTrait<OpTrait::HasParent<ModuleOp>::Impl>())
      continue;
    std::string op = name.getStringRef().str();
    SCOPED_TRACE(op);
    instructionOps.insert(op);
    const plan::OpSignature *signature = plan::lookupOpSignature(op);
    ASSERT_NE(signature, nullptr)
        << op
        << " is missing from the op table in runtime/plan/OpSignatures.cpp";
    auto [minOperands, maxOperands] = countRange<NOperands, AtLeastNOperands>(
        name, name.hasTrait<OpTrait::ZeroOperands>(),
        name.hasTrait<OpTrait::OneOperand>(),
        name.hasTrait<OpTrait::VariadicOperands>());
    auto [minResults, maxResults] = countRange<NResults, AtLeastNResults>(
        name, name.hasTrait<OpTrait::ZeroResults>(),
        name.hasTrait<OpTrait::OneResult>(),
        name.hasTrait<OpTrait::VariadicResults>());
    ASSERT_GE(minOperands, 0) << "cannot read the operand count";
    ASSERT_GE(minResults, 0) << "cannot read the result count";
    // Fixed counts must match; for variadic ones the table may be tighter
    // (optional operands: 2 to 3; a variadic list that is never empty).
    if (maxOperands >= 0) {
      EXPECT_EQ(signature->minOperands, minOperands);
      EXPECT_EQ(signature->maxOperands, maxOperands);
    } else {
      EXPECT_GE(signature->minOperands, minOperands);
    }
    if (maxResults >= 0) {
      EXPECT_EQ(signature->minResults, minResults);
      EXPECT_EQ(signature->maxResults, maxResults);
    } else {
      EXPECT_GE(signature->minResults, minResults);
    }
  }
  for (const plan::OpSignature &signature : plan::getOpSignatures())
    EXPECT_TRUE(instructionOps.count(std::string(signature.op)))
        << signature.op << " is in the op table but not in the dialects";
  EXPECT_TRUE(std::is_sorted(
      plan::getOpSignatures().begin(), plan::getOpSignatures().end(),
      [](const auto &a, const auto &b) { return a.op < b.op; }));
}

//===----------------------------------------------------------------------===//
// The real pipeline
//===----------------------------------------------------------------------===//

TEST_F(PlanFileTest, EveryZeroStageOfTheBasicCnnLoads) {
  var::registerVarPasses();
  std::string source;
  {
    std::FILE *file = std::fopen(MODELS_DIR "/basic_cnn.mlir", "rb");
    ASSERT_NE(file, nullptr);
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
      source.append(buffer, n);
    std::fclose(file);
  }
  // The partitioning (and, last, varc's scheduling) passes as varc runs them.
  for (const char *tail :
       {"var-zero{stage=0}", "var-zero{stage=1 offload-optimizer=true}",
        "var-zero{stage=2}",
        "var-zero{stage=3 offload-optimizer=true offload-params=true}",
        "var-zero{stage=3 grad-accum=2 clip-grad-norm=1.0},var-schedule,"
        "var-plan-memory"}) {
    SCOPED_TRACE(tail);
    OwningOpRef<ModuleOp> module = parse(source);
    ASSERT_TRUE(module);
    PassManager pm(&context);
    std::string pipeline =
        std::string("var-mixed-precision,var-specialize-batch{batch=2},"
                    "var-autodiff,var-optimizer,") +
        tail;
    ASSERT_TRUE(succeeded(parsePassPipeline(pipeline, pm))) << pipeline;
    ASSERT_TRUE(succeeded(pm.run(*module)));
    std::vector<uint8_t> bytes = emit(*module);
    ASSERT_FALSE(bytes.empty()) << diagnostics;
    plan::Plan loaded = load(bytes);
    EXPECT_EQ(loaded.params.size(), 17u);
    // With memory planned, the step's activations have arena offsets.
    if (llvm::StringRef(tail).ends_with("var-plan-memory")) {
      const plan::PlanFunction *step = loaded.findFunction("train_step");
      ASSERT_NE(step, nullptr);
      EXPECT_GT(step->arenaBytes, 0);
      EXPECT_TRUE(std::any_of(
          step->values.begin(), step->values.end(),
          [](const plan::PlanValue &value) { return value.arenaOffset >= 0; }));
    }
    EXPECT_NE(loaded.findFunction("forward"), nullptr);
    EXPECT_NE(loaded.findFunction("train_step"), nullptr);
    for (int64_t world : {1, 2, 8}) {
      plan::Expected<plan::Plan> resolved = loaded.resolve(world);
      ASSERT_TRUE(resolved) << resolved.error();
      for (const plan::PlanFunction &function : resolved->functions)
        for (const plan::PlanValue &value : function.values)
          for (int64_t dim : value.shape)
            EXPECT_GE(dim, 0) << function.name;
    }
  }
}

} // namespace var::plantest
