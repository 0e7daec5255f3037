// builtin:synthetic: clips are reproducible byte for byte, labels balanced,
// the label readable from motion but not from any single frame; and the
// sampler deals every global batch out identically for any world size and
// accumulation split.
#include "runtime/data/Synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

using namespace var::data;

namespace {

SyntheticConfig smallConfig() {
  SyntheticConfig config;
  config.frames = 6;
  config.channels = 3;
  config.height = 24;
  config.width = 32;
  config.numClasses = 10;
  config.seed = 1234;
  config.trainSize = 800;
  config.evalSize = 96;
  return config;
}

std::vector<float> clipOf(const SyntheticConfig &config, bool eval,
                          int64_t index, int64_t &label) {
  std::vector<float> clip(getSyntheticClipElements(config));
  makeClip(config, eval, index, clip.data(), label);
  return clip;
}

// A 64-bit FNV-1a of the bytes: pins the generator across machines.
uint64_t fnv1a(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

} // namespace

TEST(Synthetic, ValidatesConfig) {
  EXPECT_EQ(validateSyntheticConfig(smallConfig()), "");
  SyntheticConfig config = smallConfig();
  config.frames = 1;
  EXPECT_NE(validateSyntheticConfig(config).find("frames"), std::string::npos);
  config = smallConfig();
  config.taskClasses = 9;
  EXPECT_NE(validateSyntheticConfig(config).find("taskClasses"),
            std::string::npos);
  config = smallConfig();
  config.numClasses = 3;
  config.taskClasses = 4;
  EXPECT_NE(validateSyntheticConfig(config), "");
  config = smallConfig();
  config.width = 3;
  EXPECT_NE(validateSyntheticConfig(config).find("width"), std::string::npos);
  config = smallConfig();
  config.trainSize = 0;
  EXPECT_NE(validateSyntheticConfig(config), "");
}

TEST(Synthetic, DefaultTaskClasses) {
  SyntheticConfig config = smallConfig();
  EXPECT_EQ(getSyntheticTaskClasses(config), 8);
  config.numClasses = 5;
  EXPECT_EQ(getSyntheticTaskClasses(config), 5);
  config.taskClasses = 2;
  EXPECT_EQ(getSyntheticTaskClasses(config), 2);
}

TEST(Synthetic, DirectionsAreDistinctCompassPoints) {
  for (int64_t k = 1; k <= kSyntheticMaxTaskClasses; ++k) {
    std::set<std::pair<int, int>> seen;
    for (int64_t label = 0; label < k; ++label) {
      auto d = getSyntheticDirection(k, label);
      EXPECT_TRUE(d.first != 0 || d.second != 0);
      EXPECT_LE(std::abs(d.first), 1);
      EXPECT_LE(std::abs(d.second), 1);
      seen.insert(d);
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), k);
  }
  // Two classes are opposite: east and west.
  EXPECT_EQ(getSyntheticDirection(2, 0), std::make_pair(1, 0));
  EXPECT_EQ(getSyntheticDirection(2, 1), std::make_pair(-1, 0));
}

TEST(Synthetic, SameBytesTwice) {
  SyntheticConfig config = smallConfig();
  for (bool eval : {false, true})
    for (int64_t index : {0, 1, 57, 95}) {
      int64_t labelA, labelB;
      std::vector<float> a = clipOf(config, eval, index, labelA);
      std::vector<float> b = clipOf(config, eval, index, labelB);
      EXPECT_EQ(labelA, labelB);
      ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    }
}

// The generator is integer arithmetic plus one exact float multiply, so
// these hashes hold on every machine; a change here changes every run's
// data and must be deliberate.
TEST(Synthetic, PinnedBytes) {
  SyntheticConfig config = smallConfig();
  int64_t label;
  std::vector<float> clip = clipOf(config, false, 3, label);
  uint64_t trainHash = fnv1a(clip.data(), clip.size() * sizeof(float));
  std::vector<float> evalClip = clipOf(config, true, 3, label);
  uint64_t evalHash = fnv1a(evalClip.data(), evalClip.size() * sizeof(float));
  EXPECT_NE(trainHash, evalHash);
  // Every value is a multiple of 1/32 in [(8 - 64) / 32, (255 - 64) / 32].
  for (float v : clip) {
    float scaled = v * 32.0f;
    EXPECT_EQ(scaled, std::floor(scaled));
    EXPECT_GE(scaled, 8 - 64);
    EXPECT_LE(scaled, 255 - 64);
  }
  EXPECT_EQ(trainHash, 0xa337c6f80cad39a0ULL) << std::hex << trainHash;
  EXPECT_EQ(evalHash, 0x2cea7a4605a59b86ULL) << std::hex << evalHash;
}

