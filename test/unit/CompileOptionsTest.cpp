// CompileOptions from varc's flags and DeepSpeed configs: the seed configs,
// DeepSpeed's units and "auto", every error class, and flag/file merging.
#include "compiler/Driver/CompileOptions.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

using namespace var;

namespace {

constexpr const char *kFile = "ds_config.json";

/// The error's message, or "" for success.
std::string messageOf(llvm::Error err) {
  return err ? llvm::toString(std::move(err)) : "";
}

struct Applied {
  CompileOptions options;
  std::vector<std::string> warnings;
  std::string error;
};

Applied apply(llvm::StringRef text) {
  Applied applied;
  applied.error = messageOf(
      applyDeepSpeedConfig(text, kFile, applied.options, applied.warnings));
  return applied;
}

/// Applies `text`, which must be accepted without warnings.
CompileOptions applyClean(llvm::StringRef text) {
  Applied applied = apply(text);
  EXPECT_EQ(applied.error, "") << text.str();
  EXPECT_TRUE(applied.warnings.empty()) << applied.warnings.front();
  return applied.options;
}

std::string applyError(llvm::StringRef text) {
  Applied applied = apply(text);
  EXPECT_NE(applied.error, "") << "accepted: " << text.str();
  return applied.error;
}

std::string mergeError(const CompileOptions &flags,
                       const CompileOptions &fromFile) {
  llvm::Expected<CompileOptions> merged = mergeOptions(flags, fromFile, kFile);
  if (merged)
    return "";
  return llvm::toString(merged.takeError());
}

CompileOptions merge(const CompileOptions &flags,
                     const CompileOptions &fromFile) {
  llvm::Expected<CompileOptions> merged = mergeOptions(flags, fromFile, kFile);
  if (!merged) {
    ADD_FAILURE() << llvm::toString(merged.takeError());
    return {};
  }
  return *merged;
}

CompileOptions applySeed(llvm::StringRef name) {
  std::string path = std::string(DS_CONFIG_DIR) + "/" + name.str();
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return applyClean((*buffer)->getBuffer());
}

// --- The seed configs --------------------------------------------------------

TEST(CompileOptionsTest, DdpSeedIsStageOneBF16) {
  CompileOptions options = applySeed("ds_config_ddp.json");
  EXPECT_EQ(options.zeroStage, 1);
  EXPECT_EQ(options.precision, Precision::BF16);
  EXPECT_FALSE(options.offloadOptimizer);
  EXPECT_FALSE(options.offloadParams);
  EXPECT_FALSE(options.microBatch);
  EXPECT_EQ(messageOf(validate(options)), "");
}

TEST(CompileOptionsTest, FsdpStage2SeedOffloadsTheOptimizer) {
  CompileOptions options = applySeed("ds_config_fsdp_stage2.json");
  EXPECT_EQ(options.zeroStage, 2);
  EXPECT_EQ(options.precision, Precision::BF16);
  EXPECT_EQ(options.offloadOptimizer, true);
  EXPECT_FALSE(options.offloadParams);
  EXPECT_EQ(messageOf(validate(options)), "");
}

TEST(CompileOptionsTest, FsdpStage3SeedOffloadsOptimizerAndParams) {
  CompileOptions options = applySeed("ds_config_fsdp_stage3.json");
  EXPECT_EQ(options.zeroStage, 3);
  EXPECT_EQ(options.precision, Precision::BF16);
  EXPECT_EQ(options.offloadOptimizer, true);
  EXPECT_EQ(options.offloadParams, true);
  CompileOptions merged = merge(CompileOptions(), options);
  EXPECT_EQ(merged.getZeroStage(), 3);
  EXPECT_TRUE(merged.getOffloadParams());
}

// --- Defaults and what a file sets -------------------------------------------

TEST(CompileOptionsTest, UnsetFieldsResolveToDefaults) {
  CompileOptions options;
  EXPECT_EQ(options.getZeroStage(), 0);
  EXPECT_EQ(options.getPrecision(), Precision::BF16);
  EXPECT_EQ(options.getMicroBatch(), 1);
  EXPECT_EQ(options.getGradAccum(), 1);
  EXPECT_FALSE(options.worldSize);
  EXPECT_EQ(options.getBucketMB(), 25);
  EXPECT_EQ(options.getBucketElements(), 25 << 19); // 2 bytes each
  EXPECT_EQ(options.getPrefetchBuckets(), 1);
  EXPECT_FALSE(options.getOffloadOptimizer());
  EXPECT_FALSE(options.getOffloadParams());
  EXPECT_EQ(options.getOptimizer(), OptimizerKind::AdamW);
  EXPECT_EQ(options.getLR(), 1e-3);
  EXPECT_EQ(options.getBetas()[1], 0.999);
  EXPECT_EQ(options.getWeightDecay(), 0.01);
  EXPECT_EQ(options.getGradientClipping(), 0);
  EXPECT_EQ(messageOf(validate(options)), "");
}

TEST(CompileOptionsTest, ReadsEveryKey) {
  CompileOptions options = applyClean(R"({
    "train_micro_batch_size_per_gpu": 4,
    "gradient_accumulation_steps": 2,
    "train_batch_size": 64,
    "gradient_clipping": 1.0,
    "zero_optimization": {
      "stage": 3, "overlap_comm": true, "contiguous_gradients": false,
      "reduce_bucket_size": 5e8, "allgather_bucket_size": 5e8,
      "stage3_prefetch_bucket_size": 5e7,
      "offload_optimizer": {"device": "cpu", "pin_memory": true},
      "offload_param": {"device": "none"}
    },
    "bf16": {"enabled": true},
    "fp16": {"enabled": false},
    "optimizer": {"type": "AdamW", "params": {
      "lr": 3e-4, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.05}}
  })");
  EXPECT_EQ(options.microBatch, 4);
  EXPECT_EQ(options.gradAccum, 2);
  EXPECT_EQ(options.trainBatch, 64);
  EXPECT_EQ(options.gradientClipping, 1.0);
  EXPECT_EQ(options.zeroStage, 3);
  EXPECT_EQ(options.bucketElements, 500000000);
  EXPECT_EQ(options.prefetchElements, 50000000);
  EXPECT_EQ(options.offloadOptimizer, true);
  EXPECT_EQ(options.offloadParams, false);
  EXPECT_EQ(options.precision, Precision::BF16);
  EXPECT_EQ(options.optimizer, OptimizerKind::AdamW);
  EXPECT_EQ(options.lr, 3e-4);
  EXPECT_EQ(options.betas, (std::array<double, 2>{0.8, 0.99}));
  EXPECT_EQ(options.eps, 1e-6);
  EXPECT_EQ(options.weightDecay, 0.05);
  EXPECT_FALSE(options.worldSize);
}

