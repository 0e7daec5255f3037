// Video decoding: files written by our writer (AVI/MPEG-4 with B-frames,
// MP4 and Matroska H.264, WebM VP8), by the ffmpeg command-line tool
// (MPEG-4 AVI, H.264 MP4, VP9 WebM, MJPEG Matroska, a rotated MP4) and by
// var-synth decode to the right frame count and the right content at chosen
// indices; JPEG frame folders too; corrupt files of each kind fail with an
// error that names them.
#include "runtime/data/FrameFolderReader.h"
#include "runtime/data/VideoReader.h"
#include "runtime/data/VideoWriter.h"
#include "tools/var-synth/ActionScene.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace var::data;

namespace {

constexpr int kWidth = 64, kHeight = 48, kFrames = 30;

/// Frame t: a grey level of 8 * t + 8 on the left half and 240 - 7 * t on
/// the right, so that both the index and the orientation can be read back.
std::vector<uint8_t> patternFrame(int t) {
  std::vector<uint8_t> rgb(kWidth * kHeight * 3);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x)
      for (int c = 0; c < 3; ++c)
        rgb[(y * kWidth + x) * 3 + c] =
            static_cast<uint8_t>(x < kWidth / 2 ? 8 * t + 8 : 240 - 7 * t);
  return rgb;
}

/// Mean of channel 0 over columns [x0, x1) of frame `f` of a read.
double meanOf(const std::vector<uint8_t> &rgb, int width, int height, int f,
              int x0, int x1) {
  double sum = 0;
  for (int y = 0; y < height; ++y)
    for (int x = x0; x < x1; ++x)
      sum += rgb[((static_cast<size_t>(f) * height + y) * width + x) * 3];
  return sum / (height * (x1 - x0));
}