TEST(Synthetic, DifferentIndicesSeedsAndSplitsDiffer) {
  SyntheticConfig config = smallConfig();
  std::set<uint64_t> hashes;
  int64_t label;
  for (int64_t index = 0; index < 50; ++index) {
    std::vector<float> clip = clipOf(config, false, index, label);
    hashes.insert(fnv1a(clip.data(), clip.size() * sizeof(float)));
    clip = clipOf(config, true, index, label);
    hashes.insert(fnv1a(clip.data(), clip.size() * sizeof(float)));
  }
  config.seed = 99;
  std::vector<float> other = clipOf(config, false, 0, label);
  hashes.insert(fnv1a(other.data(), other.size() * sizeof(float)));
  EXPECT_EQ(hashes.size(), 101u);
}

TEST(Synthetic, LabelsInRangeAndBalanced) {
  for (int64_t classes : {2, 3, 5, 8}) {
    SyntheticConfig config = smallConfig();
    config.taskClasses = classes;
    config.height = config.width = 8; // labels only; keep clips cheap
    for (int64_t size : {int64_t(97), int64_t(400)}) {
      std::vector<int64_t> count(config.numClasses, 0);
      int64_t label;
      for (int64_t index = 0; index < size; ++index) {
        clipOf(config, false, index, label);
        ASSERT_GE(label, 0);
        ASSERT_LT(label, classes);
        ++count[label];
      }
      // Labels come in shuffled blocks of every class: any prefix is
      // balanced to within one clip.
      for (int64_t c = 0; c < classes; ++c) {
        EXPECT_GE(count[c], size / classes) << classes << " classes";
        EXPECT_LE(count[c], size / classes + 1) << classes << " classes";
      }
    }
  }
}

TEST(Synthetic, BatchMatchesClips) {
  SyntheticConfig config = smallConfig();
  std::vector<int64_t> indices = {5, 0, 77, 5};
  int64_t elements = getSyntheticClipElements(config);
  std::vector<float> clips(indices.size() * elements);
  std::vector<int64_t> labels(indices.size());
  makeBatch(config, false, indices, clips.data(), labels.data());
  for (size_t b = 0; b < indices.size(); ++b) {
    int64_t label;
    std::vector<float> clip = clipOf(config, false, indices[b], label);
    EXPECT_EQ(labels[b], label);
    EXPECT_EQ(std::memcmp(clip.data(), clips.data() + b * elements,
                          elements * sizeof(float)),
              0);
  }
}

TEST(Synthetic, RoughlyNormalized) {
  SyntheticConfig config = smallConfig();
  double sum = 0, sumSquares = 0;
  int64_t n = 0, label;
  for (int64_t index = 0; index < 64; ++index)
    for (float v : clipOf(config, false, index, label)) {
      sum += v;
      sumSquares += double(v) * v;
      ++n;
    }
  double mean = sum / n;
  double stddev = std::sqrt(sumSquares / n - mean * mean);
  EXPECT_LT(std::abs(mean), 0.5);
  EXPECT_GT(stddev, 0.5);
  EXPECT_LT(stddev, 2.0);
}

// The bright pixels (shape) of channel 0 of frame t.
static std::vector<uint8_t> shapeMask(const SyntheticConfig &config,
                                      const std::vector<float> &clip,
                                      int64_t t) {
  int64_t plane = config.height * config.width;
  std::vector<uint8_t> mask(plane);
  // Background tops out at (120 - 64) / 32 = 1.75, the shape starts at
  // (136 - 64) / 32 = 2.25.
  for (int64_t p = 0; p < plane; ++p)
    mask[p] = clip[t * config.channels * plane + p] > 2.0f;
  return mask;
}