TEST(CompileOptionsTest, BF16DisabledMeansFP32) {
  EXPECT_EQ(applyClean(R"({"bf16": {"enabled": false}})").precision,
            Precision::FP32);
  EXPECT_FALSE(applyClean(R"({"bf16": {}})").precision);
}

TEST(CompileOptionsTest, SGD) {
  CompileOptions options = applyClean(
      R"({"optimizer": {"type": "sgd", "params": {"lr": 0.1, "momentum": 0.5,
          "weight_decay": 1e-4}}})");
  EXPECT_EQ(options.optimizer, OptimizerKind::SGD);
  EXPECT_EQ(options.momentum, 0.5);
  EXPECT_EQ(options.weightDecay, 1e-4);
}

// --- "auto" and unknown keys -------------------------------------------------

TEST(CompileOptionsTest, AutoLeavesKeysUnset) {
  CompileOptions options = applyClean(R"({
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "train_batch_size": "auto",
    "gradient_clipping": "auto",
    "zero_optimization": {"stage": "auto", "reduce_bucket_size": "auto",
      "stage3_prefetch_bucket_size": "auto", "overlap_comm": "auto",
      "offload_optimizer": {"device": "auto"}},
    "bf16": {"enabled": "auto"},
    "fp16": {"enabled": "auto"},
    "optimizer": {"type": "auto", "params": {"lr": "auto", "betas": "auto",
      "eps": "auto", "weight_decay": "auto"}}
  })");
  EXPECT_FALSE(options.microBatch);
  EXPECT_FALSE(options.gradAccum);
  EXPECT_FALSE(options.trainBatch);
  EXPECT_FALSE(options.gradientClipping);
  EXPECT_FALSE(options.zeroStage);
  EXPECT_FALSE(options.bucketElements);
  EXPECT_FALSE(options.prefetchElements);
  EXPECT_FALSE(options.offloadOptimizer);
  EXPECT_FALSE(options.precision);
  EXPECT_FALSE(options.optimizer);
  EXPECT_FALSE(options.lr);
  EXPECT_FALSE(options.betas);
  EXPECT_EQ(applyClean(R"({"zero_optimization": "auto"})").zeroStage,
            std::nullopt);
}

