// Merging varc's flags with a DeepSpeed config, and the checks every set of
// options passes before planning. The config reader is DeepSpeedConfig.cpp.
#include "compiler/Driver/CompileOptions.h"
#include "compiler/Driver/OptionChecks.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace var {

using namespace detail;

/// The shortest decimal form that reads back as `x` (0.1, not
/// 0.10000000000000001), with whole numbers below 1e15 written out (10, not
/// 1e+01).
std::string detail::formatNumber(double x) {
  int minDigits = 1;
  if (std::isfinite(x) && std::fabs(x) >= 1 && std::fabs(x) < 1e15)
    minDigits = int(std::log10(std::fabs(x))) + 1;
  char text[32];
  for (int digits = minDigits; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, x);
    if (std::strtod(text, nullptr) == x)
      break;
  }
  return text;
}

std::optional<Precision> parsePrecision(StringRef name) {
  if (name == "bf16")
    return Precision::BF16;
  if (name == "fp32")
    return Precision::FP32;
  return std::nullopt;
}

StringRef getPrecisionName(Precision precision) {
  return precision == Precision::BF16 ? "bf16" : "fp32";
}

std::optional<OptimizerKind> parseOptimizerKind(StringRef name) {
  if (name == "adamw")
    return OptimizerKind::AdamW;
  if (name == "sgd")
    return OptimizerKind::SGD;
  return std::nullopt;
}

StringRef getOptimizerName(OptimizerKind kind) {
  return kind == OptimizerKind::AdamW ? "adamw" : "sgd";
}

int64_t getBytesPerElement(Precision precision) {
  return precision == Precision::BF16 ? 2 : 4;
}

static constexpr double kBytesPerMB = 1 << 20;

double getBucketMB(int64_t elements, Precision precision) {
  return double(elements) * double(getBytesPerElement(precision)) / kBytesPerMB;
}

double CompileOptions::getBucketMB() const {
  if (bucketMB)
    return *bucketMB;
  if (bucketElements)
    return var::getBucketMB(*bucketElements, getPrecision());
  return kDefaultBucketMB;
}

int64_t CompileOptions::getBucketElements() const {
  if (bucketElements && !bucketMB)
    return *bucketElements;
  double elements =
      getBucketMB() * kBytesPerMB / double(getBytesPerElement(getPrecision()));
  // validate() bounds bucketMB only from below; keep absurd sizes in range.
  return int64_t(std::clamp(std::round(elements), 1.0, 9e18));
}

int64_t CompileOptions::getPrefetchBuckets() const {
  if (prefetchBuckets)
    return *prefetchBuckets;
  if (!prefetchElements)
    return kDefaultPrefetchBuckets;
  int64_t bucket = getBucketElements();
  int64_t buckets =
      *prefetchElements / bucket + (*prefetchElements % bucket != 0);
  return std::max<int64_t>(buckets, 1);
}

