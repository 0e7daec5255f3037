// Ops of a training step: the training forms of batch norm and dropout, the
// backward op of every forward op, gradient and buffer outputs. The autodiff
// pass (--var-autodiff) writes them; people do not.
#ifndef VAR_TRAIN_OPS_TD
#define VAR_TRAIN_OPS_TD

// A backward op whose result shape cannot be computed from its operands (a
// strided window forgets the input's size): the result type is written out,
// and the verifier checks it against the forward shape rule.
class Var_ExplicitGradOp<string mnemonic, list<Trait> traits = []>
    : Var_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<Var_FlopCountOpInterface>])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Step outputs and constants
//===----------------------------------------------------------------------===//

def Var_ParamGradOp : Var_Op<"param_grad", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the complete gradient of a trainable parameter";
  let description = [{
    Marks `grad` as the gradient of the loss with respect to parameter `name`
    for this step; the optimizer passes consume it. The autodiff pass emits it
    as soon as the last contribution is summed, so that later passes can
    start communicating it while the rest of the backward runs. The gradient
    has the parameter's shape; its element type is the compute precision,
    which may differ from the parameter's (bf16 gradients of an f32 master
    weight under mixed precision).
  }];
  let arguments = (ins FlatSymbolRefAttr:$name, Var_FloatTensor:$grad);
  let assemblyFormat = "$name `,` $grad attr-dict `:` type($grad)";
}

def Var_UpdateBufferOp : Var_Op<"update_buffer", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "new value of a buffer (batch norm running statistics)";
  let description = [{
    Writes `value` into non-trainable parameter `name` at the end of the
    step. The autodiff pass emits it for the running mean and variance that
    a training-mode batch norm computes; the value has the buffer's type.
  }];
  let arguments = (ins FlatSymbolRefAttr:$name, Var_FloatTensor:$value);
  let assemblyFormat = "$name `,` $value attr-dict `:` type($value)";
}

def Var_FillOp : Var_Op<"fill", [Pure, ConstantLike]> {
  let summary = "a tensor with every element equal to `value`";
  let arguments = (ins F64Attr:$value);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
  // ConstantLike ops must fold to their value (m_Constant, the folder and
  // CSE of constants call fold on them).
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Training forms of forward ops
//===----------------------------------------------------------------------===//

def Var_BatchNormTrainOp : Var_DifferentiableOp<"batch_norm_train", [Pure]> {
  let summary = "batch normalization with batch statistics";
  let description = [{
    Normalizes with the mean and (biased) variance of the batch over every
    dimension but 1, and returns, besides the result, the batch mean and
    1 / sqrt(var + eps) that the backward reuses, and the running statistics
    moved by `momentum`: (1 - m) * running + m * batch, with the unbiased
    batch variance, as PyTorch does. Element types follow var.batch_norm;
    the four per-channel results have the weight's type (f32 under a bf16
    input with f32 weight).
    FLOPs: 7 per element (two reductions, normalize, scale and shift) plus
    8 per channel. `channels_last` as in var.batch_norm (the channels are
    the last dimension of input and result). `activation` as in
    var.batch_norm: applied to the rounded normalized result only (1 more
    FLOP per element); the statistics are those of the normalization. The
    scale and shift come from the saved mean and 1/std as rounded to their
    type, so that a var.batch_norm_grad with a fused activation recomputes
    the same pre-activation from them.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Var_FloatTensor:$bias, Var_FloatTensor:$running_mean,
                       Var_FloatTensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Var_FloatTensor:$result, Var_FloatTensor:$saved_mean,
                      Var_FloatTensor:$saved_invstd,
                      Var_FloatTensor:$new_running_mean,
                      Var_FloatTensor:$new_running_var);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var
    (`eps` $eps^)? (`momentum` $momentum^)?
    (`channels_last` $channels_last^)? (`activation` $activation^)? attr-dict
    `:` type(operands)
  }];
}

