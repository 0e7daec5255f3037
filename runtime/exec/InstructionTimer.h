// The executor's profiling hooks: a timer called around every instruction
// (the executor synchronizes after each, so each is timed alone), and a
// timeline that gets every instruction's begin and end after a run, taken
// on the instruction's stream without synchronizing.
#ifndef VAR_RUNTIME_EXEC_INSTRUCTIONTIMER_H
#define VAR_RUNTIME_EXEC_INSTRUCTIONTIMER_H

#include "runtime/exec/Backend.h"
#include "runtime/plan/PlanFile.h"

#include <cstddef>
#include <vector>

namespace var::exec {

class InstructionTimer {
public:
  virtual ~InstructionTimer() = default;
  /// Instruction `index` of `function` is about to run.
  virtual void begin(const plan::PlanFunction &function, size_t index) = 0;
  /// It has been issued (on the CPU: it has finished).
  virtual void end(const plan::PlanFunction &function, size_t index) = 0;
};

/// The executor's timeline hook: after each run of a function while set,
/// when every instruction began and ended on its stream, measured without
/// synchronizing (Backend::markTime), so that streams overlap as they do
/// in an untimed run.
class TimelineSink {
public:
  virtual ~TimelineSink() = default;
  /// Instruction i of `function` ran on `streams[i]` from `begin[i]` to
  /// `end[i]`, in seconds from the run's anchor (taken after its arguments
  /// were copied in).
  virtual void record(const plan::PlanFunction &function,
                      const std::vector<PlanStream> &streams,
                      const std::vector<double> &begin,
                      const std::vector<double> &end) = 0;
};

} // namespace var::exec

#endif
