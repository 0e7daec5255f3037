// --var-autodiff: turns a model's forward into a training step by reverse
// mode differentiation through DifferentiableOpInterface.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_AUTODIFF
#include "compiler/Transforms/Passes.h.inc"

namespace {

bool isStatic(Type type) {
  auto tensor = llvm::dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape();
}

/// The buffer a batch norm's running statistic comes from, and how many
/// of the statistic's entries are the buffer's: all of them, or, after
/// --var-pad-channels, those before the var.fill that the var.concat appends.
struct BufferRead {
  GetParamOp get;
  int64_t size;
};

FailureOr<BufferRead> bufferSource(BatchNormOp op, Value stat, StringRef what) {
  Value read = stat;
  auto concat = stat.getDefiningOp<ConcatOp>();
  if (concat && concat.getInputs().size() == 2 &&
      concat.getInputs()[1].getDefiningOp<FillOp>())
    read = concat.getInputs()[0];
  auto get = read.getDefiningOp<GetParamOp>();
  if (!get)
    return op.emitOpError(what) << " must come straight from var.get_param "
                                << "so that training can update it";
  return BufferRead{get,
                    llvm::cast<RankedTensorType>(read.getType()).getDimSize(0)};
}

/// The new running statistic `stat` as the buffer `read` holds it.
Value unpadded(OpBuilder &b, Location loc, Value stat, const BufferRead &read) {
  if (llvm::cast<RankedTensorType>(stat.getType()).getDimSize(0) == read.size)
    return stat;
  return b.create<SliceOp>(loc, stat, 0, 0, read.size);
}

class TrainStepBuilder {
public:
  TrainStepBuilder(ModuleOp module, func::FuncOp forward,
                   const TrainStepOptions &options)
      : module(module), forward(forward), options(options),
        builder(module.getContext()) {}

  FailureOr<func::FuncOp> build();

private:
  LogicalResult checkForward();
  /// Copies the forward into the step in training form; returns the logits.
  FailureOr<Value> cloneForward(Block &body);
  void markActive(Block &body);
  LogicalResult buildBackward(Block &body, Value loss);
  void addGrad(Value value, Value grad);

