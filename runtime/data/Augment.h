// From decoded RGB frames to the plan's input: a crop box per clip (random
// resized crop or scale jitter with a horizontal flip in training; centre or
// three crops in evaluation), bilinear resampling to the model's size and
// normalization with its mean and std, written [T][C][H][W] as f32.
#ifndef VAR_RUNTIME_DATA_AUGMENT_H
#define VAR_RUNTIME_DATA_AUGMENT_H

#include <cstdint>
#include <string>

namespace var::data {

enum class TrainCrop { ResizedCrop, ScaleJitter };

struct AugmentOptions {
  int64_t height = 112, width = 112; // the model's input size
  TrainCrop crop = TrainCrop::ScaleJitter;
  /// Off for direction-sensitive classes (left/right motion).
  bool flip = true;
  /// Per RGB channel, on values in [0, 1]: (v - mean) / std. ImageNet's by
  /// default, what torchvision's pretrained models expect.
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};
};

/// "resized-crop" or "scale-jitter" into `crop`; false for anything else.
bool parseTrainCrop(const std::string &text, TrainCrop &crop);

/// A source rectangle in frame pixels and whether to mirror it.
struct CropBox {
  double x = 0, y = 0, width = 0, height = 0;
  bool flip = false;
};

/// Training: resized-crop takes 25-100% of the frame's area at an aspect
/// ratio within [3/4, 4/3] of the output's; scale-jitter scales the frame so
/// that the output fits 1 to 1.43 times in its shorter side and takes a
/// random output-sized window. Flips with probability 1/2 if enabled.
CropBox trainCropBox(const AugmentOptions &options, int frameWidth,
                     int frameHeight, uint64_t randomKey);

/// Evaluation crop `crop` of `crops`: one crop is the centre of the frame
/// scaled so that the output covers 7/8 of its shorter side; three (or
/// more) crops are output-sized windows of the frame scaled so that the
/// output just fits its shorter side, spread evenly along the longer one.
CropBox evalCropBox(const AugmentOptions &options, int frameWidth,
                    int frameHeight, int64_t crop, int64_t crops);

/// Resamples `frames` RGB frames ([frames][frameHeight][frameWidth][3]) from
/// `box` into `out`, [frames][3][options.height][options.width].
void renderClip(const AugmentOptions &options, const uint8_t *rgb,
                int frameWidth, int frameHeight, int64_t frames,
                const CropBox &box, float *out);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_AUGMENT_H
