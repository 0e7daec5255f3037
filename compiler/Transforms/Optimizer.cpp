// --var-optimizer: gradients become explicit AdamW or SGD updates on explicit
// optimizer state.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include <cmath>

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_OPTIMIZER
#include "compiler/Transforms/Passes.h.inc"

namespace {

LogicalResult checkOptions(ModuleOp module, const OptimizerConfig &o) {
  auto inUnit = [](double v, bool open) {
    return std::isfinite(v) && v >= 0.0 && (open ? v < 1.0 : v <= 1.0);
  };
  if (o.kind == OptimizerConfig::Kind::AdamW) {
    if (!inUnit(o.beta1, true) || !inUnit(o.beta2, true))
      return module.emitError("AdamW betas must be in [0, 1), got (")
             << o.beta1 << ", " << o.beta2 << ")";
    if (!std::isfinite(o.eps) || o.eps <= 0.0)
      return module.emitError("AdamW eps must be positive, got ") << o.eps;
  } else {
    if (!inUnit(o.momentum, false) || !inUnit(o.dampening, false))
      return module.emitError("SGD momentum and dampening must be in [0, 1], "
                              "got ")
             << o.momentum << " and " << o.dampening;
    if (o.nesterov && (o.momentum == 0.0 || o.dampening != 0.0))
      return module.emitError(
          "Nesterov momentum needs momentum > 0 and dampening 0");
  }
  if (!inUnit(o.weightDecay, false))
    return module.emitError("weight decay must be in [0, 1], got ")
           << o.weightDecay;
  return success();
}

/// Declares optimizer state `key` of `param` after the module's other state
/// declarations.
FailureOr<FlatSymbolRefAttr> declareState(ModuleOp module, SymbolTable &table,
                                          ParamOp param, StringRef key) {
  std::string name = (param.getSymName() + "." + key).str();
  if (table.lookup(name))
    return param.emitOpError("optimizer state @")
           << name << " would clash with an existing symbol";
  OpBuilder builder(module.getContext());
  Operation *last = param;
  for (Operation &op : module.getBody()->without_terminator())
    if (llvm::isa<ParamOp, OptimizerStateOp>(op))
      last = &op;
  builder.setInsertionPointAfter(last);
  auto type = RankedTensorType::get(param.getTensorType().getShape(),
                                    builder.getF32Type());
  auto state = builder.create<OptimizerStateOp>(
      param.getLoc(), builder.getStringAttr(name), TypeAttr::get(type),
      FlatSymbolRefAttr::get(param.getSymNameAttr()),
      builder.getStringAttr(key));
  table.insert(state);
  return FlatSymbolRefAttr::get(state.getSymNameAttr());
}

} // namespace

LogicalResult addOptimizer(ModuleOp module, func::FuncOp step,
                           const OptimizerConfig &options) {
  if (failed(checkOptions(module, options)))
    return failure();
  if (step.isExternal() || !step.getBody().hasOneBlock())
    return step.emitError("the training step must be a single block");
  bool updated = false;
  step.walk([&](Operation *op) {
    updated |= llvm::isa<AdamWUpdateOp, SGDUpdateOp>(op);
  });
  if (updated)
    return step.emitError("already has optimizer updates");
  SmallVector<ParamGradOp> grads(step.getOps<ParamGradOp>());
  if (grads.empty())
    return step.emitError("has no var.param_grad to update from; run "
                          "--var-autodiff first");

  MLIRContext *context = module.getContext();
  OpBuilder builder(context);
  auto roleAttrs = [&](StringRef role) {
    return builder.getDictionaryAttr(
        builder.getNamedAttr(kRoleAttr, builder.getStringAttr(role)));
  };
  Location loc = step.getLoc();
  unsigned count = step.getNumArguments();
  step.insertArgument(count, RankedTensorType::get({}, builder.getF32Type()),
                      roleAttrs("lr"), loc);
  step.insertArgument(count + 1,
                      RankedTensorType::get({}, builder.getI64Type()),
                      roleAttrs("step"), loc);
  Value lr = step.getArgument(count), stepCount = step.getArgument(count + 1);

  SymbolTable table(module);
  Block &body = step.getBody().front();
  builder.setInsertionPoint(body.getTerminator());
  for (ParamGradOp grad : grads) {
    auto param = table.lookup<ParamOp>(grad.getNameAttr().getAttr());
    if (!param)
      return grad.emitOpError("references undefined parameter ")
             << grad.getNameAttr();
    FlatSymbolRefAttr name = grad.getNameAttr();
    if (options.kind == OptimizerConfig::Kind::AdamW) {
      FailureOr<FlatSymbolRefAttr> expAvg =
          declareState(module, table, param, "exp_avg");
      FailureOr<FlatSymbolRefAttr> expAvgSq =
          declareState(module, table, param, "exp_avg_sq");
      if (failed(expAvg) || failed(expAvgSq))
        return failure();
      builder.create<AdamWUpdateOp>(
          grad.getLoc(), name, *expAvg, *expAvgSq, grad.getGrad(), lr,
          stepCount, builder.getF64FloatAttr(options.beta1),
          builder.getF64FloatAttr(options.beta2),
          builder.getF64FloatAttr(options.eps),
          builder.getF64FloatAttr(options.weightDecay));
    } else {
      FlatSymbolRefAttr buffer;
      if (options.momentum > 0.0) {
        FailureOr<FlatSymbolRefAttr> state =
            declareState(module, table, param, "momentum_buffer");
        if (failed(state))
          return failure();
        buffer = *state;
      }
      builder.create<SGDUpdateOp>(
          grad.getLoc(), name, buffer, grad.getGrad(), lr, stepCount,
          builder.getF64FloatAttr(options.momentum),
          builder.getF64FloatAttr(options.dampening),
          builder.getF64FloatAttr(options.weightDecay),
          options.nesterov ? builder.getUnitAttr() : nullptr);
    }
    grad.erase();
  }
  return success();
}

namespace {
struct OptimizerPass : public impl::OptimizerBase<OptimizerPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    OptimizerConfig options;
    if (optimizer == "adamw") {
      options.kind = OptimizerConfig::Kind::AdamW;
    } else if (optimizer == "sgd") {
      options.kind = OptimizerConfig::Kind::SGD;
    } else {
      module.emitError("unknown optimizer '")
          << optimizer << "' (expected adamw or sgd)";
      return signalPassFailure();
    }
    options.beta1 = beta1;
    options.beta2 = beta2;
    options.eps = eps;
    options.weightDecay = weightDecay;
    options.momentum = momentum;
    options.dampening = dampening;
    options.nesterov = nesterov;
    auto step = module.lookupSymbol<func::FuncOp>(entry);
    if (!step) {
      module.emitError("no training step @")
          << entry << "; run --var-autodiff first";
      return signalPassFailure();
    }
    if (failed(addOptimizer(module, step, options)))
      signalPassFailure();
  }
};
} // namespace

} // namespace var
