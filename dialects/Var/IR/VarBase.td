// The `var` dialect: a video action recognition model as a person would write
// it, with parameters as module-level symbols and a batch-polymorphic forward.
#ifndef VAR_BASE_TD
#define VAR_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Var_Dialect : Dialect {
  let name = "var";
  let cppNamespace = "::var";
  let summary = "Model-level ops for video action recognition networks";
  let description = [{
    A model is a module holding `var.param` declarations (the trainable
    parameters and buffers, named as in a PyTorch `state_dict`) and a
    `func.func @forward` that reads them with `var.get_param` and maps a batch
    of clips to logits. Tensors are NCHW (2-D) or NCDHW (3-D); the batch
    dimension of the forward's inputs is usually dynamic (`?`), and the
    compiler specializes it (`--var-specialize-batch`).

    Every op infers its result types and rejects bad shapes or attributes with
    a diagnostic; every op reports its forward FLOPs through
    `FlopCountOpInterface` (a multiply-add counts as 2 FLOPs).
  }];
}

class Var_Op<string mnemonic, list<Trait> traits = []>
    : Op<Var_Dialect, mnemonic, traits>;

// Float tensors carry activations and parameters; labels are integers.
def Var_FloatTensor : RankedTensorOf<[F32, BF16, F16]>;
def Var_LabelTensor : RankedTensorOf<[AnySignlessInteger]>;
// Window positions of var.max_pool_with_indices (at most 127 a window).
def Var_IndexTensor : RankedTensorOf<[I8]>;
def Var_ParamTensor : RankedTensorOf<[F32, BF16, F16, AnySignlessInteger]>;
// Losses and their gradients are f32 scalars whatever the compute type.
def Var_LossTensor : 0DTensorOf<[F32]> {
  let builderCall =
      "::mlir::RankedTensorType::get({}, $_builder.getF32Type())";
}

def Var_InitKind : I32EnumAttr<"InitKind", "how a parameter is initialized", [
  I32EnumAttrCase<"zeros", 0>,
  I32EnumAttrCase<"ones", 1>,
  I32EnumAttrCase<"normal", 2>,
  I32EnumAttrCase<"uniform", 3>,
  I32EnumAttrCase<"kaiming_normal_fan_in", 4>,
  I32EnumAttrCase<"kaiming_normal_fan_out", 5>,
  I32EnumAttrCase<"kaiming_uniform", 6>,
  I32EnumAttrCase<"xavier_uniform", 7>,
]> {
  let cppNamespace = "::var";
}

#endif // VAR_BASE_TD
