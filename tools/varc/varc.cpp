// varc: the VAR compiler driver. It verifies a model, summarizes it, and
// compiles it into a partitioned training plan: flags and DeepSpeed JSON in;
// the final IR, a per-rank memory report or the plan file out.
#include "compiler/Analysis/InputGuard.h"
#include "compiler/Analysis/MemoryReport.h"
#include "compiler/Analysis/ModelEntry.h"
#include "compiler/Analysis/ModelSummary.h"
#include "compiler/Driver/CompileOptions.h"
#include "compiler/Plan/PlanEmitter.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/Dist/IR/DistDialect.h"
#include "dialects/Var/IR/VarDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
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

// Training plan options. Each one left out is taken from --config, else the
// default; one given both ways must agree.
llvm::cl::OptionCategory planCategory("training plan options (override or "
                                      "complement --config)");

llvm::cl::opt<std::string> configFile(
    "config",
    llvm::cl::desc("DeepSpeed JSON config (train_micro_batch_size_per_gpu, "
                   "gradient_accumulation_steps, zero_optimization, bf16, "
                   "optimizer, gradient_clipping); unknown keys are warned "
                   "about, a flag that contradicts the file is an error"),
    llvm::cl::value_desc("ds_config.json"), llvm::cl::cat(planCategory));

