// The executor's profiling hook: called around every instruction while set.
// The CPU profiler reads a steady clock; a CUDA backend records events on
// the instruction's stream and resolves them after the step.
#ifndef VAR_RUNTIME_EXEC_INSTRUCTIONTIMER_H
#define VAR_RUNTIME_EXEC_INSTRUCTIONTIMER_H

#include "runtime/plan/PlanFile.h"

#include <cstddef>

namespace var::exec {

class InstructionTimer {
public:
  virtual ~InstructionTimer() = default;
  /// Instruction `index` of `function` is about to run.
  virtual void begin(const plan::PlanFunction &function, size_t index) = 0;
  /// It has been issued (on the CPU: it has finished).
  virtual void end(const plan::PlanFunction &function, size_t index) = 0;
};

} // namespace var::exec

#endif
