// The ZeRO allocation policy as arithmetic over a resolved bucket layout.
#include "runtime/plan/ModelStates.h"

#include <initializer_list>
#include <string>

using namespace var::plan;

namespace {

/// Multiplies and sums with overflow checks; `ok` turns false on the first
/// overflow and the results are meaningless after that.
struct CheckedMath {
  bool ok = true;

  int64_t mul(int64_t a, int64_t b) {
    int64_t result = 0;
    ok = ok && !__builtin_mul_overflow(a, b, &result);
    return result;
  }
  int64_t add(int64_t a, int64_t b) {
    int64_t result = 0;
    ok = ok && !__builtin_add_overflow(a, b, &result);
    return result;
  }
};

PlanError configError(const std::string &message) {
  return PlanError{"model states: " + message};
}

} // namespace

int64_t var::plan::computeElementBytes(Precision precision) {
  return precision == Precision::Bf16Mixed ? 2 : 4;
}

Expected<ModelStatesBytes>
var::plan::modelStatesBytes(const BucketLayout &layout,
                            const ModelStatesConfig &config) {
  int stage = config.zeroStage;
  if (stage < 0 || stage > 3)
    return configError("ZeRO stage must be 0, 1, 2 or 3, got " +
                       std::to_string(stage));
  if (config.offloadParams && stage != 3)
    return configError("parameter offload needs ZeRO stage 3, got stage " +
                       std::to_string(stage));
  if (config.offloadOptimizer && stage == 0)
    return configError("optimizer offload needs ZeRO stage 1 or higher");
  if (config.stateElementsPerParam < 0)
    return configError("optimizer state elements per parameter must not be "
                       "negative, got " +
                       std::to_string(config.stateElementsPerParam));
  if (config.prefetchBuckets < 0)
    return configError("prefetch bucket count must not be negative, got " +
                       std::to_string(config.prefetchBuckets));
  if (!layout.isResolved())
    return configError("the bucket layout has no world size; resolve it "
                       "first");
  int64_t c = computeElementBytes(config.precision);
  if (layout.getElementBytes() != c)
    return configError("the bucket layout uses " +
                       std::to_string(layout.getElementBytes()) +
                       "-byte elements but the precision computes in " +
                       std::to_string(c) + "-byte elements");

  CheckedMath m;
  int64_t full = layout.getTotalPaddedNumel();    // P
  int64_t shard = layout.getTotalShardNumel();    // S
  int64_t bucketMax = layout.getMaxPaddedNumel(); // Bmax
  int64_t master = config.precision == Precision::Bf16Mixed ? 4 : 0;
  int64_t perElementState =
      m.add(master, m.mul(4, config.stateElementsPerParam));

  ModelStatesBytes bytes;
  if (stage < 3)
    bytes.parameters.device = m.mul(full, c);
  else if (config.offloadParams)
    bytes.parameters.host = m.mul(shard, c);
  else
    bytes.parameters.device = m.mul(shard, c);

  bytes.gradients.device = m.mul(stage < 2 ? full : shard, c);
  if (config.offloadOptimizer)
    bytes.gradients.host = m.mul(shard, 4);

  int64_t optimizer = m.mul(stage == 0 ? full : shard, perElementState);
  (config.offloadOptimizer ? bytes.optimizerState.host
                           : bytes.optimizerState.device) = optimizer;

  int64_t gradientStaging = m.mul(2, m.mul(bucketMax, c));
  if (stage == 2)
    bytes.communicationBuffers.device = gradientStaging;
  if (stage == 3)
    bytes.communicationBuffers.device =
        m.add(m.mul(m.add(config.prefetchBuckets, 1), m.mul(bucketMax, c)),
              gradientStaging);

  for (const SpaceBytes *part :
       {&bytes.parameters, &bytes.gradients, &bytes.optimizerState,
        &bytes.communicationBuffers}) {
    bytes.total.device = m.add(bytes.total.device, part->device);
    bytes.total.host = m.add(bytes.total.host, part->host);
  }
  if (!m.ok)
    return configError("per-rank bytes overflow int64");
  return bytes;
}
