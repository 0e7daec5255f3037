// Generated moving-shape clips and the distributed sampler. Randomness is a
// counter-based hash (SplitMix64) of (seed, split, index), never a std
// distribution, so that every libstdc++/libc++ and every machine agrees.
#include "runtime/data/Synthetic.h"
#include "runtime/data/Random.h"

#include <algorithm>
#include <cassert>
#include <cstddef>

namespace var::data {
namespace {

// Intensities before normalization: background level + noise stays in
// [8, 120], shape colour + noise in [136, 255], so a shape pixel is always
// brighter than any background pixel.
constexpr int64_t kBackgroundMin = 32, kBackgroundMax = 96;
constexpr int64_t kColourMin = 160, kColourMax = 231;
constexpr int64_t kNoiseAmplitude = 24;
// v -> (v - kMean) * kScale; a power-of-two scale keeps the float exact.
constexpr int64_t kMean = 64;
constexpr float kScale = 1.0f / 32.0f;

// Stream tags so that the train split, the eval split, their label blocks
// and the sampler never share a hash input.
constexpr uint64_t kTrainTag = 0x7472616e;   // "tran"
constexpr uint64_t kEvalTag = 0x6576616c;    // "eval"
constexpr uint64_t kLabelTag = 0x6c61626c;   // "labl"
constexpr uint64_t kNoiseTag = 0x6e6f6973;   // "nois"
constexpr uint64_t kSamplerTag = 0x73616d70; // "samp"

uint64_t splitTag(bool eval) { return eval ? kEvalTag : kTrainTag; }

int64_t positiveMod(int64_t value, int64_t modulus) {
  int64_t r = value % modulus;
  return r < 0 ? r + modulus : r;
}

/// The label of `index`: within each block of taskClasses consecutive
/// indices, a shuffled copy of every class, so any prefix of the split is
/// balanced to within one clip per class.
int64_t labelOf(const SyntheticConfig &config, bool eval, int64_t index) {
  int64_t classes = getSyntheticTaskClasses(config);
  int64_t block = index / classes;
  Rng rng(hashKey(config.seed ^ kLabelTag, splitTag(eval),
                  static_cast<uint64_t>(block)));
  int64_t perm[kSyntheticMaxTaskClasses];
  for (int64_t i = 0; i < classes; ++i)
    perm[i] = i;
  for (int64_t i = classes - 1; i > 0; --i)
    std::swap(perm[i], perm[rng.range(0, i)]);
  return perm[index % classes];
}

} // namespace

std::string validateSyntheticConfig(const SyntheticConfig &config) {
  auto bad = [](const char *field, int64_t value, const char *need) {
    return std::string("synthetic data: ") + field + " is " +
           std::to_string(value) + ", must be " + need;
  };
  if (config.frames < 2)
    return bad("frames", config.frames, "at least 2 (the task is motion)");
  if (config.channels < 1)
    return bad("channels", config.channels, "at least 1");
  // Below 4 pixels the smallest shape and step leave no room to tell
  // opposite directions apart on the torus.
  if (config.height < 4)
    return bad("height", config.height, "at least 4");
  if (config.width < 4)
    return bad("width", config.width, "at least 4");
  if (config.numClasses < 1)
    return bad("numClasses", config.numClasses, "at least 1");
  if (config.taskClasses < 0 ||
      config.taskClasses >
          std::min(kSyntheticMaxTaskClasses, config.numClasses))
    return bad("taskClasses", config.taskClasses,
               "0 (default) or in [1, min(8, numClasses)]");
  if (config.trainSize < 1)
    return bad("trainSize", config.trainSize, "at least 1");
  if (config.evalSize < 0)
    return bad("evalSize", config.evalSize, "non-negative");
  // Keep the clip's element count and every index arithmetic far from
  // overflow.
  constexpr int64_t kMaxSide = 1 << 15;
  if (config.frames > kMaxSide || config.channels > kMaxSide ||
      config.height > kMaxSide || config.width > kMaxSide)
    return "synthetic data: frames, channels, height and width must each be "
           "at most 32768";
  return "";
}

int64_t getSyntheticTaskClasses(const SyntheticConfig &config) {
  if (config.taskClasses > 0)
    return config.taskClasses;
  return std::min(kSyntheticMaxTaskClasses, config.numClasses);
}

int64_t getSyntheticClipElements(const SyntheticConfig &config) {
  return config.frames * config.channels * config.height * config.width;
}

std::pair<int, int> getSyntheticDirection(int64_t taskClasses, int64_t label) {
  // Compass directions clockwise from east, y down.
  static const int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
  static const int kDy[8] = {0, 1, 1, 1, 0, -1, -1, -1};
  assert(taskClasses >= 1 && taskClasses <= kSyntheticMaxTaskClasses);
  assert(label >= 0 && label < taskClasses);
  int64_t direction = label * 8 / taskClasses;
  return {kDx[direction], kDy[direction]};
}

void makeClip(const SyntheticConfig &config, bool eval, int64_t index,
              float *clip, int64_t &label) {
  assert(validateSyntheticConfig(config).empty());
  assert(index >= 0);
  const int64_t frames = config.frames, channels = config.channels;
  const int64_t height = config.height, width = config.width;
  const int64_t minSide = std::min(height, width);

  label = labelOf(config, eval, index);
  auto [dx, dy] = getSyntheticDirection(getSyntheticTaskClasses(config), label);

  // Everything a frame shows is drawn independently of the label; only the
  // step between frames depends on it.
  Rng rng(hashKey(config.seed, splitTag(eval), static_cast<uint64_t>(index)));
  const int64_t sideMin = std::max<int64_t>(2, minSide / 8);
  const int64_t side = rng.range(sideMin, std::max(sideMin, minSide / 4));
  const bool disc = rng.range(0, 1) == 1;
  // Trails need a visible step between positions: at least 1/16 of the
  // frame per frame (without a trail, any speed from 1 pixel).
  const int64_t fastest = std::max<int64_t>(1, minSide / 16);
  const int64_t speed = config.trail > 0
                            ? rng.range(fastest, std::max(fastest, minSide / 8))
                            : rng.range(1, fastest);
  const int64_t startX = rng.range(0, width - 1);
  const int64_t startY = rng.range(0, height - 1);
  std::vector<int64_t> background(channels), colour(channels);
  for (int64_t c = 0; c < channels; ++c) {
    background[c] = rng.range(kBackgroundMin, kBackgroundMax);
    colour[c] = rng.range(kColourMin, kColourMax);
  }

  // The shape's mask in its own side x side box. The disc test uses doubled
  // coordinates so that the centre sits on a pixel corner for even sides.
  std::vector<uint8_t> mask(side * side, 1);
  if (disc) {
    for (int64_t i = 0; i < side; ++i)
      for (int64_t j = 0; j < side; ++j) {
        int64_t u = 2 * i + 1 - side, v = 2 * j + 1 - side;
        mask[i * side + j] = u * u + v * v <= side * side;
      }
  }

  // Noise: 16 bits of hash per pixel, four pixels per draw, mapped to
  // [-kNoiseAmplitude, kNoiseAmplitude] by a multiply-shift.
  Rng noise(hashKey(config.seed ^ kNoiseTag, splitTag(eval),
                    static_cast<uint64_t>(index)));
  uint64_t bits = 0;
  int bitsLeft = 0;
  auto nextNoise = [&]() -> int64_t {
    if (bitsLeft == 0) {
      bits = noise.next();
      bitsLeft = 4;
    }
    uint64_t chunk = bits & 0xffff;
    bits >>= 16;
    --bitsLeft;
    return static_cast<int64_t>((chunk * (2 * kNoiseAmplitude + 1)) >> 16) -
           kNoiseAmplitude;
  };

  // inside[p]: 0 for background, else 1 + how many frames ago the shape
  // covered p (1 = now), within the trail.
  const int64_t trail = std::max<int64_t>(config.trail, 0);
  std::vector<uint8_t> inside(height * width);
  for (int64_t t = 0; t < frames; ++t) {
    std::fill(inside.begin(), inside.end(), 0);
    // Oldest first, so that newer positions cover older ones.
    for (int64_t age = trail; age >= 0; --age) {
      // Top-left corner of the shape `age` frames before frame t, on the
      // torus (the path continues before the first frame).
      int64_t x0 = positiveMod(startX + (t - age) * dx * speed, width);
      int64_t y0 = positiveMod(startY + (t - age) * dy * speed, height);
      for (int64_t i = 0; i < side; ++i) {
        int64_t y = (y0 + i) % height;
        for (int64_t j = 0; j < side; ++j)
          if (mask[i * side + j])
            inside[y * width + (x0 + j) % width] =
                static_cast<uint8_t>(1 + age);
      }
    }
    for (int64_t c = 0; c < channels; ++c) {
      float *plane = clip + (t * channels + c) * height * width;
      for (int64_t p = 0; p < height * width; ++p) {
        int64_t value = background[c];
        if (inside[p]) // fades linearly with age
          value += (colour[c] - background[c]) * (trail + 2 - inside[p]) /
                   (trail + 1);
        plane[p] = static_cast<float>(value + nextNoise() - kMean) * kScale;
      }
    }
  }
}

void makeBatch(const SyntheticConfig &config, bool eval,
               const std::vector<int64_t> &indices, float *clips,
               int64_t *labels) {
  const int64_t clipElements = getSyntheticClipElements(config);
  for (size_t b = 0; b < indices.size(); ++b)
    makeClip(config, eval, indices[b], clips + b * clipElements, labels[b]);
}

std::vector<int64_t> epochOrder(int64_t datasetSize, uint64_t seed,
                                int64_t epoch) {
  std::vector<int64_t> order(std::max<int64_t>(datasetSize, 0));
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<int64_t>(i);
  Rng rng(hashKey(seed ^ kSamplerTag, static_cast<uint64_t>(epoch), 0));
  for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i)
    std::swap(order[i], order[rng.range(0, i)]);
  return order;
}

