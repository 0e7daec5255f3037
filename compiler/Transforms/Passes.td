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
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::var::VarDialect"];
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

#endif // VAR_COMPILER_TRANSFORMS_PASSES_TD
