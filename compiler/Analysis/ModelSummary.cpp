// Parameter sizes and per-op-kind FLOPs of a model with static shapes.
#include "compiler/Analysis/ModelSummary.h"

#include "dialects/Var/IR/VarOps.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace var {

static LogicalResult addState(StateSize &size, ParamOp param) {
  RankedTensorType type = param.getTensorType();
  std::optional<int64_t> elements = numElements(type);
  int64_t bytesPerElement =
      llvm::divideCeil(type.getElementType().getIntOrFloatBitWidth(), 8);
  int64_t bytes;
  if (!elements || llvm::MulOverflow(*elements, bytesPerElement, bytes) ||
      llvm::AddOverflow(size.elements, *elements, size.elements) ||
      llvm::AddOverflow(size.bytes, bytes, size.bytes))
    return param.emitOpError("is too large to count");
  ++size.tensors;
  return success();
}

FailureOr<ModelSummary> summarizeModel(ModuleOp module, func::FuncOp entry,
                                       int64_t batch) {
  ModelSummary summary;
  summary.batch = batch;
  for (auto param : module.getOps<ParamOp>())
    if (failed(addState(
            param.isTrainable() ? summary.trainable : summary.buffers, param)))
      return failure();
  llvm::append_range(summary.inputTypes, entry.getArgumentTypes());
  llvm::append_range(summary.resultTypes, entry.getResultTypes());

  WalkResult walk = entry.walk([&](FlopCountOpInterface op) {
    std::optional<int64_t> flops = op.getForwardFlops();
    if (!flops) {
      op->emitOpError("has a dynamic or oversized shape, so its FLOPs cannot "
                      "be counted");
      return WalkResult::interrupt();
    }
    StringRef kind = op->getName().getStringRef();
    auto it = llvm::find_if(summary.flopsByKind, [&](const OpKindFlops &k) {
      return k.kind == kind;
    });
    if (it == summary.flopsByKind.end())
      it = summary.flopsByKind.insert(summary.flopsByKind.end(),
                                      OpKindFlops{kind.str(), 0, 0});
    ++it->ops;
    if (llvm::AddOverflow(it->flops, *flops, it->flops) ||
        llvm::AddOverflow(summary.totalFlops, *flops, summary.totalFlops)) {
      op->emitOpError("pushes the model's FLOP count past int64");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  return summary;
}

static std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

void printModelSummary(const ModelSummary &summary, StringRef source,
                       StringRef entryName, llvm::raw_ostream &os) {
  os << "model: " << source << "\n";
  os << "entry: @" << entryName << ", batch " << summary.batch << "\n";
  for (auto [i, type] : llvm::enumerate(summary.inputTypes))
    os << "  input " << i << ": " << typeString(type) << "\n";
  for (auto [i, type] : llvm::enumerate(summary.resultTypes))
    os << "  output " << i << ": " << typeString(type) << "\n";
  os << "parameters: " << summary.trainable.elements << " in "
     << summary.trainable.tensors << " tensors, " << summary.trainable.bytes
     << " bytes\n";
  os << "buffers: " << summary.buffers.elements << " in "
     << summary.buffers.tensors << " tensors, " << summary.buffers.bytes
     << " bytes\n";
  os << "forward FLOPs (multiply-add = 2) for a batch of " << summary.batch
     << ":\n";
  auto row = [&](StringRef kind, const std::string &ops,
                 const std::string &flops) {
    os << "  " << llvm::left_justify(kind, 28) << llvm::right_justify(ops, 6)
       << llvm::right_justify(flops, 19) << "\n";
  };
  row("op kind", "ops", "FLOPs");
  int64_t ops = 0;
  for (const OpKindFlops &kind : summary.flopsByKind) {
    row(kind.kind, std::to_string(kind.ops), std::to_string(kind.flops));
    ops += kind.ops;
  }
  row("total", std::to_string(ops), std::to_string(summary.totalFlops));
  os << "forward FLOPs per clip: " << summary.totalFlops / summary.batch
     << llvm::format(" (%.3f GFLOPs)\n",
                     summary.totalFlops / double(summary.batch) / 1e9);
}

} // namespace var
