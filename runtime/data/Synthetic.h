// The built-in data source `builtin:synthetic`: generated clips of a bright
// shape moving in one of K directions, a task no single frame can solve, and
// the deterministic sampler that deals a dataset out to ranks and micro-steps.
#ifndef VAR_RUNTIME_DATA_SYNTHETIC_H
#define VAR_RUNTIME_DATA_SYNTHETIC_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace var::data {

/// The name a run configuration uses for this source.
inline constexpr const char *kSyntheticSourceName = "builtin:synthetic";
/// The same task with motion trails (SyntheticConfig::trail = 3).
inline constexpr const char *kSyntheticTrailsSourceName =
    "builtin:synthetic-trails";

/// Motion directions the task distinguishes at most: the four axes and the
/// four diagonals.
inline constexpr int64_t kSyntheticMaxTaskClasses = 8;

struct SyntheticConfig {
  int64_t frames = 8;
  int64_t channels = 3;
  int64_t height = 32;
  int64_t width = 32;
  /// The model's class count; labels never reach it when it exceeds
  /// taskClasses.
  int64_t numClasses = 8;
  /// Directions actually used; 0 means min(8, numClasses).
  int64_t taskClasses = 0;
  uint64_t seed = 0;
  int64_t trainSize = 4096;
  int64_t evalSize = 512;
  /// Frames of motion history drawn behind the shape, fading towards the
  /// background (0: none). With a trail every frame shows which way the
  /// shape moves, so models that look at frames one at a time (a per-frame
  /// CNN with a mean over time) can learn the task; without one only the
  /// order of frames tells the class.
  int64_t trail = 0;
};

/// Empty when `config` can generate clips, else what is wrong with it.
std::string validateSyntheticConfig(const SyntheticConfig &config);

/// taskClasses with its default resolved.
int64_t getSyntheticTaskClasses(const SyntheticConfig &config);

/// Floats in one clip: frames * channels * height * width.
int64_t getSyntheticClipElements(const SyntheticConfig &config);

/// The per-frame displacement sign (dx, dy) of `label`, y pointing down:
/// labels are spread over the 8 compass directions, starting east and going
/// clockwise, so that 2 classes are east/west and 4 are the four axes.
std::pair<int, int> getSyntheticDirection(int64_t taskClasses, int64_t label);

/// Clip `index` of the train (`eval` false) or eval split, into `clip` laid
/// out [frames][channels][height][width], and its label in [0, taskClasses).
///
/// A square or disc (side 1/8 to 1/4 of the smaller frame side, one bright
/// intensity per channel) moves 1 to max(1, minSide/16) pixels per frame
/// along its label's direction over a per-clip background level with fresh
/// uniform noise per pixel and frame. The frame is a torus: the shape leaves
/// one edge and re-enters at the opposite one, so all of its pixels are drawn
/// in every frame. That wrap is what makes every single frame carry no label
/// information: with a uniform start position, the position in frame t is
/// uniform too, whatever the direction. (Without the wrap no start
/// distribution can do that: frame t+1's position distribution would be
/// frame t's shifted by a label-dependent step, so the frames near the start
/// would tell where the shape can still go.) Two consecutive frames do tell:
/// shape pixels are always brighter than any background pixel.
///
/// Values are (v - 64) / 32 for an integer intensity v in [8, 255]: about
/// zero mean and unit standard deviation. All arithmetic is on integers and
/// the one float operation per value is exact, so a clip is a pure function
/// of (config, split, index) with the same bytes on every machine.
/// `config` must validate; `index` is normally below the split's size.
void makeClip(const SyntheticConfig &config, bool eval, int64_t index,
              float *clip, int64_t &label);

/// makeClip for each of `indices`: clips [indices.size()][clip elements],
/// labels [indices.size()].
void makeBatch(const SyntheticConfig &config, bool eval,
               const std::vector<int64_t> &indices, float *clips,
               int64_t *labels);

// --- Sampler -------------------------------------------------------------
//
// Epoch e visits the dataset in the order epochOrder(size, seed, e). Step s
// of the epoch (0 <= s < getStepsPerEpoch) trains on the global batch
//   order[s * globalBatch, (s + 1) * globalBatch),
// the last partial batch being dropped. Within it, with
//   perRank = globalBatch / worldSize and
//   accumulation = perRank / microBatch,
// rank r owns the contiguous slots [r * perRank, (r + 1) * perRank) and takes
// them microBatch at a time, micro-step a getting
//   [r * perRank + a * microBatch, r * perRank + (a + 1) * microBatch).
// Concatenating the micro-batches rank by rank, micro-step by micro-step,
// gives back the global batch in order, whatever the world size and
// accumulation split; and a rank's samples do not depend on its split into
// micro-batches.

/// A permutation of [0, datasetSize): a Fisher-Yates shuffle driven by
/// (seed, epoch).
std::vector<int64_t> epochOrder(int64_t datasetSize, uint64_t seed,
                                int64_t epoch);

/// Full global batches in one epoch.
int64_t getStepsPerEpoch(int64_t datasetSize, int64_t globalBatch);

/// Empty when globalBatch splits evenly into worldSize ranks of whole
/// micro-batches of microBatch samples, else why not.
std::string validateBatchSplit(int64_t globalBatch, int64_t worldSize,
                               int64_t microBatch);

/// The dataset indices rank `rank` trains on in micro-step `microStep` of
/// step `step` (layout above). Empty when the split does not validate, or
/// rank, micro-step or step is out of range for `order`.
std::vector<int64_t> rankBatchIndices(const std::vector<int64_t> &order,
                                      int64_t step, int64_t globalBatch,
                                      int64_t rank, int64_t worldSize,
                                      int64_t microBatch, int64_t microStep);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_SYNTHETIC_H