namespace {

std::string formatValue(int64_t x) { return std::to_string(x); }
std::string formatValue(int x) { return std::to_string(x); }
std::string formatValue(double x) { return formatNumber(x); }
std::string formatValue(bool x) { return x ? "true" : "false"; }
std::string formatValue(Precision x) { return getPrecisionName(x).str(); }
std::string formatValue(OptimizerKind x) { return getOptimizerName(x).str(); }
std::string formatValue(const std::array<double, 2> &x) {
  return formatNumber(x[0]) + "," + formatNumber(x[1]);
}

/// Sets `merged` from the flag or the file; both set must agree.
/// `fileSide` shows the file's value the way the file says it.
template <typename T, typename FileSide>
Error mergeField(const std::optional<T> &flag, const std::optional<T> &file,
                 std::optional<T> &merged, StringRef flagName,
                 FileSide fileSide, StringRef fileName) {
  if (flag && file && !(*flag == *file))
    return makeError(flagName + "=" + formatValue(*flag) + " contradicts " +
                     fileSide(*file) + " in " + fileName);
  merged = flag ? flag : file;
  return Error::success();
}

/// The file side of a field DeepSpeed spells as a plain `key = value`.
auto keyEquals(StringRef key) {
  return [key](const auto &value) {
    return (key + " = " + formatValue(value)).str();
  };
}

std::string describeBatchFactors(const CompileOptions &options) {
  return "micro batch " + std::to_string(options.getMicroBatch()) +
         " x grad accum " + std::to_string(options.getGradAccum());
}

/// DeepSpeed derives whichever of micro batch and accumulation the config
/// leaves out from train_batch_size and the world size; so do we.
Error deriveBatchFactors(CompileOptions &options, StringRef fileName) {
  if (!options.trainBatch || !options.worldSize ||
      (options.microBatch && options.gradAccum))
    return Error::success();
  int64_t train = *options.trainBatch, world = *options.worldSize;
  if (world < 1 || train < 1)
    return Error::success(); // validate() reports these
  if (!options.microBatch && !options.gradAccum)
    options.gradAccum = 1;
  bool deriveMicro = !options.microBatch;
  int64_t known = deriveMicro ? *options.gradAccum : *options.microBatch;
  int64_t divisor = 0;
  if (known < 1)
    return Error::success();
  if (llvm::MulOverflow(known, world, divisor) || train % divisor != 0)
    return makeError("train_batch_size = " + llvm::Twine(train) + " in " +
                     fileName + " is not divisible by " +
                     (deriveMicro ? "grad accum " : "micro batch ") +
                     llvm::Twine(known) + " x world size " +
                     llvm::Twine(world));
  (deriveMicro ? options.microBatch : options.gradAccum) = train / divisor;
  return Error::success();
}

/// mergeOptions, into `merged`.
Error mergeInto(const CompileOptions &flags, const CompileOptions &fromFile,
                StringRef fileName, CompileOptions &merged) {
  auto offloadDevice = [](StringRef key) {
    return [key](bool on) {
      return (key + ".device = \"" + (on ? "cpu" : "none") + "\"").str();
    };
  };
  // Precision first: converting the file's element counts depends on it.
  if (Error err = mergeField(
          flags.precision, fromFile.precision, merged.precision, "--precision",
          [](Precision p) {
            return std::string("bf16.enabled = ") +
                   (p == Precision::BF16 ? "true" : "false");
          },
          fileName))
    return err;
  if (Error err = mergeField(flags.zeroStage, fromFile.zeroStage,
                             merged.zeroStage, "--zero-stage",
                             keyEquals("zero_optimization.stage"), fileName))
    return err;
  if (Error err =
          mergeField(flags.microBatch, fromFile.microBatch, merged.microBatch,
                     "--micro-batch",
                     keyEquals("train_micro_batch_size_per_gpu"), fileName))
    return err;
  if (Error err = mergeField(
          flags.gradAccum, fromFile.gradAccum, merged.gradAccum, "--grad-accum",
          keyEquals("gradient_accumulation_steps"), fileName))
    return err;
  if (Error err =
          mergeField(flags.worldSize, fromFile.worldSize, merged.worldSize,
                     "--world-size", keyEquals("world size"), fileName))
    return err;
  if (Error err =
          mergeField(flags.trainBatch, fromFile.trainBatch, merged.trainBatch,
                     "--train-batch", keyEquals("train_batch_size"), fileName))
    return err;
  if (Error err = mergeField(
          flags.offloadOptimizer, fromFile.offloadOptimizer,
          merged.offloadOptimizer, "--offload-optimizer",
          offloadDevice("zero_optimization.offload_optimizer"), fileName))
    return err;
  if (Error err = mergeField(flags.offloadParams, fromFile.offloadParams,
                             merged.offloadParams, "--offload-params",
                             offloadDevice("zero_optimization.offload_param"),
                             fileName))
    return err;
  if (Error err =
          mergeField(flags.optimizer, fromFile.optimizer, merged.optimizer,
                     "--optimizer", keyEquals("optimizer.type"), fileName))
    return err;
  if (Error err = mergeField(flags.lr, fromFile.lr, merged.lr, "--lr",
                             keyEquals("optimizer.params.lr"), fileName))
    return err;
  if (Error err =
          mergeField(flags.betas, fromFile.betas, merged.betas, "--betas",
                     keyEquals("optimizer.params.betas"), fileName))
    return err;
  if (Error err = mergeField(flags.eps, fromFile.eps, merged.eps, "--eps",
                             keyEquals("optimizer.params.eps"), fileName))
    return err;
  if (Error err =
          mergeField(flags.weightDecay, fromFile.weightDecay,
                     merged.weightDecay, "--weight-decay",
                     keyEquals("optimizer.params.weight_decay"), fileName))
    return err;
  if (Error err = mergeField(flags.momentum, fromFile.momentum, merged.momentum,
                             "--momentum",
                             keyEquals("optimizer.params.momentum"), fileName))
    return err;
  if (Error err = mergeField(flags.gradientClipping, fromFile.gradientClipping,
                             merged.gradientClipping, "--grad-clip",
                             keyEquals("gradient_clipping"), fileName))
    return err;

  merged.freezeBatchNorm = flags.freezeBatchNorm;
  merged.fuseElementwise = flags.fuseElementwise;
  merged.rematerialize = flags.rematerialize;
  merged.recomputeBatchNorm = flags.recomputeBatchNorm;
  merged.poolIndices = flags.poolIndices;
  merged.fuseBatchNormPool = flags.fuseBatchNormPool;
  merged.fusePoolGrad = flags.fusePoolGrad;
  merged.channelsLast = flags.channelsLast;
  merged.fuseBatchNormActivation = flags.fuseBatchNormActivation;
  merged.foldBatchNormBias = flags.foldBatchNormBias;
  merged.padChannels = flags.padChannels;

  // Bucket sizes: MB from a flag against elements from the file, compared in
  // elements of the merged precision.
  merged.bucketMB = flags.bucketMB ? flags.bucketMB : fromFile.bucketMB;
  merged.bucketElements =
      fromFile.bucketElements ? fromFile.bucketElements : flags.bucketElements;
  if (merged.bucketMB && merged.bucketElements &&
      merged.getBucketElements() != *merged.bucketElements)
    return makeError("--bucket-mb=" + formatNumber(*merged.bucketMB) +
                     " contradicts the zero_optimization bucket size in " +
                     fileName + " (" + llvm::Twine(*merged.bucketElements) +
                     " elements = " +
                     formatNumber(getBucketMB(*merged.bucketElements,
                                              merged.getPrecision())) +
                     " MB at " + getPrecisionName(merged.getPrecision()) + ")");
  merged.prefetchBuckets =
      flags.prefetchBuckets ? flags.prefetchBuckets : fromFile.prefetchBuckets;
  merged.prefetchElements = fromFile.prefetchElements
                                ? fromFile.prefetchElements
                                : flags.prefetchElements;
  if (merged.prefetchBuckets && merged.prefetchElements) {
    CompileOptions fileView = merged;
    fileView.prefetchBuckets.reset();
    if (fileView.getPrefetchBuckets() != *merged.prefetchBuckets)
      return makeError(
          "--prefetch-buckets=" + llvm::Twine(*merged.prefetchBuckets) +
          " contradicts zero_optimization.stage3_prefetch_bucket_size = " +
          llvm::Twine(*merged.prefetchElements) + " in " + fileName + " (" +
          llvm::Twine(fileView.getPrefetchBuckets()) + " buckets of " +
          formatNumber(merged.getBucketMB()) + " MB at " +
          getPrecisionName(merged.getPrecision()) + ")");
  }

  if (Error err = deriveBatchFactors(merged, fileName))
    return err;
  return validate(merged);
}

} // namespace

