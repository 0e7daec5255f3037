// Crop boxes and the bilinear resampler. One pass per frame: the column
// weights are computed once per clip, each output row reads two source rows.
#include "runtime/data/Augment.h"
#include "runtime/data/Random.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace var::data {

bool parseTrainCrop(const std::string &text, TrainCrop &crop) {
  if (text == "resized-crop")
    crop = TrainCrop::ResizedCrop;
  else if (text == "scale-jitter")
    crop = TrainCrop::ScaleJitter;
  else
    return false;
  return true;
}

namespace {

/// The window of the output's aspect that, scaled by `scale` (output pixels
/// per frame pixel), is output-sized.
CropBox windowAt(const AugmentOptions &options, double scale, double fx,
                 double fy, int frameWidth, int frameHeight) {
  CropBox box;
  box.width = std::min<double>(options.width / scale, frameWidth);
  box.height = std::min<double>(options.height / scale, frameHeight);
  box.x = fx * (frameWidth - box.width);
  box.y = fy * (frameHeight - box.height);
  return box;
}

/// Output pixels per frame pixel when the output just fits the frame.
double fitScale(const AugmentOptions &options, int frameWidth,
                int frameHeight) {
  return std::max(static_cast<double>(options.width) / frameWidth,
                  static_cast<double>(options.height) / frameHeight);
}

} // namespace

CropBox trainCropBox(const AugmentOptions &options, int frameWidth,
                     int frameHeight, uint64_t randomKey) {
  Rng rng(randomKey);
  CropBox box;
  if (options.crop == TrainCrop::ScaleJitter) {
    double scale = fitScale(options, frameWidth, frameHeight) *
                   (1.0 + 0.43 * rng.uniform());
    double fx = rng.uniform(), fy = rng.uniform();
    box = windowAt(options, scale, fx, fy, frameWidth, frameHeight);
  } else {
    const double area = static_cast<double>(frameWidth) * frameHeight;
    const double outAspect = static_cast<double>(options.width) /
                             static_cast<double>(options.height);
    bool found = false;
    for (int attempt = 0; attempt < 10 && !found; ++attempt) {
      double fraction = 0.25 + 0.75 * rng.uniform();
      double aspect =
          outAspect *
          std::exp(std::log(0.75) + rng.uniform() * 2 * std::log(4.0 / 3.0));
      double w = std::sqrt(area * fraction * aspect);
      double h = std::sqrt(area * fraction / aspect);
      if (w <= frameWidth && h <= frameHeight) {
        box.width = w;
        box.height = h;
        box.x = rng.uniform() * (frameWidth - w);
        box.y = rng.uniform() * (frameHeight - h);
        found = true;
      }
    }
    if (!found)
      box = windowAt(options, fitScale(options, frameWidth, frameHeight), 0.5,
                     0.5, frameWidth, frameHeight);
  }
  box.flip = options.flip && (rng.next() & 1);
  return box;
}

CropBox evalCropBox(const AugmentOptions &options, int frameWidth,
                    int frameHeight, int64_t crop, int64_t crops) {
  const double fit = fitScale(options, frameWidth, frameHeight);
  if (crops <= 1)
    return windowAt(options, fit * 8.0 / 7.0, 0.5, 0.5, frameWidth,
                    frameHeight);
  double place = static_cast<double>(crop) / (crops - 1);
  bool wide = static_cast<double>(frameWidth) / options.width >=
              static_cast<double>(frameHeight) / options.height;
  return windowAt(options, fit, wide ? place : 0.5, wide ? 0.5 : place,
                  frameWidth, frameHeight);
}

void renderClip(const AugmentOptions &options, const uint8_t *rgb,
                int frameWidth, int frameHeight, int64_t frames,
                const CropBox &box, float *out) {
  const int64_t outW = options.width, outH = options.height;
  // Source sample positions of the output's pixel centres, per column.
  std::vector<int> x0(outW), x1(outW);
  std::vector<float> wx(outW);
  for (int64_t ox = 0; ox < outW; ++ox) {
    int64_t column = box.flip ? outW - 1 - ox : ox;
    double sx = box.x + (column + 0.5) * box.width / outW - 0.5;
    sx = std::clamp(sx, 0.0, static_cast<double>(frameWidth - 1));
    x0[ox] = static_cast<int>(sx);
    x1[ox] = std::min(x0[ox] + 1, frameWidth - 1);
    wx[ox] = static_cast<float>(sx - x0[ox]);
  }
  float scale[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * options.std[c]);
    bias[c] = -options.mean[c] / options.std[c];
  }
  const size_t frameBytes = static_cast<size_t>(frameWidth) * frameHeight * 3;
  const size_t plane = static_cast<size_t>(outH) * outW;
  for (int64_t t = 0; t < frames; ++t) {
    const uint8_t *frame = rgb + t * frameBytes;
    float *planes = out + t * 3 * plane;
    for (int64_t oy = 0; oy < outH; ++oy) {
      double sy = box.y + (oy + 0.5) * box.height / outH - 0.5;
      sy = std::clamp(sy, 0.0, static_cast<double>(frameHeight - 1));
      int y0 = static_cast<int>(sy), y1 = std::min(y0 + 1, frameHeight - 1);
      float wy = static_cast<float>(sy - y0);
      const uint8_t *row0 = frame + static_cast<size_t>(y0) * frameWidth * 3;
      const uint8_t *row1 = frame + static_cast<size_t>(y1) * frameWidth * 3;
      for (int64_t ox = 0; ox < outW; ++ox) {
        const uint8_t *a = row0 + x0[ox] * 3, *b = row0 + x1[ox] * 3;
        const uint8_t *c = row1 + x0[ox] * 3, *d = row1 + x1[ox] * 3;
        const float fx = wx[ox];
        for (int ch = 0; ch < 3; ++ch) {
          float top = a[ch] + fx * (b[ch] - a[ch]);
          float bottom = c[ch] + fx * (d[ch] - c[ch]);
          float value = top + wy * (bottom - top);
          planes[ch * plane + oy * outW + ox] = value * scale[ch] + bias[ch];
        }
      }
    }
  }
}

} // namespace var::data
