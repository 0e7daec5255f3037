// The FLOPS profiler: times every instruction of the steps it is on for,
// adds the times and the compiler's FLOP counts up per op kind, and prints
// achieved TFLOP/s and MFU against a peak.
#ifndef VAR_RUNTIME_TRAIN_PROFILER_H
#define VAR_RUNTIME_TRAIN_PROFILER_H

#include "runtime/exec/InstructionTimer.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace var::train {

/// Per-op-kind totals.
struct OpProfile {
  int64_t count = 0;
  double seconds = 0;
  int64_t flops = 0;
};

/// An InstructionTimer on the host's steady clock: an instruction's time
/// is its kernel's on the CPU backend.
class CpuProfiler : public exec::InstructionTimer {
public:
  void begin(const plan::PlanFunction &function, size_t index) override;
  void end(const plan::PlanFunction &function, size_t index) override;

  const std::map<std::string, OpProfile> &getOps() const { return ops; }
  /// A table, one row per op kind by descending time: calls, time, share,
  /// GFLOPs, achieved TFLOP/s and MFU (against `peakTflops`), then the
  /// total over `steps` steps of `wallSeconds`; no newline after the last
  /// line.
  std::string report(double peakTflops, int64_t steps,
                     double wallSeconds) const;

private:
  std::map<std::string, OpProfile> ops;
  std::chrono::steady_clock::time_point started;
};

/// Parses "A:B" (1 <= A <= B): the optimizer steps to profile.
bool parseStepRange(const std::string &text, int64_t &first, int64_t &last);

} // namespace var::train

#endif