def Var_BatchNormApplyOp : Var_ComputeOp<"batch_norm_apply", [Pure,
    AllTypesMatch<["weight", "bias", "saved_mean", "saved_invstd"]>]> {
  let summary = "var.batch_norm_train's result again, from its saved statistics";
  let description = [{
    The `result` of the var.batch_norm_train that turned `input` into
    `saved_mean` and `saved_invstd` with `weight` and `bias`, bit for bit:
    that op normalizes from its saved statistics as stored, and so does
    this one, with the same scale and shift and the same `activation`
    applied to the rounded normalized value. `channels_last` and
    `activation` as in var.batch_norm_train; the four per-channel operands
    have the weight's type, the result the input's. var-rematerialize
    writes it right before the backward's reads of a batch norm's result,
    so that the result need not be kept across the step's peak.
    FLOPs: 2 per element (scale and shift), 1 more with an activation.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Var_FloatTensor:$bias, Var_FloatTensor:$saved_mean,
                       Var_FloatTensor:$saved_invstd,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $saved_mean `,` $saved_invstd
    (`channels_last` $channels_last^)? (`activation` $activation^)? attr-dict
    `:` type($input) `,` type($weight)
  }];
}

def Var_DropoutTrainOp : Var_DifferentiableOp<"dropout_train", [Pure,
    Var_FusibleElementwise]> {
  let summary = "dropout with a mask drawn from a counter-based generator";
  let description = [{
    The mask of element i is a pure function of (run seed, step, `key`, i),
    so the backward regenerates it instead of storing it, and a run is
    bit-reproducible. Every dropout in a step has its own `key`.
    FLOPs: 1 per element.
  }];
  let arguments = (ins Var_FloatTensor:$input, F64Attr:$p, I64Attr:$key);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input `p` $p `key` $key attr-dict `:` type($input)";
}

def Var_MaxPoolWithIndicesOp : Var_ComputeOp<"max_pool_with_indices", [
    Pure]> {
  let summary = "max pooling that also returns each maximum's window position";
  let description = [{
    `output` is var.max_pool's, bit for bit. `indices` (i8, the output's
    shape) holds, for each output element, the position within its window
    of the element chosen: row-major over the kernel dimensions, counting
    padded positions, so (kd * kernel_h + kh) * kernel_w + kw in 3-D. The
    choice is var.max_pool_grad's: the first maximum in window order, or
    the last NaN. The window (the product of `kernel`) may hold at most 127
    positions. var-max-pool-indices writes this op in place of a
    var.max_pool whose backward is var.max_pool_grad, so that the backward
    (var.max_pool_grad_indices) reads the indices instead of the pool's
    input. With `channels_last`, input and both results are (N, spatial...,
    C). FLOPs: one comparison per window element of every output, as
    var.max_pool.
  }];
  let arguments = (ins Var_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$output, Var_IndexTensor:$indices);
  let assemblyFormat = [{
    $input `kernel` $kernel (`stride` $stride^)? (`padding` $padding^)?
    (`channels_last` $channels_last^)? attr-dict `:` type($input)
  }];
}

def Var_BatchNormTrainMaxPoolOp : Var_ComputeOp<"batch_norm_train_max_pool", [
    Pure]> {
  let summary = "var.batch_norm_train whose result only var.max_pool_with_indices reads";
  let description = [{
    var.batch_norm_train of the operands followed by
    var.max_pool_with_indices of its normalized (and activated) result,
    without storing that result: `output` and `indices` are the pool's,
    `saved_mean`, `saved_invstd`, `new_running_mean` and `new_running_var`
    the batch norm's, bit for bit (the pool compares the normalized values
    as rounded to the input's type, so ties, NaNs and index encoding are
    var.max_pool_with_indices'). The batch norm's attributes (`eps`,
    `momentum`, `activation`) and the pool's window (`kernel`, `stride`,
    `padding`) keep their meaning; `channels_last` is both ops'. Its
    backward is the pair's: var.batch_norm_grad recomputes the activation's
    mask from the input, var.max_pool_grad_indices reads `indices`.
    var-fuse-bn-pool writes this op in place of the pair where the pool is
    the normalized result's only reader. FLOPs: var.batch_norm_train's plus
    var.max_pool_with_indices'.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Var_FloatTensor:$bias, Var_FloatTensor:$running_mean,
                       Var_FloatTensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation,
                       DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding);
  let results = (outs Var_FloatTensor:$output, Var_IndexTensor:$indices,
                      Var_FloatTensor:$saved_mean,
                      Var_FloatTensor:$saved_invstd,
                      Var_FloatTensor:$new_running_mean,
                      Var_FloatTensor:$new_running_var);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var
    (`eps` $eps^)? (`momentum` $momentum^)?
    (`activation` $activation^)? `kernel` $kernel (`stride` $stride^)?
    (`padding` $padding^)? (`channels_last` $channels_last^)? attr-dict
    `:` type(operands)
  }];
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

