// Per-op knowledge that passes and reports query without switching on op kinds.
#ifndef VAR_INTERFACES_TD
#define VAR_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Var_FlopCountOpInterface : OpInterface<"FlopCountOpInterface"> {
  let cppNamespace = "::var";
  let description = [{
    Forward floating-point operations of one op instance, for its current
    operand and result shapes. A multiply-add counts as 2 FLOPs. Used by
    `varc --summary`, and later by the profiler and MFU reports.
  }];
  let methods = [
    InterfaceMethod<[{
        FLOPs of this op's forward computation, or std::nullopt if a shape it
        depends on is dynamic.
      }],
      "std::optional<int64_t>", "getForwardFlops", (ins)>,
  ];
}

def Var_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::var";
  let description = [{
    Reverse-mode differentiation of one op: given the gradients of its
    results, build the ops that compute the gradients of its operands. The
    autodiff pass calls it on every op of a training step in reverse order
    and sums the contributions of values with several uses.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds, at the builder's insertion point, the gradients of the
        operands for which `needed` is true (one entry per operand) into
        `operandGrads` (resized to the operand count; entries not needed stay
        null). `resultGrads` has one entry per result; an entry is null where
        that result does not reach the loss, and at least one is not. Emits
        a diagnostic and fails where no gradient exists (an integer operand
        that is needed).
      }],
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

def Var_FusibleElementwiseOpInterface
    : OpInterface<"FusibleElementwiseOpInterface"> {
  let cppNamespace = "::var";
  let description = [{
    An op that computes each result element from the operand elements at
    the same (broadcast) position only, and that var.fused_elementwise can
    run as one step of its program (--var-fuse-elementwise). The opcode
    table is runtime/plan/FusedOpcodes.h.
  }];
  let methods = [
    InterfaceMethod<[{
        This op as a step of a fused program: its opcode and, for dropout,
        its probability and key.
      }],
      "::var::fused::FusedStep", "getFusedStep", (ins)>,
  ];
}

#endif // VAR_INTERFACES_TD
