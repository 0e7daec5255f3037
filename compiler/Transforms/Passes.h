// Declarations and registration of the VAR compiler passes.
#ifndef VAR_COMPILER_TRANSFORMS_PASSES_H
#define VAR_COMPILER_TRANSFORMS_PASSES_H

#include "compiler/Driver/CompileOptions.h"
#include "dialects/Dist/IR/DistDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>

namespace var {

#define GEN_PASS_DECL
#include "compiler/Transforms/Passes.h.inc"

/// Sets `op`'s result types to what it infers from its operands and
/// attributes as they are now; fails, emitting nothing, when they admit
/// none (the caller says why in its own terms).
mlir::LogicalResult updateInferredTypes(mlir::InferTypeOpInterface op);

/// Sets the dynamic leading dimension of `func`'s tensor arguments to `batch`
/// and re-infers every result type; the core of --var-specialize-batch.
mlir::LogicalResult specializeBatch(mlir::func::FuncOp func, int64_t batch);

/// Makes `forward` compute in `precision`: for BF16, casts the float inputs to
/// bf16, reads the trainable weights as bf16 compute copies (batch norm's
/// stay f32), re-infers every result type and casts the results back to f32.
/// FP32 leaves it as it is. The core of --var-mixed-precision.
mlir::LogicalResult applyMixedPrecision(mlir::func::FuncOp forward,
                                        Precision precision);

/// Makes the convolutions, pooling and batch norms of `forward` compute
/// channels-last, with transposes at the layout boundaries, and cancels the
/// transposes that meet; the core of --var-channels-last. `emulateNCHW` then
/// computes each of those ops NCHW between two more transposes.
mlir::LogicalResult applyChannelsLast(mlir::func::FuncOp forward,
                                      bool emulateNCHW = false);

/// Pads the channels that each channels-last convolution of `forward`
/// hands, through batch norms and activations, only to other convolutions,
/// to a multiple of `multiple` (zero filters; exact); the core of
/// --var-pad-channels. `anyLayout` pads NCHW convolutions too. Returns the
/// number of convolutions padded.
mlir::FailureOr<int64_t> padChannels(mlir::func::FuncOp forward,
                                     int64_t multiple, bool anyLayout = false);

/// What --var-autodiff builds; see its description in Passes.td.
struct TrainStepOptions {
  std::string trainEntry = "train_step";
  double labelSmoothing = 0.0;
  double lossScale = 1.0;
  bool freezeBatchNorm = false;
};

/// Adds the training step of `forward` (static shapes) to `module`: forward
/// in training form, loss, backward and var.param_grad per parameter. The
/// core of --var-autodiff.
mlir::FailureOr<mlir::func::FuncOp>
buildTrainStep(mlir::ModuleOp module, mlir::func::FuncOp forward,
               const TrainStepOptions &options);

/// Hyperparameters of --var-optimizer; see its description in Passes.td.
struct OptimizerConfig {
  enum class Kind { AdamW, SGD };
  Kind kind = Kind::AdamW;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.01;
  double momentum = 0.9, dampening = 0.0;
  bool nesterov = false;
};

/// Replaces the var.param_grad ops of `step` by optimizer updates on new
/// optimizer state; the core of --var-optimizer.
mlir::LogicalResult addOptimizer(mlir::ModuleOp module, mlir::func::FuncOp step,
                                 const OptimizerConfig &options);

/// Replaces the chains of fusible elementwise ops of `func` by
/// var.fused_elementwise ops; the core of --var-fuse-elementwise. Returns the
/// number of ops fused away (ops removed minus fused ops made).
int64_t fuseElementwise(mlir::func::FuncOp func);

/// Drops each convolution bias that only a training batch norm reads
/// (moving it into the running mean) and makes each per-channel sum of a
/// batch norm's input gradient zero; the core of --var-fold-bn-bias.
void foldBatchNormBias(mlir::func::FuncOp func, int64_t &biasesDropped,
                       int64_t &sumsZeroed);

/// Folds each var.relu or var.relu6 that is the only user of a batch norm's
/// result into the batch norm, and each var.relu_grad or var.relu6_grad that
/// only feeds a var.batch_norm_grad into it; the core of --var-fuse-bn-act.
/// Returns the number of activation ops fused away.
int64_t fuseBatchNormActivation(mlir::func::FuncOp func);

/// Makes each var.max_pool of `func` whose backward ops are all
/// var.max_pool_grad of its own input and window return its argmax window
/// positions (var.max_pool_with_indices), and those backward ops read them
/// (var.max_pool_grad_indices); the core of --var-max-pool-indices. Returns
/// the number of pools rewritten.
int64_t useMaxPoolIndices(mlir::func::FuncOp func);

/// Replaces each var.max_pool_with_indices of `func` that alone reads the
/// result of a var.batch_norm_train of its layout, and that batch norm, by
/// one var.batch_norm_train_max_pool; the core of --var-fuse-bn-pool.
/// Returns the number of pairs fused.
int64_t fuseBatchNormMaxPool(mlir::func::FuncOp func);
/// Folds each var.max_pool_grad_indices whose windows tile its input and
/// whose result only a channels-last var.batch_norm_grad reads (as its
/// grad) into it (var.batch_norm_grad_max_pool); the core of
/// --var-fuse-pool-grad-bn. Returns the number of pairs fused.
int64_t fusePoolGradBatchNorm(mlir::func::FuncOp func);

/// What --var-zero builds; see its description in Passes.td.
struct ZeroConfig {
  int64_t stage = 0;
  double bucketMB = 25.0;
  int64_t prefetchBuckets = 1;
  bool offloadOptimizer = false;
  bool offloadParams = false;
  int64_t gradAccum = 1;
  double clipGradNorm = 0.0;
};

/// Partitions the training step `step` (after the optimizer pass) into
/// buckets, collectives and per-bucket updates; the core of --var-zero.
mlir::LogicalResult partitionZero(mlir::ModuleOp module,
                                  mlir::func::FuncOp step,
                                  const ZeroConfig &config);

/// varc's pipeline: batch specialization to the micro batch, channels-last
/// layout (if asked), mixed precision, autodiff (loss seeded with
/// 1/grad-accum), optimizer, batch norm fused with its activation (if
/// asked), max pool indices (unless options turn them off), elementwise
/// fusion (unless they turn it off), rematerialization of saved products
/// (unless they turn it off), ZeRO partitioning, stream scheduling and
/// memory planning, as `options` say. `entry` names the forward function.
void buildTrainingPipeline(mlir::OpPassManager &pm,
                           const CompileOptions &options,
                           llvm::StringRef entry);

/// Whether the runtime gives `value` its own place in a step's arena (see
/// --var-plan-memory); everything else lives in model-state buffers.
bool occupiesArena(mlir::Value value);

/// Attributes --var-plan-memory writes: arena offsets per result (ops), per
/// argument, and the arena size per function.
inline constexpr llvm::StringLiteral kOffsetAttr = "dist.offsets";
inline constexpr llvm::StringLiteral kArgOffsetAttr = "dist.offset";
inline constexpr llvm::StringLiteral kArenaBytesAttr = "dist.arena_bytes";

/// The `var.role` argument attribute: what the runtime feeds an argument of
/// a step ("input", "labels", "lr", "step").
inline constexpr llvm::StringLiteral kRoleAttr = "var.role";

#define GEN_PASS_REGISTRATION
#include "compiler/Transforms/Passes.h.inc"

} // namespace var

#endif
