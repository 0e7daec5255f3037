// var.fused_elementwise: the verifier of its program (opcodes, arities,
// step order, element types, shapes) and its FLOPs, the sum of its steps'.
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace var {

SmallVector<fused::Opcode> FusedElementwiseOp::getOpcodes() {
  SmallVector<fused::Opcode> opcodes;
  for (StringRef name : getSteps().getAsValueRange<StringAttr>())
    opcodes.push_back(fused::parseOpcode(name).value_or(fused::Opcode::Relu));
  return opcodes;
}

/// Whether `shape` reads right-aligned into `result`, stretching its
/// dimensions of 1 (var.add's broadcasting, one way).
static bool broadcastsTo(ArrayRef<int64_t> shape, ArrayRef<int64_t> result) {
  if (shape.size() > result.size())
    return false;
  size_t extra = result.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != 1 && shape[d] != result[d + extra])
      return false;
  return true;
}

/// The element type a cast step converts to.
static Type castTarget(fused::Opcode opcode, MLIRContext *context) {
  switch (opcode) {
  case fused::Opcode::CastBF16:
    return BFloat16Type::get(context);
  case fused::Opcode::CastF16:
    return Float16Type::get(context);
  default:
    return Float32Type::get(context);
  }
}

static bool isCast(fused::Opcode opcode) {
  return opcode == fused::Opcode::CastF32 ||
         opcode == fused::Opcode::CastBF16 || opcode == fused::Opcode::CastF16;
}

LogicalResult FusedElementwiseOp::verify() {
  int64_t numInputs = getInputs().size();
  int64_t numSteps = getSteps().size();
  if (numSteps == 0)
    return emitOpError("needs at least one step");
  if (numSteps > fused::kMaxSteps)
    return emitOpError("has ")
           << numSteps << " steps; at most " << fused::kMaxSteps << " fuse";
  if (numInputs > fused::kMaxInputs)
    return emitOpError("has ") << numInputs << " operands; at most "
                               << fused::kMaxInputs << " fuse";
  if (getOutputs().empty())
    return emitOpError("needs at least one result");

  // Results: one shape, which every operand broadcasts to.
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(getOutputs()[0].getType()).getShape();
  for (Value output : getOutputs())
    if (cast<RankedTensorType>(output.getType()).getShape() != shape)
      return emitOpError("results have different shapes (")
             << formatShape(shape) << ") and ("
             << formatShape(cast<RankedTensorType>(output.getType()).getShape())
             << ")";
  SmallVector<Type> types; // of operands, then of steps
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    auto type = cast<RankedTensorType>(input.getType());
    if (!broadcastsTo(type.getShape(), shape))
      return emitOpError("operand ")
             << i << " of shape (" << formatShape(type.getShape())
             << ") does not broadcast to the result shape ("
             << formatShape(shape) << ")";
    types.push_back(type.getElementType());
  }

  // Steps: known opcodes, inputs among the operands and earlier steps.
  ArrayRef<int64_t> args = getArgs();
  size_t next = 0;
  int64_t dropouts = 0;
  for (auto [step, nameAttr] : llvm::enumerate(getSteps())) {
    StringRef name = cast<StringAttr>(nameAttr).getValue();
    std::optional<fused::Opcode> opcode = fused::parseOpcode(name);
    if (!opcode)
      return emitOpError("step ")
             << step << " has unknown opcode '" << name << "'";
    int arity = fused::getInfo(*opcode).arity;
    if (next + arity > args.size())
      return emitOpError("step ")
             << step << " ('" << name << "') needs " << arity
             << " inputs but 'args' ends after " << args.size() - next;
    int64_t limit = numInputs + static_cast<int64_t>(step);
    Type type;
    for (int a = 0; a < arity; ++a) {
      int64_t arg = args[next++];
      if (arg < 0 || arg >= limit)
        return emitOpError("step ")
               << step << " ('" << name << "') reads " << arg
               << ", not an operand (< " << numInputs
               << ") or an earlier step (< " << limit << ")";
      if (a > 0 && types[arg] != type)
        return emitOpError("step ")
               << step << " ('" << name << "') mixes element types " << type
               << " and " << types[arg];
      type = types[arg];
    }
    if (isCast(*opcode)) {
      Type target = castTarget(*opcode, getContext());
      if (type == target)
        return emitOpError("step ")
               << step << " ('" << name << "') casts " << type << " to itself";
      type = target;
    }
    dropouts += fused::isDropout(*opcode);
    types.push_back(type);
  }
  if (next != args.size())
    return emitOpError("'args' has ")
           << args.size() << " entries but the steps take " << next;

  ArrayRef<double> probabilities = getP().value_or(ArrayRef<double>());
  size_t pCount = probabilities.size();
  size_t keyCount = getKey() ? getKey()->size() : 0;
  if (static_cast<int64_t>(pCount) != dropouts ||
      static_cast<int64_t>(keyCount) != dropouts)
    return emitOpError("has ") << dropouts << " dropout steps but " << pCount
                               << " 'p' and " << keyCount << " 'key' entries";
  for (double p : probabilities)
    if (!(p >= 0.0 && p < 1.0))
      return emitOpError("drop probability p must be in [0, 1), got ") << p;

  ArrayRef<int64_t> returns = getReturns();
  if (returns.size() != getOutputs().size())
    return emitOpError("'returns' names ") << returns.size() << " steps for "
                                           << getOutputs().size() << " results";
  llvm::SmallDenseSet<int64_t> returned;
  for (auto [i, step] : llvm::enumerate(returns)) {
    if (step < 0 || step >= numSteps)
      return emitOpError("result ")
             << i << " returns step " << step << " of " << numSteps;
    if (!returned.insert(step).second)
      return emitOpError("step ") << step << " is returned twice";
    Type expected = types[numInputs + step];
    Type actual =
        cast<RankedTensorType>(getOutputs()[i].getType()).getElementType();
    if (actual != expected)
      return emitOpError("result ")
             << i << " has element type " << actual << " but step " << step
             << " computes " << expected;
  }
  return success();
}

std::optional<int64_t> FusedElementwiseOp::getForwardFlops() {
  int64_t perElement = 0;
  for (fused::Opcode opcode : getOpcodes())
    perElement += fused::getInfo(opcode).flopsPerElement;
  return mulFlops({perElement, numElements(getOutputs()[0].getType())});
}

} // namespace var
