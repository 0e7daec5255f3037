// Reading a DeepSpeed JSON config into CompileOptions: every key it knows,
// a warning for every other one, and errors that name the file and the key.
#include "compiler/Driver/CompileOptions.h"
#include "compiler/Driver/OptionChecks.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"

#include <cstdio>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace var {

using namespace detail;

namespace {

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
  Error readScheduler(const json::Object &scheduler);
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
                   "scheduler", "gradient_clipping"});
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
  if (const json::Value *value = find(root, "scheduler")) {
    Expected<const json::Object *> scheduler = readObject(*value, "scheduler");
    if (!scheduler)
      return scheduler.takeError();
    if (Error err = readScheduler(**scheduler))
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

Error DeepSpeedReader::readScheduler(const json::Object &scheduler) {
  warnUnknownKeys(scheduler, "scheduler", {"type", "params"});
  const json::Value *typeValue = scheduler.get("type");
  if (!typeValue)
    return keyError("scheduler", "needs a \"type\"");
  std::optional<StringRef> type = typeValue->getAsString();
  if (type != StringRef("WarmupLR") && type != StringRef("WarmupDecayLR") &&
      type != StringRef("WarmupCosineLR"))
    return typeError("scheduler.type",
                     "\"WarmupLR\", \"WarmupDecayLR\" or \"WarmupCosineLR\"",
                     *typeValue);
  plan::LrScheduleSpec spec;
  spec.type = type->str();
  const json::Value *paramsValue = find(scheduler, "params");
  if (!paramsValue) {
    out.lrSchedule = std::move(spec);
    return Error::success();
  }
  Expected<const json::Object *> paramsObject =
      readObject(*paramsValue, "scheduler.params");
  if (!paramsObject)
    return paramsObject.takeError();
  const json::Object &params = **paramsObject;
  StringRef prefix = "scheduler.params";
  // Each schedule's own parameters, as DeepSpeed's constructors take them.
  bool cosine = spec.type == "WarmupCosineLR";
  std::vector<StringRef> known = {"warmup_num_steps", "warmup_type"};
  for (StringRef key :
       cosine ? std::vector<StringRef>{"total_num_steps", "warmup_min_ratio",
                                       "cos_min_ratio"}
              : std::vector<StringRef>{"warmup_min_lr", "warmup_max_lr"})
    known.push_back(key);
  if (spec.type == "WarmupDecayLR")
    known.push_back("total_num_steps");
  warnUnknownKeys(params, prefix, known);

  auto number = [&](RealRange range) {
    return [this, range](const json::Value &value, StringRef path) {
      return readNumber(value, path, range);
    };
  };
  auto integer = [&](IntRange range) {
    return [this, range](const json::Value &value, StringRef path) {
      return readInteger(value, path, range);
    };
  };
  auto has = [&](StringRef key) { return llvm::is_contained(known, key); };
  if (has("warmup_min_lr"))
    if (Error err = readInto(params, prefix, "warmup_min_lr", spec.warmupMinLr,
                             number(RealRange::NonNegative)))
      return err;
  if (has("warmup_max_lr"))
    if (Error err = readInto(params, prefix, "warmup_max_lr", spec.warmupMaxLr,
                             number(RealRange::NonNegative)))
      return err;
  if (Error err = readInto(params, prefix, "warmup_num_steps",
                           spec.warmupNumSteps, integer(kNonNegative)))
    return err;
  if (Error err = readInto(
          params, prefix, "warmup_type", spec.warmupType,
          [&](const json::Value &value,
              StringRef path) -> Expected<std::string> {
            std::optional<StringRef> name = value.getAsString();
            if (name != StringRef("log") && name != StringRef("linear"))
              return typeError(path, "\"log\" or \"linear\"", value);
            return name->str();
          }))
    return err;
  if (has("total_num_steps"))
    if (Error err = readInto(params, prefix, "total_num_steps",
                             spec.totalNumSteps, integer(kPositive)))
      return err;
  if (cosine) {
    if (Error err = readInto(params, prefix, "warmup_min_ratio",
                             spec.warmupMinRatio, number(RealRange::Fraction)))
      return err;
    if (Error err = readInto(params, prefix, "cos_min_ratio", spec.cosMinRatio,
                             number(RealRange::Fraction)))
      return err;
  }
  out.lrSchedule = std::move(spec);
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

} // namespace var
