// Per-rank bytes of model states (parameters, gradients, optimizer state and
// the communication buffers that move them) for a ZeRO stage. This is the
// runtime's allocation policy: the runtime allocates exactly these numbers,
// and the compiler reports them from the same code.
#ifndef VAR_RUNTIME_PLAN_MODELSTATES_H
#define VAR_RUNTIME_PLAN_MODELSTATES_H

#include "runtime/plan/BucketLayout.h"

#include <cstdint>

namespace var::plan {

enum class Precision {
  /// bf16 parameters, gradients and collectives; fp32 master weights and
  /// optimizer state.
  Bf16Mixed,
  /// Everything in fp32; the parameters are their own master copy.
  Fp32,
};

/// The compute element size: 2 bytes for Bf16Mixed, 4 for Fp32.
int64_t computeElementBytes(Precision precision);

struct ModelStatesConfig {
  int zeroStage = 0; // 0..3
  Precision precision = Precision::Bf16Mixed;
  /// fp32 state elements per parameter element: AdamW 2, SGD with momentum
  /// 1, plain SGD 0.
  int64_t stateElementsPerParam = 2;
  /// Optimizer state (and master weights) in pinned host memory, the update
  /// on the host. Needs stage >= 1.
  bool offloadOptimizer = false;
  /// Parameter shards in pinned host memory, gathered to the device bucket by
  /// bucket. Needs stage 3.
  bool offloadParams = false;
  /// Gathered parameter buckets in flight ahead of the one being computed
  /// (stage 3 only).
  int64_t prefetchBuckets = 1;
};

struct SpaceBytes {
  int64_t device = 0;
  int64_t host = 0; // pinned
};

inline SpaceBytes operator+(SpaceBytes a, SpaceBytes b) {
  return {a.device + b.device, a.host + b.host};
}

/// Bytes one rank allocates. With W ranks, P = the layout's total padded
/// elements, S = P / W its shard elements, Bmax = the largest bucket's padded
/// elements, c = the compute element size, master = 4 for Bf16Mixed and 0
/// for Fp32, st = 4 * stateElementsPerParam:
struct ModelStatesBytes {
  /// Stages 0-2: device P*c. Stage 3: device S*c, or with offloadParams host
  /// S*c and nothing on the device.
  SpaceBytes parameters;
  /// Stages 0-1: device P*c. Stages 2-3: device S*c. With offloadOptimizer
  /// also host S*4: the fp32 gradient shard the host optimizer reads and then
  /// reuses for what goes back to the device: the new bf16 parameter shard,
  /// or for Fp32 the update, which the device applies to its own parameters
  /// (so Fp32 keeps no host copy of them).
  SpaceBytes gradients;
  /// Master weights and state: stage 0 P*(master+st), stages 1-3
  /// S*(master+st); on the host instead of the device with offloadOptimizer.
  SpaceBytes optimizerState;
  /// Device: stages 0-1 nothing (all-reduce, reduce-scatter and all-gather run
  /// in place on the full buffers); stage 2 2*Bmax*c (double-buffered
  /// full-bucket gradient staging before each reduce-scatter); stage 3
  /// (prefetchBuckets+1)*Bmax*c of gathered parameter buckets plus the same
  /// 2*Bmax*c of gradient staging. Host: nothing, because offloaded copies go
  /// straight to and from the pinned state; kept so that a policy with host
  /// staging changes only this file.
  SpaceBytes communicationBuffers;
  /// The sum of the four above.
  SpaceBytes total;
};

/// Fails when the layout is unresolved, its element size is not the
/// precision's, the stage is outside 0..3, offloadParams is set below stage
/// 3, offloadOptimizer at stage 0, stateElementsPerParam or prefetchBuckets
/// is negative, or a total overflows int64.
Expected<ModelStatesBytes> modelStatesBytes(const BucketLayout &layout,
                                            const ModelStatesConfig &config);

} // namespace var::plan

#endif