/// One temporary folder, removed when the test program exits.
std::string tempDir() {
  static struct TempDir {
    std::string path;
    TempDir() {
      char pattern[] = "/tmp/var-video-test-XXXXXX";
      path = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
  } dir;
  return dir.path;
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string readFileBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The pattern video in `format` written by our writer.
std::string writePattern(const std::string &format) {
  std::string path = tempDir() + "/pattern." + format;
  VideoWriterOptions options;
  options.width = kWidth;
  options.height = kHeight;
  options.format = format;
  std::string error;
  auto writer = VideoWriter::create(path, options, error);
  EXPECT_TRUE(writer) << error;
  for (int t = 0; writer && t < kFrames; ++t)
    EXPECT_EQ(writer->writeFrame(patternFrame(t).data()), "");
  if (writer) {
    EXPECT_EQ(writer->finish(), "");
  }
  return path;
}

/// The pattern video encoded by the ffmpeg tool with `args` into `name`.
std::string ffmpegPattern(const std::string &name, const std::string &args) {
  std::string raw = tempDir() + "/pattern.rgb";
  std::ofstream out(raw, std::ios::binary);
  for (int t = 0; t < kFrames; ++t) {
    std::vector<uint8_t> frame = patternFrame(t);
    out.write(reinterpret_cast<const char *>(frame.data()), frame.size());
  }
  out.close();
  std::string path = tempDir() + "/" + name;
  std::string command = std::string(FFMPEG_PATH) +
                        " -loglevel error -y -f rawvideo -pix_fmt rgb24 -s " +
                        std::to_string(kWidth) + "x" + std::to_string(kHeight) +
                        " -r 25 -i " + raw + " " + args + " " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return path;
}

/// Opens `path`, checks its info, and reads frames at chosen indices (in a
/// scrambled order, with a repeat) against the pattern.
void checkPattern(const std::string &path, const std::string &codec) {
  std::string error;
  auto reader = VideoReader::open(path, error);
  ASSERT_TRUE(reader) << error;
  const VideoInfo &info = reader->info();
  EXPECT_EQ(info.codec, codec);
  EXPECT_EQ(info.width, kWidth);
  EXPECT_EQ(info.height, kHeight);
  EXPECT_NEAR(info.fps, 25.0, 1e-6);
  EXPECT_EQ(info.frames, kFrames) << path;
  std::vector<int64_t> indices = {17, 0, 29, 5, 17, 12, 28};
  std::vector<uint8_t> rgb;
  ASSERT_EQ(reader->readFrames(indices, rgb), "");
  for (size_t i = 0; i < indices.size(); ++i) {
    int t = static_cast<int>(indices[i]);
    EXPECT_NEAR(meanOf(rgb, kWidth, kHeight, i, 0, kWidth / 2 - 4), 8 * t + 8,
                3.0)
        << path << " frame " << t;
    EXPECT_NEAR(meanOf(rgb, kWidth, kHeight, i, kWidth / 2 + 4, kWidth),
                240 - 7 * t, 3.0)
        << path << " frame " << t;
  }
  // A second read of the same reader, starting late (a seek), agrees.
  std::vector<uint8_t> again;
  ASSERT_EQ(reader->readFrames({28, 29}, again), "");
  EXPECT_NEAR(meanOf(again, kWidth, kHeight, 0, 0, kWidth / 2 - 4), 8 * 28 + 8,
              3.0);
}

} // namespace

TEST(VideoDecode, OurWriterInEveryFormat) {
  checkPattern(writePattern("avi"), "mpeg4");
  checkPattern(writePattern("mp4"), "h264");
  checkPattern(writePattern("mkv"), "h264");
  checkPattern(writePattern("webm"), "vp8");
}

TEST(VideoDecode, FfmpegToolFiles) {
  checkPattern(ffmpegPattern("tool.avi", "-c:v mpeg4 -bf 2 -q:v 2 -g 10"),
               "mpeg4");
  checkPattern(ffmpegPattern("tool.mp4", "-c:v libx264 -crf 10 -g 8"), "h264");
  checkPattern(ffmpegPattern("tool.webm", "-c:v libvpx-vp9 -crf 10 -b:v 0 -g 8 "
                                          "-deadline realtime -cpu-used 8"),
               "vp9");
  checkPattern(ffmpegPattern("tool.mkv", "-c:v mjpeg -q:v 2"), "mjpeg");
}

TEST(VideoDecode, SegmentSamplingSeeksAheadToTheRightFrames) {
  // 150 frames whose index is written in binary: 8 blocks across the
  // frame, white for a set bit.
  const int frames = 150;
  auto indexFrame = [&](int t) {
    std::vector<uint8_t> rgb(kWidth * kHeight * 3);
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x)
        std::fill_n(rgb.begin() + (y * kWidth + x) * 3, 3,
                    (t >> (x / 8)) & 1 ? 235 : 20);
    return rgb;
  };
  auto readIndex = [&](const std::vector<uint8_t> &rgb, size_t f) {
    int t = 0;
    for (int bit = 0; bit < 8; ++bit)
      t |= (meanOf(rgb, kWidth, kHeight, f, bit * 8 + 2, bit * 8 + 6) > 128)
           << bit;
    return t;
  };
  for (const std::string format : {"mp4", "mkv", "webm"}) {
    std::string path = tempDir() + "/long." + format;
    VideoWriterOptions options;
    options.width = kWidth;
    options.height = kHeight;
    options.format = format;
    options.gop = 10;
    std::string error;
    auto writer = VideoWriter::create(path, options, error);
    ASSERT_TRUE(writer) << error;
    for (int t = 0; t < frames; ++t)
      ASSERT_EQ(writer->writeFrame(indexFrame(t).data()), "");
    ASSERT_EQ(writer->finish(), "");
    auto reader = VideoReader::open(path, error);
    ASSERT_TRUE(reader) << error;
    EXPECT_NEAR(reader->info().frames, frames, 1) << path;
    // Eight segments' middles, then a dense run across key frames.
    std::vector<int64_t> indices = {9,   28, 46, 65, 84, 103, 121,
                                    140, 60, 62, 64, 66, 68};
    std::vector<uint8_t> rgb;
    ASSERT_EQ(reader->readFrames(indices, rgb), "") << path;
    for (size_t i = 0; i < indices.size(); ++i)
      EXPECT_EQ(readIndex(rgb, i), indices[i]) << path;
  }
}

