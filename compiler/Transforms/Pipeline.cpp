// The pass pipeline varc runs: from a forward model to a partitioned
// training step, configured by CompileOptions (flags and DeepSpeed JSON).
#include "compiler/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;

namespace var {

void buildTrainingPipeline(OpPassManager &pm, const CompileOptions &options,
                           StringRef entry) {
  SpecializeBatchOptions batch;
  batch.batch = options.getMicroBatch();
  batch.entry = entry.str();
  pm.addPass(createSpecializeBatch(batch));

  // Layout goes first, while the forward holds only forward ops in FP32:
  // autodiff then gives every backward op its forward's layout, and mixed
  // precision casts the arguments before the input transpose, so the one
  // transpose of the clips moves bf16.
  if (options.getChannelsLast()) {
    ChannelsLastOptions layout;
    layout.entry = entry.str();
    pm.addPass(createChannelsLast(layout));
  }

  MixedPrecisionOptions precision;
  precision.precision = getPrecisionName(options.getPrecision()).str();
  precision.entry = entry.str();
  pm.addPass(createMixedPrecision(precision));

  // After mixed precision, which recognizes batch norm's parameters by their
  // use, and before autodiff, which differentiates the padding (a concat)
  // like any op.
  if (options.getChannelsLast() && options.getPadChannels() > 1) {
    PadChannelsOptions pad;
    pad.entry = entry.str();
    pad.multiple = options.getPadChannels();
    pm.addPass(createPadChannels(pad));
  }

  // Each micro-batch's loss is seeded with 1/K, so K accumulated gradients
  // average to the gradient of the mean loss.
  AutodiffOptions autodiff;
  autodiff.entry = entry.str();
  autodiff.lossScale = 1.0 / static_cast<double>(options.getGradAccum());
  autodiff.freezeBatchNorm = options.getFreezeBatchNorm();
  pm.addPass(createAutodiff(autodiff));

  OptimizerOptions optimizer;
  optimizer.optimizer = getOptimizerName(options.getOptimizer()).str();
  optimizer.beta1 = options.getBetas()[0];
  optimizer.beta2 = options.getBetas()[1];
  optimizer.eps = options.getEps();
  optimizer.weightDecay = options.getWeightDecay();
  optimizer.momentum = options.getMomentum();
  pm.addPass(createOptimizer(optimizer));

  // After autodiff, which writes the training batch norms and the bias
  // gradients, and before ZeRO, which gathers and shards parameters.
  if (options.getFoldBatchNormBias())
    pm.addPass(createFoldBatchNormBias());

  // After autodiff (a batch norm with an activation has no backward rule)
  // and channels-last (which sets the batch norm's layout); before
  // elementwise fusion, which would take the activations into its chains.
  if (options.getFuseBatchNormActivation())
    pm.addPass(createFuseBatchNormActivation());

  // After autodiff, which writes the max pools' backward ops, and before
  // elementwise fusion, ZeRO and memory planning, so that the planner sees
  // each pool's input die after the forward.
  if (options.getPoolIndices())
    pm.addPass(createMaxPoolIndices());

  // After max pool indices (the pool it fuses is var.max_pool_with_indices)
  // and batch norm activation fusion (the activation is part of what the
  // fused op pools); before elementwise fusion, ZeRO and memory planning,
  // so that the normalized result gets no arena space.
  if (options.getFuseBatchNormPool())
    pm.addPass(createFuseBatchNormMaxPool());
  // After the two passes that write the pair it fuses (the max pool's
  // indexed backward, the batch norm backward with its activation) and
  // before elementwise fusion and memory planning, which then never see
  // the full-size routed gradient.
  if (options.getFusePoolGrad())
    pm.addPass(createFusePoolGradBatchNorm());

  // After autodiff (the fused op has no backward rule) and mixed precision
  // (its casts fuse too); before ZeRO, whose master-to-compute casts the
  // scheduler and planner recognize, and before memory planning, so that
  // fused intermediates get no arena space.
  if (options.getFuseElementwise())
    pm.addPass(createFuseElementwise());

  // After fusion (the copies must match the ops that run) and before
  // scheduling and planning, which place the copies like any other op.
  if (options.getRematerialize()) {
    RematerializeOptions rematerialize;
    rematerialize.batchNorms = options.getRecomputeBatchNorm();
    pm.addPass(createRematerialize(rematerialize));
  }

  ZeroOptions zero;
  zero.stage = options.getZeroStage();
  zero.bucketMB = options.getBucketMB();
  zero.prefetchBuckets = options.getPrefetchBuckets();
  zero.offloadOptimizer = options.getOffloadOptimizer();
  zero.offloadParams = options.getOffloadParams();
  zero.gradAccum = options.getGradAccum();
  zero.clipGradNorm = options.getGradientClipping();
  pm.addPass(createZero(zero));
  pm.addPass(createSchedule());
  pm.addPass(createPlanMemory());
}

} // namespace var
