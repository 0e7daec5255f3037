// What the data pipeline reads clips from: a video file (VideoReader) or a
// folder of pre-extracted JPEG frames (FrameFolderReader), behind one small
// interface.
#ifndef VAR_RUNTIME_DATA_FRAMEREADER_H
#define VAR_RUNTIME_DATA_FRAMEREADER_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace var::data {

struct VideoInfo {
  /// Frames the container reports (or its duration times the frame rate
  /// where it counts none, as in Matroska/WebM; the image count of a frame
  /// folder).
  int64_t frames = 0;
  /// The stream's frame rate (FFmpeg's guess from the container and codec;
  /// 0 for a frame folder).
  double fps = 0;
  /// Size in display orientation, after `rotation`.
  int width = 0, height = 0;
  /// Clockwise degrees (0, 90, 180 or 270) the display matrix turns the
  /// coded picture by.
  int rotation = 0;
  std::string container, codec;
};

class FrameReader {
public:
  virtual ~FrameReader() = default;
  virtual const VideoInfo &info() const = 0;
  /// Frames `indices` (any order, repeats allowed; frame 0 is the first
  /// shown) into `rgb`, laid out [indices.size()][height][width][3] with the
  /// info's display size. Returns "" or what went wrong, naming the file.
  virtual std::string readFrames(const std::vector<int64_t> &indices,
                                 std::vector<uint8_t> &rgb) = 0;
};

/// A FrameFolderReader when `path` is a directory, else a VideoReader; null
/// with `error` set when it cannot be opened.
std::unique_ptr<FrameReader> openFrameReader(const std::string &path,
                                             std::string &error);

} // namespace var::data

#endif // VAR_RUNTIME_DATA_FRAMEREADER_H
