// Which frames of a video make a clip: TSN segment sampling (one frame from
// each of T equal segments) or dense sampling (T frames S apart); random in
// training, evenly placed in evaluation (one clip: centred).
#ifndef VAR_RUNTIME_DATA_CLIPSAMPLER_H
#define VAR_RUNTIME_DATA_CLIPSAMPLER_H

#include <cstdint>
#include <string>
#include <vector>

namespace var::data {

enum class Sampling { Segments, Dense };

struct SamplingOptions {
  Sampling mode = Sampling::Segments;
  int64_t frames = 8; // T
  int64_t stride = 1; // S, dense only
};

/// "segments" or "dense" into `mode`; false for anything else.
bool parseSampling(const std::string &text, Sampling &mode);

/// A training clip from a video of `videoFrames` frames, drawn with
/// `randomKey`: segments take a uniform frame of each segment, dense a
/// uniform start. Videos shorter than the clip repeat frames (segments) or
/// their last frame (dense).
std::vector<int64_t> trainClipIndices(const SamplingOptions &options,
                                      int64_t videoFrames, uint64_t randomKey);

/// Clip `clip` of `clips` evenly placed in evaluation: segments take the
/// frame at (clip + 1/2) / clips of each segment, dense starts at
/// (clip + 1/2) / clips of the free range, so one clip is centred.
std::vector<int64_t> evalClipIndices(const SamplingOptions &options,
                                     int64_t videoFrames, int64_t clip,
                                     int64_t clips);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_CLIPSAMPLER_H
