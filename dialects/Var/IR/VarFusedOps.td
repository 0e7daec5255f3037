// var.fused_elementwise: a chain of elementwise ops run as one kernel. The
// --var-fuse-elementwise pass writes it; people do not.
#ifndef VAR_FUSED_OPS_TD
#define VAR_FUSED_OPS_TD

def Var_FusedElementwiseOp : Var_Op<"fused_elementwise", [Pure,
    DeclareOpInterfaceMethods<Var_FlopCountOpInterface>]> {
  let summary = "a program of elementwise steps, one pass over the elements";
  let description = [{
    Computes, for every element of the result shape, a small program of
    elementwise steps, so that the intermediate tensors of a chain of
    elementwise ops are never written to memory.

    `steps` lists the opcodes (runtime/plan/FusedOpcodes.h: `relu`, `relu6`,
    `sigmoid`, `silu`, `hardswish`, their `*_grad` forms, `add`, `mul`,
    `cast_f32`, `cast_bf16`, `cast_f16`, `dropout_train`, `dropout_grad`),
    each standing for the var op of that name. `args` holds, flattened in
    step order, the inputs of every step (as many as its opcode takes): an
    index below the operand count names an operand, index `#operands + j`
    names the value of step `j`, which must come earlier. `returns` names
    the step each result returns. The dropout steps take one entry each of
    `p` and `key`, in step order, and draw the mask var.dropout_train draws
    with that key, indexed by the element's position in the result shape.

    Every result has the same shape, the shape every step computes in; an
    operand has that shape or broadcasts to it as var.add's operands do.
    A step's element type is its first input's (a cast's is its target),
    the inputs of a step have one element type, and each step rounds to its
    element type exactly as the op it stands for rounds its result: the
    fused op computes bit for bit what the unfused ops compute.
    At most 32 steps and 16 operands. FLOPs: the sum of the steps' FLOPs.

    ```mlir
    // relu_grad(relu(x + y), dy)
    %r = var.fused_elementwise %x, %y, %dy steps ["add", "relu", "relu_grad"]
        args [0, 1, 3, 4, 2] returns [2]
        : tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Var_FloatTensor>:$inputs,
                       StrArrayAttr:$steps, DenseI64ArrayAttr:$args,
                       DenseI64ArrayAttr:$returns,
                       OptionalAttr<DenseF64ArrayAttr>:$p,
                       OptionalAttr<DenseI64ArrayAttr>:$key);
  let results = (outs Variadic<Var_FloatTensor>:$outputs);
  let assemblyFormat = [{
    $inputs `steps` $steps `args` $args `returns` $returns (`p` $p^)?
    (`key` $key^)? attr-dict `:` type($inputs) `->` type($outputs)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The opcode of every step; valid once the op verifies.
    ::llvm::SmallVector<::var::fused::Opcode> getOpcodes();
  }];
}

#endif // VAR_FUSED_OPS_TD
