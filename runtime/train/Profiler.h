// The FLOPS profiler: times every instruction of the steps it is on for,
// adds the times, the compiler's FLOP counts and the bytes each instruction
// reads and writes up per op kind, and prints achieved TFLOP/s and MFU
// against a peak and the memory traffic per step. On the CPU it times each
// instruction on the host's clock (the kernels are synchronous); on a GPU
// it takes the executor's timeline, so that a step that replays as a graph
// is timed as it runs, without host work or a synchronize per instruction.
#ifndef VAR_RUNTIME_TRAIN_PROFILER_H
#define VAR_RUNTIME_TRAIN_PROFILER_H

#include "runtime/exec/InstructionTimer.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace var::train {

/// Per-op-kind totals.
struct OpProfile {
  int64_t count = 0;
  double seconds = 0;
  int64_t flops = 0;
  /// Operand and result bytes (plan shapes x element size): what the
  /// instructions move if every tensor crosses memory once.
  int64_t bytes = 0;
};

/// One instruction's totals, for the slowest-instructions table: which
/// layer of many of one kind costs the time.
struct InstructionProfile {
  std::string op, location;
  std::string shapes; // "16x8x112x112x32 bf16 -> ..." (operands -> results)
  int64_t count = 0;
  double seconds = 0;
  int64_t flops = 0;
};

/// As an InstructionTimer, on the host's steady clock: an instruction's
/// time is its kernel's on the CPU backend. As a TimelineSink, each
/// instruction's time between its marks on its stream: on a GPU, a
/// replayed step's (Executor::replayTimed), kernels alone.
class Profiler : public exec::InstructionTimer, public exec::TimelineSink {
public:
  void begin(const plan::PlanFunction &function, size_t index) override;
  void end(const plan::PlanFunction &function, size_t index) override;
  void record(const plan::PlanFunction &function,
              const std::vector<exec::PlanStream> &streams,
              const std::vector<double> &begin,
              const std::vector<double> &end) override;

  const std::map<std::string, OpProfile> &getOps() const { return ops; }
  /// Per instruction, keyed by (function, index).
  const std::map<std::pair<std::string, size_t>, InstructionProfile> &
  getInstructions() const {
    return instructions;
  }
  /// A table, one row per op kind by descending time: calls, time, share,
  /// GFLOPs, achieved TFLOP/s and MFU (against `peakTflops`), then the
  /// total, the streams' waits for each other (dist.wait_event and
  /// dist.record_event: idle, in no row, total or share), the total over
  /// `steps` steps of `wallSeconds` and the bytes moved per step with the
  /// TB/s they come to, then the kSlowest slowest instructions (time,
  /// share, TFLOP/s, op, shapes, source location); no newline after the
  /// last line.
  std::string report(double peakTflops, int64_t steps,
                     double wallSeconds) const;

  static constexpr size_t kSlowest = 15;

private:
  /// Adds `seconds` of instruction `index` of `function`.
  void add(const plan::PlanFunction &function, size_t index, double seconds);

  std::map<std::string, OpProfile> ops;
  std::map<std::pair<std::string, size_t>, InstructionProfile> instructions;
  std::chrono::steady_clock::time_point started;
};

/// Bytes of `inst`'s operands and results in `function` (dynamic dims: 0).
int64_t getInstructionBytes(const plan::PlanFunction &function,
                            const plan::Instruction &inst);

/// Parses "A:B" (1 <= A <= B): the optimizer steps to profile.
bool parseStepRange(const std::string &text, int64_t &first, int64_t &last);

} // namespace var::train

#endif
