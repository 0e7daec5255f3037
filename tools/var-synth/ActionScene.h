// The synthetic action videos var-synth writes: bright shapes on a dark
// background whose class only their motion tells (three shapes moving in
// one direction, a bar rotating either way, a shape growing or shrinking).
// Every frame on its own is uninformative: positions wrap around the frame (a
// torus) from a uniform start, rotation starts at a uniform angle, and growth
// and shrinking pass through the same sizes.
#ifndef VAR_TOOLS_VARSYNTH_ACTIONSCENE_H
#define VAR_TOOLS_VARSYNTH_ACTIONSCENE_H

#include <cstdint>
#include <string>
#include <vector>

namespace var::synth {

/// The class names in label order; a K-class dataset uses the first K.
const std::vector<std::string> &actionClassNames();

struct SceneOptions {
  int width = 160, height = 120;
  int frames = 48;
  /// Fading copies of the last `trail` positions drawn behind the shape, so
  /// that each frame shows the motion (for per-frame models); 0: none.
  int trail = 0;
};

/// Video `index` of class `label`, [frames][height][width][3] RGB: a pure
/// function of (options, label, index, seed).
std::vector<uint8_t> renderActionVideo(const SceneOptions &options,
                                       int64_t label, int64_t index,
                                       uint64_t seed);

} // namespace var::synth

#endif // VAR_TOOLS_VARSYNTH_ACTIONSCENE_H