def Var_ConvGradInputOp : Var_ExplicitGradOp<"conv_grad_input"> {
  let summary = "gradient of var.conv with respect to its input";
  let description = [{
    `grad` is the gradient of the convolution's result; the attributes are
    the forward's, `channels_last` included (then `grad` and the result
    are (N, spatial..., C)). FLOPs: those of the forward convolution
    without bias.
  }];
  let arguments = (ins Var_FloatTensor:$grad, Var_FloatTensor:$weight,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       OptionalAttr<DenseI64ArrayAttr>:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $weight (`stride` $stride^)? (`padding` $padding^)?
    (`dilation` $dilation^)? (`groups` $groups^)?
    (`channels_last` $channels_last^)? attr-dict
    `:` type($grad) `,` type($weight) `->` type($result)
  }];
}

def Var_ConvGradWeightOp : Var_ExplicitGradOp<"conv_grad_weight"> {
  let summary = "gradient of var.conv with respect to its weight";
  let description = [{
    With `channels_last`, `input` and `grad` are (N, spatial..., C); the
    result keeps the weight's layout. FLOPs: those of the forward
    convolution without bias.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$grad,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       OptionalAttr<DenseI64ArrayAttr>:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $grad (`stride` $stride^)? (`padding` $padding^)?
    (`dilation` $dilation^)? (`groups` $groups^)?
    (`channels_last` $channels_last^)? attr-dict
    `:` type($input) `,` type($grad) `->` type($result)
  }];
}

def Var_MaxPoolGradOp : Var_ComputeOp<"max_pool_grad", [Pure,
    AllTypesMatch<["output", "grad"]>]> {
  let summary = "gradient of var.max_pool: routes each gradient to its max";
  let description = [{
    `input` and `output` are the forward's; ties go to the first maximum in
    window order, as in PyTorch. With `channels_last`, all four tensors
    are (N, spatial..., C). FLOPs: 1 per input element.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$output,
                       Var_FloatTensor:$grad, DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $output `,` $grad `kernel` $kernel (`stride` $stride^)?
    (`padding` $padding^)? (`channels_last` $channels_last^)? attr-dict
    `:` type($input) `,` type($grad)
  }];
}

def Var_MaxPoolGradIndicesOp : Var_ExplicitGradOp<"max_pool_grad_indices"> {
  let summary = "gradient of var.max_pool from var.max_pool_with_indices";
  let description = [{
    Routes each element of `grad` to the input element at window position
    `indices` (as var.max_pool_with_indices gives them) of its window;
    where windows overlap, an input sums what reaches it in increasing
    output order, and an input nothing reaches gets +0: var.max_pool_grad's
    result, bit for bit, without the forward's input. A position that falls
    on padding or outside the window routes nowhere. `indices` (i8) has
    `grad`'s shape; the result has `grad`'s element type and the forward
    input's shape; the attributes are the forward's. With `channels_last`,
    all three tensors are (N, spatial..., C). FLOPs: 1 per input element.
  }];
  let arguments = (ins Var_IndexTensor:$indices, Var_FloatTensor:$grad,
                       DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $indices `,` $grad `kernel` $kernel (`stride` $stride^)?
    (`padding` $padding^)? (`channels_last` $channels_last^)? attr-dict
    `:` type($indices) `,` type($grad) `->` type($result)
  }];
}

def Var_AvgPoolGradOp : Var_ExplicitGradOp<"avg_pool_grad"> {
  let summary = "gradient of var.avg_pool";
  let description = [{
    Spreads each gradient evenly over its window (padding counted, as
    PyTorch's default count_include_pad). With `channels_last`, `grad` and
    the result are (N, spatial..., C). FLOPs: 1 per input element.
  }];
  let arguments = (ins Var_FloatTensor:$grad, DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `kernel` $kernel (`stride` $stride^)? (`padding` $padding^)?
    (`channels_last` $channels_last^)? attr-dict `:` type($grad) `->`
    type($result)
  }];
}

