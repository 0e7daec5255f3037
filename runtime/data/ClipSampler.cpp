// Frame indices of training and evaluation clips.
#include "runtime/data/ClipSampler.h"
#include "runtime/data/Random.h"

#include <algorithm>
#include <cmath>

namespace var::data {
namespace {

/// Frame indices with `offset(i)` in [0, 1) placing a frame in segment i or
/// `start` in [0, 1) placing a dense clip in its free range.
template <typename Offset>
std::vector<int64_t> clipIndices(const SamplingOptions &options,
                                 int64_t videoFrames, Offset offset) {
  const int64_t n = std::max<int64_t>(videoFrames, 1), t = options.frames;
  std::vector<int64_t> indices(t);
  if (options.mode == Sampling::Segments) {
    const double segment = static_cast<double>(n) / t;
    for (int64_t i = 0; i < t; ++i)
      indices[i] = std::min<int64_t>(
          n - 1, static_cast<int64_t>((i + offset(i)) * segment));
    return indices;
  }
  const int64_t span = (t - 1) * options.stride + 1;
  const int64_t freeRange = std::max<int64_t>(n - span, 0);
  const int64_t start = std::min<int64_t>(
      freeRange, static_cast<int64_t>(offset(-1) * (freeRange + 1)));
  for (int64_t i = 0; i < t; ++i)
    indices[i] = std::min<int64_t>(n - 1, start + i * options.stride);
  return indices;
}

} // namespace

bool parseSampling(const std::string &text, Sampling &mode) {
  if (text == "segments" || text == "tsn")
    mode = Sampling::Segments;
  else if (text == "dense")
    mode = Sampling::Dense;
  else
    return false;
  return true;
}

std::vector<int64_t> trainClipIndices(const SamplingOptions &options,
                                      int64_t videoFrames, uint64_t randomKey) {
  Rng rng(randomKey);
  return clipIndices(options, videoFrames,
                     [&](int64_t) { return rng.uniform(); });
}

std::vector<int64_t> evalClipIndices(const SamplingOptions &options,
                                     int64_t videoFrames, int64_t clip,
                                     int64_t clips) {
  const double place = (clip + 0.5) / std::max<int64_t>(clips, 1);
  if (options.mode == Sampling::Dense) {
    // Centre the clip: the start that leaves equal room on both sides.
    const int64_t span = (options.frames - 1) * options.stride + 1;
    const int64_t freeRange = std::max<int64_t>(videoFrames - span, 0);
    const int64_t start = std::llround(place * freeRange);
    std::vector<int64_t> indices(options.frames);
    for (int64_t i = 0; i < options.frames; ++i)
      indices[i] = std::min<int64_t>(std::max<int64_t>(videoFrames, 1) - 1,
                                     start + i * options.stride);
    return indices;
  }
  return clipIndices(options, videoFrames, [&](int64_t) { return place; });
}

} // namespace var::data
