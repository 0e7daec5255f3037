// The training options varc compiles a plan for, gathered from its flags and
// a DeepSpeed JSON config, merged, and checked before any pass sees them.
#ifndef VAR_COMPILER_DRIVER_COMPILEOPTIONS_H
#define VAR_COMPILER_DRIVER_COMPILEOPTIONS_H

#include "runtime/plan/LrScheduleSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace var {

/// Compute precision. bf16 keeps FP32 master weights and optimizer state and
/// runs activations and gradients in bf16; fp16 is not supported (it needs
/// loss scaling, which bf16's FP32-sized exponent makes unnecessary).
enum class Precision { BF16, FP32 };

/// Both AdamW and SGD are what the var-optimizer pass emits: AdamW always
/// decouples weight decay; SGD adds it to the gradient (L2).
enum class OptimizerKind { AdamW, SGD };

std::optional<Precision> parsePrecision(llvm::StringRef name); // bf16|fp32
llvm::StringRef getPrecisionName(Precision precision);
std::optional<OptimizerKind> parseOptimizerKind(llvm::StringRef name);
llvm::StringRef getOptimizerName(OptimizerKind kind); // adamw|sgd

/// Bytes a bucket element occupies: gradients are communicated in the
/// compute precision.
int64_t getBytesPerElement(Precision precision);

/// A bucket of `elements` in MB (2^20 bytes, as PyTorch DDP's bucket_cap_mb).
double getBucketMB(int64_t elements, Precision precision);

/// Everything varc's training flags or a DeepSpeed config can set. A field
/// left unset was said by neither; the get* accessors give the resolved view
/// (the value, or VAR's default), so "unset" stays distinguishable from
/// "explicitly the default" when flags and file are merged.
struct CompileOptions {
  static constexpr int kDefaultZeroStage = 0;
  static constexpr Precision kDefaultPrecision = Precision::BF16;
  static constexpr int64_t kDefaultMicroBatch = 1;
  static constexpr int64_t kDefaultGradAccum = 1;
  static constexpr double kDefaultBucketMB = 25;
  static constexpr int64_t kDefaultPrefetchBuckets = 1;
  static constexpr int64_t kDefaultPadChannels = 8;
  static constexpr OptimizerKind kDefaultOptimizer = OptimizerKind::AdamW;
  // The optimizer defaults are torch.optim's, which the var-optimizer pass
  // options mirror.
  static constexpr double kDefaultLR = 1e-3;
  static constexpr double kDefaultBeta1 = 0.9;
  static constexpr double kDefaultBeta2 = 0.999;
  static constexpr double kDefaultEps = 1e-8;
  static constexpr double kDefaultWeightDecay = 0.01;
  static constexpr double kDefaultMomentum = 0.9;

  /// ZeRO stage, 0 (plain data parallel) to 3 (parameters sharded too).
  std::optional<int> zeroStage;
  /// Default bf16.
  std::optional<Precision> precision;
  /// The per-GPU micro batch, in clips.
  std::optional<int64_t> microBatch;
  /// Micro batches accumulated per optimizer step.
  std::optional<int64_t> gradAccum;
  /// Unset: the plan must work for any world size.
  std::optional<int64_t> worldSize;
  /// DeepSpeed's train_batch_size (micro x accum x world). Kept even when the
  /// world size is unknown so the runtime can check it once it knows.
  std::optional<int64_t> trainBatch;

  /// Gradient reduce / parameter all-gather bucket size in MB.
  std::optional<double> bucketMB;
  /// DeepSpeed gives bucket sizes in elements, not bytes; they are kept as
  /// given and converted with the final precision (see getBucketMB), since a
  /// --precision flag may decide it after the file is read.
  std::optional<int64_t> bucketElements;
  /// Stage-3 parameter buckets all-gathered ahead of use; 0 = no prefetch.
  std::optional<int64_t> prefetchBuckets;
  /// DeepSpeed's stage3_prefetch_bucket_size, in elements.
  std::optional<int64_t> prefetchElements;

  /// Optimizer state (and its update) lives in pinned host memory.
  std::optional<bool> offloadOptimizer;
  /// Stage-3 parameter shards live in pinned host memory.
  std::optional<bool> offloadParams;

