// Reading a DeepSpeed config into CompileOptions, merging it with varc's
// flags, and the checks every set of options passes before planning.
#include "compiler/Driver/CompileOptions.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace var {

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

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The shortest decimal form that reads back as `x` (0.1, not
/// 0.10000000000000001), with whole numbers below 1e15 written out (10, not
/// 1e+01).
std::string formatNumber(double x) {
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

/// A JSON value as a message shows it after "got".
std::string describeValue(const json::Value &value) {
  if (value.getAsNull())
    return "null";
  if (std::optional<bool> b = value.getAsBoolean())
    return *b ? "true" : "false";
  if (std::optional<int64_t> i = value.getAsInteger())
    return std::to_string(*i);
  if (std::optional<uint64_t> u = value.getAsUINT64())
    return std::to_string(*u);
  if (std::optional<double> d = value.getAsNumber())
    return formatNumber(*d);
  if (std::optional<StringRef> s = value.getAsString()) {
    if (s->size() > 40)
      return ("\"" + s->take_front(37) + "...\"").str();
    return ("\"" + *s + "\"").str();
  }
  if (const json::Array *array = value.getAsArray();
      array && array->size() <= 4 &&
      llvm::none_of(*array, [](const json::Value &element) {
        return element.getAsObject() || element.getAsArray();
      })) {
    std::string text = "[";
    for (const json::Value &element : *array)
      text += (text.size() > 1 ? ", " : "") + describeValue(element);
    return text + "]";
  }
  return value.getAsObject() ? "an object" : "an array";
}

// Ranges shared by the DeepSpeed reader (messages name the key) and
// validate() (messages name the flag), so both say the same thing.

struct IntRange {
  int64_t min;
  std::optional<int64_t> max;

  bool contains(int64_t x) const { return x >= min && (!max || x <= *max); }
  std::string expectation() const {
    if (max)
      return "an integer from " + std::to_string(min) + " to " +
             std::to_string(*max);
    return "an integer >= " + std::to_string(min);
  }
};

constexpr IntRange kZeroStages{0, 3};
constexpr IntRange kPositive{1, std::nullopt};
constexpr IntRange kNonNegative{0, std::nullopt};

enum class RealRange { Positive, NonNegative, Fraction };

bool contains(RealRange range, double x) {
  if (!std::isfinite(x))
    return false;
  switch (range) {
  case RealRange::Positive:
    return x > 0;
  case RealRange::NonNegative:
    return x >= 0;
  case RealRange::Fraction:
    return x >= 0 && x < 1;
  }
  llvm_unreachable("unknown range");
}

StringRef expectation(RealRange range) {
  switch (range) {
  case RealRange::Positive:
    return "a number > 0";
  case RealRange::NonNegative:
    return "a number >= 0";
  case RealRange::Fraction:
    return "a number in [0, 1)";
  }
  llvm_unreachable("unknown range");
}

/// Reads one DeepSpeed config. Each section lists the keys it knows, reads
/// them in that order (so the first error is always the same one) and warns
/// once for every other key, without looking inside it.
class DeepSpeedReader {
public:
  DeepSpeedReader(StringRef fileName, CompileOptions &out,
                  std::vector<std::string> &warnings)
      : fileName(fileName), out(out), warnings(warnings) {}

  Error readRoot(const json::Object &root);

private:
  Error readZeroOptimization(const json::Object &zero);
  Error readPrecision(const json::Object &root);
  Error readOptimizer(const json::Object &optimizer);
  /// `kind` is the optimizer the same file names, if it does.
  Error readOptimizerParams(const json::Object &params,
                            std::optional<OptimizerKind> kind);

  /// The value of `key`, or null when it is absent or DeepSpeed's "auto".
  static const json::Value *find(const json::Object &object, StringRef key) {
    const json::Value *value = object.get(key);
    if (value && value->getAsString() == StringRef("auto"))
      return nullptr;
    return value;
  }

  void warnUnknownKeys(const json::Object &object, StringRef prefix,
                       llvm::ArrayRef<StringRef> known);

  Error keyError(StringRef path, const llvm::Twine &message) {
    return makeError(fileName + ": " + path + ": " + message);
  }
  Error typeError(StringRef path, const llvm::Twine &expected,
                  const json::Value &got) {
    return keyError(path,
                    "expected " + expected + ", got " + describeValue(got));
  }

  Expected<int64_t> readInteger(const json::Value &value, StringRef path,
                                IntRange range);
  Expected<double> readNumber(const json::Value &value, StringRef path,
                              RealRange range);
  Expected<bool> readBool(const json::Value &value, StringRef path);
  Expected<const json::Object *> readObject(const json::Value &value,
                                            StringRef path);
  /// offload_*.device: "cpu" turns offload on, "none" off.
  Error readOffload(const json::Object &offload, StringRef prefix,
                    std::optional<bool> &on);

  /// Reads `prefix.key` into `field` if it is set; `read` turns the value
  /// into the field's type or an error.
  template <typename T, typename ReadFn>
  Error readInto(const json::Object &object, StringRef prefix, StringRef key,
                 std::optional<T> &field, ReadFn read) {
    const json::Value *value = find(object, key);
    if (!value)
      return Error::success();
    std::string path = prefix.empty() ? key.str() : (prefix + "." + key).str();
    auto result = read(*value, path);
    if (!result)
      return result.takeError();
    field = *result;
    return Error::success();
  }

  StringRef fileName;
  CompileOptions &out;
  std::vector<std::string> &warnings;
};

void DeepSpeedReader::warnUnknownKeys(const json::Object &object,
                                      StringRef prefix,
                                      llvm::ArrayRef<StringRef> known) {
  // json::Object is a hash map: sort for a stable warning order.
  std::vector<std::string> unknown;
  for (const auto &[key, value] : object)
    if (!llvm::is_contained(known, StringRef(key)))
      unknown.push_back(prefix.empty() ? key.str()
                                       : (prefix + "." + key.str()).str());
  llvm::sort(unknown);
  for (const std::string &path : unknown)
    warnings.push_back(
        (fileName + ": unknown key '" + path + "' ignored").str());
}

Expected<int64_t> DeepSpeedReader::readInteger(const json::Value &value,
                                               StringRef path, IntRange range) {
  std::optional<int64_t> integer = value.getAsInteger();
  if (!integer || !range.contains(*integer))
    return typeError(path, range.expectation(), value);
  return *integer;
}

Expected<double> DeepSpeedReader::readNumber(const json::Value &value,
                                             StringRef path, RealRange range) {
  std::optional<double> number = value.getAsNumber();
  if (!number || !contains(range, *number))
    return typeError(path, expectation(range), value);
  return *number;
}

Expected<bool> DeepSpeedReader::readBool(const json::Value &value,
                                         StringRef path) {
  std::optional<bool> boolean = value.getAsBoolean();
  if (!boolean)
    return typeError(path, "true or false", value);
  return *boolean;
}

Expected<const json::Object *>
DeepSpeedReader::readObject(const json::Value &value, StringRef path) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return typeError(path, "an object", value);
  return object;
}

Error DeepSpeedReader::readOffload(const json::Object &offload,
                                   StringRef prefix, std::optional<bool> &on) {
  warnUnknownKeys(offload, prefix, {"device", "pin_memory"});
  // An offload section without a device offloads nothing, as in DeepSpeed
  // ("auto" leaves it unset).
  if (!offload.get("device"))
    on = false;
  if (Error err = readInto(
          offload, prefix, "device", on,
          [&](const json::Value &value, StringRef path) -> Expected<bool> {
            std::optional<StringRef> device = value.getAsString();
            if (device == StringRef("cpu"))
              return true;
            if (device == StringRef("none"))
              return false;
            if (device == StringRef("nvme"))
              return keyError(path, "offload to NVMe is not supported; use "
                                    "\"cpu\" or \"none\"");
            return typeError(path, "\"cpu\" or \"none\"", value);
          }))
    return err;
  // Offloaded state always lives in pinned host memory; pin_memory only has
  // to be a boolean.
  std::optional<bool> pinMemory;
  return readInto(offload, prefix, "pin_memory", pinMemory,
                  [&](const json::Value &value, StringRef path) {
                    return readBool(value, path);
                  });
}

Error DeepSpeedReader::readRoot(const json::Object &root) {
  warnUnknownKeys(root, "",
                  {"train_micro_batch_size_per_gpu",
                   "gradient_accumulation_steps", "train_batch_size",
                   "zero_optimization", "bf16", "fp16", "optimizer",
                   "gradient_clipping"});
  auto positive = [&](const json::Value &value, StringRef path) {
    return readInteger(value, path, kPositive);
  };
  if (Error err = readInto(root, "", "train_micro_batch_size_per_gpu",
                           out.microBatch, positive))
    return err;
  if (Error err = readInto(root, "", "gradient_accumulation_steps",
                           out.gradAccum, positive))
    return err;
  if (Error err =
          readInto(root, "", "train_batch_size", out.trainBatch, positive))
    return err;

  if (const json::Value *value = find(root, "zero_optimization")) {
    Expected<const json::Object *> zero =
        readObject(*value, "zero_optimization");
    if (!zero)
      return zero.takeError();
    if (Error err = readZeroOptimization(**zero))
      return err;
  }
  if (Error err = readPrecision(root))
    return err;
  if (const json::Value *value = find(root, "optimizer")) {
    Expected<const json::Object *> optimizer = readObject(*value, "optimizer");
    if (!optimizer)
      return optimizer.takeError();
    if (Error err = readOptimizer(**optimizer))
      return err;
  }
  return readInto(root, "", "gradient_clipping", out.gradientClipping,
                  [&](const json::Value &value, StringRef path) {
                    return readNumber(value, path, RealRange::NonNegative);
                  });
}

Error DeepSpeedReader::readZeroOptimization(const json::Object &zero) {
  StringRef prefix = "zero_optimization";
  warnUnknownKeys(zero, prefix,
                  {"stage", "offload_optimizer", "offload_param",
                   "reduce_bucket_size", "allgather_bucket_size",
                   "stage3_prefetch_bucket_size", "overlap_comm",
                   "contiguous_gradients"});
  std::optional<int64_t> stage;
  if (Error err = readInto(zero, prefix, "stage", stage,
                           [&](const json::Value &value, StringRef path) {
                             return readInteger(value, path, kZeroStages);
                           }))
    return err;
  if (stage)
    out.zeroStage = int(*stage);

  for (auto [key, field] :
       {std::pair{StringRef("offload_optimizer"), &out.offloadOptimizer},
        std::pair{StringRef("offload_param"), &out.offloadParams}}) {
    const json::Value *value = find(zero, key);
    if (!value)
      continue;
    std::string path = (prefix + "." + key).str();
    Expected<const json::Object *> offload = readObject(*value, path);
    if (!offload)
      return offload.takeError();
    if (Error err = readOffload(**offload, path, *field))
      return err;
  }

  // DeepSpeed counts bucket sizes in elements; CompileOptions keeps them so
  // and converts with the final precision.
  auto elements = [&](const json::Value &value, StringRef path) {
    return readInteger(value, path, kPositive);
  };
  std::optional<int64_t> reduceBucket, allgatherBucket;
  if (Error err =
          readInto(zero, prefix, "reduce_bucket_size", reduceBucket, elements))
    return err;
  if (Error err = readInto(zero, prefix, "allgather_bucket_size",
                           allgatherBucket, elements))
    return err;
  // VAR uses one bucket size for both collectives.
  if (reduceBucket && allgatherBucket && *reduceBucket != *allgatherBucket)
    warnings.push_back(
        (fileName + ": zero_optimization.reduce_bucket_size (" +
         llvm::Twine(*reduceBucket) + ") and allgather_bucket_size (" +
         llvm::Twine(*allgatherBucket) + ") differ; using the larger, " +
         llvm::Twine(std::max(*reduceBucket, *allgatherBucket)) +
         " elements, for both")
            .str());
  if (reduceBucket || allgatherBucket)
    out.bucketElements =
        std::max(reduceBucket.value_or(0), allgatherBucket.value_or(0));
  if (Error err = readInto(zero, prefix, "stage3_prefetch_bucket_size",
                           out.prefetchElements,
                           [&](const json::Value &value, StringRef path) {
                             return readInteger(value, path, kNonNegative);
                           }))
    return err;

  // VAR always overlaps communication with compute and packs gradients
  // contiguously; these only have to be booleans.
  for (StringRef key : {"overlap_comm", "contiguous_gradients"}) {
    std::optional<bool> ignored;
    if (Error err = readInto(zero, prefix, key, ignored,
                             [&](const json::Value &value, StringRef path) {
                               return readBool(value, path);
                             }))
      return err;
  }
  return Error::success();
}

Error DeepSpeedReader::readPrecision(const json::Object &root) {
  for (StringRef section : {"bf16", "fp16"}) {
    const json::Value *value = find(root, section);
    if (!value)
      continue;
    Expected<const json::Object *> object = readObject(*value, section);
    if (!object)
      return object.takeError();
    warnUnknownKeys(**object, section, {"enabled"});
    std::optional<bool> enabled;
    if (Error err = readInto(**object, section, "enabled", enabled,
                             [&](const json::Value &value, StringRef path) {
                               return readBool(value, path);
                             }))
      return err;
    if (!enabled)
      continue;
    if (section == "fp16") {
      if (*enabled)
        return keyError("fp16.enabled",
                        "fp16 is not supported; use bf16 (set bf16.enabled)");
      continue;
    }
    // Without bf16 (and fp16) DeepSpeed trains in fp32.
    out.precision = *enabled ? Precision::BF16 : Precision::FP32;
  }
  return Error::success();
}

Error DeepSpeedReader::readOptimizer(const json::Object &optimizer) {
  warnUnknownKeys(optimizer, "optimizer", {"type", "params"});
  // DeepSpeed matches optimizer names case-insensitively.
  std::optional<std::string> type;
  if (Error err = readInto(
          optimizer, "optimizer", "type", type,
          [&](const json::Value &value,
              StringRef path) -> Expected<std::string> {
            std::optional<StringRef> name = value.getAsString();
            std::string lowered = name ? name->lower() : "";
            if (lowered != "adam" && lowered != "adamw" && lowered != "sgd")
              return typeError(path, "\"Adam\", \"AdamW\" or \"SGD\"", value);
            return lowered;
          }))
    return err;
  if (type)
    out.optimizer = *type == "sgd" ? OptimizerKind::SGD : OptimizerKind::AdamW;

  if (const json::Value *value = find(optimizer, "params")) {
    Expected<const json::Object *> params =
        readObject(*value, "optimizer.params");
    if (!params)
      return params.takeError();
    if (Error err =
            readOptimizerParams(**params, type ? out.optimizer : std::nullopt))
      return err;
  }
  // DeepSpeed's "Adam" is AdamW too unless adam_w_mode is false (an error
  // above), but the name suggests L2 decay: say which one runs.
  if (type == "adam" && out.weightDecay && *out.weightDecay != 0)
    warnings.push_back((fileName +
                        ": optimizer.type \"Adam\" runs as AdamW: "
                        "weight_decay = " +
                        formatNumber(*out.weightDecay) +
                        " is decoupled (applied to the weights, not added "
                        "to the gradient)")
                           .str());
  return Error::success();
}

Error DeepSpeedReader::readOptimizerParams(const json::Object &params,
                                           std::optional<OptimizerKind> kind) {
  StringRef prefix = "optimizer.params";
  warnUnknownKeys(
      params, prefix,
      {"lr", "betas", "eps", "weight_decay", "momentum", "adam_w_mode"});
  // Hyper-parameters of the other optimizer would make torch reject the
  // config under DeepSpeed; reject them here too. (Without a type in the
  // file, validate() checks them against the merged optimizer.)
  static const StringRef sgdOnly[] = {"momentum"};
  static const StringRef adamOnly[] = {"betas", "eps", "adam_w_mode"};
  bool isAdamW = kind == OptimizerKind::AdamW;
  if (kind)
    for (StringRef key : isAdamW ? llvm::ArrayRef<StringRef>(sgdOnly)
                                 : llvm::ArrayRef<StringRef>(adamOnly))
      if (find(params, key))
        return keyError(
            (prefix + "." + key).str(),
            "only applies to " + llvm::Twine(isAdamW ? "SGD" : "Adam/AdamW") +
                ", but optimizer.type is " + (isAdamW ? "AdamW" : "SGD"));

  auto number = [&](RealRange range) {
    return [this, range](const json::Value &value, StringRef path) {
      return readNumber(value, path, range);
    };
  };
  if (Error err =
          readInto(params, prefix, "lr", out.lr, number(RealRange::Positive)))
    return err;
  if (Error err =
          readInto(params, prefix, "betas", out.betas,
                   [&](const json::Value &value,
                       StringRef path) -> Expected<std::array<double, 2>> {
                     const json::Array *array = value.getAsArray();
                     StringRef expected = "two numbers in [0, 1)";
                     if (!array || array->size() != 2)
                       return typeError(path, expected, value);
                     std::array<double, 2> betas;
                     for (size_t i = 0; i < 2; ++i) {
                       std::optional<double> beta = (*array)[i].getAsNumber();
                       if (!beta || !contains(RealRange::Fraction, *beta))
                         return typeError(path, expected, value);
                       betas[i] = *beta;
                     }
                     return betas;
                   }))
    return err;
  if (Error err =
          readInto(params, prefix, "eps", out.eps, number(RealRange::Positive)))
    return err;
  if (Error err = readInto(params, prefix, "weight_decay", out.weightDecay,
                           number(RealRange::NonNegative)))
    return err;
  if (Error err = readInto(params, prefix, "momentum", out.momentum,
                           number(RealRange::Fraction)))
    return err;
  std::optional<bool> adamWMode;
  if (Error err = readInto(params, prefix, "adam_w_mode", adamWMode,
                           [&](const json::Value &value, StringRef path) {
                             return readBool(value, path);
                           }))
    return err;
  if (adamWMode == false)
    return keyError("optimizer.params.adam_w_mode",
                    "Adam with L2 weight decay is not supported; VAR's Adam "
                    "always decouples weight decay (AdamW)");
  return Error::success();
}

/// Rewrites llvm::json's "[3:7, byte=19]: Expected ..." as
/// "file:3:7: invalid JSON: Expected ...".
Error parseErrorInFile(Error parseError, StringRef fileName) {
  std::string message = llvm::toString(std::move(parseError));
  unsigned line = 0, column = 0, offset = 0;
  int consumed = 0;
  if (std::sscanf(message.c_str(), "[%u:%u, byte=%u]: %n", &line, &column,
                  &offset, &consumed) == 3 &&
      consumed > 0)
    return makeError(
        fileName + ":" + llvm::Twine(line) + ":" + llvm::Twine(column) +
        ": invalid JSON: " + StringRef(message).drop_front(consumed));
  return makeError(fileName + ": invalid JSON: " + message);
}

} // namespace

Error applyDeepSpeedConfig(StringRef text, StringRef fileName,
                           CompileOptions &fromFile,
                           std::vector<std::string> &warnings) {
  Expected<json::Value> root = json::parse(text);
  if (!root)
    return parseErrorInFile(root.takeError(), fileName);
  const json::Object *object = root->getAsObject();
  if (!object)
    return makeError(fileName + ": expected a JSON object at the top, got " +
                     describeValue(*root));
  return DeepSpeedReader(fileName, fromFile, warnings).readRoot(*object);
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
       "zero_optimization.stage3_prefetch_bucket_size", kNonNegative}};
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
  return text;
}

} // namespace var