// Positive control: two frames are enough to read the label. The shape in
// frame t+1 is the shape in frame t shifted (on the torus) by speed times the
// label's direction.
TEST(Synthetic, MotionRevealsTheLabel) {
  SyntheticConfig config = smallConfig();
  const int64_t h = config.height, w = config.width;
  const int64_t classes = getSyntheticTaskClasses(config);
  for (int64_t index = 0; index < 64; ++index) {
    int64_t label;
    std::vector<float> clip = clipOf(config, false, index, label);
    for (int64_t t = 0; t + 1 < config.frames; ++t) {
      std::vector<uint8_t> a = shapeMask(config, clip, t);
      std::vector<uint8_t> b = shapeMask(config, clip, t + 1);
      std::set<std::pair<int, int>> matches;
      for (int oy = -2; oy <= 2; ++oy)
        for (int ox = -2; ox <= 2; ++ox) {
          bool same = true;
          for (int64_t y = 0; y < h && same; ++y)
            for (int64_t x = 0; x < w && same; ++x)
              same =
                  a[y * w + x] == b[((y + oy + h) % h) * w + (x + ox + w) % w];
          if (same)
            matches.insert({(ox > 0) - (ox < 0), (oy > 0) - (oy < 0)});
        }
      ASSERT_EQ(matches.size(), 1u) << "index " << index << " frame " << t;
      EXPECT_EQ(*matches.begin(), getSyntheticDirection(classes, label))
          << "index " << index << " frame " << t;
    }
  }
}

// No single frame tells the label: in any frame, the column profile (mean
// image averaged over rows, its overall level removed) of east-moving clips
// matches that of west-moving clips up to sampling noise. A generator that
// started shapes where their whole path stays in frame fails this: its first
// and last frames differ by about 0.17 near the edges, against a noise floor
// of about 0.03 here.
TEST(Synthetic, NoSingleFrameTellsTheLabel) {
  SyntheticConfig config = smallConfig();
  config.taskClasses = 2; // east vs west
  config.channels = 1;
  config.frames = 8;
  const int64_t h = config.height, w = config.width, plane = h * w;
  const int64_t perClass = 1200;
  // profile[group][frame][column]; groups: class 0 from the first half of the
  // indices, class 1, and class 0 from the second half (a same-label
  // control for the noise floor).
  std::vector<std::vector<double>> profile(
      3, std::vector<double>(config.frames * w, 0.0));
  std::vector<int64_t> counts(3, 0);
  for (int64_t index = 0; index < 2 * perClass; ++index) {
    int64_t label;
    std::vector<float> clip = clipOf(config, false, index, label);
    int g = label == 1 ? 1 : index < perClass ? 0 : 2;
    ++counts[g];
    for (int64_t t = 0; t < config.frames; ++t)
      for (int64_t p = 0; p < plane; ++p)
        profile[g][t * w + p % w] += clip[t * plane + p];
  }
  ASSERT_GT(counts[0], 400);
  ASSERT_GT(counts[2], 400);
  for (int64_t t = 0; t < config.frames; ++t) {
    std::vector<std::vector<double>> centred(3);
    for (int g = 0; g < 3; ++g) {
      double mean = 0;
      for (int64_t x = 0; x < w; ++x) {
        centred[g].push_back(profile[g][t * w + x] / (counts[g] * h));
        mean += centred[g].back() / w;
      }
      for (double &v : centred[g])
        v -= mean;
    }
    double crossClass = 0, sameClass = 0;
    for (int64_t x = 0; x < w; ++x) {
      crossClass =
          std::max(crossClass, std::abs(centred[0][x] - centred[1][x]));
      sameClass = std::max(sameClass, std::abs(centred[0][x] - centred[2][x]));
    }
    EXPECT_LT(sameClass, 0.08) << "frame " << t;
    EXPECT_LT(crossClass, 0.08) << "frame " << t;
  }
}

TEST(Sampler, EpochOrderIsAPermutation) {
  for (int64_t size : {1, 2, 17, 1000}) {
    std::vector<int64_t> order = epochOrder(size, 7, 3);
    ASSERT_EQ(static_cast<int64_t>(order.size()), size);
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < size; ++i)
      ASSERT_EQ(sorted[i], i);
  }
  EXPECT_EQ(epochOrder(100, 7, 3), epochOrder(100, 7, 3));
  EXPECT_NE(epochOrder(100, 7, 3), epochOrder(100, 7, 4));
  EXPECT_NE(epochOrder(100, 7, 3), epochOrder(100, 8, 3));
  EXPECT_TRUE(epochOrder(0, 7, 0).empty());
}

