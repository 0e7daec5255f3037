// Encodes RGB frames into a video file with FFmpeg's libraries: the
// containers and codecs action datasets ship in (XviD-style MPEG-4 in AVI as
// UCF101 and HMDB51, H.264 in MP4 or Matroska, VP8 in WebM as Kinetics).
// var-synth writes its datasets with it, and tests write videos of known
// content.
#ifndef VAR_RUNTIME_DATA_VIDEOWRITER_H
#define VAR_RUNTIME_DATA_VIDEOWRITER_H

#include <cstdint>
#include <memory>
#include <string>

namespace var::data {

struct VideoWriterOptions {
  int width = 0, height = 0; // even
  int fps = 25;
  /// avi (MPEG-4 part 2, XVID tag, B-frames), mp4 or mkv (H.264), webm (VP8).
  std::string format = "avi";
  /// Frames between key frames.
  int gop = 12;
};

/// "" when `format` is one the writer knows, else the message.
std::string validateVideoFormat(const std::string &format);

class VideoWriter {
public:
  /// Creates `path`; null with `error` set when the options or file fail.
  static std::unique_ptr<VideoWriter> create(const std::string &path,
                                             const VideoWriterOptions &options,
                                             std::string &error);
  ~VideoWriter();
  VideoWriter(const VideoWriter &) = delete;
  VideoWriter &operator=(const VideoWriter &) = delete;

  /// One frame, [height][width][3] RGB.
  std::string writeFrame(const uint8_t *rgb);
  /// Flushes the encoder and writes the trailer; call once, last.
  std::string finish();

private:
  struct State;
  explicit VideoWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_VIDEOWRITER_H
