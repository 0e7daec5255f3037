// The training step's timeline (varrun --trace): every instruction's begin
// and end on its stream, taken without synchronizing, so that the streams
// overlap as in an untimed run. Written as Chrome trace-event JSON (one
// lane per stream, for chrome://tracing or Perfetto) and summarized as each
// stream's busy time and how much of the communication ran while the
// compute stream was busy.
#ifndef VAR_RUNTIME_TRAIN_TIMELINE_H
#define VAR_RUNTIME_TRAIN_TIMELINE_H

#include "runtime/exec/InstructionTimer.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace var::train {

/// One instruction on the timeline, in seconds from the first run's anchor.
struct TimelineEvent {
  std::string op, function, location;
  size_t instruction = 0;
  exec::PlanStream stream = exec::PlanStream::Compute;
  double begin = 0, end = 0;
};

/// Busy time per stream (indexed by PlanStream) and the share of the comm
/// stream's busy time during which the compute stream was busy too.
struct TimelineSummary {
  std::array<double, 4> busy = {};
  double commUnderCompute = 0;
};

class Timeline : public exec::TimelineSink {
public:
  explicit Timeline(int rank) : rank(rank) {}

  /// Places a run after the previous one at the host time it ended; event
  /// bookkeeping (dist.record_event, dist.wait_event, dist.release) is
  /// left out.
  void record(const plan::PlanFunction &function,
              const std::vector<exec::PlanStream> &streams,
              const std::vector<double> &begin,
              const std::vector<double> &end) override;

  const std::vector<TimelineEvent> &getEvents() const { return events; }
  TimelineSummary summarize() const;
  /// The trace-event JSON of everything recorded.
  std::string toJson() const;
  /// Writes toJson() to `path`; empty on success, else the error.
  std::string write(const std::string &path) const;
  /// "compute 12.3 ms, comm 4.5 ms (87% under compute), ..." per step.
  std::string report(int64_t steps) const;

private:
  int rank;
  std::vector<TimelineEvent> events;
  bool started = false;
  std::chrono::steady_clock::time_point start;
  /// Where the last run ended on the trace's clock.
  double lastEnd = 0;
};

/// The name of stream `stream` ("compute", "comm", "copy", "host").
const char *getStreamName(exec::PlanStream stream);

/// Sorted, disjoint intervals covering `intervals`; their total length.
std::vector<std::pair<double, double>>
mergeIntervals(std::vector<std::pair<double, double>> intervals);
double totalLength(const std::vector<std::pair<double, double>> &merged);
/// Length of the intersection of two merged interval lists.
double overlapLength(const std::vector<std::pair<double, double>> &a,
                     const std::vector<std::pair<double, double>> &b);

} // namespace var::train

#endif