  ModuleOp module;
  func::FuncOp forward;
  const TrainStepOptions &options;
  OpBuilder builder;
  SymbolTable *symbols = nullptr;
  /// Values that depend on a trainable parameter.
  llvm::DenseSet<Value> active;
  /// Gradient of the loss with respect to each value, summed so far.
  llvm::DenseMap<Value, Value> grads;
};

LogicalResult TrainStepBuilder::checkForward() {
  if (forward.isExternal())
    return forward.emitError("cannot differentiate a function without a body");
  if (!forward.getBody().hasOneBlock())
    return forward.emitError("the forward must be a single block");
  for (Type type : forward.getArgumentTypes())
    if (!isStatic(type))
      return forward.emitError("argument type ")
             << type << " is not static; set the batch first "
             << "(--var-specialize-batch)";
  if (forward.getNumResults() != 1)
    return forward.emitError("the forward must return one logits tensor");
  auto logits = llvm::dyn_cast<RankedTensorType>(forward.getResultTypes()[0]);
  if (!logits || logits.getRank() != 2 || !logits.hasStaticShape())
    return forward.emitError("the forward must return static (batch, "
                             "classes) logits, got ")
           << forward.getResultTypes()[0];
  if (module.lookupSymbol(options.trainEntry))
    return module.emitError("symbol @")
           << options.trainEntry << " already exists; the training step "
           << "needs a fresh name (train-entry option)";
  if (!(options.labelSmoothing >= 0.0 && options.labelSmoothing < 1.0))
    return module.emitError("label smoothing must be in [0, 1), got ")
           << options.labelSmoothing;
  if (!std::isfinite(options.lossScale) || options.lossScale <= 0.0)
    return module.emitError("loss scale must be positive and finite, got ")
           << options.lossScale;
  return success();
}

FailureOr<Value> TrainStepBuilder::cloneForward(Block &body) {
  IRMapping mapping;
  // The step's leading arguments are the forward's; labels, LR and step
  // follow them.
  for (auto [from, to] : llvm::zip_equal(
           forward.getArguments(),
           body.getArguments().take_front(forward.getNumArguments())))
    mapping.map(from, to);
  builder.setInsertionPointToEnd(&body);
  int64_t dropoutKey = 0;
  Value logits;
  for (Operation &op : forward.getBody().front()) {
    if (auto ret = llvm::dyn_cast<func::ReturnOp>(op)) {
      logits = mapping.lookup(ret.getOperand(0));
      continue;
    }
    // Frozen batch norm is cloned as it is (evaluation form) and
    // differentiated through its own rule.
    auto bn = llvm::dyn_cast<BatchNormOp>(op);
    if (bn && !options.freezeBatchNorm) {
      FailureOr<BufferRead> mean =
          bufferSource(bn, bn.getRunningMean(), "running mean");
      FailureOr<BufferRead> var =
          bufferSource(bn, bn.getRunningVar(), "running variance");
      if (failed(mean) || failed(var))
        return failure();
      auto train = builder.create<BatchNormTrainOp>(
          bn.getLoc(), mapping.lookup(bn.getInput()),
          mapping.lookup(bn.getWeight()), mapping.lookup(bn.getBias()),
          mapping.lookup(bn.getRunningMean()),
          mapping.lookup(bn.getRunningVar()), bn.getEpsAttr(),
          bn.getMomentumAttr(), bn.getChannelsLastAttr(),
          bn.getActivationAttr());
      builder.create<UpdateBufferOp>(
          bn.getLoc(), mean->get.getNameAttr(),
          unpadded(builder, bn.getLoc(), train.getNewRunningMean(), *mean));
      builder.create<UpdateBufferOp>(
          bn.getLoc(), var->get.getNameAttr(),
          unpadded(builder, bn.getLoc(), train.getNewRunningVar(), *var));
      mapping.map(bn.getResult(), train.getResult());
      continue;
    }
    if (auto dropout = llvm::dyn_cast<DropoutOp>(op)) {
      auto train = builder.create<DropoutTrainOp>(
          dropout.getLoc(), mapping.lookup(dropout.getInput()),
          dropout.getPAttr(), builder.getI64IntegerAttr(dropoutKey++));
      mapping.map(dropout.getResult(), train.getResult());
      continue;
    }
    builder.clone(op, mapping);
  }
  return logits;
}

void TrainStepBuilder::markActive(Block &body) {
  for (Operation &op : body) {
    if (auto get = llvm::dyn_cast<GetParamOp>(op)) {
      auto param = symbols->lookup<ParamOp>(get.getNameAttr().getAttr());
      if (param && !param.getBuffer() &&
          llvm::isa<FloatType>(get.getType().getElementType()))
        active.insert(get.getResult());
      continue;
    }
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return active.contains(v); }))
      for (Value result : op.getResults())
        if (llvm::isa<FloatType>(llvm::cast<RankedTensorType>(result.getType())
                                     .getElementType()))
          active.insert(result);
  }
}

void TrainStepBuilder::addGrad(Value value, Value grad) {
  Value &slot = grads[value];
  slot = slot ? builder.create<AddOp>(grad.getLoc(), slot, grad).getResult()
              : grad;
}