TEST(VideoDecode, RotationMetadataTurnsFramesAsFfmpegDoes) {
  std::string plain = ffmpegPattern("plain.mp4", "-c:v libx264 -crf 10");
  std::string rotated = tempDir() + "/rotated.mp4";
  std::string command = std::string(FFMPEG_PATH) + " -loglevel error -y -i " +
                        plain + " -c copy -metadata:s:v:0 rotate=90 " + rotated;
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::string error;
  auto reader = VideoReader::open(rotated, error);
  ASSERT_TRUE(reader) << error;
  const VideoInfo &info = reader->info();
  // FFmpeg 5.1 stores the tag as a display matrix turning 90 degrees
  // counter-clockwise.
  EXPECT_EQ(info.rotation, 270);
  EXPECT_EQ(info.width, kHeight);
  EXPECT_EQ(info.height, kWidth);
  std::vector<uint8_t> rgb;
  ASSERT_EQ(reader->readFrames({3}, rgb), "");
  // The ffmpeg tool's own auto-rotated frame 3 is the same picture.
  std::string raw = tempDir() + "/rotated.rgb";
  command = std::string(FFMPEG_PATH) + " -loglevel error -y -i " + rotated +
            " -vf 'select=eq(n\\,3)' -vframes 1 -f rawvideo -pix_fmt rgb24 " +
            raw;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::string theirs = readFileBytes(raw);
  ASSERT_EQ(theirs.size(), rgb.size());
  double difference = 0;
  for (size_t i = 0; i < rgb.size(); ++i)
    difference += std::abs(rgb[i] - static_cast<uint8_t>(theirs[i]));
  EXPECT_LT(difference / rgb.size(), 2.0);
  // Turned counter-clockwise, the right half (240 - 7 * 3) is on top.
  EXPECT_NEAR(meanOf(rgb, info.width, 8, 0, 0, info.width), 219, 3.0);
}

TEST(VideoDecode, VarSynthVideosShowTheRenderedFrames) {
  std::string dir = tempDir() + "/synth";
  std::string command = std::string(VAR_SYNTH_PATH) + " " + dir +
                        " --classes=8 --videos-per-class=1 --frames=20 "
                        "--width=64 --height=48 --format=mp4 --seed=5 > "
                        "/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  var::synth::SceneOptions scene;
  scene.width = 64;
  scene.height = 48;
  scene.frames = 20;
  const std::vector<std::string> &names = var::synth::actionClassNames();
  for (int label : {0, 4, 7}) {
    std::string path =
        dir + "/" + names[label] + "/v_" + names[label] + "_g01_c01.mp4";
    std::string error;
    auto reader = VideoReader::open(path, error);
    ASSERT_TRUE(reader) << error;
    EXPECT_EQ(reader->info().frames, 20);
    std::vector<uint8_t> expected =
        var::synth::renderActionVideo(scene, label, 0, 5);
    std::vector<uint8_t> rgb;
    std::vector<int64_t> indices = {2, 11, 19};
    ASSERT_EQ(reader->readFrames(indices, rgb), "");
    const size_t frameBytes = 64 * 48 * 3;
    for (size_t i = 0; i < indices.size(); ++i) {
      // The decoded frame is close to the rendered one, and closer to it
      // than to the rendered frame five steps away.
      auto distance = [&](int64_t t) {
        double sum = 0;
        for (size_t p = 0; p < frameBytes; ++p)
          sum += std::abs(rgb[i * frameBytes + p] -
                          static_cast<int>(expected[t * frameBytes + p]));
        return sum / frameBytes;
      };
      int64_t t = indices[i];
      EXPECT_LT(distance(t), 4.0) << path << " frame " << t;
      EXPECT_LT(distance(t), distance((t + 5) % 20)) << path;
    }
  }
}

