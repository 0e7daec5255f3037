// Bucket membership, aligned offsets, and per-world-size padding and shards.
#include "runtime/plan/BucketLayout.h"

#include <algorithm>

using namespace var::plan;

namespace {

/// The smallest multiple of `multiple` (> 0) that is >= value (>= 0), or
/// nothing when it does not fit in int64.
std::optional<int64_t> roundUp(int64_t value, int64_t multiple) {
  int64_t sum;
  if (__builtin_add_overflow(value, multiple - 1, &sum))
    return std::nullopt;
  return sum / multiple * multiple;
}

PlanError overflow(const std::string &what) {
  return PlanError{"bucket layout: " + what + " overflows int64"};
}

} // namespace

ShardSlice var::plan::intersectShard(const BucketParam &param,
                                     int64_t shardNumel, int64_t rank) {
  int64_t shardBegin = rank * shardNumel;
  int64_t begin = std::max(param.offset, shardBegin);
  int64_t end = std::min(param.offset + param.numel, shardBegin + shardNumel);
  if (begin >= end)
    return ShardSlice{};
  return ShardSlice{begin, begin - shardBegin, begin - param.offset,
                    end - begin};
}

Expected<BucketLayout> BucketLayout::build(const std::vector<ParamSpec> &params,
                                           int64_t capacityBytes,
                                           int64_t elementBytes) {
  if (capacityBytes <= 0)
    return PlanError{"bucket layout: capacity must be positive, got " +
                     std::to_string(capacityBytes) + " bytes"};
  if (elementBytes <= 0)
    return PlanError{"bucket layout: element size must be positive, got " +
                     std::to_string(elementBytes) + " bytes"};

  BucketLayout layout;
  layout.capacityBytes = capacityBytes;
  layout.elementBytes = elementBytes;
  // The element count past which a bucket is over capacity.
  int64_t capacityNumel = capacityBytes / elementBytes;

  for (const ParamSpec &param : params) {
    if (param.numel <= 0)
      return PlanError{"bucket layout: parameter '" + param.name + "' has " +
                       std::to_string(param.numel) + " elements"};
    if (__builtin_add_overflow(layout.totalParamNumel, param.numel,
                               &layout.totalParamNumel))
      return overflow("the parameter count");

    // Try the open bucket first: the parameter joins it when its aligned end
    // stays within capacity. An empty bucket takes any parameter, which is
    // how an oversized one ends up alone.
    std::optional<int64_t> end;
    if (!layout.buckets.empty()) {
      Bucket &open = layout.buckets.back();
      int64_t paramEnd;
      if (!__builtin_add_overflow(open.numel, param.numel, &paramEnd))
        end = roundUp(paramEnd, kAlignElements);
      if (end && *end > capacityNumel)
        end.reset();
    }
    if (!end) {
      Bucket bucket;
      bucket.index = static_cast<int64_t>(layout.buckets.size());
      layout.buckets.push_back(std::move(bucket));
      end = roundUp(param.numel, kAlignElements);
      int64_t bytes;
      if (!end || __builtin_mul_overflow(*end, elementBytes, &bytes))
        return overflow("the size of parameter '" + param.name + "'");
    }

    Bucket &bucket = layout.buckets.back();
    bool inserted = layout.index
                        .try_emplace(param.name, bucket.index,
                                     static_cast<int64_t>(bucket.params.size()))
                        .second;
    if (!inserted)
      return PlanError{"bucket layout: parameter '" + param.name +
                       "' is listed twice"};
    // bucket.numel is always aligned, so it is the parameter's offset.
    bucket.params.push_back(BucketParam{param.name, bucket.numel, param.numel});
    bucket.numel = *end;
  }

  for (const Bucket &bucket : layout.buckets)
    if (__builtin_add_overflow(layout.totalNumel, bucket.numel,
                               &layout.totalNumel))
      return overflow("the total bucket size");
  return layout;
}

Expected<BucketLayout> BucketLayout::resolve(int64_t worldSize) const {
  if (worldSize < 1)
    return PlanError{"bucket layout: world size must be at least 1, got " +
                     std::to_string(worldSize)};
  int64_t shardAlign;
  if (__builtin_mul_overflow(worldSize, kAlignElements, &shardAlign))
    return overflow("the shard alignment for world size " +
                    std::to_string(worldSize));

  BucketLayout resolved = *this;
  resolved.worldSize = worldSize;
  resolved.totalPaddedNumel = 0;
  resolved.totalShardNumel = 0;
  resolved.maxPaddedNumel = 0;
  for (Bucket &bucket : resolved.buckets) {
    std::optional<int64_t> padded = roundUp(bucket.numel, shardAlign);
    int64_t padBytes;
    if (!padded || __builtin_mul_overflow(*padded, elementBytes, &padBytes) ||
        __builtin_add_overflow(resolved.totalPaddedNumel, *padded,
                               &resolved.totalPaddedNumel))
      return overflow("the padded size of bucket " +
                      std::to_string(bucket.index));
    bucket.paddedNumel = *padded;
    bucket.shardNumel = *padded / worldSize;
    // Cannot overflow: the shard total is at most the padded total.
    resolved.totalShardNumel += bucket.shardNumel;
    resolved.maxPaddedNumel = std::max(resolved.maxPaddedNumel, *padded);
  }
  return resolved;
}

std::optional<ParamLocation> BucketLayout::find(std::string_view name) const {
  auto it = index.find(name);
  if (it == index.end())
    return std::nullopt;
  auto [bucketIndex, position] = it->second;
  const BucketParam &param = buckets[bucketIndex].params[position];
  return ParamLocation{bucketIndex, param.offset, param.numel};
}

Expected<ShardSlice> BucketLayout::shardSlice(std::string_view name,
                                              int64_t rank) const {
  if (!isResolved())
    return PlanError{"bucket layout: shards need a world size; resolve the "
                     "layout first"};
  if (rank < 0 || rank >= worldSize)
    return PlanError{"bucket layout: rank " + std::to_string(rank) +
                     " is outside world size " + std::to_string(worldSize)};
  auto it = index.find(name);
  if (it == index.end())
    return PlanError{"bucket layout: no parameter named '" + std::string(name) +
                     "'"};
  auto [bucketIndex, position] = it->second;
  const Bucket &bucket = buckets[bucketIndex];
  return intersectShard(bucket.params[position], bucket.shardNumel, rank);
}
