// Passes of the VAR compiler; `var-opt --help` documents them and their options.
#ifndef VAR_COMPILER_TRANSFORMS_PASSES_TD
#define VAR_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpecializeBatch : Pass<"var-specialize-batch", "::mlir::ModuleOp"> {
  let summary = "Give the entry function a static batch size and re-infer all types";
  let description = [{
    Models are written batch-polymorphic: the leading dimension of the
    forward's tensor arguments is `?`. This pass sets every such dimension to
    `batch`, re-infers the result types of every op in program order through
    `InferTypeOpInterface`, and updates the function type. Shape errors that
    only a concrete batch reveals (an `unfold_time` whose frames do not divide
    the batch) are reported at the op.
  }];
  let options = [
    Option<"batch", "batch", "int64_t", /*default=*/"1",
           "Batch size (clips) to give the leading dimension">,
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "Name of the function to specialize">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def PrintFlops : Pass<"var-print-flops", "::mlir::ModuleOp"> {
  let summary = "Report each op's forward FLOPs as a remark";
  let description = [{
    Emits a remark at every op that implements `FlopCountOpInterface` with
    the FLOPs of one forward execution (multiply-add = 2 FLOPs), or says that
    the count is unknown because a dimension is still dynamic (run
    `--var-specialize-batch` first). The same numbers feed `varc --summary`
    and, later, the profiler's MFU.
  }];
}

def Autodiff : Pass<"var-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build the training step: forward, loss, backward, gradients";
  let description = [{
    From the forward function (`entry`, batch already static: run
    `--var-specialize-batch` first) this pass builds `train-entry`, which
    takes the forward's inputs and the labels (batch) and returns the loss
    and the logits. Its forward is a copy of the entry's in training form:
    `var.batch_norm` becomes `var.batch_norm_train` (whose new running
    statistics go to `var.update_buffer`), `var.dropout` becomes
    `var.dropout_train` with a key of its own. The loss is
    `var.softmax_cross_entropy`. The backward applies every op's
    `DifferentiableOpInterface` rule in reverse order, only for values that
    depend on a trainable parameter (the clips get no gradient), sums the
    contributions of values used more than once, and emits
    `var.param_grad` for each parameter as soon as its gradient is complete.
    The entry function stays as it is: it is the evaluation step.

    With `freeze-batch-norm`, batch norm stays in evaluation form in the
    step (TSN's practice for fine-tuning with small batches, and what
    PyTorch computes when a model in `eval()` mode is backpropagated):
    `var.batch_norm` is kept, the running statistics normalize and are not
    updated (no `var.update_buffer`), and its backward is
    `var.batch_norm_frozen_grad`; weight and bias are still trained, and
    dropout still drops. The running statistics must be buffers.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "Name of the forward function">,
    Option<"trainEntry", "train-entry", "std::string",
           /*default=*/"\"train_step\"",
           "Name of the training-step function to create">,
    Option<"labelSmoothing", "label-smoothing", "double", /*default=*/"0.0",
           "Label smoothing of the cross-entropy loss, in [0, 1)">,
    Option<"lossScale", "loss-scale", "double", /*default=*/"1.0",
           "Gradient of the loss that seeds the backward (1/K averages K "
           "accumulated micro-batches)">,
    Option<"freezeBatchNorm", "freeze-batch-norm", "bool", /*default=*/"false",
           "Keep batch norm in evaluation form: running statistics "
           "normalize and are not updated; weight and bias still train">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect"];
}

def ChannelsLast : Pass<"var-channels-last", "::mlir::ModuleOp"> {
  let summary = "Run convolutions, pooling and batch norm channels-last (NHWC)";
  let description = [{
    Runs on the forward function before `--var-autodiff` (varc: right after
    `--var-specialize-batch`, before `--var-mixed-precision`; `varc
    --channels-last`). Every `var.conv`, `var.max_pool`, `var.avg_pool`,
    `var.global_avg_pool` and `var.batch_norm` on a rank-4 or rank-5
    activation gets `channels_last`: a `var.transpose` makes its input
    (N, spatial..., C) and another turns its result back to (N, C,
    spatial...) (none after a global average pool without `keep_dims`, whose
    (N, C) result is the same in both layouts). Weights and per-channel
    operands keep their layout, so parameters and checkpoints do not change.

    Then transposes cancel, until none of these rewrites applies:

    - `transpose(transpose(x, p), q)` becomes one transpose, or `x` when the
      two permutations cancel (NCHW -> NHWC -> NCHW between two layout ops);
      a second transpose of a value by the same permutation reuses the
      first (a tensor that feeds two convolutions is transposed once).
    - A transpose moves below a layout-agnostic elementwise op (relu,
      relu6, sigmoid, silu, hardswish, cast, add, mul) when every operand is
      a transpose by the same permutation and one of them, as large as the
      result, is read only by that op: `op(T(a), T(b))` becomes
      `T(op(a, b))`. An operand of add or mul that is broadcast (a 1 where
      the result is not, like a squeeze-excitation scale) may instead be
      transposed by the inverse permutation.
    - `concat` of transposes by one permutation becomes a concat of their
      inputs along the permuted axis (channels -> last), transposed after.

    Dropout is not crossed (its mask follows the element index), nor are
    reshape, flatten, linear, the time ops or anything else that depends on
    the layout: those keep a transpose before them. The function computes
    exactly what it computed before, its arguments and results keep their
    types (the clips arrive NCHW / NCDHW; one transpose at the start), and
    `--var-autodiff` gives every backward op of a channels-last op the same
    attribute.

    `emulate-nchw` checks the rewrites on a runtime without channels-last
    kernels: after them, each channels-last op computes NCHW again between
    two more transposes, so the graph runs anywhere and must give exactly
    the results of the original one (test/models/channels-last-numerics.test).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "Name of the forward function">,
    Option<"emulateNCHW", "emulate-nchw", "bool", /*default=*/"false",
           "After the rewrites, compute each channels-last op NCHW between "
           "two more transposes (to run the rewritten graph without "
           "channels-last kernels)">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect"];
}

def PadChannels : Pass<"var-pad-channels", "::mlir::ModuleOp"> {
  let summary = "Pad the channels between two convolutions to a multiple";
  let description = [{
    Runs on the forward function after `--var-channels-last` and
    `--var-mixed-precision`, before `--var-autodiff` (varc: with
    `--channels-last`, unless `--pad-channels=0`). GPU convolution libraries
    run channels-last convolutions on their tensor-core kernels only when
    the channel counts are multiples of 8 (16-byte vectors of bf16); R(2+1)D
    has 45, 230, 460 and 921 channels between its spatial and temporal
    convolutions, which run several times slower than their neighbours.

    A channels-last `var.conv` without groups whose output channels are not
    a multiple of `multiple` is padded when its result reaches only, through
    `var.batch_norm` (channels-last) and ops that keep a zero channel zero
    (relu, relu6, silu, hardswish, cast), the input of other channels-last
    convolutions without groups. Its filters and bias get zero rows; each
    batch norm's weight, bias and running mean get zeros and its running
    variance ones; each consumer's filters get zero input channels. Every
    read is padded by a `var.concat` with a `var.fill`, so parameters,
    buffers, checkpoints and the optimizer keep the model's shapes, and the
    concat's backward (a slice) drops the padding's gradient;
    `--var-autodiff` slices the batch norm's new running statistics back
    before `var.update_buffer`.

    The result is exact: a padded channel is zero after the producer (zero
    filters), stays zero through batch norm (mean 0, scale and shift 0) and
    the activations, and meets zero weights in each consumer, so every
    other value is the sum of the same products plus zeros. Convolutions
    that feed anything else (a residual add, a reshape, the function's
    result) are left alone. Convolutions with groups (depthwise) are never
    padded, and only channels-last ones unless `any-layout`.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "Name of the forward function">,
    Option<"multiple", "multiple", "int64_t", /*default=*/"8",
           "Pad channel counts up to a multiple of this">,
    Option<"anyLayout", "any-layout", "bool", /*default=*/"false",
           "Pad NCHW convolutions too (for tests on the CPU backend, which "
           "has no channels-last kernels; on a GPU only channels-last "
           "convolutions gain)">,
  ];
  let statistics = [
    Statistic<"numPadded", "convolutions-padded",
              "Convolutions whose output channels were padded">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def Optimizer : Pass<"var-optimizer", "::mlir::ModuleOp"> {
  let summary = "Turn each parameter's gradient into an explicit update";
  let description = [{
    For every `var.param_grad` of the training step, declares the optimizer
    state (`var.optimizer_state`, FP32 zeros: `exp_avg` and `exp_avg_sq`
    for AdamW, `momentum_buffer` for SGD with momentum) and appends the
    update (`var.adamw_update` / `var.sgd_update`) at the end of the step,
    in the order the gradients complete. The step takes two more arguments:
    the learning rate (f32 scalar, `var.role = "lr"`), so schedules live in
    the runtime, and the 1-based update count (i64 scalar,
    `var.role = "step"`).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"train_step\"",
           "Name of the training-step function">,
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"adamw\"",
           "adamw or sgd">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "Decoupled (AdamW) or L2 (SGD) weight decay">,
    Option<"momentum", "momentum", "double", /*default=*/"0.9",
           "SGD momentum (0: plain SGD, no state)">,
    Option<"dampening", "dampening", "double", /*default=*/"0.0",
           "SGD dampening">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false",
           "SGD with Nesterov momentum">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect"];
}

def MixedPrecision : Pass<"var-mixed-precision", "::mlir::ModuleOp"> {
  let summary = "BF16 compute copies of the forward, FP32 master weights and loss";
  let description = [{
    Runs on the forward function before `--var-autodiff`. With
    `precision=bf16`, the forward reads BF16 compute copies of its trainable
    weights (`var.get_param` of an f32 parameter with a bf16 result type),
    casts its inputs to BF16 with an explicit `var.cast`, computes in BF16,
    keeps batch-norm scale, shift and running statistics in FP32, and casts
    its results back to FP32 so that the loss is computed in FP32. The
    parameters themselves (the master weights) and therefore the optimizer
    state stay FP32. With `precision=fp32` the module is left as it is.

    Every result type is then re-inferred in program order, as
    `--var-specialize-batch` does, so the pass may run before or after it.
    A batch-norm parameter read that also feeds other ops stays f32 and
    reaches them through a `var.cast`; buffers are cast the same way where
    they compute. The function type does not change. A forward that already
    holds a bf16 tensor is refused (the pass applies once).
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"bf16\"",
           "bf16 or fp32">,
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "Name of the forward function">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect"];
}

def Zero : Pass<"var-zero", "::mlir::ModuleOp"> {
  let summary = "ZeRO partitioning: buckets, collectives, sharded updates";
  let description = [{
    Runs on the training step after `--var-optimizer`. Trainable parameters
    are grouped into flat `dist.bucket`s in forward execution order (one
    sequence of buckets per compute element type), at most `bucket-mb` MiB
    each; the per-parameter `var.*_update` ops and `var.optimizer_state`
    become one flat update per bucket on the rank's shard:

    - stage 0: each bucket's gradients are packed as soon as the last one is
      complete and all-reduced; every rank updates the whole bucket.
    - stage 1 and 2: packed gradients are reduce-scattered; each rank updates
      its shard of the FP32 master and optimizer state, casts it to the
      compute type and all-gathers the bucket's new parameters. (Stage 2
      differs from stage 1 in memory only: the full gradient bucket is
      staging, freed after the reduce-scatter, not a persistent buffer.)
    - stage 3: parameters are sharded too; each bucket is all-gathered
      before its first use in the forward and again in the backward
      (`prefetch-buckets` buckets ahead) and released after its last use;
      the updated shard is stored without a gather.

    `offload-optimizer` (stages 1-3) copies the gradient shard to pinned host
    memory, updates there and copies the new parameters back;
    `offload-params` (stage 3) keeps the parameter shard in host memory and
    copies it to the device before each gather.

    With `clip-grad-norm` X > 0, the updates wait for the global gradient
    norm: `dist.sum_squares` of the reduced gradients each rank holds,
    summed over ranks by an all-reduce from stage 1 on, turned into
    `dist.clip_coefficient` min(1, X / (norm + 1e-6)), which every update
    multiplies its gradient by (PyTorch's clip_grad_norm_).

    With `grad-accum` K > 1 the pass also builds `@accumulate_step`, which
    the runtime runs for the first K - 1 micro-batches of every optimizer
    step: forward and backward, gradients added to the bucket's persistent
    gradient buffer (`dist.pack ... accumulate`, stages 0 and 1, no
    communication) or reduce-scattered and added to the rank's gradient
    shard (`dist.reduce_scatter ... accumulate`, stages 2 and 3), and no
    update. `@train_step` is the last micro-step: it accumulates the same
    way, then communicates (stages 0 and 1) and updates. Seed the loss with
    1/K (`--var-autodiff=loss-scale=...`) to average the micro-batches. The
    options are recorded on the module (`dist.zero_stage`, ...) for the
    planner.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"train_step\"",
           "Name of the training-step function">,
    Option<"stage", "stage", "int64_t", /*default=*/"0", "ZeRO stage, 0 to 3">,
    Option<"bucketMB", "bucket-mb", "double", /*default=*/"25.0",
           "Bucket capacity in MiB of the compute type">,
    Option<"prefetchBuckets", "prefetch-buckets", "int64_t", /*default=*/"1",
           "Stage 3: buckets gathered ahead of their use">,
    Option<"offloadOptimizer", "offload-optimizer", "bool",
           /*default=*/"false",
           "Optimizer state and master shard in pinned host memory">,
    Option<"offloadParams", "offload-params", "bool", /*default=*/"false",
           "Stage 3: parameter shards in pinned host memory">,
    Option<"gradAccum", "grad-accum", "int64_t", /*default=*/"1",
           "Micro-batches per optimizer step">,
    Option<"clipGradNorm", "clip-grad-norm", "double", /*default=*/"0.0",
           "Clip the global gradient L2 norm to this (0: off)">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect",
                           "::dist::DistDialect"];
}

def FoldBatchNormBias : Pass<"var-fold-bn-bias", "::mlir::ModuleOp"> {
  let summary = "Drop the convolution bias that a training batch norm cancels";
  let description = [{
    Runs on every function after `--var-autodiff` (it rewrites the training
    forms of batch norm, `var.batch_norm_train` and `var.batch_norm_grad`)
    and before `--var-fuse-bn-act` and `--var-zero`.

    A training batch norm subtracts its batch's per-channel mean, so a
    per-channel constant added to its input moves neither its result nor
    its backward: the gradient of that constant is exactly zero. Two
    rewrites follow:

    - A `var.reduce_sum` of a `var.batch_norm_grad`'s input gradient over
      every dimension but the channels (a bias gradient) becomes a
      `var.fill` of zero.
    - A `var.conv` with a bias whose result only one `var.batch_norm_train`
      (of the same layout) reads, with the `var.batch_norm_grad` ops that
      read it as their input together with that batch norm's saved mean,
      loses its bias. The batch mean then lacks the bias, so the running
      mean that the batch norm returns gets `momentum * bias` added, which
      keeps it PyTorch's running mean of the biased input; the evaluation
      forward (`var.batch_norm` with running statistics) keeps the bias.

    Exact in real arithmetic; in floating point the batch norm's input is
    rounded without the bias and its statistics differ in the last bits,
    so `--var-fold-bn-bias` plans do not train bit for bit like plans
    without it (each stays bit-reproducible). The bias parameter stays: it
    gets a zero gradient, as it has in exact arithmetic, and its optimizer
    still applies weight decay to it.
  }];
  let statistics = [
    Statistic<"numBiases", "biases-dropped",
              "Convolution biases dropped before a training batch norm">,
    Statistic<"numSums", "sums-zeroed",
              "Per-channel sums of a batch norm's input gradient made zero">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def FuseBatchNormActivation
    : Pass<"var-fuse-bn-act", "::mlir::ModuleOp"> {
  let summary = "Fold ReLU, ReLU6 and SiLU and their gradients into batch norm";
  let description = [{
    Runs on every function after `--var-autodiff` (a batch norm with an
    activation has no backward rule) and before `--var-fuse-elementwise`
    (which would otherwise take the activations into its chains).

    Forward: a `var.batch_norm_train` or `var.batch_norm` whose normalized
    result has one user, a `var.relu` or `var.relu6`, gets `activation`
    ("relu" or "relu6") and the activation's users read the batch norm.
    Backward: a `var.relu_grad` or `var.relu6_grad` whose result has one
    use, the grad of a `var.batch_norm_grad`, is dropped; the batch norm
    backward gets `activation`, the activation's output as
    `activation_value`, and the activation's output gradient as `grad`, and
    masks that gradient exactly as the dropped op did.

    Both rewrites keep every bit: the fused forward rounds the normalized
    value to the result type before the activation, as the stored
    intermediate was; the activation gradients read the activation's
    output, which the fused forward produces bit for bit. The two are
    independent: either fires where its pattern appears.

    SiLU: `var.silu_grad` reads the normalized value itself, which the
    fused forward no longer stores, so a `var.batch_norm_train` folds its
    `var.silu` only together with every `var.silu_grad` of its result, each
    of which must feed alone a `var.batch_norm_grad` of the same input,
    weight and saved statistics; that backward gets `activation` "silu",
    the batch norm's bias as `activation_value` and the SiLU's output
    gradient as `grad`, and recomputes the value (see var.batch_norm_grad).
    An evaluation batch norm folds a `var.silu` that is its result's only
    user.
  }];
  let statistics = [
    Statistic<"numFused", "activations-fused",
              "Activation and activation-gradient ops folded into batch norm">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def MaxPoolIndices : Pass<"var-max-pool-indices", "::mlir::ModuleOp"> {
  let summary = "Keep max pooling's window positions for its backward, not its input";
  let description = [{
    Runs on every function after `--var-autodiff` (which writes each
    `var.max_pool_grad`) and before `--var-fuse-elementwise`, `--var-zero`
    and `--var-plan-memory`, which then see the pool's input die after the
    forward.

    `var.max_pool_grad` reads the forward pool's input to find each
    window's maximum again, which keeps that input (in a CNN the largest
    activation of its stage) alive from the forward to the backward. A
    `var.max_pool` whose result is the `output` of one or more
    `var.max_pool_grad`, each with the pool's own input, kernel, stride,
    padding and layout, becomes a `var.max_pool_with_indices`, and those
    backward ops become `var.max_pool_grad_indices` of its i8 indices: the
    backward keeps one byte per pooled element instead of the input, and
    computes the same bits. A pool whose window has more than 127
    positions, a pool with no such backward, and a pool with a backward
    that reads another input or window stay as they are.
  }];
  let statistics = [
    Statistic<"numRewritten", "pools-rewritten",
              "Max pools whose backward reads indices instead of the input">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def FuseBatchNormMaxPool : Pass<"var-fuse-bn-pool", "::mlir::ModuleOp"> {
  let summary = "Pool a training batch norm's result as it is made, never storing it";
  let description = [{
    Runs on every function after `--var-max-pool-indices` (which writes
    `var.max_pool_with_indices`) and `--var-fuse-bn-act` (which gives the
    batch norm its activation), and before `--var-fuse-elementwise`,
    `--var-zero` and `--var-plan-memory`, which then see no full-size
    normalized result.

    A `var.max_pool_with_indices` whose input is the normalized result of
    a `var.batch_norm_train` that nothing else reads, in the same layout
    (both `channels_last` or neither), becomes, with that batch norm, one
    `var.batch_norm_train_max_pool`: the pool's output and indices and the
    batch norm's statistics, bit for bit, without the normalized tensor
    between them (in vgg11_bn, the largest activation of each stage,
    written and read once). The backward is untouched: it reads the
    indices and the batch norm's input and statistics, not the normalized
    result. A batch norm whose result has another reader (a plain
    `var.max_pool`'s backward, a residual add) and a pair of two layouts
    stay as they are.
  }];
  let statistics = [
    Statistic<"numFused", "pools-fused",
              "Batch norm and max pool pairs made one op">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def FusePoolGradBatchNorm : Pass<"var-fuse-pool-grad-bn", "::mlir::ModuleOp"> {
  let summary = "Let a batch norm backward read a max pool's gradient and indices";
  let description = [{
    Runs on every function after `--var-fuse-bn-act` and
    `--var-max-pool-indices` (which write the two ops it fuses) and before
    `--var-fuse-elementwise`, `--var-zero` and `--var-plan-memory`.

    In a CNN's backward, a max pool's gradient
    (`var.max_pool_grad_indices`) writes a tensor of the pool's input size,
    mostly zeros, that the preceding batch norm's backward
    (`var.batch_norm_grad`) reads twice. Where that batch norm backward is
    the only user of the routed gradient, reads it as its `grad`, both are
    channels-last and the pool's windows tile its input (stride equal to
    the kernel, no padding), the pair becomes one
    `var.batch_norm_grad_max_pool` of the pooled gradient and the i8
    indices, which computes the same bits. Overlapping or padded windows,
    a routed gradient with another user and channels-first pairs stay.
  }];
  let statistics = [
    Statistic<"numFused", "pairs-fused",
              "Max pool backwards folded into their batch norm backward">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def FuseElementwise : Pass<"var-fuse-elementwise", "::mlir::ModuleOp"> {
  let summary = "Fuse chains of elementwise ops into var.fused_elementwise";
  let description = [{
    Runs on every function after `--var-autodiff` (which needs each op's own
    backward rule) and `--var-mixed-precision` (whose casts fuse too), and
    before `--var-zero`, `--var-schedule` and `--var-plan-memory`, so that
    the planner never allocates the fused intermediates and the casts and
    collectives ZeRO adds stay what the scheduler and planner recognize.

    Ops implementing `FusibleElementwiseOpInterface` (activations, their
    gradients, `var.add`, `var.mul`, `var.cast`, `var.dropout_train`,
    `var.dropout_grad`) join, in program order, the groups of the ops that
    define their operands, when:
    - their result has the static shape of the group's results (an operand
      may broadcast into it, a step may not widen a value: the sigmoid of a
      squeeze-excitation scale stays out of the multiply that broadcasts it);
    - no value of the group has a user outside it that comes earlier in the
      block than the joining op (the fused op takes the place of the
      group's last op, which must dominate every outside user);
    - the group stays within 32 steps and 16 operands.
    An op whose operands come from several groups merges them. Each group
    of two or more ops becomes one `var.fused_elementwise` whose results are
    the group's values used outside it: a value that only feeds the group
    is never materialized; one that has other users too stays a result.
    Each step rounds as its op did, so the step computes the same bits.
  }];
  let statistics = [
    Statistic<"numFused", "ops-fused-away",
              "Ops removed by fusion (fused ops minus the ops they replace)">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def Rematerialize : Pass<"var-rematerialize", "::mlir::ModuleOp"> {
  let summary = "Recompute saved products in the backward instead of keeping them";
  let description = [{
    Runs on every function after `--var-fuse-elementwise` (so that it sees
    the ops that will run, and its copies join no chain) and before
    `--var-schedule` and `--var-plan-memory`.

    A `var.mul` whose result is read early (by the forward) and again much
    later (by the backward: a squeeze-excitation scale feeding the weight
    gradient of the projection after it) keeps that result in the arena
    through the step's peak. When each operand of the multiply is itself
    read at or after the late reads (the backward keeps both factors for
    the multiply's own gradient), a copy of the multiply right before the
    late reads gives them the same bits at the price of one elementwise
    pass over memory the backward reads anyway, and the original result
    dies after its early reads. The reads of a result split at the widest
    stretch of the block that does not read it (counting from its
    definition); a result whose first read already comes after that
    stretch, or smaller than `min-bytes`, is left alone.

    The same holds for the `result` of a `var.batch_norm_train` (with or
    without its fused activation) that the forward's next convolution reads
    and the backward reads again (that convolution's weight gradient): the
    backward keeps the batch norm's input, weight, bias and saved
    statistics for var.batch_norm_grad, so when each of them is read at or
    after the late reads, a `var.batch_norm_apply` of them right before the
    late reads gives those reads the same bits, and the result dies after
    the forward. Each costs one elementwise pass, so only the
    `batch-norms` largest such results (by bytes; ties in program order)
    are recomputed, after the products (whose copies may read a batch
    norm's result late). 0, the default, recomputes none.
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"1048576",
           "Keep results smaller than this (a recompute costs a kernel "
           "launch)">,
    Option<"batchNorms", "batch-norms", "int64_t", /*default=*/"0",
           "Recompute the results of this many training batch norms, the "
           "largest, before their backward reads">,
  ];
  let statistics = [
    Statistic<"numRematerialized", "products-rematerialized",
              "Multiplies copied to their backward reads">,
    Statistic<"numBatchNormsRecomputed", "batch-norms-recomputed",
              "Training batch norm results recomputed for their backward "
              "reads">,
  ];
  let dependentDialects = ["::var::VarDialect"];
}

def Schedule : Pass<"var-schedule", "::mlir::ModuleOp"> {
  let summary = "Streams and events, so that communication overlaps compute";
  let description = [{
    Runs after `--var-zero` on every function of the module. Each op gets a
    stream (`dist.stream`): collectives run on "comm", host<->device copies
    on "copy", offloaded updates and the casts of their results on "host",
    everything else on "compute" (a parameter load or store on the stream of
    the collective or copy it feeds or follows). Where an op needs a value
    made on another stream, the producer records an event
    (`dist.record_event`) and the consumer's stream waits for it
    (`dist.wait_event`) right before the op; a stream that already waited
    for a later event of the same producer stream does not wait again. Two
    more orderings are made explicit: a `dist.release` runs on the stream
    of the buffer's last user, waits for every other user and records an
    event, which whatever reuses that memory waits for; a
    `dist.store_params` waits for every reader of that bucket's parameters,
    so that no stream overwrites what another still reads. Within a stream,
    ops run in program order; the runtime joins all streams at the end of a
    step.
  }];
  let dependentDialects = ["::dist::DistDialect"];
}

def PlanMemory : Pass<"var-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Liveness-based static offsets in each step's arena";
  let description = [{
    Runs last (after `--var-schedule`). In every function, each value the
    step keeps in its arena (inputs, activations, their gradients,
    per-parameter gradients before packing, scalars) gets a byte offset from
    runtime/plan's planner: values live at the same time never overlap.
    Values that live elsewhere get none: parameter views (`var.get_param`,
    `dist.unpack`, `dist.load_params`, the cast of an updated master, which
    is written into the parameters), gradient buckets and shards
    (`dist.pack`, the collectives), gathered buckets, masters and pinned
    copies; the model-state allocation policy (runtime/plan/ModelStates.h)
    sizes those. A value is live from its definition to its last use in
    program order, or to the end of the step when a different stream reads
    it. Offsets go to `dist.offsets` on the defining op (one per result, -1
    where there is none) and `dist.offset` on arguments; the arena size to
    `dist.arena_bytes` on the function.
  }];
  let dependentDialects = ["::dist::DistDialect"];
}

#endif // VAR_COMPILER_TRANSFORMS_PASSES_TD