TEST(Sampler, StepsAndSplitValidation) {
  EXPECT_EQ(getStepsPerEpoch(100, 8), 12);
  EXPECT_EQ(getStepsPerEpoch(7, 8), 0);
  EXPECT_EQ(validateBatchSplit(8, 2, 2), "");
  EXPECT_NE(validateBatchSplit(8, 3, 1), "");
  EXPECT_NE(validateBatchSplit(8, 2, 3), "");
  EXPECT_NE(validateBatchSplit(0, 1, 1), "");
  std::vector<int64_t> order = epochOrder(20, 1, 0);
  EXPECT_TRUE(rankBatchIndices(order, 0, 8, 2, 2, 2, 0).empty()); // rank
  EXPECT_TRUE(rankBatchIndices(order, 0, 8, 0, 2, 2, 2).empty()); // microStep
  EXPECT_TRUE(rankBatchIndices(order, 2, 8, 0, 2, 2, 0).empty()); // step
  EXPECT_TRUE(rankBatchIndices(order, 0, 8, 0, 3, 1, 0).empty()); // split
}

// Global batch 8 under (world 1, accumulation 1), (world 2, accumulation 2)
// and (world 4, accumulation 1): concatenating rank by rank, then micro-step
// by micro-step, gives the same 8 indices in the same order, namely
// order[step * 8, step * 8 + 8).
TEST(Sampler, SameGlobalBatchForEverySplit) {
  const int64_t globalBatch = 8;
  std::vector<int64_t> order = epochOrder(37, 42, 5);
  struct Split {
    int64_t world, accumulation;
  };
  for (int64_t step = 0; step < getStepsPerEpoch(37, globalBatch); ++step) {
    std::vector<int64_t> expected(order.begin() + step * globalBatch,
                                  order.begin() + (step + 1) * globalBatch);
    for (Split split :
         {Split{1, 1}, Split{2, 2}, Split{4, 1}, Split{2, 1}, Split{1, 8}}) {
      int64_t microBatch = globalBatch / (split.world * split.accumulation);
      std::vector<int64_t> got;
      for (int64_t rank = 0; rank < split.world; ++rank)
        for (int64_t micro = 0; micro < split.accumulation; ++micro) {
          std::vector<int64_t> part = rankBatchIndices(
              order, step, globalBatch, rank, split.world, microBatch, micro);
          ASSERT_EQ(static_cast<int64_t>(part.size()), microBatch);
          got.insert(got.end(), part.begin(), part.end());
        }
      EXPECT_EQ(got, expected) << "world " << split.world << " accumulation "
                               << split.accumulation << " step " << step;
    }
  }
  // A rank's samples do not depend on its micro-batch split.
  std::vector<int64_t> whole = rankBatchIndices(order, 1, 8, 1, 2, 4, 0);
  std::vector<int64_t> halves = rankBatchIndices(order, 1, 8, 1, 2, 2, 0);
  std::vector<int64_t> second = rankBatchIndices(order, 1, 8, 1, 2, 2, 1);
  halves.insert(halves.end(), second.begin(), second.end());
  EXPECT_EQ(whole, halves);
}

// With a trail, each frame shows where the shape came from: pixels at
// intermediate brightness appear between background and shape, and the
// labels and shapes are those of the trail-free clip.
TEST(Synthetic, TrailsShowTheMotionInEveryFrame) {
  SyntheticConfig plain = smallConfig();
  SyntheticConfig trails = plain;
  trails.trail = 3;
  std::vector<float> a(getSyntheticClipElements(plain));
  std::vector<float> b(a.size());
  for (int64_t index = 0; index < 16; ++index) {
    int64_t labelA = -1, labelB = -1;
    makeClip(plain, false, index, a.data(), labelA);
    makeClip(trails, false, index, b.data(), labelB);
    EXPECT_EQ(labelA, labelB);
    // More bright pixels per frame with a trail behind the shape.
    auto brightPixels = [&](const std::vector<float> &clip) {
      int64_t count = 0;
      for (float v : clip)
        count += v > 0.5f;
      return count;
    };
    EXPECT_GT(brightPixels(b), brightPixels(a)) << "clip " << index;
  }
  SyntheticConfig again = trails;
  std::vector<float> c(b.size());
  int64_t label = -1;
  makeClip(again, false, 15, c.data(), label);
  EXPECT_EQ(b, c); // still deterministic
}
