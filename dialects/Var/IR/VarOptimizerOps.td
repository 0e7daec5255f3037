// Optimizer state and update ops of a training step, written by the
// optimizer pass (--var-optimizer). Updates name their parameter and state by
// symbol: they change model state, which the runtime holds across steps.
#ifndef VAR_OPTIMIZER_OPS_TD
#define VAR_OPTIMIZER_OPS_TD

// The step number of an update, counted from 1.
def Var_StepTensor : 0DTensorOf<[I64]> {
  let builderCall =
      "::mlir::RankedTensorType::get({}, $_builder.getI64Type())";
}

def Var_OptimizerStateOp : Var_Op<"optimizer_state", [Symbol,
    HasParent<"::mlir::ModuleOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one optimizer state tensor of one parameter";
  let description = [{
    FP32, the parameter's shape, zero before the first step. `key` is its
    name in a PyTorch optimizer state dict (`exp_avg`, `exp_avg_sq`,
    `momentum_buffer`), so checkpoints export one to one.

    ```mlir
    var.optimizer_state @conv1.weight.exp_avg : tensor<32x3x3x3xf32>
        of @conv1.weight "exp_avg"
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Var_FloatTensor>:$type,
                       FlatSymbolRefAttr:$param, StrAttr:$key);
  let assemblyFormat = "$sym_name `:` $type `of` $param $key attr-dict";
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

def Var_AdamWUpdateOp : Var_Op<"adamw_update", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one AdamW step of one parameter (PyTorch's torch.optim.AdamW)";
  let description = [{
    With t = `step`: p -= lr * wd * p; m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) /
    (sqrt(v / (1 - b2^t)) + eps). `lr` is a runtime input, so schedules live
    in the runtime. `grad` has the parameter's shape; the parameter and the
    state are FP32.
  }];
  let arguments = (ins FlatSymbolRefAttr:$param, FlatSymbolRefAttr:$exp_avg,
                       FlatSymbolRefAttr:$exp_avg_sq, Var_FloatTensor:$grad,
                       Var_LossTensor:$lr, Var_StepTensor:$step,
                       F64Attr:$beta1, F64Attr:$beta2, F64Attr:$eps,
                       F64Attr:$weight_decay);
  let assemblyFormat = [{
    $param `,` $grad `lr` $lr `step` $step `state` `(` $exp_avg `,`
    $exp_avg_sq `)` `betas` `(` $beta1 `,` $beta2 `)` `eps` $eps
    `weight_decay` $weight_decay attr-dict `:` type($grad)
  }];
  let hasVerifier = 1;
}

def Var_SGDUpdateOp : Var_Op<"sgd_update", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one SGD step of one parameter (PyTorch's torch.optim.SGD)";
  let description = [{
    g += wd * p; with momentum: buf = g at step 1, otherwise
    buf = momentum * buf + (1 - dampening) * g, and g = g + momentum * buf
    (`nesterov`) or g = buf; then p -= lr * g. Without momentum there is no
    state.
  }];
  let arguments = (ins FlatSymbolRefAttr:$param,
                       OptionalAttr<FlatSymbolRefAttr>:$momentum_buffer,
                       Var_FloatTensor:$grad, Var_LossTensor:$lr,
                       Var_StepTensor:$step, F64Attr:$momentum,
                       F64Attr:$dampening, F64Attr:$weight_decay,
                       UnitAttr:$nesterov);
  let assemblyFormat = [{
    $param `,` $grad `lr` $lr `step` $step (`state` `(` $momentum_buffer^ `)`)?
    `momentum` $momentum `dampening` $dampening `weight_decay` $weight_decay
    (`nesterov` $nesterov^)? attr-dict `:` type($grad)
  }];
  let hasVerifier = 1;
}

#endif // VAR_OPTIMIZER_OPS_TD