TEST(CompileOptionsTest, UnknownKeysWarnOnceEachWithTheirPath) {
  Applied applied = apply(R"({
    "steps_per_print": 10,
    "scheduler": {"type": "WarmupLR",
                  "params": {"warmup_num_steps": 100, "total_num_steps": 5}},
    "zero_optimization": {"stage": 2, "foo": 1,
      "offload_optimizer": {"device": "cpu", "buffer_count": 4}},
    "optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "amsgrad": false}},
    "fp16": {"enabled": false, "loss_scale": 0}
  })");
  EXPECT_EQ(applied.error, "");
  EXPECT_EQ(applied.options.zeroStage, 2);
  EXPECT_EQ(applied.options.lr, 1e-3);
  std::vector<std::string> expected = {
      "ds_config.json: unknown key 'steps_per_print' ignored",
      "ds_config.json: unknown key 'zero_optimization.foo' ignored",
      "ds_config.json: unknown key "
      "'zero_optimization.offload_optimizer.buffer_count' ignored",
      "ds_config.json: unknown key 'fp16.loss_scale' ignored",
      "ds_config.json: unknown key 'optimizer.params.amsgrad' ignored",
      "ds_config.json: unknown key 'scheduler.params.total_num_steps' "
      "ignored"};
  EXPECT_EQ(applied.warnings, expected);
}

TEST(CompileOptionsTest, SchedulerBlockIsCarried) {
  CompileOptions options = applyClean(R"({"scheduler": {
    "type": "WarmupCosineLR",
    "params": {"total_num_steps": 1000, "warmup_min_ratio": 0.1,
               "cos_min_ratio": "auto", "warmup_num_steps": 50,
               "warmup_type": "linear"}}})");
  ASSERT_TRUE(options.lrSchedule);
  EXPECT_EQ(options.lrSchedule->type, "WarmupCosineLR");
  EXPECT_EQ(options.lrSchedule->totalNumSteps, 1000);
  EXPECT_EQ(options.lrSchedule->warmupMinRatio, 0.1);
  EXPECT_EQ(options.lrSchedule->cosMinRatio, std::nullopt); // "auto"
  EXPECT_EQ(options.lrSchedule->warmupNumSteps, 50);
  EXPECT_EQ(options.lrSchedule->warmupType, "linear");
  EXPECT_EQ(options.lrSchedule->warmupMaxLr, std::nullopt);

  CompileOptions decay = applyClean(R"({"scheduler": {"type": "WarmupDecayLR",
    "params": {"warmup_min_lr": 0, "warmup_max_lr": 0.01,
               "total_num_steps": 20}}})");
  ASSERT_TRUE(decay.lrSchedule);
  EXPECT_EQ(decay.lrSchedule->warmupMaxLr, 0.01);
  EXPECT_EQ(decay.lrSchedule->totalNumSteps, 20);
  llvm::Expected<CompileOptions> merged =
      mergeOptions(CompileOptions(), decay, "ds_config.json");
  ASSERT_TRUE(bool(merged));
  EXPECT_EQ(merged->lrSchedule->type, "WarmupDecayLR");
}

TEST(CompileOptionsTest, SchedulerErrorsNameTheKey) {
  EXPECT_EQ(apply(R"({"scheduler": {"type": "OneCycle"}})").error,
            "ds_config.json: scheduler.type: expected \"WarmupLR\", "
            "\"WarmupDecayLR\" or \"WarmupCosineLR\", got \"OneCycle\"");
  EXPECT_EQ(apply(R"({"scheduler": {"params": {}}})").error,
            "ds_config.json: scheduler: needs a \"type\"");
  EXPECT_EQ(apply(R"({"scheduler": {"type": "WarmupLR",
                     "params": {"warmup_type": "exp"}}})")
                .error,
            "ds_config.json: scheduler.params.warmup_type: expected \"log\" "
            "or \"linear\", got \"exp\"");
  EXPECT_EQ(apply(R"({"scheduler": {"type": "WarmupDecayLR",
                     "params": {"total_num_steps": 0}}})")
                .error,
            "ds_config.json: scheduler.params.total_num_steps: expected an "
            "integer >= 1, got 0");
}

// --- DeepSpeed's element counts ----------------------------------------------

TEST(CompileOptionsTest, BucketElementsBecomeMBAtThePrecision) {
  // 13107200 elements x 2 bytes (bf16) = 25 MB; x 4 bytes (fp32) = 50 MB.
  CompileOptions file =
      applyClean(R"({"zero_optimization": {"reduce_bucket_size": 13107200}})");
  EXPECT_EQ(file.getBucketMB(), 25);
  CompileOptions flags;
  flags.precision = Precision::FP32;
  CompileOptions merged = merge(flags, file);
  EXPECT_EQ(merged.getBucketMB(), 50);
  EXPECT_EQ(merged.getBucketElements(), 13107200);
  EXPECT_EQ(getBucketMB(500000000, Precision::BF16), 5e8 * 2 / (1 << 20));
}

