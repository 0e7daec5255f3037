// Greedy by-size placement of buffers into one arena, gaps searched among the
// buffers whose lifetimes intersect.
#include "runtime/plan/MemoryPlanner.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <string>

using namespace var::plan;

namespace {

PlanError overflow() {
  return PlanError{"memory planner: arena size overflows int64"};
}

bool liveTogether(const BufferLifetime &a, const BufferLifetime &b) {
  return a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
}

/// The most bytes live at once: a sweep over start and end events, where a
/// buffer ending at step s is still live during s.
std::optional<int64_t>
maxLiveBytes(const std::vector<BufferLifetime> &buffers) {
  // (step, delta): an end is recorded at lastStep + 1, and at equal steps
  // ends (negative deltas) come first, so touching lifetimes never add up.
  std::vector<std::pair<int64_t, int64_t>> events;
  for (const BufferLifetime &buffer : buffers) {
    if (buffer.sizeBytes == 0)
      continue;
    events.emplace_back(buffer.firstStep, buffer.sizeBytes);
    // lastStep + 1 may overflow only at INT64_MAX, where no later start exists.
    if (buffer.lastStep != INT64_MAX)
      events.emplace_back(buffer.lastStep + 1, -buffer.sizeBytes);
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0, peak = 0;
  for (const auto &event : events) {
    if (__builtin_add_overflow(live, event.second, &live))
      return std::nullopt;
    peak = std::max(peak, live);
  }
  return peak;
}

} // namespace

Expected<ArenaPlan>
var::plan::planArena(const std::vector<BufferLifetime> &buffers,
                     int64_t alignment) {
  if (alignment < 1)
    return PlanError{"memory planner: alignment must be positive, got " +
                     std::to_string(alignment)};
  std::set<int64_t> ids;
  for (const BufferLifetime &buffer : buffers) {
    std::string which = "memory planner: buffer " + std::to_string(buffer.id);
    if (!ids.insert(buffer.id).second)
      return PlanError{which + " is listed twice"};
    if (buffer.sizeBytes < 0)
      return PlanError{which + " has negative size " +
                       std::to_string(buffer.sizeBytes)};
    if (buffer.firstStep > buffer.lastStep)
      return PlanError{
          which + " ends (step " + std::to_string(buffer.lastStep) +
          ") before it starts (" + std::to_string(buffer.firstStep) + ")"};
  }

  ArenaPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::optional<int64_t> bound = maxLiveBytes(buffers);
  if (!bound)
    return overflow();
  plan.liveBytesLowerBound = *bound;

  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t lhs, size_t rhs) {
    const BufferLifetime &a = buffers[lhs], &b = buffers[rhs];
    if (a.sizeBytes != b.sizeBytes)
      return a.sizeBytes > b.sizeBytes;
    if (a.firstStep != b.firstStep)
      return a.firstStep < b.firstStep;
    return a.id < b.id;
  });

  // (offset, end) of the placed buffers that are live with the current one.
  std::vector<std::pair<int64_t, int64_t>> blocking;
  std::vector<size_t> placed;
  for (size_t current : order) {
    const BufferLifetime &buffer = buffers[current];
    if (buffer.sizeBytes == 0)
      continue;
    blocking.clear();
    for (size_t other : placed)
      if (liveTogether(buffer, buffers[other]))
        blocking.emplace_back(plan.offsets[other],
                              plan.offsets[other] + buffers[other].sizeBytes);
    std::sort(blocking.begin(), blocking.end());

    // Walk the blocking ranges by offset; the first aligned candidate that
    // ends before the next range starts is the lowest gap that fits.
    int64_t candidate = 0;
    for (auto [begin, end] : blocking) {
      int64_t candidateEnd;
      if (__builtin_add_overflow(candidate, buffer.sizeBytes, &candidateEnd))
        return overflow();
      if (candidateEnd <= begin)
        break;
      if (end > candidate) {
        int64_t aligned;
        if (__builtin_add_overflow(end, alignment - 1, &aligned))
          return overflow();
        candidate = aligned / alignment * alignment;
      }
    }
    int64_t end;
    if (__builtin_add_overflow(candidate, buffer.sizeBytes, &end))
      return overflow();
    plan.offsets[current] = candidate;
    plan.arenaBytes = std::max(plan.arenaBytes, end);
    placed.push_back(current);
  }
  return plan;
}
