// Pre-extracted frames: a folder of JPEG images (img_00001.jpg, ... as
// MMAction2's rawframes; any names, taken in sorted order), decoded with
// libjpeg-turbo.
#ifndef VAR_RUNTIME_DATA_FRAMEFOLDERREADER_H
#define VAR_RUNTIME_DATA_FRAMEFOLDERREADER_H

#include "runtime/data/FrameReader.h"

namespace var::data {

class FrameFolderReader : public FrameReader {
public:
  /// Lists the folder's .jpg/.jpeg files and reads the first one's header;
  /// null with `error` set when there are none or it is not a JPEG.
  static std::unique_ptr<FrameFolderReader> open(const std::string &folder,
                                                 std::string &error);
  ~FrameFolderReader() override;

  const VideoInfo &info() const override { return videoInfo; }
  /// Every image must have the first one's size.
  std::string readFrames(const std::vector<int64_t> &indices,
                         std::vector<uint8_t> &rgb) override;

private:
  FrameFolderReader() = default;
  std::vector<std::string> files;
  VideoInfo videoInfo;
  void *decoder = nullptr; // tjhandle
};

} // namespace var::data

#endif // VAR_RUNTIME_DATA_FRAMEFOLDERREADER_H
