// The planning library the runtime allocates from: bucket membership, padding
// and per-rank slices; arena offsets against lifetimes; and per-rank model
// state bytes against the ZeRO paper's formulas.
#include "runtime/plan/BucketLayout.h"
#include "runtime/plan/MemoryPlanner.h"
#include "runtime/plan/ModelStates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace var::plan;

namespace {

BucketLayout buildOrDie(const std::vector<ParamSpec> &params,
                        int64_t capacityBytes, int64_t elementBytes = 2) {
  Expected<BucketLayout> layout =
      BucketLayout::build(params, capacityBytes, elementBytes);
  EXPECT_TRUE(layout) << layout.error();
  return layout ? *layout : BucketLayout{};
}

BucketLayout resolveOrDie(const BucketLayout &layout, int64_t worldSize) {
  Expected<BucketLayout> resolved = layout.resolve(worldSize);
  EXPECT_TRUE(resolved) << resolved.error();
  return resolved ? *resolved : BucketLayout{};
}

std::vector<std::string> namesOf(const Bucket &bucket) {
  std::vector<std::string> names;
  for (const BucketParam &param : bucket.params)
    names.push_back(param.name);
  return names;
}

/// A ResNet-18 for 400 classes (Kinetics-400), weights and batch-norm affine
/// parameters in execution order: 11.4M parameters, many of them 64-element
/// vectors, a 400-element bias that is not a multiple of 64, and 2.4M-element
/// convolutions that outgrow a 4 MiB bf16 bucket.
std::vector<ParamSpec> resnet18Params() {
  std::vector<ParamSpec> params;
  auto conv = [&](const std::string &name, int64_t out, int64_t in, int64_t k) {
    params.push_back({name + ".weight", out * in * k * k});
  };
  auto bn = [&](const std::string &name, int64_t channels) {
    params.push_back({name + ".weight", channels});
    params.push_back({name + ".bias", channels});
  };
  conv("conv1", 64, 3, 7);
  bn("bn1", 64);
  int64_t in = 64;
  for (int layer = 1; layer <= 4; ++layer) {
    int64_t out = int64_t(64) << (layer - 1);
    for (int block = 0; block < 2; ++block) {
      std::string prefix =
          "layer" + std::to_string(layer) + "." + std::to_string(block);
      conv(prefix + ".conv1", out, in, 3);
      bn(prefix + ".bn1", out);
      conv(prefix + ".conv2", out, out, 3);
      bn(prefix + ".bn2", out);
      if (block == 0 && in != out) {
        conv(prefix + ".downsample.0", out, in, 1);
        bn(prefix + ".downsample.1", out);
      }
      in = out;
    }
  }
  params.push_back({"fc.weight", 400 * 512});
  params.push_back({"fc.bias", 400});
  return params;
}

constexpr int64_t kMiB = 1 << 20;

//===----------------------------------------------------------------------===//
// BucketLayout
//===----------------------------------------------------------------------===//

TEST(BucketLayoutTest, KeepsOrderAndAlignsEveryParameter) {
  std::vector<ParamSpec> params = resnet18Params();
  BucketLayout layout = buildOrDie(params, 4 * kMiB);
  ASSERT_GT(layout.getBuckets().size(), 1u);

  std::vector<std::string> order;
  for (const Bucket &bucket : layout.getBuckets()) {
    int64_t end = 0;
    for (const BucketParam &param : bucket.params) {
      order.push_back(param.name);
      EXPECT_EQ(param.offset % kAlignElements, 0) << param.name;
      EXPECT_GE(param.offset, end) << param.name;
      EXPECT_LT(param.offset - end, kAlignElements) << param.name;
      end = param.offset + param.numel;
    }
    EXPECT_EQ(bucket.numel % kAlignElements, 0);
    EXPECT_GE(bucket.numel, end);
    EXPECT_LT(bucket.numel - end, kAlignElements);
  }
  ASSERT_EQ(order.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(order[i], params[i].name);
  EXPECT_EQ(layout.getNumParams(), static_cast<int64_t>(params.size()));
}

TEST(BucketLayoutTest, StartsANewBucketWhenTheAlignedEndPassesCapacity) {
  // 256 bytes of bf16 = 128 elements. a: [0, 50), b: [64, 114) -> aligned end
  // 128 fits exactly; c would end at 192.
  BucketLayout layout =
      buildOrDie({{"a", 50}, {"b", 50}, {"c", 20}, {"d", 44}}, 256);
  ASSERT_EQ(layout.getBuckets().size(), 2u);
  const Bucket &first = layout.getBuckets()[0];
  const Bucket &second = layout.getBuckets()[1];
  EXPECT_EQ(namesOf(first), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first.params[1].offset, 64);
  EXPECT_EQ(first.numel, 128);
  EXPECT_EQ(namesOf(second), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(second.params[0].offset, 0);
  EXPECT_EQ(second.params[1].offset, 64);
  EXPECT_EQ(second.numel, 128);
  EXPECT_EQ(second.index, 1);

  // One element more than the capacity in fp32 (128 bytes = 32 elements)
  // already splits.
  BucketLayout fp32 = buildOrDie({{"a", 32}, {"b", 1}}, 512, 4);
  EXPECT_EQ(fp32.getBuckets().size(), 1u);
  fp32 = buildOrDie({{"a", 64}, {"b", 1}}, 256, 4);
  EXPECT_EQ(fp32.getBuckets().size(), 2u);
}

TEST(BucketLayoutTest, OversizedParameterGetsABucketOfItsOwn) {
  BucketLayout layout =
      buildOrDie({{"small", 10}, {"big", 1000}, {"after", 10}}, 256);
  ASSERT_EQ(layout.getBuckets().size(), 3u);
  EXPECT_EQ(namesOf(layout.getBuckets()[1]), (std::vector<std::string>{"big"}));
  EXPECT_EQ(layout.getBuckets()[1].numel, 1024);
  EXPECT_EQ(namesOf(layout.getBuckets()[2]),
            (std::vector<std::string>{"after"}));

  std::optional<ParamLocation> big = layout.find("big");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->bucket, 1);
  EXPECT_EQ(big->offset, 0);
  EXPECT_EQ(big->numel, 1000);
  EXPECT_FALSE(layout.find("missing"));
}

TEST(BucketLayoutTest, MembershipAndOffsetsDoNotDependOnWorldSize) {
  BucketLayout unresolved = buildOrDie(resnet18Params(), 4 * kMiB);
  EXPECT_FALSE(unresolved.isResolved());
  EXPECT_EQ(unresolved.getTotalPaddedNumel(), 0);
  for (int64_t worldSize : {1, 2, 3, 8}) {
    BucketLayout resolved = resolveOrDie(unresolved, worldSize);
    EXPECT_EQ(resolved.getWorldSize(), worldSize);
    ASSERT_EQ(resolved.getBuckets().size(), unresolved.getBuckets().size());
    for (size_t b = 0; b < resolved.getBuckets().size(); ++b) {
      const Bucket &got = resolved.getBuckets()[b];
      const Bucket &want = unresolved.getBuckets()[b];
      EXPECT_EQ(got.numel, want.numel);
      ASSERT_EQ(got.params.size(), want.params.size());
      for (size_t p = 0; p < got.params.size(); ++p) {
        EXPECT_EQ(got.params[p].name, want.params[p].name);
        EXPECT_EQ(got.params[p].offset, want.params[p].offset);
      }
    }
  }
  // Resolving a resolved layout for another world size is the same as
  // resolving the original.
  BucketLayout twice = resolveOrDie(resolveOrDie(unresolved, 8), 3);
  BucketLayout once = resolveOrDie(unresolved, 3);
  EXPECT_EQ(twice.getTotalPaddedNumel(), once.getTotalPaddedNumel());
}

TEST(BucketLayoutTest, PadsSoEveryShardStartsAligned) {
  std::vector<ParamSpec> params = resnet18Params();
  BucketLayout unresolved = buildOrDie(params, 4 * kMiB);
  for (int64_t worldSize : {1, 2, 3, 8}) {
    BucketLayout layout = resolveOrDie(unresolved, worldSize);
    int64_t padded = 0, shard = 0, maxPadded = 0;
    for (const Bucket &bucket : layout.getBuckets()) {
      EXPECT_EQ(bucket.paddedNumel % (worldSize * kAlignElements), 0);
      EXPECT_GE(bucket.paddedNumel, bucket.numel);
      EXPECT_LT(bucket.paddedNumel - bucket.numel, worldSize * kAlignElements);
      EXPECT_EQ(bucket.shardNumel * worldSize, bucket.paddedNumel);
      EXPECT_EQ(bucket.shardNumel % kAlignElements, 0);
      if (worldSize == 1) {
        EXPECT_EQ(bucket.paddedNumel, bucket.numel);
      }
      padded += bucket.paddedNumel;
      shard += bucket.shardNumel;
      maxPadded = std::max(maxPadded, bucket.paddedNumel);
    }
    EXPECT_EQ(layout.getTotalPaddedNumel(), padded);
    EXPECT_EQ(layout.getTotalShardNumel(), shard);
    EXPECT_EQ(layout.getTotalShardNumel() * worldSize, padded);
    EXPECT_EQ(layout.getMaxPaddedNumel(), maxPadded);
  }
  // A small case by hand: 100 elements -> numel 128; W=3 pads to 192 = 3*64.
  BucketLayout small = resolveOrDie(buildOrDie({{"w", 100}}, 1024), 3);
  EXPECT_EQ(small.getBuckets()[0].numel, 128);
  EXPECT_EQ(small.getBuckets()[0].paddedNumel, 192);
  EXPECT_EQ(small.getBuckets()[0].shardNumel, 64);
  EXPECT_EQ(small.getTotalParamNumel(), 100);
  EXPECT_EQ(small.getTotalNumel(), 128);
}

TEST(BucketLayoutTest, RankSlicesCoverEachParameterExactlyOnce) {
  std::vector<ParamSpec> params = resnet18Params();
  // Also a bucket of odd-sized parameters that straddle shard boundaries.
  params.push_back({"odd.0", 1001});
  params.push_back({"odd.1", 3});
  params.push_back({"odd.2", 777});
  BucketLayout unresolved = buildOrDie(params, 4 * kMiB);
  for (int64_t worldSize : {1, 2, 3, 8}) {
    BucketLayout layout = resolveOrDie(unresolved, worldSize);
    for (const ParamSpec &param : params) {
      std::optional<ParamLocation> location = layout.find(param.name);
      ASSERT_TRUE(location);
      int64_t shardNumel = layout.getBuckets()[location->bucket].shardNumel;
      int64_t covered = 0;
      for (int64_t rank = 0; rank < worldSize; ++rank) {
        Expected<ShardSlice> slice = layout.shardSlice(param.name, rank);
        ASSERT_TRUE(slice) << slice.error();
        if (slice->numel == 0)
          continue;
        // Slices come in rank order, each continuing where the last ended.
        EXPECT_EQ(slice->paramOffset, covered) << param.name << " r" << rank;
        EXPECT_EQ(slice->bucketOffset, location->offset + slice->paramOffset);
        EXPECT_EQ(slice->bucketOffset, rank * shardNumel + slice->shardOffset);
        EXPECT_GE(slice->shardOffset, 0);
        EXPECT_LE(slice->shardOffset + slice->numel, shardNumel);
        covered += slice->numel;
      }
      EXPECT_EQ(covered, param.numel) << param.name << " W=" << worldSize;
    }
  }
}

TEST(BucketLayoutTest, RejectsBadInputWithAMessage) {
  auto buildError = [](const std::vector<ParamSpec> &params,
                       int64_t capacityBytes, int64_t elementBytes = 2) {
    Expected<BucketLayout> layout =
        BucketLayout::build(params, capacityBytes, elementBytes);
    EXPECT_FALSE(layout);
    return layout.error();
  };
  EXPECT_NE(buildError({{"a", 0}}, 1024).find("'a' has 0 elements"),
            std::string::npos);
  EXPECT_NE(buildError({{"a", -5}}, 1024).find("'a'"), std::string::npos);
  EXPECT_NE(buildError({{"a", 1}, {"b", 1}, {"a", 2}}, 1024)
                .find("'a' is listed twice"),
            std::string::npos);
  EXPECT_NE(buildError({{"a", 1}}, 0).find("capacity"), std::string::npos);
  EXPECT_NE(buildError({{"a", 1}}, 1024, 0).find("element size"),
            std::string::npos);
  EXPECT_NE(buildError({{"a", INT64_MAX}}, 1024, 1).find("overflows"),
            std::string::npos);
  EXPECT_NE(buildError({{"a", INT64_MAX / 4}}, 1024, 8).find("overflows"),
            std::string::npos);
  EXPECT_NE(buildError({{"a", INT64_MAX / 2}, {"b", INT64_MAX / 2}, {"c", 2}},
                       1024, 1)
                .find("overflows"),
            std::string::npos);

  BucketLayout layout = buildOrDie({{"a", 100}}, 1024);
  EXPECT_FALSE(layout.resolve(0));
  EXPECT_FALSE(layout.resolve(-1));
  EXPECT_NE(layout.resolve(INT64_MAX / 2).error().find("overflows"),
            std::string::npos);
  Expected<ShardSlice> unresolved = layout.shardSlice("a", 0);
  EXPECT_FALSE(unresolved);
  EXPECT_NE(unresolved.error().find("resolve"), std::string::npos);

  BucketLayout resolved = resolveOrDie(layout, 2);
  EXPECT_FALSE(resolved.shardSlice("a", 2));
  EXPECT_FALSE(resolved.shardSlice("a", -1));
  EXPECT_NE(resolved.shardSlice("b", 0).error().find("no parameter named 'b'"),
            std::string::npos);
}

TEST(BucketLayoutTest, EmptyModelHasNoBuckets) {
  BucketLayout layout = resolveOrDie(buildOrDie({}, 1024), 4);
  EXPECT_TRUE(layout.getBuckets().empty());
  EXPECT_EQ(layout.getTotalPaddedNumel(), 0);
  EXPECT_EQ(layout.getMaxPaddedNumel(), 0);
}

//===----------------------------------------------------------------------===//
// MemoryPlanner
//===----------------------------------------------------------------------===//

ArenaPlan planOrDie(const std::vector<BufferLifetime> &buffers,
                    int64_t alignment = kDefaultArenaAlignment) {
  Expected<ArenaPlan> plan = planArena(buffers, alignment);
  EXPECT_TRUE(plan) << plan.error();
  return plan ? *plan : ArenaPlan{};
}

/// Fails the test if two buffers live at the same step share a byte or an
/// offset is misaligned; returns the number of live-together pairs.
int checkNoOverlap(const std::vector<BufferLifetime> &buffers,
                   const ArenaPlan &plan, int64_t alignment) {
  int pairs = 0;
  EXPECT_EQ(plan.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % alignment, 0);
    EXPECT_LE(plan.offsets[i] + buffers[i].sizeBytes, plan.arenaBytes);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const BufferLifetime &a = buffers[i], &b = buffers[j];
      if (a.sizeBytes == 0 || b.sizeBytes == 0 || a.lastStep < b.firstStep ||
          b.lastStep < a.firstStep)
        continue;
      ++pairs;
      bool disjoint = plan.offsets[i] + a.sizeBytes <= plan.offsets[j] ||
                      plan.offsets[j] + b.sizeBytes <= plan.offsets[i];
      EXPECT_TRUE(disjoint) << "buffers " << a.id << " and " << b.id;
    }
  }
  return pairs;
}