Expected<CompileOptions> mergeOptions(const CompileOptions &flags,
                                      const CompileOptions &fromFile,
                                      StringRef fileName) {
  CompileOptions merged;
  if (Error err = mergeInto(flags, fromFile, fileName, merged))
    return Expected<CompileOptions>(std::move(err));
  merged.lrSchedule = fromFile.lrSchedule;
  return merged;
}

namespace {

struct IntegerCheck {
  std::optional<int64_t> value;
  StringRef flag;
  IntRange range;
};

struct NumberCheck {
  std::optional<double> value;
  StringRef flag;
  RealRange range;
};

Error checkInteger(const std::optional<int64_t> &value, StringRef flag,
                   IntRange range) {
  if (value && !range.contains(*value))
    return makeError(flag + ": expected " + range.expectation() + ", got " +
                     llvm::Twine(*value));
  return Error::success();
}

Error checkNumber(const std::optional<double> &value, StringRef flag,
                  RealRange range) {
  if (value && !contains(range, *value))
    return makeError(flag + ": expected " + expectation(range) + ", got " +
                     formatNumber(*value));
  return Error::success();
}

} // namespace

Error validate(const CompileOptions &options) {
  std::optional<int64_t> stage;
  if (options.zeroStage)
    stage = *options.zeroStage;
  // Fields only a DeepSpeed file sets are named by their key.
  const IntegerCheck integers[] = {
      {stage, "--zero-stage", kZeroStages},
      {options.microBatch, "--micro-batch", kPositive},
      {options.gradAccum, "--grad-accum", kPositive},
      {options.worldSize, "--world-size", kPositive},
      {options.trainBatch, "train_batch_size", kPositive},
      {options.bucketElements, "zero_optimization.reduce_bucket_size",
       kPositive},
      {options.prefetchBuckets, "--prefetch-buckets", kNonNegative},
      {options.prefetchElements,
       "zero_optimization.stage3_prefetch_bucket_size", kNonNegative},
      {options.padChannels, "--pad-channels", kNonNegative},
      {options.recomputeBatchNorm, "--recompute-bn", kNonNegative}};
  for (const IntegerCheck &check : integers)
    if (Error err = checkInteger(check.value, check.flag, check.range))
      return err;
  const NumberCheck numbers[] = {
      {options.bucketMB, "--bucket-mb", RealRange::Positive},
      {options.lr, "--lr", RealRange::Positive},
      {options.eps, "--eps", RealRange::Positive},
      {options.weightDecay, "--weight-decay", RealRange::NonNegative},
      {options.momentum, "--momentum", RealRange::Fraction},
      {options.gradientClipping, "--grad-clip", RealRange::NonNegative}};
  for (const NumberCheck &check : numbers)
    if (Error err = checkNumber(check.value, check.flag, check.range))
      return err;
  if (options.betas)
    for (double beta : *options.betas)
      if (Error err = checkNumber(beta, "--betas", RealRange::Fraction))
        return err;

  if (options.getOffloadOptimizer() && options.getZeroStage() < 1)
    return makeError("--offload-optimizer needs --zero-stage >= 1 (optimizer "
                     "state is only sharded from stage 1); got stage " +
                     llvm::Twine(options.getZeroStage()));
  if (options.getOffloadParams() && options.getZeroStage() != 3)
    return makeError("--offload-params needs --zero-stage=3 (parameters are "
                     "only sharded at stage 3); got stage " +
                     llvm::Twine(options.getZeroStage()));

  if (options.getRecomputeBatchNorm() > 0 && !options.getRematerialize())
    return makeError(
        "--recompute-bn=" + llvm::Twine(options.getRecomputeBatchNorm()) +
        " needs rematerialization (its batch norms are "
        "recomputed by that pass); drop --rematerialize=false");

  bool isAdamW = options.getOptimizer() == OptimizerKind::AdamW;
  StringRef foreign = isAdamW         ? (options.momentum ? "--momentum" : "")
                      : options.betas ? "--betas"
                      : options.eps   ? "--eps"
                                      : "";
  if (!foreign.empty())
    return makeError(foreign + " only applies to --optimizer=" +
                     (isAdamW ? "sgd" : "adamw") + "; the optimizer is " +
                     getOptimizerName(options.getOptimizer()));

  if (options.trainBatch) {
    // Factors near 2^63 overflow; a product that does is never train_batch.
    int64_t train = *options.trainBatch, perGPU = 0, total = 0;
    bool overflow = llvm::MulOverflow(options.getMicroBatch(),
                                      options.getGradAccum(), perGPU);
    auto product = [&](int64_t value) {
      return overflow ? std::string() : " = " + std::to_string(value);
    };
    if (options.worldSize) {
      overflow |= llvm::MulOverflow(perGPU, *options.worldSize, total);
      if (overflow || train != total)
        return makeError("train_batch_size = " + llvm::Twine(train) +
                         " must equal " + describeBatchFactors(options) +
                         " x world size " + llvm::Twine(*options.worldSize) +
                         product(total));
    }
    if (overflow || train % perGPU != 0)
      return makeError("train_batch_size = " + llvm::Twine(train) +
                       " is not a multiple of " +
                       describeBatchFactors(options) + product(perGPU) +
                       " (it is their product with the world size)");
  }
  return Error::success();
}

