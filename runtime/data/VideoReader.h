// Reads chosen frames of one video file with FFmpeg's libraries (any
// container and codec the Debian build decodes), seeking to the key frame
// before the first frame a clip needs where the container's timestamps can
// be trusted, and returning RGB frames in display orientation.
#ifndef VAR_RUNTIME_DATA_VIDEOREADER_H
#define VAR_RUNTIME_DATA_VIDEOREADER_H

#include "runtime/data/FrameReader.h"

namespace var::data {

class VideoReader : public FrameReader {
public:
  /// Opens `path` and reads its headers; null with `error` set when the file
  /// is missing, empty, not a video or has no decodable video stream.
  static std::unique_ptr<VideoReader> open(const std::string &path,
                                           std::string &error);
  ~VideoReader() override;
  VideoReader(const VideoReader &) = delete;
  VideoReader &operator=(const VideoReader &) = delete;

  const VideoInfo &info() const override { return videoInfo; }

  /// Indices up to two frames past the last frame the stream really has
  /// get that last frame (frame counts estimated from the duration are
  /// approximate); a file that ends earlier than its header says is
  /// truncated, an error.
  std::string readFrames(const std::vector<int64_t> &indices,
                         std::vector<uint8_t> &rgb) override;

private:
  struct State;
  explicit VideoReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
  VideoInfo videoInfo;
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_VIDEOREADER_H
