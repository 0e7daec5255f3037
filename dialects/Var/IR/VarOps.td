// Op definitions of the `var` dialect. Behaviour (shape inference, verifiers,
// FLOP counts) lives in the C++ file named after each op family.
#ifndef VAR_OPS_TD
#define VAR_OPS_TD

include "dialects/Var/IR/VarBase.td"
include "dialects/Var/IR/VarInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// An op whose result types are computed from operands and attributes, and
// which counts its own FLOPs.
class Var_ComputeOp<string mnemonic, list<Trait> traits = []>
    : Var_Op<mnemonic, !listconcat(traits, [
        InferTypeOpAdaptor,
        DeclareOpInterfaceMethods<Var_FlopCountOpInterface>])>;

// A forward op that a training step can differentiate through.
class Var_DifferentiableOp<string mnemonic, list<Trait> traits = []>
    : Var_ComputeOp<mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<Var_DifferentiableOpInterface>])>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def Var_ParamOp : Var_Op<"param", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a trainable parameter or a buffer of the model";
  let description = [{
    Declares one tensor of the model's state. The symbol name is the tensor's
    key in a PyTorch `state_dict` (`features.0.0.weight`), so checkpoints and
    imported weights map one to one. `buffer` marks state that is not trained
    (batch-norm running statistics). The shape must be static.

    Initializers: `zeros`, `ones`, `normal(std)`, `uniform(bound)` (in
    [-bound, bound]), `kaiming_normal_fan_in`, `kaiming_normal_fan_out`
    (gain sqrt(2)), `kaiming_uniform` (PyTorch's default for conv and linear
    weights: bound 1/sqrt(fan_in)), `xavier_uniform`. Only `normal` and
    `uniform` take an argument.

    ```mlir
    var.param @conv1.weight : tensor<32x3x3x3xf32> init kaiming_normal_fan_out
    var.param @fc.weight : tensor<101x128xf32> init normal(1.000000e-02)
    var.param @bn1.running_var : tensor<32xf32> init ones buffer
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Var_ParamTensor>:$type,
                       Var_InitKind:$init,
                       OptionalAttr<F64Attr>:$init_arg,
                       UnitAttr:$buffer);
  let assemblyFormat = [{
    $sym_name `:` $type `init` $init (`(` $init_arg^ `)`)? (`buffer` $buffer^)?
    attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
    bool isTrainable() { return !getBuffer(); }
  }];
}

def Var_GetParamOp : Var_Op<"get_param", [
    Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a parameter declared with var.param";
  let description = [{
    ```mlir
    %w = var.get_param @conv1.weight : tensor<32x3x3x3xf32>
    %c = var.get_param @conv1.weight : tensor<32x3x3x3xbf16>
    ```
    The parameter must exist in the enclosing module and have this type, or,
    for a float parameter, its shape with another float element type: that
    reads the compute copy (the bf16 copy of an f32 master weight under
    mixed precision, see `--var-mixed-precision`), and the gradient that
    flows back to it has the compute type too.
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs Var_ParamTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, normalization, linear
//===----------------------------------------------------------------------===//

def Var_ConvOp : Var_DifferentiableOp<"conv", [Pure]> {
  let summary = "N-d convolution (1-D, 2-D or 3-D) with groups";
  let description = [{
    `input` is (N, C_in, spatial...), `weight` is (C_out, C_in / groups,
    kernel...) as in PyTorch, `bias` (optional) is (C_out). `stride`,
    `padding` (symmetric) and `dilation` have one entry per spatial dimension
    and default to 1, 0 and 1. A depthwise convolution has
    `groups = C_in = C_out`.

    With `channels_last`, `input` and the result are (N, spatial..., C)
    (NHWC, NDHWC); the weight and bias keep their layout. The FLOPs are the
    same either way.

    FLOPs: 2 * N * C_out * prod(out spatial) * (C_in / groups) * prod(kernel),
    plus N * C_out * prod(out spatial) for the bias.

    ```mlir
    %y = var.conv %x, %w stride [2, 2] padding [1, 1]
        : tensor<?x3x112x112xf32>, tensor<32x3x3x3xf32>
    ```
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Optional<Var_FloatTensor>:$bias,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       OptionalAttr<DenseI64ArrayAttr>:$dilation,
                       DefaultValuedAttr<I64Attr, "1">:$groups,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? (`stride` $stride^)? (`padding` $padding^)?
    (`dilation` $dilation^)? (`groups` $groups^)?
    (`channels_last` $channels_last^)? attr-dict `:` type(operands)
  }];
}

class Var_PoolOp<string mnemonic, string what> : Var_DifferentiableOp<mnemonic, [Pure]> {
  let summary = what # " pooling over the spatial dimensions (1-D to 3-D)";
  let arguments = (ins Var_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel,
                       OptionalAttr<DenseI64ArrayAttr>:$stride,
                       OptionalAttr<DenseI64ArrayAttr>:$padding,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `kernel` $kernel (`stride` $stride^)? (`padding` $padding^)?
    (`channels_last` $channels_last^)? attr-dict `:` type($input)
  }];
}

def Var_MaxPoolOp : Var_PoolOp<"max_pool", "max"> {
  let description = [{
    `input` is (N, C, spatial...). `stride` defaults to `kernel`, `padding`
    to 0 and may be at most half the kernel (as in PyTorch); padded positions
    never win. With `channels_last`, input and result are (N, spatial...,
    C). FLOPs: one comparison per window element of every output.
  }];
}

def Var_AvgPoolOp : Var_PoolOp<"avg_pool", "average"> {
  let description = [{
    `input` is (N, C, spatial...). `stride` defaults to `kernel`, `padding`
    to 0 and may be at most half the kernel. Padded positions count as zeros
    in the average (PyTorch's `count_include_pad=True`). With
    `channels_last`, input and result are (N, spatial..., C). FLOPs: one add
    per window element of every output.
  }];
}

def Var_GlobalAvgPoolOp : Var_DifferentiableOp<"global_avg_pool", [Pure]> {
  let summary = "average over all spatial dimensions";
  let description = [{
    (N, C, spatial...) -> (N, C), or (N, C, 1, ...) with `keep_dims`.
    With `channels_last`: (N, spatial..., C) -> (N, C), or (N, 1, ..., C)
    with `keep_dims`. FLOPs: one add per input element.
  }];
  let arguments = (ins Var_FloatTensor:$input, UnitAttr:$keep_dims,
                       UnitAttr:$channels_last);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`keep_dims` $keep_dims^)? (`channels_last` $channels_last^)?
    attr-dict `:` type($input)
  }];
}

def Var_BatchNormOp : Var_DifferentiableOp<"batch_norm", [Pure]> {
  let summary = "batch normalization over dimension 1 (or the last)";
  let description = [{
    `input` is (N, C, ...); `weight`, `bias`, `running_mean` and
    `running_var` are (C). In a training step the batch statistics normalize
    and the running statistics move by `momentum` (PyTorch's convention); in
    an evaluation step the running statistics normalize. Which one a step
    does is decided by the compiler, not written in the model. A training
    step compiled with frozen batch norm (`varc --freeze-batch-norm`, TSN's
    practice for small batches) keeps this op: the running statistics
    normalize and stay as they are, and its backward is
    var.batch_norm_frozen_grad (the running statistics must be buffers).
    The four per-channel operands have the input's element type, or, under
    a bf16 or f16 input, are all f32 (cuDNN's mixed precision: scale, shift
    and statistics stay FP32, the result has the input's type).
    With `channels_last`, input and result are (N, ..., C): the channels
    are the last dimension; the per-channel operands stay (C).
    With `activation` ("relu", "relu6" or "silu", set by var-fuse-bn-act,
    never by a model) the result is that activation of the normalized value
    after its rounding to the result's element type: bit for bit what
    var.batch_norm followed by var.relu, var.relu6 or var.silu computes.
    FLOPs: 2 per element (the folded scale and shift), 1 more with an
    activation.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Var_FloatTensor:$bias, Var_FloatTensor:$running_mean,
                       Var_FloatTensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$channels_last,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var
    (`eps` $eps^)? (`momentum` $momentum^)?
    (`channels_last` $channels_last^)? (`activation` $activation^)? attr-dict
    `:` type(operands)
  }];
}

def Var_LinearOp : Var_DifferentiableOp<"linear", [Pure]> {
  let summary = "fully connected layer, y = x W^T + b";
  let description = [{
    `input` is (..., in), `weight` is (out, in) as in PyTorch, `bias`
    (optional) is (out); the result is (..., out).
    FLOPs: 2 * rows * in * out, plus rows * out for the bias.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$weight,
                       Optional<Var_FloatTensor>:$bias);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` type(operands)";
}

def Var_LSTMOp : Var_DifferentiableOp<"lstm", [Pure]> {
  let summary = "one unidirectional LSTM layer over a batch-first sequence";
  let description = [{
    `input` is (B, T, I); `w_ih` is (4H, I), `w_hh` is (4H, H), `b_ih` and
    `b_hh` are (4H), gates ordered i, f, g, o as in PyTorch. The initial
    state is zero. Results: the hidden state of every step (B, T, H) and of
    the last step (B, H). Stack layers by chaining.
    FLOPs per step: 2 * B * 4H * (I + H) for the products, 2 * B * 4H for
    the biases, 9 * B * H for the gate nonlinearities and cell update.
  }];
  let arguments = (ins Var_FloatTensor:$input, Var_FloatTensor:$w_ih,
                       Var_FloatTensor:$w_hh, Var_FloatTensor:$b_ih,
                       Var_FloatTensor:$b_hh);
  let results = (outs Var_FloatTensor:$sequence, Var_FloatTensor:$last);
  let assemblyFormat = [{
    $input `,` $w_ih `,` $w_hh `,` $b_ih `,` $b_hh attr-dict `:` type(operands)
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// An elementwise op that var.fused_elementwise runs as step `opcode`.
class Var_FusibleOp<string opcode> {
  code fusedStepDefinition = [{
    ::var::fused::FusedStep $cppClass::getFusedStep() {
      return {::var::fused::Opcode::}] # opcode # [{};
    }
  }];
}

def Var_FusibleElementwise
    : DeclareOpInterfaceMethods<Var_FusibleElementwiseOpInterface>;

class Var_ActivationOp<string mnemonic, string formula, string opcode>
    : Var_DifferentiableOp<mnemonic, [Pure, Var_FusibleElementwise]>,
      Var_FusibleOp<opcode> {
  let summary = "elementwise " # formula;
  let description = "FLOPs: 1 per element.";
  let arguments = (ins Var_FloatTensor:$input);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location>,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      types.push_back(adaptor.getInput().getType());
      return ::mlir::success();
    }
    std::optional<int64_t> $cppClass::getForwardFlops() {
      return ::var::numElements(getType());
    }
  }] # fusedStepDefinition;
}