int64_t getStepsPerEpoch(int64_t datasetSize, int64_t globalBatch) {
  if (datasetSize <= 0 || globalBatch <= 0)
    return 0;
  return datasetSize / globalBatch;
}

std::string validateBatchSplit(int64_t globalBatch, int64_t worldSize,
                               int64_t microBatch) {
  if (globalBatch < 1 || worldSize < 1 || microBatch < 1)
    return "batch split: global batch (" + std::to_string(globalBatch) +
           "), world size (" + std::to_string(worldSize) +
           ") and micro-batch (" + std::to_string(microBatch) +
           ") must all be positive";
  if (globalBatch % (worldSize * microBatch) != 0)
    return "batch split: global batch " + std::to_string(globalBatch) +
           " is not a whole number of micro-batches of " +
           std::to_string(microBatch) + " on each of " +
           std::to_string(worldSize) + " ranks";
  return "";
}

std::vector<int64_t> rankBatchIndices(const std::vector<int64_t> &order,
                                      int64_t step, int64_t globalBatch,
                                      int64_t rank, int64_t worldSize,
                                      int64_t microBatch, int64_t microStep) {
  if (!validateBatchSplit(globalBatch, worldSize, microBatch).empty())
    return {};
  const int64_t perRank = globalBatch / worldSize;
  const int64_t accumulation = perRank / microBatch;
  if (rank < 0 || rank >= worldSize || microStep < 0 ||
      microStep >= accumulation || step < 0 ||
      step >= getStepsPerEpoch(static_cast<int64_t>(order.size()), globalBatch))
    return {};
  const int64_t begin =
      step * globalBatch + rank * perRank + microStep * microBatch;
  return std::vector<int64_t>(order.begin() + begin,
                              order.begin() + begin + microBatch);
}

} // namespace var::data