TEST(CompileOptionsTest, DifferingBucketSizesUseTheLarger) {
  Applied applied = apply(R"({"zero_optimization": {
      "reduce_bucket_size": 2e8, "allgather_bucket_size": 5e8}})");
  EXPECT_EQ(applied.error, "");
  EXPECT_EQ(applied.options.bucketElements, 500000000);
  ASSERT_EQ(applied.warnings.size(), 1u);
  EXPECT_EQ(applied.warnings[0],
            "ds_config.json: zero_optimization.reduce_bucket_size (200000000) "
            "and allgather_bucket_size (500000000) differ; using the larger, "
            "500000000 elements, for both");
}

TEST(CompileOptionsTest, PrefetchElementsBecomeBuckets) {
  // 5e7 / 13107200 = 3.8: rounded up to 4 buckets.
  CompileOptions options = applyClean(R"({"zero_optimization": {
      "reduce_bucket_size": 13107200, "stage3_prefetch_bucket_size": 5e7}})");
  EXPECT_EQ(options.getPrefetchBuckets(), 4);
  // Without a bucket size in the file, against the default 25 MB at bf16.
  EXPECT_EQ(applyClean(R"({"zero_optimization": {
                "stage3_prefetch_bucket_size": 26214400}})")
                .getPrefetchBuckets(),
            2);
  // Always at least one.
  EXPECT_EQ(applyClean(R"({"zero_optimization": {
                "stage3_prefetch_bucket_size": 0}})")
                .getPrefetchBuckets(),
            1);
}

// --- Errors in the file ------------------------------------------------------

TEST(CompileOptionsTest, OutOfRangeNamesFileKeyExpectedAndActual) {
  EXPECT_EQ(applyError(R"({"zero_optimization": {"stage": 7}})"),
            "ds_config.json: zero_optimization.stage: expected an integer "
            "from 0 to 3, got 7");
  EXPECT_EQ(applyError(R"({"train_micro_batch_size_per_gpu": 0})"),
            "ds_config.json: train_micro_batch_size_per_gpu: expected an "
            "integer >= 1, got 0");
  EXPECT_EQ(
      applyError(R"({"gradient_clipping": -1})"),
      "ds_config.json: gradient_clipping: expected a number >= 0, got -1");
  EXPECT_EQ(
      applyError(R"({"optimizer": {"params": {"lr": 0}}})"),
      "ds_config.json: optimizer.params.lr: expected a number > 0, got 0");
  EXPECT_EQ(applyError(R"({"optimizer": {"params": {"betas": [0.9, 1.5]}}})"),
            "ds_config.json: optimizer.params.betas: expected two numbers in "
            "[0, 1), got [0.9, 1.5]");
}

TEST(CompileOptionsTest, WrongTypeNamesFileKeyExpectedAndActual) {
  EXPECT_EQ(applyError(R"({"zero_optimization": {"stage": "two"}})"),
            "ds_config.json: zero_optimization.stage: expected an integer "
            "from 0 to 3, got \"two\"");
  EXPECT_EQ(applyError(R"({"gradient_accumulation_steps": 1.5})"),
            "ds_config.json: gradient_accumulation_steps: expected an integer "
            ">= 1, got 1.5");
  EXPECT_EQ(applyError(R"({"bf16": {"enabled": 1}})"),
            "ds_config.json: bf16.enabled: expected true or false, got 1");
  EXPECT_EQ(applyError(R"({"zero_optimization": 1})"),
            "ds_config.json: zero_optimization: expected an object, got 1");
  EXPECT_EQ(applyError(R"({"zero_optimization": {"overlap_comm": "yes"}})"),
            "ds_config.json: zero_optimization.overlap_comm: expected true or "
            "false, got \"yes\"");
  EXPECT_EQ(applyError(R"({"zero_optimization": {"offload_param": {
                "device": "gpu"}}})"),
            "ds_config.json: zero_optimization.offload_param.device: "
            "expected \"cpu\" or \"none\", got \"gpu\"");
  EXPECT_EQ(applyError("[1, 2]"),
            "ds_config.json: expected a JSON object at the top, got [1, 2]");
}