def Var_ReluOp : Var_ActivationOp<"relu", "max(x, 0)", "Relu">;
def Var_Relu6Op : Var_ActivationOp<"relu6", "min(max(x, 0), 6)", "Relu6">;
def Var_SigmoidOp : Var_ActivationOp<"sigmoid", "1 / (1 + exp(-x))", "Sigmoid">;
def Var_SiluOp : Var_ActivationOp<"silu", "x * sigmoid(x)", "Silu">;
def Var_HardSwishOp
    : Var_ActivationOp<"hardswish", "x * relu6(x + 3) / 6", "HardSwish">;

class Var_BinaryOp<string mnemonic, string what, string opcode>
    : Var_DifferentiableOp<mnemonic, [Pure, Commutative,
                                      Var_FusibleElementwise]>,
      Var_FusibleOp<opcode> {
  let summary = "elementwise " # what # " with NumPy broadcasting";
  let description = [{
    Shapes broadcast as in NumPy and PyTorch (trailing dimensions aligned;
    a dimension of 1 stretches). Both operands have the same element type.
    FLOPs: 1 per result element.
  }];
  let arguments = (ins Var_FloatTensor:$lhs, Var_FloatTensor:$rhs);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type(operands)";
  let extraClassDefinition = fusedStepDefinition;
}

