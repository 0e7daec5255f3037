// Parsing of the data flags; ranges are checked here, fit with the plan in
// DataSource::create.
#include "runtime/data/DataFlags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace var::data {

const char *kDataFlagsUsage =
    "  --train-list=FILE      video dataset from a list file of `path label`\n"
    "                         (or `path frames label`) lines, paths relative\n"
    "                         to --data DIR or the list's folder; overrides\n"
    "                         layout detection\n"
    "  --val-list=FILE        its evaluation list\n"
    "  --sampling=segments|dense\n"
    "                         TSN segments: one frame from each of T equal\n"
    "                         segments (default); dense: T frames\n"
    "                         --frame-stride apart. Random in training,\n"
    "                         centred in evaluation\n"
    "  --frames=T             frames per clip (default and only value: the\n"
    "                         plan's)\n"
    "  --frame-stride=S       dense sampling's step between frames (default "
    "1)\n"
    "  --test-clips=N         evaluation clips per video, logits averaged\n"
    "                         (default 1)\n"
    "  --test-crops=1|3       evaluation crops per clip: the centre, or three\n"
    "                         along the longer side (default 1)\n"
    "  --train-crop=scale-jitter|resized-crop\n"
    "                         training crop (default scale-jitter)\n"
    "  --no-flip              no random horizontal flips (direction-sensitive\n"
    "                         classes)\n"
    "  --mean=R,G,B --std=R,G,B\n"
    "                         normalization on [0, 1] pixel values (default\n"
    "                         ImageNet's 0.485,0.456,0.406 / "
    "0.229,0.224,0.225)\n"
    "  --data-workers=N       decoding threads per rank (default 2; 0: decode\n"
    "                         on the training thread)\n"
    "  --prefetch=N           batches decoded ahead (default 4)\n"
    "  --max-bad-videos=N|P%  unreadable videos skipped (with a warning each)\n"
    "                         before training stops (default 1% of all)\n";

namespace {

bool parseCount(const std::string &text, int64_t low, int64_t high,
                int64_t &out) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < low || value > high)
    return false;
  out = value;
  return true;
}

bool parseTriple(const std::string &text, bool positive, float out[3]) {
  const char *p = text.c_str();
  for (int i = 0; i < 3; ++i) {
    char *end = nullptr;
    double value = std::strtod(p, &end);
    if (end == p || !std::isfinite(value) || (positive && value <= 0))
      return false;
    out[i] = static_cast<float>(value);
    p = end;
    if (i < 2 && *p++ != ',')
      return false;
  }
  return *p == '\0';
}

} // namespace

FlagResult parseDataFlag(const std::string &name, const std::string &value,
                         DataOptions &options, std::string &error) {
  auto bad = [&](const std::string &need) {
    error = "--" + name + " must be " + need + ", got '" + value + "'";
    return FlagResult::Bad;
  };
  if (name == "train-list")
    options.trainList = value;
  else if (name == "val-list")
    options.valList = value;
  else if (name == "sampling") {
    if (!parseSampling(value, options.sampling.mode))
      return bad("segments or dense");
  } else if (name == "frames") {
    if (!parseCount(value, 1, 4096, options.sampling.frames))
      return bad("an integer from 1 to 4096");
  } else if (name == "frame-stride") {
    if (!parseCount(value, 1, 1024, options.sampling.stride))
      return bad("an integer from 1 to 1024");
  } else if (name == "test-clips") {
    if (!parseCount(value, 1, 100, options.testClips))
      return bad("an integer from 1 to 100");
  } else if (name == "test-crops") {
    if (!parseCount(value, 1, 3, options.testCrops) || options.testCrops == 2)
      return bad("1 or 3");
  } else if (name == "train-crop") {
    if (!parseTrainCrop(value, options.augment.crop))
      return bad("scale-jitter or resized-crop");
  } else if (name == "no-flip") {
    options.augment.flip = false;
  } else if (name == "mean") {
    if (!parseTriple(value, false, options.augment.mean))
      return bad("three numbers R,G,B");
  } else if (name == "std") {
    if (!parseTriple(value, true, options.augment.std))
      return bad("three positive numbers R,G,B");
  } else if (name == "data-workers") {
    if (!parseCount(value, 0, 256, options.workers))
      return bad("an integer from 0 to 256");
  } else if (name == "prefetch") {
    if (!parseCount(value, 1, 256, options.prefetch))
      return bad("an integer from 1 to 256");
  } else if (name == "max-bad-videos") {
    options.maxBadVideos = value;
  } else
    return FlagResult::NotMine;
  return FlagResult::Parsed;
}

} // namespace var::data