TEST(CompileOptionsTest, UnsupportedFeaturesAreErrors) {
  EXPECT_EQ(applyError(R"({"fp16": {"enabled": true}})"),
            "ds_config.json: fp16.enabled: fp16 is not supported; use bf16 "
            "(set bf16.enabled)");
  EXPECT_EQ(applyError(R"({"zero_optimization": {"stage": 3,
                "offload_param": {"device": "nvme"}}})"),
            "ds_config.json: zero_optimization.offload_param.device: offload "
            "to NVMe is not supported; use \"cpu\" or \"none\"");
  EXPECT_EQ(applyError(R"({"optimizer": {"type": "Lamb"}})"),
            "ds_config.json: optimizer.type: expected \"Adam\", \"AdamW\" or "
            "\"SGD\", got \"Lamb\"");
  EXPECT_EQ(applyError(R"({"optimizer": {"type": "Adam",
                "params": {"adam_w_mode": false}}})"),
            "ds_config.json: optimizer.params.adam_w_mode: Adam with L2 weight "
            "decay is not supported; VAR's Adam always decouples weight decay "
            "(AdamW)");
}

TEST(CompileOptionsTest, OtherOptimizersHyperParametersAreErrors) {
  EXPECT_EQ(applyError(R"({"optimizer": {"type": "SGD",
                "params": {"betas": [0.9, 0.999]}}})"),
            "ds_config.json: optimizer.params.betas: only applies to "
            "Adam/AdamW, but optimizer.type is SGD");
  EXPECT_EQ(applyError(R"({"optimizer": {"type": "AdamW",
                "params": {"momentum": 0.9}}})"),
            "ds_config.json: optimizer.params.momentum: only applies to SGD, "
            "but optimizer.type is AdamW");
}

TEST(CompileOptionsTest, MalformedJSONGivesLineAndColumn) {
  EXPECT_EQ(applyError("{\n  \"bf16\": {\"enabled\": true},\n  \"fp16\" 2\n}"),
            "ds_config.json:3:10: invalid JSON: Expected : after object key");
  EXPECT_EQ(applyError("{\"bf16\": {\"enabled\": true},}"),
            "ds_config.json:1:28: invalid JSON: Expected object key");
}

// --- Adam is AdamW -----------------------------------------------------------

TEST(CompileOptionsTest, AdamWarnsOnlyWithWeightDecay) {
  Applied adam = apply(R"({"optimizer": {"type": "Adam",
                           "params": {"weight_decay": 0.01}}})");
  EXPECT_EQ(adam.error, "");
  EXPECT_EQ(adam.options.optimizer, OptimizerKind::AdamW);
  ASSERT_EQ(adam.warnings.size(), 1u);
  EXPECT_EQ(adam.warnings[0],
            "ds_config.json: optimizer.type \"Adam\" runs as AdamW: "
            "weight_decay = 0.01 is decoupled (applied to the weights, not "
            "added to the gradient)");
  applyClean(
      R"({"optimizer": {"type": "Adam", "params": {"weight_decay": 0}}})");
  applyClean(R"({"optimizer": {"type": "Adam"}})");
  applyClean(R"({"optimizer": {"type": "AdamW",
                 "params": {"weight_decay": 0.01}}})");
}

// --- Flags and file together -------------------------------------------------

TEST(CompileOptionsTest, ContradictionsNameFlagAndKey) {
  CompileOptions file = applyClean(R"({
    "zero_optimization": {"stage": 3, "offload_optimizer": {"device": "cpu"}},
    "bf16": {"enabled": true},
    "train_micro_batch_size_per_gpu": 4,
    "optimizer": {"type": "AdamW", "params": {"lr": 1e-3}},
    "gradient_clipping": 1.0
  })");
  CompileOptions flags;
  flags.zeroStage = 2;
  EXPECT_EQ(mergeError(flags, file), "--zero-stage=2 contradicts "
                                     "zero_optimization.stage = 3 in "
                                     "ds_config.json");
  flags = {};
  flags.precision = Precision::FP32;
  EXPECT_EQ(mergeError(flags, file),
            "--precision=fp32 contradicts bf16.enabled = true in "
            "ds_config.json");
  flags = {};
  flags.microBatch = 8;
  EXPECT_EQ(mergeError(flags, file),
            "--micro-batch=8 contradicts train_micro_batch_size_per_gpu = 4 "
            "in ds_config.json");
  flags = {};
  flags.offloadOptimizer = false;
  EXPECT_EQ(mergeError(flags, file),
            "--offload-optimizer=false contradicts "
            "zero_optimization.offload_optimizer.device = \"cpu\" in "
            "ds_config.json");
  flags = {};
  flags.optimizer = OptimizerKind::SGD;
  EXPECT_EQ(mergeError(flags, file), "--optimizer=sgd contradicts "
                                     "optimizer.type = adamw in "
                                     "ds_config.json");
  flags = {};
  flags.lr = 2e-3;
  EXPECT_EQ(mergeError(flags, file), "--lr=0.002 contradicts "
                                     "optimizer.params.lr = 0.001 in "
                                     "ds_config.json");
  flags = {};
  flags.gradientClipping = 0;
  EXPECT_EQ(mergeError(flags, file), "--grad-clip=0 contradicts "
                                     "gradient_clipping = 1 in "
                                     "ds_config.json");
}