def Var_AddOp : Var_BinaryOp<"add", "addition", "Add">;
def Var_MulOp : Var_BinaryOp<"mul", "multiplication", "Mul">;

def Var_DropoutOp : Var_ComputeOp<"dropout"> {
  let summary = "zeroes elements with probability p during training";
  let description = [{
    Survivors are scaled by 1 / (1 - p); an evaluation step is the identity.
    Not `Pure`: each instance draws its own mask. FLOPs: 1 per element.
  }];
  let arguments = (ins Var_FloatTensor:$input, F64Attr:$p);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input `p` $p attr-dict `:` type($input)";
}

def Var_CastOp : Var_DifferentiableOp<"cast", [Pure, Var_FusibleElementwise]> {
  let summary = "elementwise conversion to another float element type";
  let description = [{
    Converts every element to the result's element type (rounding to
    nearest even when narrowing) and keeps the shape, dynamic dimensions
    included. Mixed precision (`--var-mixed-precision`) casts the forward's
    inputs to bf16 and its results back to f32. A cast must change the
    element type. The gradient is the result's gradient cast back to the
    input's type.

    `to`, the result's element type, is stored so that type inference (batch
    specialization) can rebuild the result type from a new input shape; the
    custom form shows it only as the result type.
    FLOPs: 1 per element. A conversion does no arithmetic, but it reads and
    writes every element, and a profile that counts it as free would hide
    the casts that a mixed-precision graph adds.

    ```mlir
    %y = var.cast %x : tensor<?x3x112x112xf32> to tensor<?x3x112x112xbf16>
    ```
  }];
  let arguments = (ins Var_FloatTensor:$input, TypeAttr:$to);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `to` custom<CastResult>(type($result), $to)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    // The custom directive: parses the result type and derives `to` from it.
    static ::mlir::ParseResult parseCastResult(::mlir::OpAsmParser &parser,
                                               ::mlir::Type &result,
                                               ::mlir::TypeAttr &to);
    static void printCastResult(::mlir::OpAsmPrinter &printer, CastOp,
                                ::mlir::Type result, ::mlir::TypeAttr);
  }];
  let extraClassDefinition = [{
    ::mlir::ParseResult $cppClass::parseCastResult(::mlir::OpAsmParser &parser,
                                                   ::mlir::Type &result,
                                                   ::mlir::TypeAttr &to) {
      if (parser.parseType(result))
        return ::mlir::failure();
      // A non-tensor result fails the result constraint in the verifier.
      auto shaped = ::llvm::dyn_cast<::mlir::ShapedType>(result);
      to = ::mlir::TypeAttr::get(shaped ? shaped.getElementType() : result);
      return ::mlir::success();
    }
    void $cppClass::printCastResult(::mlir::OpAsmPrinter &printer, CastOp,
                                    ::mlir::Type result, ::mlir::TypeAttr) {
      printer << result;
    }
    ::mlir::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      ::llvm::StringRef name = getOperationName();
      ::mlir::FailureOr<::mlir::RankedTensorType> input =
          ::var::rankedOperand(loc, name, "input", adaptor.getInput());
      if (::mlir::failed(input))
        return ::mlir::failure();
      if (!adaptor.getToAttr())
        return ::var::opError(loc, name, "needs a target element type 'to'");
      if (adaptor.getTo() == input->getElementType())
        return ::var::opError(loc, name, "input already has type ", *input,
                              "; a cast must change the element type");
      types.push_back(input->clone(adaptor.getTo()));
      return ::mlir::success();
    }
    ::mlir::LogicalResult $cppClass::verify() {
      ::mlir::RankedTensorType input = getInput().getType();
      ::mlir::RankedTensorType result = getType();
      if (input.getShape() != result.getShape())
        return emitOpError("result shape (")
               << ::var::formatShape(result.getShape())
               << ") differs from input shape ("
               << ::var::formatShape(input.getShape()) << ")";
      if (result.getElementType() != getTo())
        return emitOpError("result element type ")
               << result.getElementType() << " differs from 'to' " << getTo();
      if (input.getElementType() == result.getElementType())
        return emitOpError("input already has type ")
               << input << "; a cast must change the element type";
      return ::mlir::success();
    }
    std::optional<int64_t> $cppClass::getForwardFlops() {
      return ::var::numElements(getType());
    }
    ::var::fused::FusedStep $cppClass::getFusedStep() {
      ::mlir::Type to = getTo();
      if (to.isBF16())
        return {::var::fused::Opcode::CastBF16};
      if (to.isF16())
        return {::var::fused::Opcode::CastF16};
      return {::var::fused::Opcode::CastF32};
    }
  }];
}