TEST(VideoDecode, JpegFrameFolder) {
  std::string dir = tempDir() + "/frames";
  mkdir(dir.c_str(), 0755);
  tjhandle encoder = tjInitCompress();
  ASSERT_TRUE(encoder);
  for (int t = 0; t < 12; ++t) {
    std::vector<uint8_t> frame = patternFrame(t);
    unsigned char *jpeg = nullptr;
    unsigned long size = 0;
    ASSERT_EQ(tjCompress2(encoder, frame.data(), kWidth, 3 * kWidth, kHeight,
                          TJPF_RGB, &jpeg, &size, TJSAMP_444, 95, 0),
              0);
    char name[64];
    std::snprintf(name, sizeof name, "/img_%05d.jpg", t + 1);
    writeFile(dir + name, std::string(reinterpret_cast<char *>(jpeg), size));
    tjFree(jpeg);
  }
  tjDestroy(encoder);
  std::string error;
  auto reader = openFrameReader(dir, error);
  ASSERT_TRUE(reader) << error;
  EXPECT_EQ(reader->info().frames, 12);
  std::vector<uint8_t> rgb;
  ASSERT_EQ(reader->readFrames({11, 0, 6}, rgb), "");
  EXPECT_NEAR(meanOf(rgb, kWidth, kHeight, 0, 0, 28), 8 * 11 + 8, 2.0);
  EXPECT_NEAR(meanOf(rgb, kWidth, kHeight, 1, 0, 28), 8, 2.0);
  EXPECT_NEAR(meanOf(rgb, kWidth, kHeight, 2, 36, 64), 240 - 42, 2.0);
  EXPECT_NE(reader->readFrames({12}, rgb).find("outside the folder's 12"),
            std::string::npos);
  // A damaged image names itself.
  writeFile(dir + "/img_00003.jpg", "not a jpeg");
  EXPECT_NE(reader->readFrames({2}, rgb).find("img_00003.jpg: not a readable"),
            std::string::npos);
}

TEST(VideoDecode, CorruptFilesFailWithTheirName) {
  std::string dir = tempDir();
  std::vector<std::string> unopenable;
  writeFile(dir + "/empty.mp4", "");
  unopenable.push_back(dir + "/empty.mp4");
  writeFile(dir + "/notes.avi", "this is a text file, not a video\n");
  unopenable.push_back(dir + "/notes.avi");
  std::string noise(4096, '\0');
  for (size_t i = 0; i < noise.size(); ++i)
    noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  writeFile(dir + "/noise.webm", noise);
  unopenable.push_back(dir + "/noise.webm");
  // An MP4 cut in half loses its index (moov is written last).
  std::string mp4 = readFileBytes(writePattern("mp4"));
  writeFile(dir + "/half.mp4", mp4.substr(0, mp4.size() / 2));
  unopenable.push_back(dir + "/half.mp4");
  unopenable.push_back(dir + "/missing.mkv");
  for (const std::string &path : unopenable) {
    std::string error;
    EXPECT_FALSE(openFrameReader(path, error)) << path;
    EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
  }
  // An AVI or Matroska file cut short opens (its header is intact) but
  // its later frames are missing: truncated.
  for (const std::string format : {"avi", "mkv"}) {
    std::string bytes = readFileBytes(writePattern(format));
    std::string path = dir + "/cut." + format;
    writeFile(path, bytes.substr(0, bytes.size() * 2 / 5));
    std::string error;
    auto reader = openFrameReader(path, error);
    if (!reader) { // also acceptable: refused at open
      EXPECT_EQ(error.rfind(path, 0), 0u);
      continue;
    }
    std::vector<uint8_t> rgb;
    std::string readError = reader->readFrames({1, kFrames - 1}, rgb);
    // Truncated; or, where the cut leaves no whole frame, nothing decodes.
    EXPECT_TRUE(readError.rfind(path + ": truncated", 0) == 0 ||
                readError.rfind(path + ": no frame decodes", 0) == 0)
        << readError;
    if (format == std::string("avi")) {
      EXPECT_EQ(readError.rfind(path + ": truncated", 0), 0u) << readError;
    }
  }
}