LogicalResult TrainStepBuilder::buildBackward(Block &body, Value loss) {
  // Ops of the forward, before the backward appends to the same block.
  SmallVector<Operation *> forwardOps;
  for (Operation &op : body)
    forwardOps.push_back(&op);

  // A parameter's gradient is complete once every read of it is processed;
  // reverse order reaches its first read last.
  llvm::StringMap<unsigned> pendingReads;
  for (Operation *op : forwardOps)
    if (auto get = llvm::dyn_cast<GetParamOp>(op))
      if (active.contains(get.getResult()))
        ++pendingReads[get.getName()];

  builder.setInsertionPointToEnd(&body);
  llvm::MapVector<StringAttr, Value> paramGrads;
  grads[loss] =
      builder.create<FillOp>(loss.getLoc(), loss.getType(),
                             builder.getF64FloatAttr(options.lossScale));

  for (Operation *op : llvm::reverse(forwardOps)) {
    if (auto get = llvm::dyn_cast<GetParamOp>(op)) {
      if (!active.contains(get.getResult()))
        continue;
      StringAttr name = get.getNameAttr().getAttr();
      if (Value grad = grads.lookup(get.getResult())) {
        Value &sum = paramGrads[name];
        sum = sum ? builder.create<AddOp>(get.getLoc(), sum, grad).getResult()
                  : grad;
      }
      if (--pendingReads[name.getValue()] == 0)
        if (Value sum = paramGrads.lookup(name))
          builder.create<ParamGradOp>(get.getLoc(), get.getNameAttr(), sum);
      continue;
    }
    SmallVector<Value> resultGrads;
    for (Value result : op->getResults())
      resultGrads.push_back(grads.lookup(result));
    if (llvm::all_of(resultGrads, [](Value g) { return !g; }))
      continue;
    SmallVector<bool> needed;
    for (Value operand : op->getOperands())
      needed.push_back(active.contains(operand));
    if (!llvm::is_contained(needed, true))
      continue;
    auto differentiable = llvm::dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError("has no gradient rule, but its result reaches "
                             "the loss from a trainable parameter");
    SmallVector<Value> operandGrads;
    if (failed(differentiable.buildGradients(builder, resultGrads, needed,
                                             operandGrads)))
      return failure();
    for (auto [operand, grad] :
         llvm::zip_equal(op->getOperands(), operandGrads))
      if (grad)
        addGrad(operand, grad);
  }
  return success();
}

FailureOr<func::FuncOp> TrainStepBuilder::build() {
  if (failed(checkForward()))
    return failure();
  SymbolTable table(module);
  symbols = &table;

  auto logitsType = llvm::cast<RankedTensorType>(forward.getResultTypes()[0]);
  auto labelsType =
      RankedTensorType::get({logitsType.getDimSize(0)}, builder.getI64Type());
  auto lossType = RankedTensorType::get({}, builder.getF32Type());
  SmallVector<Type> inputs(forward.getArgumentTypes());
  inputs.push_back(labelsType);
  builder.setInsertionPointAfter(forward);
  auto step = builder.create<func::FuncOp>(
      forward.getLoc(), options.trainEntry,
      builder.getFunctionType(inputs, {lossType, logitsType}));
  table.insert(step);
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    step.setArgAttr(i, kRoleAttr,
                    builder.getStringAttr(
                        i + 1 == step.getNumArguments() ? "labels" : "input"));
  Block *body = step.addEntryBlock();
  auto fail = [&]() -> FailureOr<func::FuncOp> {
    step.erase();
    return failure();
  };

  FailureOr<Value> logits = cloneForward(*body);
  if (failed(logits))
    return fail();
  builder.setInsertionPointToEnd(body);
  Value labels = body->getArguments().back();
  Value loss = builder.create<SoftmaxCrossEntropyOp>(
      forward.getLoc(), *logits, labels,
      builder.getF64FloatAttr(options.labelSmoothing));
  markActive(*body);
  if (!active.contains(loss))
    return (forward.emitError("the loss does not depend on any trainable "
                              "parameter, so there is nothing to train"),
            fail());
  if (failed(buildBackward(*body, loss)))
    return fail();
  builder.setInsertionPointToEnd(body);
  builder.create<func::ReturnOp>(forward.getLoc(), ValueRange{loss, *logits});
  return step;
}

struct AutodiffPass : public impl::AutodiffBase<AutodiffPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(entry);
    if (!forward) {
      module.emitError("no function @") << entry << " to differentiate";
      return signalPassFailure();
    }
    TrainStepOptions options{trainEntry, labelSmoothing, lossScale,
                             freezeBatchNorm};
    if (failed(buildTrainStep(module, forward, options)))
      signalPassFailure();
  }
};

} // namespace

FailureOr<func::FuncOp> buildTrainStep(ModuleOp module, func::FuncOp forward,
                                       const TrainStepOptions &options) {
  return TrainStepBuilder(module, forward, options).build();
}

} // namespace var
