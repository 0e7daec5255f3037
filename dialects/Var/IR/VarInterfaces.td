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

#endif // VAR_INTERFACES_TD
