// Building `var` ops from C++, as passes will: result types come from
// inference, and FLOP counts from FlopCountOpInterface.
#include "dialects/Var/IR/VarOps.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

class VarOpsTest : public ::testing::Test {
protected:
  VarOpsTest() : builder(&context) {
    context.loadDialect<var::VarDialect, func::FuncDialect>();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }

  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }

  /// A function with the given argument types; the builder is left in it.
  func::FuncOp makeFunc(StringRef name, TypeRange args) {
    auto func = builder.create<func::FuncOp>(builder.getUnknownLoc(), name,
                                             builder.getFunctionType(args, {}));
    builder.setInsertionPointToStart(func.addEntryBlock());
    return func;
  }

  Location loc() { return builder.getUnknownLoc(); }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(VarOpsTest, ConvInfersStridedShapeAndCountsFlops) {
  auto func = makeFunc("f", {f32({2, 3, 32, 32}), f32({16, 3, 5, 5})});
  auto conv = builder.create<var::ConvOp>(
      loc(), func.getArgument(0), func.getArgument(1), Value(),
      builder.getDenseI64ArrayAttr({2, 2}),
      builder.getDenseI64ArrayAttr({2, 2}), nullptr,
      builder.getI64IntegerAttr(1));
  // (32 + 2*2 - 5) / 2 + 1 = 16
  EXPECT_EQ(conv.getType(), f32({2, 16, 16, 16}));
  // 2 * (2*16*16*16 outputs) * (3 * 5 * 5 MACs each)
  EXPECT_EQ(conv.getForwardFlops(), 2 * (2 * 16 * 16 * 16) * (3 * 5 * 5));
}

TEST_F(VarOpsTest, DynamicBatchGivesNoFlopCountUntilSpecialized) {
  auto func = makeFunc("forward", {f32({ShapedType::kDynamic, 8, 3, 4, 4})});
  auto fold = builder.create<var::FoldTimeOp>(loc(), func.getArgument(0));
  auto relu = builder.create<var::ReluOp>(loc(), fold.getResult());
  builder.create<func::ReturnOp>(loc(), relu.getResult());
  func.setFunctionType(
      builder.getFunctionType(func.getArgumentTypes(), {relu.getType()}));
  EXPECT_EQ(relu.getType(), f32({ShapedType::kDynamic, 3, 4, 4}));
  EXPECT_EQ(relu.getForwardFlops(), std::nullopt);

  ASSERT_TRUE(succeeded(var::specializeBatch(func, 5)));
  EXPECT_EQ(relu.getType(), f32({40, 3, 4, 4}));
  EXPECT_EQ(relu.getForwardFlops(), 40 * 3 * 4 * 4);
  EXPECT_EQ(func.getFunctionType().getResult(0), f32({40, 3, 4, 4}));
  EXPECT_TRUE(succeeded(verify(*module)));
}

TEST_F(VarOpsTest, BroadcastMulForSqueezeExcite) {
  auto func = makeFunc("f", {f32({4, 24, 7, 7}), f32({4, 24, 1, 1})});
  auto mul = builder.create<var::MulOp>(loc(), func.getArgument(0),
                                        func.getArgument(1));
  EXPECT_EQ(mul.getType(), f32({4, 24, 7, 7}));
}

TEST_F(VarOpsTest, LstmResultsAndFlops) {
  const int64_t b = 2, t = 3, in = 5, h = 4;
  auto func = makeFunc("f", {f32({b, t, in}), f32({4 * h, in}), f32({4 * h, h}),
                             f32({4 * h}), f32({4 * h})});
  auto lstm = builder.create<var::LSTMOp>(
      loc(), func.getArgument(0), func.getArgument(1), func.getArgument(2),
      func.getArgument(3), func.getArgument(4));
  EXPECT_EQ(lstm.getSequence().getType(), f32({b, t, h}));
  EXPECT_EQ(lstm.getLast().getType(), f32({b, h}));
  int64_t perStep = 2 * b * 4 * h * (in + h) + 2 * b * 4 * h + 9 * b * h;
  EXPECT_EQ(lstm.getForwardFlops(), t * perStep);
}

TEST_F(VarOpsTest, InferenceFailureIsReportedNotAsserted) {
  auto func = makeFunc("f", {f32({2, 3, 8, 8}), f32({16, 4, 3, 3})});
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  SmallVector<Type> types;
  var::ConvOp::Adaptor adaptor({func.getArgument(0), func.getArgument(1)});
  EXPECT_TRUE(
      failed(var::ConvOp::inferReturnTypes(&context, loc(), adaptor, types)));
  EXPECT_NE(message.find("input has 3 channels"), std::string::npos) << message;
}

} // namespace
