// CPU kernel of var.fused_elementwise: interprets the program per element
// with the scalar functions of the unfused kernels (ElementwiseScalars.h),
// rounding every step to its element type as the unfused op's store would,
// so that fused and unfused steps agree bit for bit.
#include "runtime/cpu/ElementwiseScalars.h"
#include "runtime/cpu/FusedProgram.h"
#include "runtime/cpu/KernelChecks.h"

#include <algorithm>

namespace var::cpu {

namespace {

using fused::Opcode;

/// One step on element `index` (global, for dropout's mask); `values` holds
/// the operands' elements, then the earlier steps'.
float evalStep(const FusedProgram::Step &step, const float *values,
               uint64_t seed, int64_t index) {
  float a = values[step.args[0]], b = values[step.args[1]];
  switch (step.opcode) {
  case Opcode::Relu:
    return scalar::relu(a);
  case Opcode::Relu6:
    return scalar::relu6(a);
  case Opcode::Sigmoid:
    return scalar::sigmoid(a);
  case Opcode::Silu:
    return scalar::silu(a);
  case Opcode::HardSwish:
    return scalar::hardswish(a);
  case Opcode::ReluGrad:
    return scalar::reluGrad(a, b);
  case Opcode::Relu6Grad:
    return scalar::relu6Grad(a, b);
  case Opcode::SigmoidGrad:
    return scalar::sigmoidGrad(a, b);
  case Opcode::SiluGrad:
    return scalar::siluGrad(a, b);
  case Opcode::HardSwishGrad:
    return scalar::hardswishGrad(a, b);
  case Opcode::Add:
    return scalar::addValues(a, b);
  case Opcode::Mul:
    return scalar::mulValues(a, b);
  case Opcode::CastF32:
  case Opcode::CastBF16:
  case Opcode::CastF16:
    return a; // the rounding to the step's type is the cast
  case Opcode::DropoutTrain:
  case Opcode::DropoutGrad:
    return scalar::dropout(a, seed, step.key, index, step.p, step.scale);
  }
  return a;
}

std::string fusedElementwiseKernel(OpCall &call) {
  FusedProgram program;
  if (std::string error = decodeFusedProgram(call, program); !error.empty())
    return error;
  int64_t n = call.results[0].numel();
  int64_t offset = 0;
  if (std::string error = globalIndexOffset(call, n, offset); !error.empty())
    return error;
  bool dropout = std::any_of(program.steps.begin(), program.steps.end(),
                             [](const FusedProgram::Step &step) {
                               return step.opcode == Opcode::DropoutTrain ||
                                      step.opcode == Opcode::DropoutGrad;
                             });
  if (dropout && !call.scalars)
    return "dropout needs the run's seed (no step scalars)";
  uint64_t seed = call.scalars ? call.scalars->seed : 0;

  // Operands widened once; a broadcast operand is read through its strides
  // (none: the operand has the result's shape).
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<int64_t>> strides;
  for (const TensorView &operand : call.operands) {
    inputs.push_back(readFloats(operand));
    strides.push_back(operand.shape == program.shape
                          ? std::vector<int64_t>()
                          : broadcastStrides(operand.shape, program.shape));
  }
  std::vector<std::vector<float>> outputs(
      call.results.size(), std::vector<float>(static_cast<size_t>(n)));
  std::vector<float> values(program.numInputs + program.steps.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < program.numInputs; ++k)
      values[k] = inputs[k][strides[k].empty()
                                ? i
                                : offsetOf(i, program.shape, strides[k])];
    for (size_t s = 0; s < program.steps.size(); ++s) {
      const FusedProgram::Step &step = program.steps[s];
      values[program.numInputs + s] = roundToDType(
          evalStep(step, values.data(), seed, offset + i), step.dtype);
    }
    for (size_t r = 0; r < outputs.size(); ++r)
      outputs[r][i] = values[program.numInputs + program.returns[r]];
  }
  for (size_t r = 0; r < outputs.size(); ++r)
    writeFloats(outputs[r], call.results[r]);
  return {};
}

} // namespace

void registerFusedElementwiseOps(OpTable &table) {
  table["var.fused_elementwise"] = fusedElementwiseKernel;
}

} // namespace var::cpu
