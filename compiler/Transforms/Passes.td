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

#endif // VAR_COMPILER_TRANSFORMS_PASSES_TD
