// Static offsets in one arena for buffers with known lifetimes: the runtime
// allocates the arena once at load time and the training step only indexes it.
#ifndef VAR_RUNTIME_PLAN_MEMORYPLANNER_H
#define VAR_RUNTIME_PLAN_MEMORYPLANNER_H

#include "runtime/plan/BucketLayout.h" // Expected, PlanError

#include <cstdint>
#include <vector>

namespace var::plan {

inline constexpr int64_t kDefaultArenaAlignment = 256;

/// A buffer live from the start of firstStep through the end of lastStep.
struct BufferLifetime {
  int64_t id = 0;
  int64_t sizeBytes = 0;
  int64_t firstStep = 0;
  int64_t lastStep = 0; // inclusive
};

struct ArenaPlan {
  /// offsets[i] is where buffers[i] of the input starts; a multiple of the
  /// alignment. Buffers of size 0 get offset 0 and occupy nothing.
  std::vector<int64_t> offsets;
  /// The end of the highest placed buffer.
  int64_t arenaBytes = 0;
  /// The most bytes live at any one step: no placement can use less arena.
  int64_t liveBytesLowerBound = 0;
};

/// Places every buffer so that two whose [firstStep, lastStep] intervals
/// intersect never share a byte. Deterministic greedy: buffers in order of
/// size descending (ties: firstStep, then id), each at the lowest aligned
/// offset that fits between the already placed buffers live at the same time.
/// Fails on a negative size, firstStep > lastStep, a repeated id, an
/// alignment below 1, or an arena that does not fit in int64.
Expected<ArenaPlan> planArena(const std::vector<BufferLifetime> &buffers,
                              int64_t alignment = kDefaultArenaAlignment);

} // namespace var::plan

#endif