def Var_GlobalAvgPoolGradOp : Var_ExplicitGradOp<"global_avg_pool_grad"> {
  let summary = "gradient of var.global_avg_pool";
  let description = [{
    Broadcasts each (N, C) gradient over the spatial dimensions, divided by
    their size. `grad` is (N, C) or (N, C, 1, ...). With `channels_last`,
    `grad` is (N, C) or (N, 1, ..., C) and the result (N, spatial..., C).
    FLOPs: 1 per result element.
  }];
  let arguments = (ins Var_FloatTensor:$grad, UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $grad (`channels_last` $channels_last^)? attr-dict `:` type($grad) `->`
    type($result)
  }];
}

def Var_BatchNormGradOp : Var_ComputeOp<"batch_norm_grad", [Pure,
    AllTypesMatch<["input", "grad"]>,
    AllTypesMatch<["weight", "saved_mean", "saved_invstd"]>]> {
  let summary = "gradient of var.batch_norm_train";
  let description = [{
    From the forward's input, weight, saved mean and saved 1/std, and the
    result's gradient: the gradients of input, weight and bias. The weight
    and the statistics have the input's element type, or are f32 under a
    bf16 or f16 input; the weight and bias gradients have the weight's type.
    With `channels_last`, input, grad and input_grad are (N, ..., C).
    With `activation` ("relu", "relu6" or "silu", set by var-fuse-bn-act)
    `grad` is the gradient of the activation's output, and the op first
    takes it through the activation's gradient. `activation_value` is the
    forward's bias (typed like `weight`; SiLU's always): the op recomputes
    the pre-activation z = (input - saved_mean) * saved_invstd * weight +
    bias as var.batch_norm_train computed it, rounded to the input's type,
    and dy = var.relu_grad, var.relu6_grad or var.silu_grad of (z, grad),
    rounded to grad's type (the CUDA kernels take SiLU's sigmoid from fast
    intrinsics, in the forward and in this recomputation alike). For
    "relu" and "relu6" it may instead be the activation's output (typed
    like `input`), which masks exactly as var.relu_grad or var.relu6_grad
    would: dy = activation_value > 0 (and < 6) ? grad : +0.
    FLOPs: 8 per input element, 1 more with an activation.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$grad,
                       Var_FloatTensor:$weight, Var_FloatTensor:$saved_mean,
                       Var_FloatTensor:$saved_invstd,
                       Optional<Var_FloatTensor>:$activation_value,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Var_FloatTensor:$input_grad,
                      Var_FloatTensor:$weight_grad,
                      Var_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $grad `,` $weight `,` $saved_mean `,` $saved_invstd
    (`channels_last` $channels_last^)?
    (`activation` $activation^ `(` $activation_value `)`)? attr-dict `:`
    type($input) `,` type($weight) (`,` type($activation_value)^)?
  }];
}

def Var_BatchNormGradMaxPoolOp : Var_ComputeOp<"batch_norm_grad_max_pool", [
    Pure, AllTypesMatch<["weight", "saved_mean", "saved_invstd"]>]> {
  let summary = "var.max_pool_grad_indices followed by var.batch_norm_grad";
  let description = [{
    The backward of a training batch norm whose result (through its fused
    activation) a max pool read, from the pool's gradient `grad` and the
    i8 `indices` of var.max_pool_with_indices (both of the pooled shape)
    instead of the pool's full-size gradient: bit for bit
    var.max_pool_grad_indices of (indices, grad) with `kernel`, `stride`,
    `padding` and `channels_last`, then var.batch_norm_grad of its result,
    with `activation` and `activation_value` as there. The windows tile
    the input: stride == kernel and no padding, so each input element
    belongs to at most one window; its dy is that window's gradient where
    the window's index names its place, else +0, and +0 where no window
    covers it (the rows or columns past the last whole window). Only
    `channels_last` (input, indices, grad and input_grad (N, spatial...,
    C)): its kernels derive dy along a row of channels.
    var-fuse-pool-grad-bn writes it, so that the full-size gradient (3/4
    zeros under a 2x2 pool) is never stored nor read twice.
    FLOPs: those of the two ops, 9 per input element (10 with an
    activation).
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_IndexTensor:$indices,
                       Var_FloatTensor:$grad, Var_FloatTensor:$weight,
                       Var_FloatTensor:$saved_mean,
                       Var_FloatTensor:$saved_invstd,
                       Optional<Var_FloatTensor>:$activation_value,
                       DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Var_FloatTensor:$input_grad,
                      Var_FloatTensor:$weight_grad,
                      Var_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $indices `,` $grad `,` $weight `,` $saved_mean `,`
    $saved_invstd `kernel` $kernel (`stride` $stride^)?
    (`padding` $padding^)? (`channels_last` $channels_last^)?
    (`activation` $activation^ `(` $activation_value `)`)? attr-dict `:`
    type($input) `,` type($indices) `,` type($grad) `,` type($weight)
    (`,` type($activation_value)^)?
  }];
}

