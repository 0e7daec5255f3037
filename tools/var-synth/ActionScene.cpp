// Rendering of the synthetic action classes: per pixel coverage tests of a
// square, disc or bar, drawn at its 9 torus copies for motion.
#include "tools/var-synth/ActionScene.h"
#include "runtime/data/Random.h"

#include <algorithm>
#include <cmath>

namespace var::synth {
namespace {

enum class Kind { Move, Rotate, Grow };

constexpr int kMovers = 3;

struct ClassMotion {
  Kind kind;
  int dx = 0, dy = 0; // Move: direction; Rotate: dx = +1 clockwise
  int sign = 1;       // Grow: +1 grows, -1 shrinks
};

ClassMotion motionOf(int64_t label) {
  switch (label) {
  case 0:
    return {Kind::Move, 1, 0};
  case 1:
    return {Kind::Move, -1, 0};
  case 2:
    return {Kind::Move, 0, 1};
  case 3:
    return {Kind::Move, 0, -1};
  case 4:
    return {Kind::Rotate, 1, 0};
  case 5:
    return {Kind::Rotate, -1, 0};
  case 6:
    return {Kind::Grow, 0, 0, 1};
  case 7:
    return {Kind::Grow, 0, 0, -1};
  case 8:
    return {Kind::Move, 1, 1};
  case 9:
    return {Kind::Move, -1, -1};
  case 10:
    return {Kind::Move, -1, 1};
  default:
    return {Kind::Move, 1, -1};
  }
}

} // namespace

const std::vector<std::string> &actionClassNames() {
  static const std::vector<std::string> names = {
      "MoveRight",  "MoveLeft",        "MoveDown",
      "MoveUp",     "RotateClockwise", "RotateCounterclockwise",
      "Grow",       "Shrink",          "MoveDownRight",
      "MoveUpLeft", "MoveDownLeft",    "MoveUpRight"};
  return names;
}

std::vector<uint8_t> renderActionVideo(const SceneOptions &options,
                                       int64_t label, int64_t index,
                                       uint64_t seed) {
  const int w = options.width, h = options.height, frames = options.frames;
  const double minSide = std::min(w, h);
  const ClassMotion motion = motionOf(label);
  data::Rng rng(data::hashKey(seed, static_cast<uint64_t>(label),
                              static_cast<uint64_t>(index)));
  uint8_t background[3], colour[3];
  for (int c = 0; c < 3; ++c) {
    background[c] = static_cast<uint8_t>(rng.range(10, 70));
    colour[c] = static_cast<uint8_t>(rng.range(170, 250));
  }
  const bool disc = rng.range(0, 1) == 1;
  const double cx = rng.uniform() * w, cy = rng.uniform() * h;
  // Moving classes show kMovers shapes going the same way, so that a crop
  // of the frame almost always holds one.
  double moverX[kMovers], moverY[kMovers];
  for (int m = 0; m < kMovers; ++m) {
    moverX[m] = m == 0 ? cx : rng.uniform() * w;
    moverY[m] = m == 0 ? cy : rng.uniform() * h;
  }
  const double side = minSide * (0.12 + 0.08 * rng.uniform());
  const double speed = minSide * (0.06 + 0.04 * rng.uniform());
  const double angle0 = rng.uniform() * M_PI;
  const double spin = (0.07 + 0.07 * rng.uniform()) * motion.dx;
  const double small = minSide * (0.06 + 0.04 * rng.uniform());
  const double large = minSide * (0.25 + 0.08 * rng.uniform());
  const double norm = motion.dx && motion.dy ? 1.0 / std::sqrt(2.0) : 1.0;

  // Whether pixel (x, y) is covered at time t (a real number of frames).
  auto covered = [&](double x, double y, double t) {
    double px = x + 0.5, py = y + 0.5;
    if (motion.kind == Kind::Move) {
      for (int m = 0; m < kMovers; ++m) {
        double sx = moverX[m] + t * speed * motion.dx * norm;
        double sy = moverY[m] + t * speed * motion.dy * norm;
        // Distance on the torus.
        double ux = std::remainder(px - sx, w);
        double uy = std::remainder(py - sy, h);
        if (disc ? ux * ux + uy * uy <= side * side / 4
                 : std::abs(ux) <= side / 2 && std::abs(uy) <= side / 2)
          return true;
      }
      return false;
    }
    double ux = px - cx, uy = py - cy;
    if (motion.kind == Kind::Rotate) {
      double a = angle0 + spin * t;
      double along = ux * std::cos(a) + uy * std::sin(a);
      double across = -ux * std::sin(a) + uy * std::cos(a);
      return std::abs(along) <= minSide * 0.2 &&
             std::abs(across) <= minSide * 0.05;
    }
    double f = frames > 1 ? t / (frames - 1) : 0;
    double r = motion.sign > 0 ? small + (large - small) * f
                               : large - (large - small) * f;
    return disc ? ux * ux + uy * uy <= r * r
                : std::abs(ux) <= r && std::abs(uy) <= r;
  };

  std::vector<uint8_t> video(static_cast<size_t>(frames) * w * h * 3);
  for (int t = 0; t < frames; ++t) {
    uint8_t *frame = video.data() + static_cast<size_t>(t) * w * h * 3;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        // Newest copy first: the first that covers the pixel decides.
        int age = -1;
        for (int a = 0; a <= options.trail && age < 0; ++a)
          if (covered(x, y, t - a))
            age = a;
        uint8_t *pixel = frame + (static_cast<size_t>(y) * w + x) * 3;
        for (int c = 0; c < 3; ++c)
          pixel[c] = age < 0
                         ? background[c]
                         : static_cast<uint8_t>(background[c] +
                                                (colour[c] - background[c]) *
                                                    (options.trail + 1 - age) /
                                                    (options.trail + 1));
      }
  }
  return video;
}

} // namespace var::synth
