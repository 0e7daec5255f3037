// The program of a var.fused_elementwise instruction, decoded from its
// attributes and checked against the call's tensors once per call: the CPU
// kernel interprets it per element, the CUDA kernel copies it to the device.
#ifndef VAR_RUNTIME_CPU_FUSEDPROGRAM_H
#define VAR_RUNTIME_CPU_FUSEDPROGRAM_H

#include "runtime/cpu/CpuOps.h"
#include "runtime/plan/FusedOpcodes.h"

#include <string>
#include <vector>

namespace var::cpu {

struct FusedProgram {
  struct Step {
    fused::Opcode opcode;
    /// Values read: < numInputs an operand, else step (index - numInputs).
    int args[2] = {0, 0};
    /// The element type the step rounds to.
    plan::DType dtype = plan::DType::F32;
    /// Dropout: probability, key and the survivors' scale, 1 / (1 - p).
    double p = 0.0;
    int64_t key = 0;
    float scale = 1.0f;
  };
  int numInputs = 0;
  std::vector<Step> steps;
  /// The step each result returns.
  std::vector<int> returns;
  /// The shape of every result, which every step computes in.
  std::vector<int64_t> shape;
};

/// Decodes `call`'s program (steps, args, returns, p, key) and checks it as
/// the verifier does: known opcodes, inputs among operands and earlier
/// steps, one element type per step, results of the computed types, one
/// result shape to which every operand broadcasts.
std::string decodeFusedProgram(const OpCall &call, FusedProgram &program);

} // namespace var::cpu

#endif