def Var_BatchNormFrozenGradOp : Var_ComputeOp<"batch_norm_frozen_grad", [
    Pure, AllTypesMatch<["input", "grad"]>,
    AllTypesMatch<["weight", "running_mean", "running_var"]>]> {
  let summary = "gradient of var.batch_norm with frozen running statistics";
  let description = [{
    The backward of var.batch_norm in evaluation form, for training steps
    compiled with frozen batch norm (`--var-autodiff="freeze-batch-norm"`,
    `varc --freeze-batch-norm`): the running statistics normalize, so they
    are constants and the gradient does not flow through a batch mean. With
    invstd = 1 / sqrt(running_var + eps) and sums over every dimension but 1:
    input_grad = grad * weight * invstd,
    weight_grad = sum(grad * (input - running_mean)) * invstd,
    bias_grad = sum(grad).
    `eps` is the forward's. The weight and the running statistics have the
    input's element type, or are f32 under a bf16 or f16 input; the weight
    and bias gradients have the weight's type.
    FLOPs: 5 per input element (scale, two sums, center, product) plus 5 per
    channel (invstd, the folded scale, the final weight_grad scale). With
    `channels_last`, input, grad and input_grad are (N, ..., C) and the sums
    run over every dimension but the last.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$grad,
                       Var_FloatTensor:$weight, Var_FloatTensor:$running_mean,
                       Var_FloatTensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$input_grad,
                      Var_FloatTensor:$weight_grad,
                      Var_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $grad `,` $weight `,` $running_mean `,` $running_var
    (`eps` $eps^)? (`channels_last` $channels_last^)? attr-dict `:`
    type($input) `,` type($weight)
  }];
}

def Var_LinearGradInputOp : Var_ComputeOp<"linear_grad_input", [Pure]> {
  let summary = "gradient of var.linear with respect to its input: dY W";
  let description = [{
    `grad` is (..., out), `weight` (out, in); the result is (..., in).
    FLOPs: 2 * rows * in * out.
  }];
  let arguments = (ins Var_FloatTensor:$grad, Var_FloatTensor:$weight);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $weight attr-dict `:` type(operands)";
}

def Var_LinearGradWeightOp : Var_ComputeOp<"linear_grad_weight", [Pure]> {
  let summary = "gradient of var.linear with respect to its weight: dY^T X";
  let description = [{
    `input` is (..., in), `grad` (..., out) with the same leading
    dimensions; the result is (out, in). FLOPs: 2 * rows * in * out.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$grad);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type(operands)";
}

def Var_LSTMGradOp : Var_ComputeOp<"lstm_grad", [Pure]> {
  let summary = "gradient of var.lstm (backpropagation through time)";
  let description = [{
    Operands: the forward's input and weights, and the gradients of both of
    its results (a zero `var.fill` where a result is unused). The gates are
    recomputed rather than stored, so the forward keeps no per-step state.
    Results: gradients of input, w_ih, w_hh, b_ih and b_hh.
    FLOPs: the forward's (recomputation) plus twice its matrix products.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$w_ih,
                       Var_FloatTensor:$w_hh, Var_FloatTensor:$b_ih,
                       Var_FloatTensor:$b_hh, Var_FloatTensor:$sequence_grad,
                       Var_FloatTensor:$last_grad);
  let results = (outs Var_FloatTensor:$input_grad, Var_FloatTensor:$w_ih_grad,
                      Var_FloatTensor:$w_hh_grad, Var_FloatTensor:$b_ih_grad,
                      Var_FloatTensor:$b_hh_grad);
  let assemblyFormat = [{
    $input `,` $w_ih `,` $w_hh `,` $b_ih `,` $b_hh `,` $sequence_grad `,`
    $last_grad attr-dict `:` type(operands)
  }];
}

// The gradient of an activation from the forward value it needs (its input
// or its output) and the result's gradient.
class Var_ActivationGradOp<string mnemonic, string from, string formula,
                           string opcode>
    : Var_ComputeOp<mnemonic, [Pure, AllTypesMatch<["value", "grad"]>,
                               Var_FusibleElementwise]>,
      Var_FusibleOp<opcode> {
  let summary = "activation gradient: " # formula;
  let description = "`value` is the forward's " # from # [{. FLOPs: 1 per
    element for ReLU and ReLU6, 2 for sigmoid, 4 for SiLU and hard-swish.
  }];
  let arguments = (ins Var_FloatTensor:$value, Var_FloatTensor:$grad);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$value `,` $grad attr-dict `:` type($value)";
  let extraClassDefinition = fusedStepDefinition;
}