TEST(CompileOptionsTest, AgreementAndDisjointFieldsMerge) {
  CompileOptions file = applyClean(R"({
    "zero_optimization": {"stage": 3, "reduce_bucket_size": 13107200},
    "optimizer": {"params": {"momentum": 0.8}}
  })");
  CompileOptions flags;
  flags.zeroStage = 3;                  // agrees
  flags.bucketMB = 25;                  // agrees: 13107200 elements at bf16
  flags.worldSize = 8;                  // only a flag
  flags.optimizer = OptimizerKind::SGD; // the file's momentum needs it
  CompileOptions merged = merge(flags, file);
  EXPECT_EQ(merged.zeroStage, 3);
  EXPECT_EQ(merged.worldSize, 8);
  EXPECT_EQ(merged.getBucketMB(), 25);
  EXPECT_EQ(merged.optimizer, OptimizerKind::SGD);
  EXPECT_EQ(merged.momentum, 0.8);

  flags.bucketMB = 10;
  EXPECT_EQ(mergeError(flags, file),
            "--bucket-mb=10 contradicts the zero_optimization bucket size in "
            "ds_config.json (13107200 elements = 25 MB at bf16)");
  flags.bucketMB.reset();
  flags.optimizer.reset();
  EXPECT_EQ(mergeError(flags, file), "--momentum only applies to "
                                     "--optimizer=sgd; the optimizer is "
                                     "adamw");
}

TEST(CompileOptionsTest, PrefetchFlagAgainstFileElements) {
  CompileOptions file = applyClean(R"({"zero_optimization": {"stage": 3,
      "reduce_bucket_size": 13107200, "stage3_prefetch_bucket_size": 5e7}})");
  CompileOptions flags;
  flags.prefetchBuckets = 4;
  EXPECT_EQ(merge(flags, file).getPrefetchBuckets(), 4);
  flags.prefetchBuckets = 2;
  EXPECT_EQ(mergeError(flags, file),
            "--prefetch-buckets=2 contradicts "
            "zero_optimization.stage3_prefetch_bucket_size = 50000000 in "
            "ds_config.json (4 buckets of 25 MB at bf16)");
}

// --- Batch sizes -------------------------------------------------------------

TEST(CompileOptionsTest, TrainBatchMustMatchItsFactors) {
  CompileOptions file = applyClean(R"({"train_batch_size": 64,
      "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2})");
  CompileOptions flags;
  // Without a world size it is kept for the runtime to check.
  EXPECT_EQ(merge(flags, file).trainBatch, 64);
  flags.worldSize = 8;
  EXPECT_EQ(merge(flags, file).trainBatch, 64);
  flags.worldSize = 4;
  EXPECT_EQ(mergeError(flags, file),
            "train_batch_size = 64 must equal micro batch 4 x grad accum 2 x "
            "world size 4 = 32");
  CompileOptions odd = applyClean(R"({"train_batch_size": 60,
      "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2})");
  EXPECT_EQ(mergeError(CompileOptions(), odd),
            "train_batch_size = 60 is not a multiple of micro batch 4 x grad "
            "accum 2 = 8 (it is their product with the world size)");
  // A product past 2^63 is reported, not wrapped.
  CompileOptions huge = applyClean(R"({"train_batch_size": 8,
      "train_micro_batch_size_per_gpu": 4611686018427387904,
      "gradient_accumulation_steps": 4})");
  EXPECT_EQ(mergeError(CompileOptions(), huge),
            "train_batch_size = 8 is not a multiple of micro batch "
            "4611686018427387904 x grad accum 4 (it is their product with "
            "the world size)");
}

