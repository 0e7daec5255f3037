// Decoding and checking of var.fused_elementwise programs (FusedProgram.h).
#include "runtime/cpu/FusedProgram.h"
#include "runtime/cpu/KernelChecks.h"

namespace var::cpu {

namespace {

bool isCast(fused::Opcode opcode, plan::DType &target) {
  switch (opcode) {
  case fused::Opcode::CastF32:
    target = plan::DType::F32;
    return true;
  case fused::Opcode::CastBF16:
    target = plan::DType::BF16;
    return true;
  case fused::Opcode::CastF16:
    target = plan::DType::F16;
    return true;
  default:
    return false;
  }
}

std::string dtypeName(plan::DType dtype) {
  return std::string(plan::getDTypeName(dtype));
}

} // namespace

std::string decodeFusedProgram(const OpCall &call, FusedProgram &program) {
  size_t inputs = call.operands.size(), results = call.results.size();
  if (inputs < 1 || inputs > static_cast<size_t>(fused::kMaxInputs) ||
      results < 1 || results > static_cast<size_t>(fused::kMaxResults))
    return "takes 1 to " + std::to_string(fused::kMaxInputs) +
           " operands and 1 to " + std::to_string(fused::kMaxResults) +
           " results, got " + std::to_string(inputs) + " and " +
           std::to_string(results);
  if (std::string error = checkCall(call, inputs, results); !error.empty())
    return error;
  const auto *names = call.inst.getAttr<std::vector<std::string>>("steps");
  const auto *args = call.inst.getAttr<std::vector<int64_t>>("args");
  const auto *returns = call.inst.getAttr<std::vector<int64_t>>("returns");
  if (!names || names->empty() || !args || !returns)
    return "needs 'steps', 'args' and 'returns'";
  if (names->size() > static_cast<size_t>(fused::kMaxSteps))
    return "has " + std::to_string(names->size()) + " steps; at most " +
           std::to_string(fused::kMaxSteps) + " fuse";
  const auto *pAttr = call.inst.getAttr<std::vector<double>>("p");
  std::vector<double> ps = pAttr ? *pAttr : std::vector<double>();
  std::vector<int64_t> keys = call.getInts("key", {});

  program = FusedProgram();
  program.numInputs = static_cast<int>(inputs);
  program.shape = call.results[0].shape;
  std::vector<plan::DType> types;
  for (size_t i = 0; i < inputs; ++i) {
    const std::vector<int64_t> &shape = call.operands[i].shape;
    if (program.shape.empty() ? !shape.empty()
                              : broadcastStrides(shape, program.shape).empty())
      return "operand " + std::to_string(i) + " of shape " +
             formatShape(shape) + " does not broadcast to the result shape " +
             formatShape(program.shape);
    types.push_back(call.operands[i].dtype);
  }
  size_t next = 0, dropouts = 0;
  for (size_t s = 0; s < names->size(); ++s) {
    std::optional<fused::Opcode> opcode = fused::parseOpcode((*names)[s]);
    if (!opcode)
      return "step " + std::to_string(s) + " has unknown opcode '" +
             (*names)[s] + "'";
    FusedProgram::Step step{*opcode};
    int arity = fused::getInfo(*opcode).arity;
    int64_t limit = static_cast<int64_t>(inputs + s);
    for (int a = 0; a < arity; ++a, ++next) {
      if (next >= args->size() || (*args)[next] < 0 || (*args)[next] >= limit)
        return "step " + std::to_string(s) +
               " reads no operand or earlier step";
      step.args[a] = static_cast<int>((*args)[next]);
      if (a > 0 && types[step.args[a]] != types[step.args[0]])
        return "step " + std::to_string(s) + " mixes element types " +
               dtypeName(types[step.args[0]]) + " and " +
               dtypeName(types[step.args[a]]);
    }
    step.dtype = types[step.args[0]];
    plan::DType target;
    if (isCast(*opcode, target))
      step.dtype = target;
    if (fused::isDropout(*opcode)) {
      if (dropouts >= ps.size() || dropouts >= keys.size())
        return "step " + std::to_string(s) + " lacks its 'p' or 'key'";
      step.p = ps[dropouts];
      step.key = keys[dropouts++];
      if (!(step.p >= 0.0 && step.p < 1.0))
        return "drop probability p must be in [0, 1), got " +
               std::to_string(step.p);
      step.scale = static_cast<float>(1.0 / (1.0 - step.p));
    }
    types.push_back(step.dtype);
    program.steps.push_back(step);
  }
  if (next != args->size() || dropouts != ps.size() || dropouts != keys.size())
    return "'args', 'p' or 'key' has entries no step takes";
  if (returns->size() != results)
    return "'returns' names " + std::to_string(returns->size()) +
           " steps for " + std::to_string(results) + " results";
  for (size_t r = 0; r < results; ++r) {
    int64_t step = (*returns)[r];
    if (step < 0 || step >= static_cast<int64_t>(program.steps.size()))
      return "result " + std::to_string(r) + " returns no step";
    if (std::string error = expectShape(call.results[r], program.shape,
                                        "result " + std::to_string(r));
        !error.empty())
      return error;
    if (call.results[r].dtype != program.steps[step].dtype)
      return "result " + std::to_string(r) + " has element type " +
             dtypeName(call.results[r].dtype) + " but its step computes " +
             dtypeName(program.steps[step].dtype);
    program.returns.push_back(static_cast<int>(step));
  }
  return {};
}

} // namespace var::cpu
