// libjpeg-turbo's TurboJPEG API: one decompressor per reader, RGB output.
#include "runtime/data/FrameFolderReader.h"
#include "runtime/data/VideoReader.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

namespace var::data {
namespace {

bool isJpegName(const std::string &name) {
  auto endsWith = [&](const char *suffix) {
    size_t n = std::strlen(suffix);
    if (name.size() < n)
      return false;
    return std::equal(name.end() - n, name.end(), suffix, [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  return endsWith(".jpg") || endsWith(".jpeg");
}

bool readFile(const std::string &path, std::vector<unsigned char> &bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  bytes.assign(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
  return !in.bad();
}

} // namespace

std::unique_ptr<FrameReader> openFrameReader(const std::string &path,
                                             std::string &error) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return FrameFolderReader::open(path, error);
  return VideoReader::open(path, error);
}

FrameFolderReader::~FrameFolderReader() {
  if (decoder)
    tjDestroy(static_cast<tjhandle>(decoder));
}

std::unique_ptr<FrameFolderReader>
FrameFolderReader::open(const std::string &folder, std::string &error) {
  DIR *dir = opendir(folder.c_str());
  if (!dir) {
    error = folder + ": cannot open the frame folder: " + std::strerror(errno);
    return nullptr;
  }
  auto reader = std::unique_ptr<FrameFolderReader>(new FrameFolderReader());
  while (dirent *entry = readdir(dir))
    if (isJpegName(entry->d_name))
      reader->files.push_back(folder + "/" + entry->d_name);
  closedir(dir);
  std::sort(reader->files.begin(), reader->files.end());
  if (reader->files.empty()) {
    error = folder + ": a frame folder without .jpg images";
    return nullptr;
  }
  reader->decoder = tjInitDecompress();
  if (!reader->decoder) {
    error = folder + ": cannot start the JPEG decoder";
    return nullptr;
  }
  std::vector<unsigned char> bytes;
  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  const std::string &first = reader->files.front();
  if (!readFile(first, bytes) ||
      tjDecompressHeader3(static_cast<tjhandle>(reader->decoder), bytes.data(),
                          bytes.size(), &width, &height, &subsampling,
                          &colourspace) != 0) {
    error = first + ": not a readable JPEG image";
    return nullptr;
  }
  reader->videoInfo.frames = static_cast<int64_t>(reader->files.size());
  reader->videoInfo.width = width;
  reader->videoInfo.height = height;
  reader->videoInfo.container = "jpeg frames";
  reader->videoInfo.codec = "mjpeg";
  return reader;
}

std::string FrameFolderReader::readFrames(const std::vector<int64_t> &indices,
                                          std::vector<uint8_t> &rgb) {
  const VideoInfo &info = videoInfo;
  const size_t frameBytes = static_cast<size_t>(info.width) * info.height * 3;
  rgb.resize(indices.size() * frameBytes);
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= info.frames)
      return files.front() + ": frame index " + std::to_string(indices[i]) +
             " is outside the folder's " + std::to_string(info.frames) +
             " frames";
    const std::string &file = files[indices[i]];
    if (i > 0 && indices[i] == indices[i - 1]) {
      std::memcpy(rgb.data() + i * frameBytes,
                  rgb.data() + (i - 1) * frameBytes, frameBytes);
      continue;
    }
    int width = 0, height = 0, subsampling = 0, colourspace = 0;
    tjhandle handle = static_cast<tjhandle>(decoder);
    if (!readFile(file, bytes) ||
        tjDecompressHeader3(handle, bytes.data(), bytes.size(), &width, &height,
                            &subsampling, &colourspace) != 0)
      return file + ": not a readable JPEG image";
    if (width != info.width || height != info.height)
      return file + ": " + std::to_string(width) + "x" +
             std::to_string(height) + " differs from the folder's first " +
             std::to_string(info.width) + "x" + std::to_string(info.height);
    if (tjDecompress2(handle, bytes.data(), bytes.size(),
                      rgb.data() + i * frameBytes, width, 3 * width, height,
                      TJPF_RGB, TJFLAG_FASTDCT) != 0)
      return file + ": " + tjGetErrorStr2(handle);
  }
  return "";
}

} // namespace var::data
