// The values that change from one run of a plan function to the next
// (dropout's seed, where the run's samples sit in the global batch, each
// optimizer update's learning rate and step). Kernels read them from memory,
// never from their launch arguments, so that a step recorded once (a CUDA
// graph) replays with the values the host writes before each run.
#ifndef VAR_RUNTIME_CPU_STEPSCALARS_H
#define VAR_RUNTIME_CPU_STEPSCALARS_H

#include <cstdint>

namespace var::cpu {

/// What every kernel of a run may read. Where it lives: host memory for a
/// CPU kernel, device memory for a device kernel (see exec::Executor: one
/// block per plan function, written by one copy at the start of each run).
struct StepScalars {
  /// Randomness of this optimizer step (the run seed and the step, mixed by
  /// the caller); dropout hashes it with its key and an element's index.
  uint64_t seed = 0;
  /// Where this run's samples sit in the step's global batch (see
  /// OpCall::batch).
  int64_t firstSample = 0;
};

/// One optimizer update's per-step values; a run's updates follow its
/// StepScalars in the block, one each in instruction order.
struct UpdateScalars {
  float lr = 0;
  int32_t unused = 0;
  int64_t step = 1;
  /// AdamW's 1 - beta1^step and 1 - beta2^step, computed on the host
  /// (exec::computeBiasCorrections) so that every backend uses the same
  /// values.
  double biasCorrection1 = 1, biasCorrection2 = 1;
};

static_assert(sizeof(StepScalars) == 16 && sizeof(UpdateScalars) == 32,
              "the block's layout is shared by host and device code");

/// Bytes of a block with `updates` optimizer updates.
constexpr int64_t stepScalarBytes(int64_t updates) {
  return static_cast<int64_t>(sizeof(StepScalars)) +
         updates * static_cast<int64_t>(sizeof(UpdateScalars));
}

/// The block's `index`th update slot (the pointer may be device memory: no
/// dereference here).
inline UpdateScalars *updateScalarsOf(StepScalars *block, int64_t index) {
  return reinterpret_cast<UpdateScalars *>(block + 1) + index;
}

} // namespace var::cpu

#endif