std::string describe(const CompileOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "ZeRO stage " << options.getZeroStage() << ", "
     << getPrecisionName(options.getPrecision()) << ", micro batch "
     << options.getMicroBatch() << " x grad accum " << options.getGradAccum();
  if (options.worldSize)
    os << " x " << *options.worldSize << " GPUs";
  else
    os << " on any number of GPUs";
  if (options.trainBatch)
    os << " (train batch " << *options.trainBatch << ")";
  os << ", " << formatNumber(options.getBucketMB()) << " MB buckets";
  if (options.getZeroStage() == 3)
    os << " (prefetch " << options.getPrefetchBuckets() << ")";
  bool offloadOptimizer = options.getOffloadOptimizer();
  bool offloadParams = options.getOffloadParams();
  if (offloadOptimizer || offloadParams)
    os << ", "
       << (offloadOptimizer && offloadParams ? "optimizer and params"
           : offloadOptimizer                ? "optimizer"
                                             : "params")
       << " offloaded to CPU";
  os << ", " << getOptimizerName(options.getOptimizer()) << " lr "
     << formatNumber(options.getLR());
  if (options.getOptimizer() == OptimizerKind::AdamW)
    os << " betas " << formatValue(options.getBetas()) << " eps "
       << formatNumber(options.getEps());
  else
    os << " momentum " << formatNumber(options.getMomentum());
  os << " weight decay " << formatNumber(options.getWeightDecay()) << ", ";
  if (options.getGradientClipping() > 0)
    os << "grad clip " << formatNumber(options.getGradientClipping());
  else
    os << "no grad clipping";
  if (options.getFreezeBatchNorm())
    os << ", frozen batch norm";
  if (!options.getFuseElementwise())
    os << ", no elementwise fusion";
  if (!options.getRematerialize())
    os << ", no rematerialization";
  else if (options.getRecomputeBatchNorm() > 0)
    os << ", " << options.getRecomputeBatchNorm()
       << " batch norm results recomputed";
  if (!options.getFuseBatchNormActivation())
    os << ", batch norm apart from its activation";
  if (!options.getFoldBatchNormBias())
    os << ", convolution biases before batch norm kept";
  if (!options.getPoolIndices())
    os << ", max pools keep their input";
  if (!options.getFuseBatchNormPool())
    os << ", batch norm apart from its max pool";
  if (options.getFusePoolGrad())
    os << ", max pool gradients read by batch norm";
  if (options.getChannelsLast())
    os << ", channels-last";
  if (options.getChannelsLast() && options.getPadChannels() <= 1)
    os << ", channels not padded";
  return text;
}

} // namespace var