TEST(MemoryPlannerTest, DisjointLifetimesShareMemory) {
  std::vector<BufferLifetime> buffers = {{1, 1024, 0, 1}, {2, 512, 2, 3}};
  ArenaPlan plan = planOrDie(buffers);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(plan.arenaBytes, 1024);
  EXPECT_EQ(plan.liveBytesLowerBound, 1024);
}

TEST(MemoryPlannerTest, OverlappingLifetimesDoNot) {
  // Lifetimes are inclusive: sharing step 1 is overlapping.
  std::vector<BufferLifetime> buffers = {{1, 1000, 0, 1}, {2, 512, 1, 3}};
  ArenaPlan plan = planOrDie(buffers);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 1024}));
  EXPECT_EQ(plan.arenaBytes, 1536);
  EXPECT_EQ(plan.liveBytesLowerBound, 1512);
  EXPECT_EQ(checkNoOverlap(buffers, plan, 256), 1);
}

TEST(MemoryPlannerTest, ChainsReachTheLowerBound) {
  // Forward activations that shrink, each read only by the next step.
  std::vector<BufferLifetime> shrinking;
  for (int64_t i = 0; i < 8; ++i)
    shrinking.push_back({i, (int64_t(1) << 20) >> i, i, i + 1});
  ArenaPlan plan = planOrDie(shrinking);
  checkNoOverlap(shrinking, plan, 256);
  EXPECT_EQ(plan.liveBytesLowerBound, (1 << 20) + (1 << 19));
  EXPECT_EQ(plan.arenaBytes, plan.liveBytesLowerBound);

  // Equal sizes ping-pong between two slots.
  std::vector<BufferLifetime> equal;
  for (int64_t i = 0; i < 10; ++i)
    equal.push_back({100 + i, 4096, i, i + 1});
  plan = planOrDie(equal);
  checkNoOverlap(equal, plan, 256);
  EXPECT_EQ(plan.arenaBytes, 8192);
  EXPECT_EQ(plan.arenaBytes, plan.liveBytesLowerBound);

  // Nothing live together: the arena is the largest buffer.
  std::vector<BufferLifetime> sequential = {
      {1, 300 * 256, 0, 0}, {2, 700 * 256, 1, 1}, {3, 500 * 256, 2, 2}};
  plan = planOrDie(sequential);
  EXPECT_EQ(plan.arenaBytes, 700 * 256);
  EXPECT_EQ(plan.arenaBytes, plan.liveBytesLowerBound);
}

