// The plan file end to end: MLIR text -> emitter -> FlatBuffer -> loader ->
// plain structs, field by field; resolution for a world size; the emitter's
// diagnostics; and the loader on corrupt input (truncated, random, flipped,
// and valid FlatBuffers whose ids, dtypes, offsets or counts are wrong).
#include "runtime/plan/PlanFile.h"
#include "compiler/Plan/PlanEmitter.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"
#include "runtime/plan/schema/plan_generated.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>

using namespace mlir;
namespace plan = var::plan;
namespace fb = var::plan::fb;

namespace {

// A stage-3 module as --var-zero writes it, cut down so that every field has
// a known value: two buckets of different dtypes, a buffer, initializers
// with and without arguments, shards, offload copies, both updates.
constexpr const char *kModule = R"mlir(
module attributes {dist.bucket_mb = 1.500000e+01 : f64, dist.clip_grad_norm = 1.000000e+00 : f64, dist.grad_accum = 2 : i64, dist.offload_optimizer = true, dist.offload_params = false, dist.prefetch_buckets = 2 : i64, dist.zero_stage = 3 : i64} {
  var.param @conv.weight : tensor<4x3x3x3xf32> init kaiming_normal_fan_out
  var.param @bn.weight : tensor<4xf32> init ones
  var.param @bn.bias : tensor<4xf32> init zeros
  var.param @bn.running_var : tensor<4xf32> init ones buffer
  var.param @fc.weight : tensor<5x4xf32> init normal(1.000000e-02)
  var.param @fc.bias : tensor<5xf32> init uniform(5.000000e-01)
  func.func @forward(%x: tensor<2x3x8x8xf32>) -> tensor<2x4x4x4xf32> {
    %w = var.get_param @conv.weight : tensor<4x3x3x3xf32>
    %c = var.conv %x, %w stride [2, 2] padding [1, 1] : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>
    %r = var.relu %c : tensor<2x4x4x4xf32>
    return %r : tensor<2x4x4x4xf32>
  }
  dist.bucket @bucket0 params [@conv.weight, @fc.weight, @fc.bias] offsets [0, 128, 192] numel 256 state ["exp_avg", "exp_avg_sq"] : bf16
  dist.bucket @bucket1 params [@bn.weight, @bn.bias] offsets [0, 64] numel 128 state ["momentum_buffer"] : f32
  func.func @train_step(%x: tensor<2x4xf32> {var.role = "input"}, %labels: tensor<2xi64> {var.role = "labels"}, %lr: tensor<f32> {var.role = "lr"}, %step: tensor<i64> {var.role = "step"}) -> (tensor<f32>, tensor<2x5xf32>) {
    %0 = var.cast %x : tensor<2x4xf32> to tensor<2x4xbf16>
    %1 = dist.load_params @bucket0 : tensor<?xbf16>
    %2 = dist.all_gather %1 : tensor<?xbf16> -> tensor<256xbf16>
    %3 = dist.unpack @bucket0, @fc.weight from %2 : tensor<256xbf16> -> tensor<5x4xbf16>
    %4 = dist.unpack @bucket0, @fc.bias from %2 : tensor<256xbf16> -> tensor<5xbf16>
    %5 = var.linear %0, %3, %4 : tensor<2x4xbf16>, tensor<5x4xbf16>, tensor<5xbf16>
    dist.release %2 : tensor<256xbf16>
    %6 = var.cast %5 : tensor<2x5xbf16> to tensor<2x5xf32>
    %7 = var.softmax_cross_entropy %6, %labels : tensor<2x5xf32>, tensor<2xi64>
    %8 = var.fill 1.000000e+00 : tensor<4x3x3x3xbf16>
    %9 = var.fill 2.000000e+00 : tensor<5x4xbf16>
    %10 = var.fill 3.000000e+00 : tensor<5xbf16>
    %11 = dist.pack @bucket0(%8, %9, %10) : tensor<4x3x3x3xbf16>, tensor<5x4xbf16>, tensor<5xbf16> -> tensor<256xbf16>
    %12 = dist.reduce_scatter %11 : tensor<256xbf16> -> tensor<?xbf16>
    dist.release %11 : tensor<256xbf16>
    %13 = dist.to_host %12 : tensor<?xbf16>
    %14 = dist.adamw_update @bucket0, %13 lr %lr step %step betas(9.000000e-01, 9.990000e-01) eps 1.000000e-08 weight_decay 1.000000e-02 on_host : tensor<?xbf16> -> tensor<?xf32>
    %15 = var.cast %14 : tensor<?xf32> to tensor<?xbf16>
    %16 = dist.to_device %15 : tensor<?xbf16>
    dist.store_params @bucket0, %16 : tensor<?xbf16>
    %17 = var.fill 0.000000e+00 : tensor<4xf32>
    %18 = dist.pack @bucket1(%17, %17) : tensor<4xf32>, tensor<4xf32> -> tensor<128xf32>
    %19 = dist.reduce_scatter %18 : tensor<128xf32> -> tensor<?xf32>
    %20 = dist.sgd_update @bucket1, %19 lr %lr step %step momentum 9.000000e-01 dampening 0.000000e+00 weight_decay 0.000000e+00 nesterov : tensor<?xf32> -> tensor<?xf32>
    dist.store_params @bucket1, %20 : tensor<?xf32>
    return %7, %6 : tensor<f32>, tensor<2x5xf32>
  }
}
)mlir";

class PlanFileTest : public ::testing::Test {
protected:
  PlanFileTest() {
    context
        .loadDialect<var::VarDialect, dist::DistDialect, func::FuncDialect>();
  }

  OwningOpRef<ModuleOp> parse(StringRef text) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(text, ParserConfig(&context), "test.mlir");
    EXPECT_TRUE(module) << "test module does not parse";
    return module;
  }

  /// The emitted plan, or empty with the diagnostics in `diagnostics`.
  std::vector<uint8_t> emit(ModuleOp module,
                            const var::PlanEmitOptions &options = {}) {
    diagnostics.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    std::vector<uint8_t> bytes;
    if (failed(var::emitPlan(module, options, bytes)))
      return {};
    return bytes;
  }

  std::vector<uint8_t> emitModule(const var::PlanEmitOptions &options = {}) {
    OwningOpRef<ModuleOp> module = parse(kModule);
    std::vector<uint8_t> bytes = emit(*module, options);
    EXPECT_FALSE(bytes.empty()) << diagnostics;
    return bytes;
  }

  /// What the emitter reports for `text`; the emission must fail.
  std::string emitError(StringRef text,
                        const var::PlanEmitOptions &options = {}) {
    OwningOpRef<ModuleOp> module = parse(text);
    if (!module)
      return "";
    EXPECT_TRUE(emit(*module, options).empty());
    return diagnostics;
  }

  MLIRContext context;
  std::string diagnostics;
};

plan::Plan load(const std::vector<uint8_t> &bytes) {
  plan::Expected<plan::Plan> loaded =
      plan::loadPlanFromBuffer(bytes.data(), bytes.size());
  EXPECT_TRUE(loaded) << loaded.error();
  return loaded ? std::move(*loaded) : plan::Plan{};
}

const plan::Instruction &instruction(const plan::PlanFunction &function,
                                     size_t index) {
  static const plan::Instruction none;
  EXPECT_LT(index, function.instructions.size());
  return index < function.instructions.size() ? function.instructions[index]
                                              : none;
}

std::vector<std::string> opNames(const plan::PlanFunction &function) {
  std::vector<std::string> names;
  for (const plan::Instruction &inst : function.instructions)
    names.push_back(inst.op);
  return names;
}

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

} // namespace