TEST(CompileOptionsTest, TrainBatchDerivesTheMissingFactor) {
  CompileOptions flags;
  flags.worldSize = 8;
  flags.microBatch = 4;
  CompileOptions file = applyClean(R"({"train_batch_size": 64})");
  CompileOptions merged = merge(flags, file);
  EXPECT_EQ(merged.gradAccum, 2);
  // Neither given: DeepSpeed takes no accumulation.
  flags.microBatch.reset();
  merged = merge(flags, file);
  EXPECT_EQ(merged.microBatch, 8);
  EXPECT_EQ(merged.gradAccum, 1);
  flags.microBatch = 3;
  EXPECT_EQ(mergeError(flags, file),
            "train_batch_size = 64 in ds_config.json is not divisible by "
            "micro batch 3 x world size 8");
}

// --- validate() --------------------------------------------------------------

TEST(CompileOptionsTest, OffloadNeedsSharding) {
  CompileOptions options;
  options.zeroStage = 1;
  options.offloadParams = true;
  EXPECT_EQ(messageOf(validate(options)),
            "--offload-params needs --zero-stage=3 (parameters are only "
            "sharded at stage 3); got stage 1");
  options = {};
  options.offloadOptimizer = true;
  EXPECT_EQ(messageOf(validate(options)),
            "--offload-optimizer needs --zero-stage >= 1 (optimizer state is "
            "only sharded from stage 1); got stage 0");
  options.zeroStage = 1;
  EXPECT_EQ(messageOf(validate(options)), "");
  // Stage from the file, offload from a flag: checked after merging.
  CompileOptions flags;
  flags.offloadParams = true;
  EXPECT_EQ(mergeError(flags, applySeed("ds_config_fsdp_stage2.json")),
            "--offload-params needs --zero-stage=3 (parameters are only "
            "sharded at stage 3); got stage 2");
}

TEST(CompileOptionsTest, FlagRangesNameTheFlag) {
  CompileOptions options;
  options.worldSize = 0;
  EXPECT_EQ(messageOf(validate(options)),
            "--world-size: expected an integer >= 1, got 0");
  options = {};
  options.zeroStage = 4;
  EXPECT_EQ(messageOf(validate(options)),
            "--zero-stage: expected an integer from 0 to 3, got 4");
  options = {};
  options.bucketMB = 0;
  EXPECT_EQ(messageOf(validate(options)),
            "--bucket-mb: expected a number > 0, got 0");
  options = {};
  options.prefetchBuckets = -1;
  EXPECT_EQ(messageOf(validate(options)),
            "--prefetch-buckets: expected an integer >= 0, got -1");
  options = {};
  options.weightDecay = -0.5;
  EXPECT_EQ(messageOf(validate(options)),
            "--weight-decay: expected a number >= 0, got -0.5");
  options = {};
  options.optimizer = OptimizerKind::SGD;
  options.eps = 1e-8;
  EXPECT_EQ(messageOf(validate(options)),
            "--eps only applies to --optimizer=adamw; the optimizer is sgd");
}

// --- Names and the summary line ----------------------------------------------

TEST(CompileOptionsTest, NamesRoundTrip) {
  EXPECT_EQ(parsePrecision("bf16"), Precision::BF16);
  EXPECT_EQ(parsePrecision("fp16"), std::nullopt);
  EXPECT_EQ(getPrecisionName(Precision::FP32), "fp32");
  EXPECT_EQ(parseOptimizerKind("sgd"), OptimizerKind::SGD);
  EXPECT_EQ(parseOptimizerKind("adam"), std::nullopt);
  EXPECT_EQ(getOptimizerName(OptimizerKind::AdamW), "adamw");
}

TEST(CompileOptionsTest, DescribeIsOneLine) {
  CompileOptions flags;
  flags.worldSize = 8;
  flags.microBatch = 4;
  flags.gradAccum = 2;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_EQ(describe(merged),
            "ZeRO stage 3, bf16, micro batch 4 x grad accum 2 x 8 GPUs, 25 MB "
            "buckets (prefetch 1), optimizer and params offloaded to CPU, "
            "adamw lr 0.001 betas 0.9,0.999 eps 1e-08 weight decay 0.01, no "
            "grad clipping");
  CompileOptions sgd;
  sgd.optimizer = OptimizerKind::SGD;
  sgd.gradientClipping = 1;
  EXPECT_EQ(describe(sgd),
            "ZeRO stage 0, bf16, micro batch 1 x grad accum 1 on any number "
            "of GPUs, 25 MB buckets, sgd lr 0.001 momentum 0.9 weight decay "
            "0.01, grad clip 1");
}