  std::optional<OptimizerKind> optimizer;
  /// The initial learning rate; the plan takes the LR as a runtime input, so
  /// this is only stored for the runtime to start from.
  std::optional<double> lr;
  std::optional<std::array<double, 2>> betas; // AdamW only
  std::optional<double> eps;                  // AdamW only
  std::optional<double> weightDecay;
  std::optional<double> momentum; // SGD only
  /// Global gradient-norm clipping threshold; 0 = off.
  std::optional<double> gradientClipping;
  /// Batch norm in evaluation form in the training step (running statistics
  /// normalize and are not updated). No DeepSpeed key sets it.
  std::optional<bool> freezeBatchNorm;
  /// Chains of elementwise ops fused into one kernel each
  /// (--var-fuse-elementwise); on unless a flag turns it off. No DeepSpeed
  /// key sets it.
  std::optional<bool> fuseElementwise;
  /// Products the backward reads again recomputed there instead of kept
  /// (--var-rematerialize); on unless a flag turns it off. No DeepSpeed key
  /// sets it.
  std::optional<bool> rematerialize;
  /// The largest training batch norm results that the backward reads again
  /// recomputed there from the batch norm's input and saved statistics
  /// (--var-rematerialize's batch-norms); 0 (none) unless a flag sets it.
  /// No DeepSpeed key sets it.
  std::optional<int64_t> recomputeBatchNorm;
  /// Max pools keep their argmax window positions (i8) for the backward
  /// instead of their input (--var-max-pool-indices); on unless a flag
  /// turns it off. No DeepSpeed key sets it.
  std::optional<bool> poolIndices;
  /// A training batch norm whose result only a max pool with indices reads
  /// pools that result as it makes it, never storing it
  /// (--var-fuse-bn-pool); on unless a flag turns it off. No DeepSpeed key
  /// sets it.
  std::optional<bool> fuseBatchNormPool;
  /// A max pool's indexed backward whose windows tile the input folds into
  /// the channels-last batch norm backward that reads it
  /// (--var-fuse-pool-grad-bn); off unless a flag turns it on (its kernels
  /// measured slower than the pair on an H200). No DeepSpeed key sets it.
  std::optional<bool> fusePoolGrad;
  /// Convolutions, pooling and batch norm compute channels-last (NHWC /
  /// NDHWC; --var-channels-last). No DeepSpeed key sets it.
  std::optional<bool> channelsLast;
  /// Batch norm computes the ReLU, ReLU6 or SiLU after it, and its backward
  /// that activation's gradient (--var-fuse-bn-act); on unless a flag turns
  /// it off. No DeepSpeed key sets it.
  std::optional<bool> fuseBatchNormActivation;
  /// A convolution's bias that a training batch norm cancels is dropped
  /// from it and moved into the running mean (--var-fold-bn-bias); on
  /// unless a flag turns it off. No DeepSpeed key sets it.
  std::optional<bool> foldBatchNormBias;
  /// Under channels-last, the channels between two convolutions are padded
  /// to a multiple of this (--var-pad-channels); 8 unless a flag sets it, 0
  /// or 1 leaves them. No DeepSpeed key sets it.
  std::optional<int64_t> padChannels;

  /// A DeepSpeed config's `scheduler`, carried into the plan for the
  /// runtime (no varc flag: varrun's --lr-schedule flags override it).
  std::optional<plan::LrScheduleSpec> lrSchedule;

  int getZeroStage() const { return zeroStage.value_or(kDefaultZeroStage); }
  Precision getPrecision() const {
    return precision.value_or(kDefaultPrecision);
  }
  int64_t getMicroBatch() const {
    return microBatch.value_or(kDefaultMicroBatch);
  }
  int64_t getGradAccum() const { return gradAccum.value_or(kDefaultGradAccum); }
  /// bucketMB, else bucketElements at the precision, else the default.
  double getBucketMB() const;
  /// The bucket size in elements of the precision.
  int64_t getBucketElements() const;
  /// prefetchBuckets, else ceil(prefetchElements / bucket elements) but at
  /// least 1, else the default.
  int64_t getPrefetchBuckets() const;
  bool getOffloadOptimizer() const { return offloadOptimizer.value_or(false); }
  bool getOffloadParams() const { return offloadParams.value_or(false); }
  OptimizerKind getOptimizer() const {
    return optimizer.value_or(kDefaultOptimizer);
  }
  double getLR() const { return lr.value_or(kDefaultLR); }
  std::array<double, 2> getBetas() const {
    return betas.value_or(std::array<double, 2>{kDefaultBeta1, kDefaultBeta2});
  }
  double getEps() const { return eps.value_or(kDefaultEps); }
  double getWeightDecay() const {
    return weightDecay.value_or(kDefaultWeightDecay);
  }
  double getMomentum() const { return momentum.value_or(kDefaultMomentum); }
  double getGradientClipping() const { return gradientClipping.value_or(0); }
  bool getFreezeBatchNorm() const { return freezeBatchNorm.value_or(false); }
  bool getFuseElementwise() const { return fuseElementwise.value_or(true); }
  bool getRematerialize() const { return rematerialize.value_or(true); }
  int64_t getRecomputeBatchNorm() const {
    return recomputeBatchNorm.value_or(0);
  }
  bool getPoolIndices() const { return poolIndices.value_or(true); }
  bool getFuseBatchNormPool() const { return fuseBatchNormPool.value_or(true); }
  bool getFusePoolGrad() const { return fusePoolGrad.value_or(false); }
  bool getChannelsLast() const { return channelsLast.value_or(false); }
  bool getFoldBatchNormBias() const { return foldBatchNormBias.value_or(true); }
  bool getFuseBatchNormActivation() const {
    return fuseBatchNormActivation.value_or(true);
  }
  int64_t getPadChannels() const {
    return padChannels.value_or(kDefaultPadChannels);
  }
};

/// Reads a DeepSpeed config (`text`, named `fileName` in messages) into
/// `fromFile`. Unknown keys add a warning each; DeepSpeed's "auto" leaves a
/// key unset. Malformed JSON, a wrong type or range, and what VAR does not
/// support (fp16, NVMe offload, other optimizers) are errors naming the file
/// and the dotted key.
llvm::Error applyDeepSpeedConfig(llvm::StringRef text, llvm::StringRef fileName,
                                 CompileOptions &fromFile,
                                 std::vector<std::string> &warnings);

/// One set of options from the flags and the file: a field set in both must
/// agree. Fills the micro batch or accumulation from train_batch_size when the
/// world size is known (as DeepSpeed does), then validates the result.
llvm::Expected<CompileOptions> mergeOptions(const CompileOptions &flags,
                                            const CompileOptions &fromFile,
                                            llvm::StringRef fileName);

/// Ranges of each field and the rules between them (offload needs sharding,
/// train_batch_size matches its factors, optimizer hyper-parameters match the
/// optimizer). Messages name the varc flag.
llvm::Error validate(const CompileOptions &options);

/// The resolved options on one line, for varc's progress output.
std::string describe(const CompileOptions &options);

} // namespace var

#endif // VAR_COMPILER_DRIVER_COMPILEOPTIONS_H
