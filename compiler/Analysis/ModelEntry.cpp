// Checks of a whole model file that no single op can make.
#include "compiler/Analysis/ModelEntry.h"

#include "dialects/Var/IR/VarOps.h"

#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace var {

FailureOr<func::FuncOp> verifyModelEntry(ModuleOp module,
                                         llvm::StringRef entryName) {
  auto entry = module.lookupSymbol<func::FuncOp>(entryName);
  if (!entry)
    return module.emitError("model has no function @")
           << entryName << " (the forward pass, mapping clips to logits)";
  if (entry.isExternal())
    return entry.emitError("entry function @") << entryName << " has no body";
  if (entry.getNumArguments() == 0 ||
      !llvm::all_of(entry.getArgumentTypes(),
                    [](Type t) { return llvm::isa<RankedTensorType>(t); }))
    return entry.emitError("entry function @")
           << entryName << " must take one or more ranked tensors (the clips)";
  ArrayRef<Type> results = entry.getResultTypes();
  auto logits = results.size() == 1
                    ? llvm::dyn_cast<RankedTensorType>(results[0])
                    : nullptr;
  if (!logits || logits.getRank() != 2)
    return entry.emitError("entry function @")
           << entryName << " must return one (batch, classes) logits tensor";

  llvm::StringSet<> read;
  WalkResult walk = entry.walk([&](Operation *op) {
    if (auto get = llvm::dyn_cast<GetParamOp>(op))
      read.insert(get.getName());
    if (llvm::isa<VarDialect>(op->getDialect()) ||
        llvm::isa<func::ReturnOp>(op) || op == entry.getOperation())
      return WalkResult::advance();
    op->emitOpError("is not a var op; a model's entry function uses only "
                    "the var dialect");
    return WalkResult::interrupt();
  });
  if (walk.wasInterrupted())
    return failure();

  for (auto param : module.getOps<ParamOp>())
    if (!read.contains(param.getSymName()))
      param.emitWarning("parameter @")
          << param.getSymName() << " is never read by @" << entryName;
  return entry;
}

} // namespace var