def Var_ReluGradOp
    : Var_ActivationGradOp<"relu_grad", "output", "dy * (y > 0)", "ReluGrad">;
def Var_Relu6GradOp : Var_ActivationGradOp<"relu6_grad", "output",
    "dy * (0 < y < 6)", "Relu6Grad">;
def Var_SigmoidGradOp : Var_ActivationGradOp<"sigmoid_grad", "output",
    "dy * y * (1 - y)", "SigmoidGrad">;
def Var_SiluGradOp : Var_ActivationGradOp<"silu_grad", "input",
    "dy * s * (1 + x * (1 - s)), s = sigmoid(x)", "SiluGrad">;
def Var_HardSwishGradOp : Var_ActivationGradOp<"hardswish_grad", "input",
    "dy * (x < -3 ? 0 : x > 3 ? 1 : (2x + 3) / 6)", "HardSwishGrad">;

def Var_DropoutGradOp : Var_ComputeOp<"dropout_grad", [Pure,
    Var_FusibleElementwise]> {
  let summary = "gradient of var.dropout_train: the same mask, regenerated";
  let description = "FLOPs: 1 per element.";
  let arguments = (ins Var_FloatTensor:$grad, F64Attr:$p, I64Attr:$key);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$grad `p` $p `key` $key attr-dict `:` type($grad)";
}

def Var_ReduceSumOp : Var_ComputeOp<"reduce_sum", [Pure]> {
  let summary = "sum over the listed dimensions";
  let description = [{
    Sums over `dims` (strictly increasing, each in range); with `keep_dims`
    they stay as size 1, otherwise they are dropped. The gradient of a
    broadcast and of a bias. FLOPs: 1 per input element.
  }];
  let arguments = (ins Var_FloatTensor:$input, DenseI64ArrayAttr:$dims,
                       UnitAttr:$keep_dims);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `dims` $dims (`keep_dims` $keep_dims^)? attr-dict `:` type($input)
  }];
}

def Var_SliceOp : Var_ComputeOp<"slice", [Pure]> {
  let summary = "`size` entries along `axis` starting at `offset`";
  let description = [{
    `axis` may be negative (counted from the end), as in var.concat, whose
    gradient this is. FLOPs: 0 (a copy).
  }];
  let arguments = (ins Var_FloatTensor:$input, I64Attr:$axis, I64Attr:$offset,
                       I64Attr:$size);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `axis` $axis `offset` $offset `size` $size attr-dict `:` type($input)
  }];
}

def Var_MeanTimeGradOp : Var_ComputeOp<"mean_time_grad", [Pure]> {
  let summary = "gradient of var.mean_time: (B, ...) to (B, frames, ...) / frames";
  let description = "FLOPs: 1 per result element.";
  let arguments = (ins Var_FloatTensor:$grad, I64Attr:$frames);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$grad `frames` $frames attr-dict `:` type($grad)";
}

def Var_SoftmaxCrossEntropyGradOp
    : Var_ComputeOp<"softmax_cross_entropy_grad", [Pure]> {
  let summary = "gradient of var.softmax_cross_entropy with respect to logits";
  let description = [{
    `loss_grad` is the f32 scalar gradient of the loss; the result is
    loss_grad * (softmax(logits) - smoothed one-hot(labels)) / N, in the
    logits' type. FLOPs: 5 per logit.
  }];
  let arguments = (ins Var_FloatTensor:$logits, Var_LabelTensor:$labels,
                       Var_LossTensor:$loss_grad,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels `,` $loss_grad
    (`label_smoothing` $label_smoothing^)? attr-dict `:` type($logits) `,`
    type($labels)
  }];
}

#endif // VAR_TRAIN_OPS_TD