TEST(CompileOptionsTest, FreezeBatchNormSurvivesTheMergeAndIsDescribed) {
  CompileOptions flags;
  flags.freezeBatchNorm = true;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_TRUE(merged.getFreezeBatchNorm());
  EXPECT_NE(describe(merged).find(", frozen batch norm"), std::string::npos)
      << describe(merged);
  EXPECT_FALSE(merge({}, {}).getFreezeBatchNorm());
  EXPECT_EQ(describe(merge({}, {})).find("frozen"), std::string::npos);
}

TEST(CompileOptionsTest, ChannelsLastSurvivesTheMergeAndIsDescribed) {
  CompileOptions flags;
  flags.channelsLast = true;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_TRUE(merged.getChannelsLast());
  EXPECT_NE(describe(merged).find(", channels-last"), std::string::npos)
      << describe(merged);
  EXPECT_FALSE(merge({}, {}).getChannelsLast());
  EXPECT_EQ(describe(merge({}, {})).find("channels-last"), std::string::npos);
}

TEST(CompileOptionsTest, BatchNormBiasFoldsUnlessAFlagTurnsItOff) {
  EXPECT_TRUE(merge({}, {}).getFoldBatchNormBias());
  EXPECT_EQ(describe(merge({}, {})).find("biases"), std::string::npos);
  CompileOptions flags;
  flags.foldBatchNormBias = false;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_FALSE(merged.getFoldBatchNormBias());
  EXPECT_NE(describe(merged).find(", convolution biases before batch norm "
                                  "kept"),
            std::string::npos)
      << describe(merged);
}

TEST(CompileOptionsTest, PoolIndicesAreOnUnlessAFlagTurnsThemOff) {
  EXPECT_TRUE(merge({}, {}).getPoolIndices());
  EXPECT_EQ(describe(merge({}, {})).find("max pools"), std::string::npos);
  CompileOptions flags;
  flags.poolIndices = false;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_FALSE(merged.getPoolIndices());
  EXPECT_NE(describe(merged).find(", max pools keep their input"),
            std::string::npos)
      << describe(merged);
}

TEST(CompileOptionsTest, BatchNormPoolFusionIsOnUnlessAFlagTurnsItOff) {
  EXPECT_TRUE(merge({}, {}).getFuseBatchNormPool());
  EXPECT_EQ(describe(merge({}, {})).find("max pool"), std::string::npos);
  CompileOptions flags;
  flags.fuseBatchNormPool = false;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_FALSE(merged.getFuseBatchNormPool());
  EXPECT_TRUE(merged.getPoolIndices());
  EXPECT_NE(describe(merged).find(", batch norm apart from its max pool"),
            std::string::npos)
      << describe(merged);
}

TEST(CompileOptionsTest, PoolGradFusionIsOffUnlessAFlagTurnsItOn) {
  EXPECT_FALSE(merge({}, {}).getFusePoolGrad());
  EXPECT_EQ(describe(merge({}, {})).find("max pool gradients"),
            std::string::npos);
  CompileOptions flags;
  flags.fusePoolGrad = true;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_TRUE(merged.getFusePoolGrad());
  EXPECT_NE(describe(merged).find(", max pool gradients read by batch norm"),
            std::string::npos)
      << describe(merged);
}

TEST(CompileOptionsTest, BatchNormRecomputeIsOffUnlessAFlagSetsIt) {
  EXPECT_EQ(merge({}, {}).getRecomputeBatchNorm(), 0);
  EXPECT_EQ(describe(merge({}, {})).find("recomputed"), std::string::npos);
  CompileOptions flags;
  flags.recomputeBatchNorm = 2;
  CompileOptions merged = merge(flags, applySeed("ds_config_fsdp_stage3.json"));
  EXPECT_EQ(merged.getRecomputeBatchNorm(), 2);
  EXPECT_EQ(messageOf(validate(merged)), "");
  EXPECT_NE(describe(merged).find(", 2 batch norm results recomputed"),
            std::string::npos)
      << describe(merged);
  // Rematerialization does the recomputing: without it the flag is an
  // error, not silently nothing.
  flags.rematerialize = false;
  EXPECT_EQ(mergeError(flags, {}),
            "--recompute-bn=2 needs rematerialization (its batch norms are "
            "recomputed by that pass); drop --rematerialize=false");
  flags.recomputeBatchNorm = 0;
  EXPECT_EQ(mergeError(flags, {}), "");
  CompileOptions negative;
  negative.recomputeBatchNorm = -1;
  EXPECT_EQ(messageOf(validate(negative)),
            "--recompute-bn: expected an integer >= 0, got -1");
}

} // namespace