TEST(MemoryPlannerTest, RandomLifetimesNeverOverlapAndStayNearTheBound) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    // Raw mt19937 output, so the inputs are the same with every standard
    // library.
    std::mt19937 random(seed);
    std::vector<BufferLifetime> buffers;
    for (int64_t id = 0; id < 200; ++id) {
      int64_t first = random() % 100;
      int64_t length = random() % 20;
      int64_t size = (random() % 4 == 0) ? int64_t(random() % (1 << 22))
                                         : int64_t(random() % (1 << 16));
      buffers.push_back({id, size, first, first + length});
    }
    for (int64_t alignment : {1, 256, 4096}) {
      ArenaPlan plan = planOrDie(buffers, alignment);
      EXPECT_GT(checkNoOverlap(buffers, plan, alignment), 0);
      EXPECT_GE(plan.arenaBytes, plan.liveBytesLowerBound);
      // The greedy stays within 1.2x here; 1.5x leaves room, not slack.
      EXPECT_LE(2 * plan.arenaBytes, 3 * plan.liveBytesLowerBound)
          << "seed " << seed << " alignment " << alignment;
    }
  }
}

TEST(MemoryPlannerTest, AlignsEveryOffset) {
  std::vector<BufferLifetime> buffers = {
      {1, 100, 0, 5}, {2, 100, 0, 5}, {3, 1, 0, 5}, {4, 300, 0, 5}};
  ArenaPlan plan = planOrDie(buffers);
  checkNoOverlap(buffers, plan, 256);
  // 300 first at 0, then 100 at 512, 100 at 768, 1 at 1024.
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{512, 768, 1024, 0}));
  EXPECT_EQ(plan.arenaBytes, 1025);

  plan = planOrDie(buffers, 64);
  checkNoOverlap(buffers, plan, 64);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{320, 448, 576, 0}));
}

