// Flat communication buckets: which parameters share a bucket, where each
// starts, and how a bucket is padded and split into one shard per rank. The
// compiler's reports and the runtime's allocation both come from this code.
#ifndef VAR_RUNTIME_PLAN_BUCKETLAYOUT_H
#define VAR_RUNTIME_PLAN_BUCKETLAYOUT_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace var::plan {

/// Why a planning input was rejected. The planning library never throws and
/// never asserts on its inputs: a plan file is user input.
struct PlanError {
  std::string message;
};

/// A value or the PlanError that prevented it.
template <typename T> class Expected {
public:
  Expected(T value) : value(std::move(value)) {}
  Expected(PlanError error) : errorMessage(std::move(error.message)) {}

  explicit operator bool() const { return value.has_value(); }
  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }
  /// Empty when there is a value.
  const std::string &error() const { return errorMessage; }

private:
  std::optional<T> value;
  std::string errorMessage;
};

/// Parameters start at a multiple of this many elements inside their bucket,
/// and buckets are padded so that every rank's shard does too: 128-byte
/// alignment in bf16, 256 in fp32, whatever the world size.
inline constexpr int64_t kAlignElements = 64;

/// One trainable parameter, as the model lists it.
struct ParamSpec {
  std::string name;
  int64_t numel = 0;
};

/// A parameter's place in its bucket, in elements.
struct BucketParam {
  std::string name;
  int64_t offset = 0;
  int64_t numel = 0;
};

struct Bucket {
  int64_t index = 0;
  std::vector<BucketParam> params; // in execution order
  /// End of the last parameter, rounded up to kAlignElements.
  int64_t numel = 0;
  /// numel rounded up to worldSize * kAlignElements; 0 until resolved.
  int64_t paddedNumel = 0;
  /// paddedNumel / worldSize: the elements each rank owns; 0 until resolved.
  int64_t shardNumel = 0;
};

/// Where a parameter lives.
struct ParamLocation {
  int64_t bucket = 0;
  int64_t offset = 0; // in the bucket, elements
  int64_t numel = 0;
};

/// The part of a parameter that one rank's shard holds, which is exactly the
/// slice that rank's optimizer updates. All three offsets name the same first
/// element; numel is 0 when the rank holds none of the parameter.
struct ShardSlice {
  int64_t bucketOffset = 0; // from the bucket start
  int64_t shardOffset = 0;  // from the rank's shard start
  int64_t paramOffset = 0;  // from the parameter start
  int64_t numel = 0;
};

/// Intersects [param.offset, param.offset + param.numel) with rank's shard
/// [rank * shardNumel, (rank + 1) * shardNumel). Pure arithmetic for callers
/// that walk buckets themselves; BucketLayout::shardSlice checks its inputs.
ShardSlice intersectShard(const BucketParam &param, int64_t shardNumel,
                          int64_t rank);

/// Buckets in execution order. Membership and offsets depend only on the
/// parameter list, the capacity and the element size, never on the world
/// size: a plan made without one is resolved at load time by the same code.
class BucketLayout {
public:
  /// Fills buckets in order; the next parameter opens a new bucket when its
  /// aligned end would pass capacityBytes. A parameter larger than the
  /// capacity gets a bucket of its own; no parameter is ever split. The
  /// result is unresolved (getWorldSize() == 0).
  static Expected<BucketLayout> build(const std::vector<ParamSpec> &params,
                                      int64_t capacityBytes,
                                      int64_t elementBytes);

  /// This layout with padding and shards for worldSize ranks. Resolving an
  /// already resolved layout again is allowed and only changes the padding.
  Expected<BucketLayout> resolve(int64_t worldSize) const;

  bool isResolved() const { return worldSize != 0; }
  int64_t getWorldSize() const { return worldSize; }
  int64_t getCapacityBytes() const { return capacityBytes; }
  int64_t getElementBytes() const { return elementBytes; }
  const std::vector<Bucket> &getBuckets() const { return buckets; }
  int64_t getNumParams() const { return static_cast<int64_t>(index.size()); }

  std::optional<ParamLocation> find(std::string_view name) const;

  /// The slice of parameter `name` held by `rank`; fails when the layout is
  /// unresolved, the name is unknown or the rank is outside [0, worldSize).
  Expected<ShardSlice> shardSlice(std::string_view name, int64_t rank) const;

  /// Sum of parameter sizes: the model's real parameter count.
  int64_t getTotalParamNumel() const { return totalParamNumel; }
  /// Sum of Bucket::numel: parameters plus alignment gaps.
  int64_t getTotalNumel() const { return totalNumel; }
  /// Sum of Bucket::paddedNumel (0 until resolved).
  int64_t getTotalPaddedNumel() const { return totalPaddedNumel; }
  /// Sum of Bucket::shardNumel: what one rank owns (0 until resolved).
  int64_t getTotalShardNumel() const { return totalShardNumel; }
  /// The largest Bucket::paddedNumel (0 until resolved or when empty).
  int64_t getMaxPaddedNumel() const { return maxPaddedNumel; }

private:
  std::vector<Bucket> buckets;
  /// name -> (bucket, position in Bucket::params)
  std::map<std::string, std::pair<int64_t, int64_t>, std::less<>> index;
  int64_t capacityBytes = 0;
  int64_t elementBytes = 0;
  int64_t worldSize = 0;
  int64_t totalParamNumel = 0;
  int64_t totalNumel = 0;
  int64_t totalPaddedNumel = 0;
  int64_t totalShardNumel = 0;
  int64_t maxPaddedNumel = 0;
};

} // namespace var::plan

#endif