include "dialects/Var/IR/VarFusedOps.td"

//===----------------------------------------------------------------------===//
// Shape and time
//===----------------------------------------------------------------------===//

def Var_ReshapeOp : Var_DifferentiableOp<"reshape", [Pure]> {
  let summary = "reshape to a given shape, one entry of which may be -1";
  let description = [{
    The -1 entry takes whatever size keeps the element count; it is dynamic
    when the input has a dynamic dimension, which is how a batch-polymorphic
    model reshapes. FLOPs: 0.

    ```mlir
    %y = var.reshape %x [-1, 96, 1, 1] : tensor<?x96xf32>
    ```
  }];
  let arguments = (ins Var_FloatTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input $shape attr-dict `:` type($input)";
}

def Var_FlattenOp : Var_DifferentiableOp<"flatten", [Pure]> {
  let summary = "merge dimensions start_dim..end_dim into one";
  let description = [{
    Like `torch.flatten`: `start_dim` defaults to 1 and `end_dim` to -1
    (negative values count from the end). FLOPs: 0.
  }];
  let arguments = (ins Var_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "1">:$start_dim,
                       DefaultValuedAttr<I64Attr, "-1">:$end_dim);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`from` $start_dim^)? (`to` $end_dim^)? attr-dict `:` type($input)
  }];
}