llvm::cl::opt<int> zeroStage(
    "zero-stage",
    llvm::cl::desc("ZeRO stage: 0 all-reduce gradients, 1 shard optimizer "
                   "state, 2 also gradients, 3 also parameters (default 0)"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<std::string> precisionFlag(
    "precision",
    llvm::cl::desc("bf16 (FP32 master weights and optimizer state, BF16 "
                   "compute) or fp32 (default bf16)"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<int64_t>
    microBatch("micro-batch",
               llvm::cl::desc("Clips per GPU per micro-step (default 1)"),
               llvm::cl::cat(planCategory));

llvm::cl::opt<int64_t>
    gradAccum("grad-accum",
              llvm::cl::desc("Micro-steps accumulated per optimizer step "
                             "(default 1)"),
              llvm::cl::cat(planCategory));

llvm::cl::opt<int64_t> worldSize(
    "world-size",
    llvm::cl::desc("Pin the plan to this many ranks (the runtime refuses "
                   "others); without it the plan runs on any world size. "
                   "--report needs it"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<double>
    bucketMB("bucket-mb",
             llvm::cl::desc("Bucket capacity in MiB of compute-type "
                            "elements (default 25)"),
             llvm::cl::cat(planCategory));

llvm::cl::opt<int64_t> prefetchBuckets(
    "prefetch-buckets",
    llvm::cl::desc("Stage 3: buckets all-gathered ahead of use (default 1)"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<bool> offloadOptimizer(
    "offload-optimizer",
    llvm::cl::desc("Stages 1-3: optimizer state and master shard in pinned "
                   "host memory, updated on the host"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<bool> offloadParams(
    "offload-params",
    llvm::cl::desc("Stage 3: parameter shards in pinned host memory"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<std::string>
    optimizerFlag("optimizer", llvm::cl::desc("adamw or sgd (default adamw)"),
                  llvm::cl::cat(planCategory));

llvm::cl::opt<double>
    lrFlag("lr",
           llvm::cl::desc("Initial learning rate, stored for the runtime "
                          "(the step takes the LR as an input; default "
                          "1e-3)"),
           llvm::cl::cat(planCategory));

llvm::cl::opt<double> weightDecay(
    "weight-decay",
    llvm::cl::desc("AdamW decoupled / SGD L2 weight decay (default 0.01)"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<double>
    gradClip("grad-clip",
             llvm::cl::desc("Global gradient-norm clipping threshold, 0 = off"),
             llvm::cl::cat(planCategory));

llvm::cl::opt<bool> freezeBatchNorm(
    "freeze-batch-norm",
    llvm::cl::desc("Train with batch norm in evaluation form (TSN's practice "
                   "for small batches): running statistics normalize and are "
                   "not updated; weight and bias still train"),
    llvm::cl::cat(planCategory));

llvm::cl::opt<bool>
    fuse("fuse",
         llvm::cl::desc("Fuse chains of elementwise ops (activations, their "
                        "gradients, add, mul, casts, dropout) into one kernel "
                        "each; on by default, --fuse=false turns it off"),
         llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> rematerialize(
    "rematerialize",
    llvm::cl::desc("Recompute in the backward the products (a "
                   "squeeze-excitation scale) it reads again, when it keeps "
                   "their factors anyway, instead of keeping them in the "
                   "arena; on by default, --rematerialize=false turns it off"),
    llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<int64_t> recomputeBn(
    "recompute-bn",
    llvm::cl::desc("Recompute in the backward the N largest training batch "
                   "norm results (with their activation) that it reads "
                   "again, from the batch norm's input and saved statistics, "
                   "which it keeps anyway, instead of keeping them in the "
                   "arena; the same bits, one elementwise pass each "
                   "(default 0; an error with --rematerialize=false)"),
    llvm::cl::value_desc("N"), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> poolIndices(
    "pool-indices",
    llvm::cl::desc("Let each max pool keep the window positions of its "
                   "maxima (one byte an output) for its backward instead of "
                   "its input, which then need not live until the backward; "
                   "the same gradients, bit for bit; on by default, "
                   "--pool-indices=false turns it off"),
    llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> fuseBnPool(
    "fuse-bn-pool",
    llvm::cl::desc("Let a training batch norm whose result only a max pool "
                   "(with indices) reads pool that result as it normalizes "
                   "it, in one op, so that the full-size normalized tensor "
                   "is neither written nor read back; the same bits; on by "
                   "default, --fuse-bn-pool=false turns it off"),
    llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> fusePoolGrad(
    "fuse-pool-grad",
    llvm::cl::desc("Let each channels-last batch norm backward read the "
                   "gradient and indices of the max pool after it, whose "
                   "windows tile its input, instead of the pool's full-size "
                   "gradient; the same gradients, bit for bit; off by "
                   "default (its kernels are slower than the pair's on an "
                   "H200)"),
    llvm::cl::init(false), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> fuseBnAct(
    "fuse-bn-act",
    llvm::cl::desc("Fold each ReLU, ReLU6 or SiLU that alone follows a "
                   "batch norm into it, and its gradient into the batch norm "
                   "backward, saving a pass over the activation each way; "
                   "the backward recomputes the pre-activation from the "
                   "saved statistics instead of keeping the activation's "
                   "output or input (bit-identical on the CPU); on by "
                   "default, --fuse-bn-act=false turns it off"),
    llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> foldBnBias(
    "fold-bn-bias",
    llvm::cl::desc("Drop each convolution bias that a training batch norm "
                   "cancels (it subtracts the batch mean; the bias's "
                   "gradient is exactly zero) and add it to the running "
                   "mean instead, saving a pass over the convolution's "
                   "output each way; exact in real arithmetic, not bit for "
                   "bit; on by default, --fold-bn-bias=false turns it off"),
    llvm::cl::init(true), llvm::cl::cat(planCategory));
llvm::cl::opt<bool> channelsLast(
    "channels-last",
    llvm::cl::desc("Run convolutions, pooling and batch norm channels-last "
                   "(NHWC / NDHWC), which GPU kernels run faster; transposes "
                   "at the layout boundaries, clips and parameters as "
                   "before (default off)"),
    llvm::cl::cat(planCategory));
llvm::cl::opt<int64_t> padChannels(
    "pad-channels",
    llvm::cl::desc("With --channels-last, pad the channels that one "
                   "convolution hands to the next (through batch norm and "
                   "activations) to a multiple of N with zero filters, for "
                   "the GPU's aligned tensor-core kernels; exact, parameters "
                   "keep their shapes (default 8, 0 leaves them)"),
    llvm::cl::value_desc("N"), llvm::cl::cat(planCategory));

enum class Emit { None, MLIR };
llvm::cl::opt<Emit>
    emit("emit", llvm::cl::desc("Print the compiled training program"),
         llvm::cl::values(clEnumValN(Emit::MLIR, "mlir",
                                     "the final IR (var and dist dialects)")),
         llvm::cl::init(Emit::None), llvm::cl::cat(planCategory));

enum class Report { None, JSON };
llvm::cl::opt<Report> report(
    "report",
    llvm::cl::desc("Print the bytes each rank allocates (device and host: "
                   "parameters, gradients, optimizer state, peak "
                   "activations, communication buffers, total)"),
    llvm::cl::values(clEnumValN(Report::JSON, "json", "as JSON")),
    llvm::cl::init(Report::None), llvm::cl::cat(planCategory));

llvm::cl::opt<std::string>
    outputFile("o", llvm::cl::desc("Write the training plan (FlatBuffers)"),
               llvm::cl::value_desc("plan.fb"), llvm::cl::cat(planCategory));

/// Whether any option asks for a training plan.
bool wantsPlan() {
  // Options that configure the training,
  const llvm::cl::Option *options[] = {&configFile,
                                       &zeroStage,
                                       &precisionFlag,
                                       &microBatch,
                                       &gradAccum,
                                       &worldSize,
                                       &bucketMB,
                                       &prefetchBuckets,
                                       &offloadOptimizer,
                                       &offloadParams,
                                       &optimizerFlag,
                                       &lrFlag,
                                       &weightDecay,
                                       &gradClip,
                                       &freezeBatchNorm,
                                       &channelsLast,
                                       &fuse,
                                       &rematerialize,
                                       &recomputeBn,
                                       &poolIndices,
                                       &fuseBnPool,
                                       &fusePoolGrad,
                                       &fuseBnAct,
                                       &foldBnBias,
                                       &padChannels};
  // and those that ask for an output.
  const llvm::cl::Option *outputs[] = {&emit, &report, &outputFile};
  for (const llvm::cl::Option *option :
       llvm::concat<const llvm::cl::Option *const>(options, outputs))
    if (option->getNumOccurrences() > 0)
      return true;
  return false;
}

/// The training flags given on the command line; unset ones stay unset.
llvm::Expected<var::CompileOptions> flagOptions() {
  var::CompileOptions flags;
  auto given = [](const llvm::cl::Option &option) {
    return option.getNumOccurrences() > 0;
  };
  if (given(zeroStage))
    flags.zeroStage = zeroStage;
  if (given(precisionFlag)) {
    flags.precision = var::parsePrecision(precisionFlag);
    if (!flags.precision)
      return llvm::createStringError("--precision must be bf16 or fp32, got '" +
                                     precisionFlag + "'");
  }
  if (given(microBatch))
    flags.microBatch = microBatch;
  if (given(gradAccum))
    flags.gradAccum = gradAccum;
  if (given(worldSize))
    flags.worldSize = worldSize;
  if (given(bucketMB))
    flags.bucketMB = bucketMB;
  if (given(prefetchBuckets))
    flags.prefetchBuckets = prefetchBuckets;
  if (given(offloadOptimizer))
    flags.offloadOptimizer = offloadOptimizer;
  if (given(offloadParams))
    flags.offloadParams = offloadParams;
  if (given(optimizerFlag)) {
    flags.optimizer = var::parseOptimizerKind(optimizerFlag);
    if (!flags.optimizer)
      return llvm::createStringError("--optimizer must be adamw or sgd, got '" +
                                     optimizerFlag + "'");
  }
  if (given(lrFlag))
    flags.lr = lrFlag;
  if (given(weightDecay))
    flags.weightDecay = weightDecay;
  if (given(gradClip))
    flags.gradientClipping = gradClip;
  if (given(freezeBatchNorm))
    flags.freezeBatchNorm = freezeBatchNorm;
  if (given(fuse))
    flags.fuseElementwise = fuse;
  if (given(rematerialize))
    flags.rematerialize = rematerialize;
  if (given(recomputeBn))
    flags.recomputeBatchNorm = recomputeBn;
  if (given(poolIndices))
    flags.poolIndices = poolIndices;
  if (given(fuseBnPool))
    flags.fuseBatchNormPool = fuseBnPool;
  if (given(fusePoolGrad))
    flags.fusePoolGrad = fusePoolGrad;
  if (given(channelsLast))
    flags.channelsLast = channelsLast;
  if (given(fuseBnAct))
    flags.fuseBatchNormActivation = fuseBnAct;
  if (given(foldBnBias))
    flags.foldBatchNormBias = foldBnBias;
  if (given(padChannels))
    flags.padChannels = padChannels;
  return flags;
}

/// Flags merged with --config and validated; the config's warnings go to
/// stderr.
llvm::Expected<var::CompileOptions> planOptions() {
  llvm::Expected<var::CompileOptions> flags = flagOptions();
  if (!flags)
    return flags.takeError();
  if (configFile.empty()) {
    if (llvm::Error error = var::validate(*flags))
      return error;
    return flags;
  }
  auto text = llvm::MemoryBuffer::getFile(configFile, /*IsText=*/true);
  if (!text)
    return llvm::createStringError(configFile + ": " +
                                   text.getError().message());
  var::CompileOptions fromFile;
  std::vector<std::string> warnings;
  llvm::Error error = var::applyDeepSpeedConfig((*text)->getBuffer(),
                                                configFile, fromFile, warnings);
  for (const std::string &warning : warnings)
    llvm::errs() << "varc: warning: " << warning << "\n";
  if (error)
    return error;
  return var::mergeOptions(*flags, fromFile, configFile);
}

/// Compiles the verified model into the training plan and writes what the
/// flags ask for.
int compilePlan(ModuleOp module) {
  llvm::Expected<var::CompileOptions> options = planOptions();
  if (!options) {
    llvm::errs() << "varc: error: " << llvm::toString(options.takeError())
                 << "\n";
    return 2;
  }
  std::optional<int64_t> ranks = options->worldSize;
  if (report != Report::None && !ranks) {
    llvm::errs() << "varc: error: --report needs --world-size (the bytes of "
                    "a rank depend on how many ranks share the model)\n";
    return 2;
  }
  llvm::errs() << "varc: compiling " << inputFile << ": "
               << var::describe(*options) << "\n";

  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm)))
    return 2;
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope timingScope = timing.getRootScope();
  pm.enableTiming(timingScope);
  var::buildTrainingPipeline(pm, *options, entry);
  if (failed(pm.run(module)))
    return 1;
  Builder builder(module.getContext());
  if (ranks)
    module->setAttr("dist.world_size", builder.getI64IntegerAttr(*ranks));

  if (emit == Emit::MLIR)
    module.print(llvm::outs());
  if (report == Report::JSON) {
    FailureOr<var::MemoryReport> bytes =
        var::computeMemoryReport(module, *ranks);
    if (failed(bytes))
      return 1;
    var::printMemoryReportJson(*bytes, inputFile, llvm::outs());
  }
  if (!outputFile.empty()) {
    var::PlanEmitOptions planOptions;
    planOptions.worldSize = ranks.value_or(0);
    planOptions.precision = var::getPrecisionName(options->getPrecision());
    planOptions.initialLR = options->getLR();
    planOptions.trainBatch = options->trainBatch.value_or(0);
    planOptions.lrSchedule = options->lrSchedule;
    if (failed(var::writePlanFile(module, planOptions, outputFile)))
      return 1;
    llvm::errs() << "varc: wrote " << outputFile << "\n";
  }
  if (emit == Emit::None && report == Report::None && outputFile.empty())
    llvm::errs() << "varc: compiled; nothing written (ask for -o plan.fb, "
                    "--emit=mlir or --report=json)\n";
  return 0;
}

/// Exit codes: 0 success, 1 the input is not a valid model or cannot be
/// compiled (the diagnostic says where), 2 bad command line or config.
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
    if (wantsPlan())
      return compilePlan(*module);
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
  // MLIR's pass-manager and printing flags (--mlir-print-ir-after-all,
  // --mlir-timing, ...) work on the training pipeline; --help lists them.
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  static llvm::cl::OptionCategory mlirCategory(
      "MLIR pass-manager options (on the training pipeline)");
  for (auto &[name, option] : llvm::cl::getRegisteredOptions())
    if (name.starts_with("mlir-print-ir") || name.starts_with("mlir-timing") ||
        name == "mlir-pass-statistics" || name == "mlir-disable-threading")
      option->addCategory(mlirCategory);
  llvm::cl::HideUnrelatedOptions({&varcCategory, &planCategory, &mlirCategory});
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "varc (VAR compiler) built with MLIR " << LLVM_VERSION_STRING << "\n";
  });
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "varc: compiles a VAR model (the `var` MLIR dialect).\n\n"
      "  varc MODEL.mlir             parse and verify the model\n"
      "  varc MODEL.mlir --summary   also print sizes and FLOPs\n"
      "  varc MODEL.mlir --zero-stage=3 --micro-batch=8 -o plan.fb\n"
      "                              compile a ZeRO training plan\n"
      "  varc MODEL.mlir --config ds_config.json --world-size=8 "
      "--report=json\n"
      "                              bytes per rank, before any job runs\n\n"
      "Model errors are printed as FILE:LINE:COL: error: ... and exit with "
      "code 1;\nbad flags or configs exit with code 2.\n");

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
  registry.insert<var::VarDialect, dist::DistDialect, func::FuncDialect>();
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
