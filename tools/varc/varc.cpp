// varc: the VAR compiler driver. Today it parses and verifies a model and
// reports its size and FLOPs; the training-plan pipeline grows from here.
#include "compiler/Analysis/InputGuard.h"
#include "compiler/Analysis/ModelEntry.h"
#include "compiler/Analysis/ModelSummary.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

llvm::cl::OptionCategory varcCategory("varc options");

llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                     llvm::cl::desc("<model.mlir>"),
                                     llvm::cl::Required,
                                     llvm::cl::cat(varcCategory));

llvm::cl::opt<bool> summary(
    "summary",
    llvm::cl::desc("Print parameter and buffer counts and bytes, and forward "
                   "FLOPs per op kind and per clip (multiply-add = 2 FLOPs)"),
    llvm::cl::cat(varcCategory));

llvm::cl::opt<int64_t> batch(
    "batch",
    llvm::cl::desc("Batch size (clips) the dynamic leading dimension of the "
                   "entry's inputs is set to before counting (default 1: "
                   "FLOPs per clip)"),
    llvm::cl::init(1), llvm::cl::cat(varcCategory));

llvm::cl::opt<std::string>
    entry("entry",
          llvm::cl::desc("Name of the model's forward function (default "
                         "'forward')"),
          llvm::cl::init("forward"), llvm::cl::cat(varcCategory));

/// Exit codes: 0 success, 1 the input is not a valid model (the diagnostic
/// says where), 2 bad command line (from llvm::cl, which exits itself).
int run(MLIRContext &context, llvm::SourceMgr &sourceMgr) {
  llvm::StringRef text =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer();
  if (std::optional<size_t> deep = var::findTooDeepNesting(text)) {
    auto [line, column] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(text.data() + *deep));
    emitError(FileLineColLoc::get(&context, inputFile, line, column))
        << "brackets nest more than " << var::kMaxNesting << " deep";
    return 1;
  }
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 1;
  FailureOr<func::FuncOp> forward = var::verifyModelEntry(*module, entry);
  if (failed(forward))
    return 1;
  if (!summary) {
    llvm::outs() << inputFile << ": valid model, entry @" << entry << "\n";
    return 0;
  }
  if (failed(var::specializeBatch(*forward, batch)))
    return 1;
  FailureOr<var::ModelSummary> result =
      var::summarizeModel(*module, *forward, batch);
  if (failed(result))
    return 1;
  var::printModelSummary(*result, inputFile, entry, llvm::outs());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::setBugReportMsg("varc crashed: this is a bug in VAR, not in your "
                        "model. Please file an issue with the model file and "
                        "the trace below.\n");
  llvm::cl::HideUnrelatedOptions(varcCategory);
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "varc (VAR compiler) built with MLIR " << LLVM_VERSION_STRING << "\n";
  });
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "varc: compiles a VAR model (the `var` MLIR dialect).\n\n"
      "  varc MODEL.mlir             parse and verify the model\n"
      "  varc MODEL.mlir --summary   also print sizes and FLOPs\n\n"
      "Errors are printed as FILE:LINE:COL: error: ... and exit with code "
      "1.\n");

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      openInputFile(inputFile, &errorMessage);
  if (!buffer) {
    llvm::errs() << inputFile << ": error: " << errorMessage << "\n";
    return 1;
  }
  if (batch < 1) {
    llvm::errs() << "varc: error: --batch must be at least 1, got " << batch
                 << "\n";
    return 2;
  }

  DialectRegistry registry;
  registry.insert<var::VarDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // A diagnostic names the problem; dumping the whole offending op (which can
  // be the entire function) buries it.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  return run(context, sourceMgr);
}