def Var_ConcatOp : Var_DifferentiableOp<"concat", [Pure]> {
  let summary = "concatenate tensors along one dimension";
  let description = [{
    All inputs have the same rank, element type and sizes outside `axis`
    (negative counts from the end). FLOPs: 0.
  }];
  let arguments = (ins Variadic<Var_FloatTensor>:$inputs, I64Attr:$axis);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$inputs `axis` $axis attr-dict `:` type($inputs)";
}

def Var_TransposeOp : Var_DifferentiableOp<"transpose", [Pure]> {
  let summary = "permute dimensions, like torch.permute";
  let description = [{
    Result dimension `i` is input dimension `permutation[i]`; `permutation`
    lists every dimension 0..rank-1 exactly once (no negative entries).
    Video clips arrive from the data pipeline as (B, T, C, H, W) and 3-D
    convolutions want (B, C, T, H, W), which is permutation [0, 2, 1, 3, 4].
    The gradient is the transpose by the inverse permutation. FLOPs: 0 (it
    moves data without arithmetic, like `var.reshape`).

    ```mlir
    %y = var.transpose %x [0, 2, 1, 3, 4] : tensor<?x8x3x112x112xf32>
    ```
  }];
  let arguments = (ins Var_FloatTensor:$input,
                       DenseI64ArrayAttr:$permutation);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` type($input)";
}

def Var_FoldTimeOp : Var_DifferentiableOp<"fold_time", [Pure]> {
  let summary = "merge batch and time: (B, T, ...) -> (B*T, ...)";
  let description = [{
    Lets per-frame 2-D layers run on every frame of every clip.
    `var.unfold_time` undoes it. FLOPs: 0.
  }];
  let arguments = (ins Var_FloatTensor:$input);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Var_UnfoldTimeOp : Var_DifferentiableOp<"unfold_time", [Pure]> {
  let summary = "split batch and time: (B*T, ...) -> (B, T, ...)";
  let description = "`frames` is T. FLOPs: 0.";
  let arguments = (ins Var_FloatTensor:$input, I64Attr:$frames);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input `frames` $frames attr-dict `:` type($input)";
}

def Var_MeanTimeOp : Var_DifferentiableOp<"mean_time", [Pure]> {
  let summary = "average over time: (B, T, ...) -> (B, ...)";
  let description = "FLOPs: 1 per input element.";
  let arguments = (ins Var_FloatTensor:$input);
  let results = (outs Var_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Loss
//===----------------------------------------------------------------------===//

def Var_SoftmaxCrossEntropyOp : Var_DifferentiableOp<"softmax_cross_entropy", [Pure]> {
  let summary = "mean softmax cross-entropy of logits against class labels";
  let description = [{
    `logits` is (N, classes), `labels` is (N) integer class indices; the
    result is the mean loss over the batch, an f32 scalar whatever the logits'
    type (losses are computed in FP32). `label_smoothing` in [0, 1) is
    PyTorch's. FLOPs: 3 per logit (shift, exp, sum) and 2 per row.
  }];
  let arguments = (ins Var_FloatTensor:$logits, Var_LabelTensor:$labels,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $logits `,` $labels (`label_smoothing` $label_smoothing^)? attr-dict
    `:` type(operands)
  }];
}

include "dialects/Var/IR/VarTrainOps.td"
include "dialects/Var/IR/VarOptimizerOps.td"

#endif // VAR_OPS_TD