TEST(MemoryPlannerTest, IsDeterministicAndIgnoresInputOrder) {
  std::mt19937 random(7);
  std::vector<BufferLifetime> buffers;
  for (int64_t id = 0; id < 100; ++id) {
    int64_t first = random() % 50;
    // Many equal sizes, so the tie-breaks decide.
    buffers.push_back({id * 3, int64_t(random() % 4) * 1024, first,
                       first + int64_t(random() % 10)});
  }
  ArenaPlan plan = planOrDie(buffers);
  ArenaPlan again = planOrDie(buffers);
  EXPECT_EQ(plan.offsets, again.offsets);

  std::vector<BufferLifetime> reversed(buffers.rbegin(), buffers.rend());
  ArenaPlan fromReversed = planOrDie(reversed);
  EXPECT_EQ(fromReversed.arenaBytes, plan.arenaBytes);
  for (size_t i = 0; i < buffers.size(); ++i)
    EXPECT_EQ(fromReversed.offsets[buffers.size() - 1 - i], plan.offsets[i]);
}

TEST(MemoryPlannerTest, EmptyBuffersTakeNoSpace) {
  std::vector<BufferLifetime> buffers = {{1, 0, 0, 9}, {2, 512, 0, 9}};
  ArenaPlan plan = planOrDie(buffers);
  EXPECT_EQ(plan.offsets, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(plan.arenaBytes, 512);
  EXPECT_EQ(plan.liveBytesLowerBound, 512);

  ArenaPlan none = planOrDie({});
  EXPECT_EQ(none.arenaBytes, 0);
  EXPECT_EQ(none.liveBytesLowerBound, 0);
}

TEST(MemoryPlannerTest, RejectsBadInputWithAMessage) {
  Expected<ArenaPlan> backwards = planArena({{4, 16, 3, 2}});
  EXPECT_FALSE(backwards);
  EXPECT_NE(backwards.error().find("buffer 4 ends"), std::string::npos);
  EXPECT_FALSE(planArena({{1, -1, 0, 0}}));
  Expected<ArenaPlan> twice = planArena({{1, 16, 0, 0}, {1, 16, 1, 1}});
  EXPECT_FALSE(twice);
  EXPECT_NE(twice.error().find("listed twice"), std::string::npos);
  EXPECT_FALSE(planArena({{1, 16, 0, 0}}, 0));
  Expected<ArenaPlan> huge =
      planArena({{1, INT64_MAX / 2 + 1, 0, 0}, {2, INT64_MAX / 2 + 1, 0, 0}});
  EXPECT_FALSE(huge);
  EXPECT_NE(huge.error().find("overflows"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// ModelStates
//===----------------------------------------------------------------------===//

ModelStatesBytes statesOrDie(const BucketLayout &layout,
                             const ModelStatesConfig &config) {
  Expected<ModelStatesBytes> bytes = modelStatesBytes(layout, config);
  EXPECT_TRUE(bytes) << bytes.error();
  return bytes ? *bytes : ModelStatesBytes{};
}

int64_t sumDevice(const ModelStatesBytes &bytes) {
  return bytes.parameters.device + bytes.gradients.device +
         bytes.optimizerState.device;
}

// ZeRO (Rajbhandari et al. 2020), bf16 mixed precision with AdamW: 2 bytes of
// parameters, 2 of gradients and 12 of optimizer state (fp32 master, m, v)
// per parameter element, partitioned one more kind per stage.
TEST(ModelStatesTest, MatchesTheZeroPaperFormulas) {
  std::vector<ParamSpec> params = resnet18Params();
  BucketLayout unresolved = buildOrDie(params, 4 * kMiB);
  ASSERT_GT(unresolved.getTotalParamNumel(), 10'000'000);
  int64_t numParams = static_cast<int64_t>(params.size());
  for (int64_t worldSize : {1, 2, 8}) {
    BucketLayout layout = resolveOrDie(unresolved, worldSize);
    int64_t p = layout.getTotalPaddedNumel();
    ASSERT_EQ(p % worldSize, 0);
    int64_t numBuckets = static_cast<int64_t>(layout.getBuckets().size());
    EXPECT_LT(p - layout.getTotalParamNumel(),
              worldSize * kAlignElements * (numParams + numBuckets));

    ModelStatesConfig config; // bf16, AdamW
    int64_t expected[] = {16 * p, 4 * p + 12 * p / worldSize,
                          2 * p + 14 * p / worldSize, 16 * p / worldSize};
    for (int stage = 0; stage <= 3; ++stage) {
      config.zeroStage = stage;
      ModelStatesBytes bytes = statesOrDie(layout, config);
      EXPECT_EQ(sumDevice(bytes), expected[stage])
          << "stage " << stage << " W=" << worldSize;
      EXPECT_EQ(bytes.total.host, 0);
    }
  }
}

TEST(ModelStatesTest, CommunicationBuffersFollowTheLargestBucket) {
  BucketLayout layout = resolveOrDie(buildOrDie(resnet18Params(), 4 * kMiB), 8);
  int64_t bucketBytes = layout.getMaxPaddedNumel() * 2;
  ModelStatesConfig config;
  for (int stage : {0, 1}) {
    config.zeroStage = stage;
    EXPECT_EQ(statesOrDie(layout, config).communicationBuffers.device, 0);
  }
  config.zeroStage = 2;
  EXPECT_EQ(statesOrDie(layout, config).communicationBuffers.device,
            2 * bucketBytes);
  config.zeroStage = 3;
  config.prefetchBuckets = 0;
  EXPECT_EQ(statesOrDie(layout, config).communicationBuffers.device,
            3 * bucketBytes);
  config.prefetchBuckets = 2;
  ModelStatesBytes bytes = statesOrDie(layout, config);
  EXPECT_EQ(bytes.communicationBuffers.device, 5 * bucketBytes);
  EXPECT_EQ(bytes.communicationBuffers.host, 0);
  EXPECT_EQ(bytes.total.device,
            sumDevice(bytes) + bytes.communicationBuffers.device);
}

TEST(ModelStatesTest, OffloadMovesStatesToTheHost) {
  BucketLayout layout = resolveOrDie(buildOrDie(resnet18Params(), 4 * kMiB), 2);
  int64_t p = layout.getTotalPaddedNumel(), s = layout.getTotalShardNumel();

  ModelStatesConfig config;
  config.zeroStage = 1;
  config.offloadOptimizer = true;
  ModelStatesBytes bytes = statesOrDie(layout, config);
  EXPECT_EQ(bytes.parameters.device, 2 * p);
  EXPECT_EQ(bytes.gradients.device, 2 * p);
  EXPECT_EQ(bytes.gradients.host, 4 * s);
  EXPECT_EQ(bytes.optimizerState.device, 0);
  EXPECT_EQ(bytes.optimizerState.host, 12 * s);
  EXPECT_EQ(bytes.total.host, 16 * s);
  EXPECT_EQ(bytes.total.device, 4 * p);

  config.zeroStage = 3;
  config.offloadParams = true;
  config.prefetchBuckets = 1;
  bytes = statesOrDie(layout, config);
  int64_t bucketBytes = layout.getMaxPaddedNumel() * 2;
  EXPECT_EQ(bytes.parameters.device, 0);
  EXPECT_EQ(bytes.parameters.host, 2 * s);
  EXPECT_EQ(bytes.gradients.device, 2 * s);
  EXPECT_EQ(bytes.total.host, 18 * s);
  EXPECT_EQ(bytes.total.device, 2 * s + 4 * bucketBytes);
}

TEST(ModelStatesTest, Fp32ParametersAreTheirOwnMaster) {
  BucketLayout layout =
      resolveOrDie(buildOrDie(resnet18Params(), 4 * kMiB, 4), 2);
  int64_t p = layout.getTotalPaddedNumel(), s = layout.getTotalShardNumel();
  ModelStatesConfig config;
  config.precision = Precision::Fp32;
  config.stateElementsPerParam = 1; // SGD with momentum
  ModelStatesBytes bytes = statesOrDie(layout, config);
  EXPECT_EQ(bytes.parameters.device, 4 * p);
  EXPECT_EQ(bytes.gradients.device, 4 * p);
  EXPECT_EQ(bytes.optimizerState.device, 4 * p);

  config.zeroStage = 2;
  config.stateElementsPerParam = 0; // plain SGD
  bytes = statesOrDie(layout, config);
  EXPECT_EQ(bytes.optimizerState.device, 0);
  EXPECT_EQ(bytes.gradients.device, 4 * s);
  EXPECT_EQ(bytes.communicationBuffers.device,
            2 * layout.getMaxPaddedNumel() * 4);
}

TEST(ModelStatesTest, RejectsInconsistentConfigurations) {
  BucketLayout unresolved = buildOrDie(resnet18Params(), 4 * kMiB);
  BucketLayout layout = resolveOrDie(unresolved, 2);
  auto error = [&](const BucketLayout &layout,
                   const ModelStatesConfig &config) {
    Expected<ModelStatesBytes> bytes = modelStatesBytes(layout, config);
    EXPECT_FALSE(bytes);
    return bytes.error();
  };
  ModelStatesConfig config;
  config.zeroStage = 4;
  EXPECT_NE(error(layout, config).find("ZeRO stage"), std::string::npos);
  config.zeroStage = -1;
  EXPECT_NE(error(layout, config).find("ZeRO stage"), std::string::npos);

  config.zeroStage = 2;
  config.offloadParams = true;
  EXPECT_NE(error(layout, config).find("parameter offload"), std::string::npos);

  config = ModelStatesConfig{};
  config.offloadOptimizer = true;
  EXPECT_NE(error(layout, config).find("optimizer offload"), std::string::npos);

  config = ModelStatesConfig{};
  config.stateElementsPerParam = -1;
  error(layout, config);
  config = ModelStatesConfig{};
  config.zeroStage = 3;
  config.prefetchBuckets = -1;
  error(layout, config);

  EXPECT_NE(error(unresolved, ModelStatesConfig{}).find("resolve"),
            std::string::npos);
  config = ModelStatesConfig{};
  config.precision = Precision::Fp32;
  EXPECT_NE(error(layout, config).find("2-byte elements"), std::string::npos);

  BucketLayout huge =
      resolveOrDie(buildOrDie({{"w", INT64_MAX / 4}}, 1024, 2), 1);
  config = ModelStatesConfig{};
  EXPECT_NE(error(huge, config).find("overflow"), std::string::npos);
}

} // namespace
