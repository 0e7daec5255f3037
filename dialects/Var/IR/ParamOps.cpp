// var.param (a model's state, named as in a PyTorch state_dict) and
// var.get_param (reading it from the forward function).
#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace var {

/// A state_dict key: dot-separated segments of letters, digits and '_'.
static bool isStateDictKey(llvm::StringRef name) {
  if (name.empty())
    return false;
  llvm::SmallVector<llvm::StringRef> segments;
  name.split(segments, '.');
  return llvm::all_of(segments, [](llvm::StringRef s) {
    return !s.empty() &&
           llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
  });
}

LogicalResult ParamOp::verify() {
  if (!isStateDictKey(getSymName()))
    return emitOpError("name '")
           << getSymName()
           << "' is not a PyTorch state_dict key (dot-separated segments of "
              "letters, digits and '_')";
  RankedTensorType type = getTensorType();
  if (!type.hasStaticShape())
    return emitOpError("parameter shape must be static, got ") << type;
  if (!llvm::isa<FloatType>(type.getElementType()) && !getBuffer())
    return emitOpError("integer parameters must be marked 'buffer' (they "
                       "cannot be trained)");
  bool takesArg =
      getInit() == InitKind::normal || getInit() == InitKind::uniform;
  if (takesArg && !getInitArg())
    return emitOpError("initializer '")
           << stringifyInitKind(getInit())
           << "' needs an argument, e.g. init normal(1.000000e-02)";
  if (!takesArg && getInitArg())
    return emitOpError("initializer '")
           << stringifyInitKind(getInit()) << "' takes no argument";
  if (takesArg && !(getInitArg()->convertToDouble() > 0.0))
    return emitOpError("initializer argument must be positive, got ")
           << getInitArg()->convertToDouble();
  bool fanBased = getInit() == InitKind::kaiming_normal_fan_in ||
                  getInit() == InitKind::kaiming_normal_fan_out ||
                  getInit() == InitKind::kaiming_uniform ||
                  getInit() == InitKind::xavier_uniform;
  if (fanBased && type.getRank() < 2)
    return emitOpError("initializer '")
           << stringifyInitKind(getInit())
           << "' needs a weight of rank 2 or more (fan-in and fan-out), got "
              "rank "
           << type.getRank();
  return success();
}

LogicalResult GetParamOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto param = symbols.lookupNearestSymbolFrom<ParamOp>(*this, getNameAttr());
  if (!param)
    return emitOpError("references undefined parameter ") << getNameAttr();
  // A float parameter may be read in another float type: the compute copy
  // (bf16) of an f32 master weight. The shape is always the parameter's.
  RankedTensorType declared = param.getTensorType();
  bool computeCopy = llvm::isa<FloatType>(declared.getElementType()) &&
                     llvm::isa<FloatType>(getType().getElementType()) &&
                     declared.getShape() == getType().getShape();
  if (declared != getType() && !computeCopy)
    return emitOpError("type ")
           << getType() << " does not match parameter " << getNameAttr()
           << " of type " << param.getType();
  return success();
}

} // namespace var
