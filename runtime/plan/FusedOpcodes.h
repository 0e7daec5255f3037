// The step opcodes of var.fused_elementwise: the contract between the
// compiler, which writes them into the op's `steps` attribute by name, and
// the CPU and CUDA kernels, which decode the names once per call. Plain C++,
// so that the dialect, the plan loader and the kernels share one table.
#ifndef VAR_RUNTIME_PLAN_FUSEDOPCODES_H
#define VAR_RUNTIME_PLAN_FUSEDOPCODES_H

#include <cstdint>
#include <optional>
#include <string_view>

namespace var::fused {

/// One opcode per elementwise op that fuses; each computes what the op's own
/// kernel computes, in f32, and rounds to the step's element type.
enum class Opcode : uint8_t {
  Relu,
  Relu6,
  Sigmoid,
  Silu,
  HardSwish,
  ReluGrad, // (y, dy), like the other activation gradients
  Relu6Grad,
  SigmoidGrad,
  SiluGrad, // (x, dy)
  HardSwishGrad,
  Add,
  Mul,
  CastF32, // casts round to their target type
  CastBF16,
  CastF16,
  DropoutTrain, // the mask of (step seed, key, global index)
  DropoutGrad,
};

struct OpcodeInfo {
  Opcode opcode;
  std::string_view name; // in the `steps` attribute
  int arity;
  int flopsPerElement; // the FLOPs of the op it stands for, per element
};

inline constexpr OpcodeInfo kOpcodes[] = {
    {Opcode::Relu, "relu", 1, 1},
    {Opcode::Relu6, "relu6", 1, 1},
    {Opcode::Sigmoid, "sigmoid", 1, 1},
    {Opcode::Silu, "silu", 1, 1},
    {Opcode::HardSwish, "hardswish", 1, 1},
    {Opcode::ReluGrad, "relu_grad", 2, 1},
    {Opcode::Relu6Grad, "relu6_grad", 2, 1},
    {Opcode::SigmoidGrad, "sigmoid_grad", 2, 2},
    {Opcode::SiluGrad, "silu_grad", 2, 4},
    {Opcode::HardSwishGrad, "hardswish_grad", 2, 4},
    {Opcode::Add, "add", 2, 1},
    {Opcode::Mul, "mul", 2, 1},
    {Opcode::CastF32, "cast_f32", 1, 1},
    {Opcode::CastBF16, "cast_bf16", 1, 1},
    {Opcode::CastF16, "cast_f16", 1, 1},
    {Opcode::DropoutTrain, "dropout_train", 1, 1},
    {Opcode::DropoutGrad, "dropout_grad", 1, 1},
};

// getInfo indexes the table by opcode.
constexpr bool opcodesInEnumOrder() {
  int index = 0;
  for (const OpcodeInfo &info : kOpcodes)
    if (static_cast<int>(info.opcode) != index++)
      return false;
  return true;
}
static_assert(opcodesInEnumOrder(), "kOpcodes must follow Opcode's order");

inline constexpr const OpcodeInfo &getInfo(Opcode opcode) {
  return kOpcodes[static_cast<int>(opcode)];
}

inline std::optional<Opcode> parseOpcode(std::string_view name) {
  for (const OpcodeInfo &info : kOpcodes)
    if (info.name == name)
      return info.opcode;
  return std::nullopt;
}

/// Dropout steps take one entry each of the op's `p` and `key`, in step
/// order.
inline constexpr bool isDropout(Opcode opcode) {
  return opcode == Opcode::DropoutTrain || opcode == Opcode::DropoutGrad;
}

/// Limits of one fused op, so that the CUDA kernel holds its program and
/// per-element values in fixed-size arrays.
inline constexpr int kMaxSteps = 32;
inline constexpr int kMaxInputs = 16;
inline constexpr int kMaxResults = kMaxSteps;

/// One step as an op states it (see FusibleElementwiseOpInterface).
struct FusedStep {
  Opcode opcode;
  double p = 0.0;
  int64_t key = 0;
};

} // namespace var::fused

#endif
