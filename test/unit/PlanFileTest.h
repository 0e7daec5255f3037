// What the plan-file tests share: a stage-3 module with every field set,
// the fixture that emits it, and small accessors.
#ifndef VAR_TEST_UNIT_PLANFILETEST_H
#define VAR_TEST_UNIT_PLANFILETEST_H

#include "compiler/Plan/PlanEmitter.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistOps.h"
#include "dialects/Var/IR/VarOps.h"
#include "runtime/plan/PlanFile.h"
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

namespace var::plantest {

using namespace mlir;
namespace plan = var::plan;
namespace fb = var::plan::fb;

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

inline plan::Plan load(const std::vector<uint8_t> &bytes) {
  plan::Expected<plan::Plan> loaded =
      plan::loadPlanFromBuffer(bytes.data(), bytes.size());
  EXPECT_TRUE(loaded) << loaded.error();
  return loaded ? std::move(*loaded) : plan::Plan{};
}

inline const plan::Instruction &instruction(const plan::PlanFunction &function,
                                            size_t index) {
  static const plan::Instruction none;
  EXPECT_LT(index, function.instructions.size());
  return index < function.instructions.size() ? function.instructions[index]
                                              : none;
}

inline std::vector<std::string> opNames(const plan::PlanFunction &function) {
  std::vector<std::string> names;
  for (const plan::Instruction &inst : function.instructions)
    names.push_back(inst.op);
  return names;
}

} // namespace var::plantest

#endif
