// FFmpeg 5.1 decoding. Every FFmpeg call is checked where it happens and
// reported with the file and what it was doing.
#include "runtime/data/VideoReader.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

namespace var::data {
namespace {

std::string ffmpegError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof text);
  return text;
}

/// Damaged files are expected in datasets, and each failure comes back as
/// one error naming the file; FFmpeg's own log would repeat it line by line.
void quietFFmpegLog() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_FATAL); });
}

/// How far past the packets already read a key frame must be for a seek to
/// it to pay (decoding this many frames costs about as much as a seek).
constexpr int64_t kSeekAheadFrames = 8;

/// Frames a stream may fall short of its advertised count before the file
/// counts as truncated (counts estimated from durations are approximate).
constexpr int64_t kFrameCountSlack = 2;

} // namespace

struct VideoReader::State {
  std::string path;
  AVFormatContext *format = nullptr;
  AVCodecContext *codec = nullptr;
  SwsContext *sws = nullptr;
  AVPacket *packet = nullptr;
  AVFrame *frame = nullptr, *last = nullptr;
  int stream = -1;
  AVRational timeBase{0, 1};
  int64_t startTime = 0;
  double fps = 0;
  /// Frame indices from timestamps (seekable); else frames are counted
  /// from the start of the file. AVI carries no presentation timestamps,
  /// and with B-frames its timestamp-based seeking is off by one.
  bool useTimestamps = true;
  bool readBefore = false;
  int codedWidth = 0, codedHeight = 0;
  std::vector<uint8_t> upright; // one converted frame, padded rows

  ~State() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_frame_free(&last);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
  }
};

VideoReader::VideoReader(std::unique_ptr<State> state)
    : state(std::move(state)) {}
VideoReader::~VideoReader() = default;

std::unique_ptr<VideoReader> VideoReader::open(const std::string &path,
                                               std::string &error) {
  quietFFmpegLog();
  auto s = std::make_unique<State>();
  s->path = path;
  auto fail = [&](const std::string &what, int code) {
    error = path + ": " + what + (code ? ": " + ffmpegError(code) : "");
    return nullptr;
  };
  int rc = avformat_open_input(&s->format, path.c_str(), nullptr, nullptr);
  if (rc < 0)
    return fail("cannot open as a video", rc);
  rc = avformat_find_stream_info(s->format, nullptr);
  if (rc < 0)
    return fail("cannot read the stream headers", rc);
  const AVCodec *decoder = nullptr;
  s->stream =
      av_find_best_stream(s->format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (s->stream < 0)
    return fail("no decodable video stream", 0);
  AVStream *stream = s->format->streams[s->stream];
  s->codec = avcodec_alloc_context3(decoder);
  if (!s->codec)
    return fail("out of memory allocating a decoder", 0);
  rc = avcodec_parameters_to_context(s->codec, stream->codecpar);
  if (rc < 0)
    return fail("bad codec parameters", rc);
  // One decoder thread per clip; clips decode in parallel on the workers.
  s->codec->thread_count = 1;
  rc = avcodec_open2(s->codec, decoder, nullptr);
  if (rc < 0)
    return fail(std::string("cannot open the ") + decoder->name + " decoder",
                rc);
  s->codedWidth = s->codec->width;
  s->codedHeight = s->codec->height;
  if (s->codedWidth <= 0 || s->codedHeight <= 0)
    return fail("the video stream has no frame size", 0);

  AVRational rate = av_guess_frame_rate(s->format, stream, nullptr);
  if (rate.num <= 0 || rate.den <= 0)
    return fail("the video stream has no frame rate", 0);
  s->fps = av_q2d(rate);
  s->timeBase = stream->time_base;
  s->startTime = stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time;
  s->useTimestamps = std::strcmp(s->format->iformat->name, "avi") != 0;

  VideoInfo info;
  info.fps = s->fps;
  info.container = s->format->iformat->name;
  info.codec = decoder->name;
  if (stream->nb_frames > 0)
    info.frames = stream->nb_frames;
  else if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    info.frames = std::llround(static_cast<double>(stream->duration) *
                               av_q2d(stream->time_base) * s->fps);
  else if (s->format->duration > 0)
    info.frames = std::llround(static_cast<double>(s->format->duration) /
                               AV_TIME_BASE * s->fps);
  if (info.frames <= 0)
    return fail("the video stream reports no frames", 0);
  if (const uint8_t *matrix =
          av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
    // av_display_rotation_get is counter-clockwise; round to a right angle.
    double degrees =
        -av_display_rotation_get(reinterpret_cast<const int32_t *>(matrix));
    if (std::isfinite(degrees)) {
      int quarter = static_cast<int>(std::lround(degrees / 90.0));
      info.rotation = ((quarter % 4 + 4) % 4) * 90;
    }
  }
  bool sideways = info.rotation == 90 || info.rotation == 270;
  info.width = sideways ? s->codedHeight : s->codedWidth;
  info.height = sideways ? s->codedWidth : s->codedHeight;

  s->packet = av_packet_alloc();
  s->frame = av_frame_alloc();
  s->last = av_frame_alloc();
  if (!s->packet || !s->frame || !s->last)
    return fail("out of memory", 0);
  auto reader = std::unique_ptr<VideoReader>(new VideoReader(std::move(s)));
  reader->videoInfo = info;
  return reader;
}

std::string VideoReader::readFrames(const std::vector<int64_t> &indices,
                                    std::vector<uint8_t> &rgb) {
  State &s = *state;
  const VideoInfo &info = videoInfo;
  const size_t frameBytes = static_cast<size_t>(info.width) * info.height * 3;
  rgb.assign(indices.size() * frameBytes, 0);
  if (indices.empty())
    return "";
  // The distinct frames wanted, in order, and where each one goes.
  std::vector<std::pair<int64_t, size_t>> wanted;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0)
      return s.path + ": frame index " + std::to_string(indices[i]) +
             " is negative";
    wanted.push_back({indices[i], i});
  }
  std::sort(wanted.begin(), wanted.end());

  // Converts `frame` to RGB in display orientation into every output slot
  // of wanted[begin, end).
  auto emit = [&](AVFrame *frame, size_t begin, size_t end) -> std::string {
    if (frame->width != s.codedWidth || frame->height != s.codedHeight)
      return s.path + ": the frame size changes mid-stream";
    s.sws = sws_getCachedContext(s.sws, frame->width, frame->height,
                                 static_cast<AVPixelFormat>(frame->format),
                                 s.codedWidth, s.codedHeight, AV_PIX_FMT_RGB24,
                                 SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!s.sws)
      return s.path + ": no conversion from pixel format " +
             std::to_string(frame->format) + " to RGB";
    // swscale's vector code writes past the end of narrow rows: convert into
    // a scratch image with padded, aligned rows, then copy out.
    const int w = s.codedWidth, h = s.codedHeight;
    const int stride = (3 * w + 63) / 64 * 64;
    s.upright.resize(static_cast<size_t>(stride) * (h + 1));
    uint8_t *planes[4] = {s.upright.data(), nullptr, nullptr, nullptr};
    int strides[4] = {stride, 0, 0, 0};
    sws_scale(s.sws, frame->data, frame->linesize, 0, frame->height, planes,
              strides);
    uint8_t *out = rgb.data() + wanted[begin].second * frameBytes;
    if (info.rotation == 0) {
      for (int y = 0; y < h; ++y)
        std::memcpy(out + static_cast<size_t>(y) * w * 3,
                    s.upright.data() + static_cast<size_t>(y) * stride,
                    3 * static_cast<size_t>(w));
    } else {
      const int ow = info.width;
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          int ox = x, oy = y; // where coded (x, y) lands when displayed
          if (info.rotation == 90) {
            ox = h - 1 - y;
            oy = x;
          } else if (info.rotation == 180) {
            ox = w - 1 - x;
            oy = h - 1 - y;
          } else {
            ox = y;
            oy = w - 1 - x;
          }
          std::memcpy(out + (static_cast<size_t>(oy) * ow + ox) * 3,
                      s.upright.data() + static_cast<size_t>(y) * stride +
                          3 * static_cast<size_t>(x),
                      3);
        }
    }
    for (size_t k = begin + 1; k < end; ++k)
      std::memcpy(rgb.data() + wanted[k].second * frameBytes, out, frameBytes);
    return "";
  };

  AVStream *stream = s.format->streams[s.stream];
  auto timestampOf = [&](int64_t index) {
    return s.startTime + std::llround(static_cast<double>(index) / s.fps /
                                      av_q2d(s.timeBase));
  };
  // Seeks to the key frame at or before frame `first` (0: the start).
  auto seekTo = [&](int64_t first) -> std::string {
    int64_t target = s.startTime;
    if (s.useTimestamps && first > 0)
      target = timestampOf(first);
    int rc = av_seek_frame(s.format, s.stream, target, AVSEEK_FLAG_BACKWARD);
    if (rc < 0 && target == s.startTime)
      rc = avformat_seek_file(s.format, s.stream, INT64_MIN, target, target, 0);
    if (rc < 0)
      return s.path + ": cannot seek: " + ffmpegError(rc);
    avcodec_flush_buffers(s.codec);
    return "";
  };

  int64_t first = wanted.front().first;
  bool fromStart = !s.useTimestamps || first == 0;
  if (!fromStart && !seekTo(first).empty())
    fromStart = true; // no index to seek with (e.g. a cut Matroska file)
  if (fromStart && s.readBefore) {
    std::string error = seekTo(0);
    if (!error.empty())
      return error;
  }
  s.readBefore = true;

  size_t next = 0; // first entry of `wanted` not yet emitted
  int64_t counted = 0, lastIndex = -1, decodeErrors = 0;
  bool draining = false, haveLast = false, checkedSeek = fromStart;
  int soughtEntry = -1;                    // index entry of the last seek ahead
  int64_t lastPacketTime = AV_NOPTS_VALUE; // decoding time of the last packet
  std::string decodeError;
  while (next < wanted.size()) {
    if (!draining) {
      int rc = av_read_frame(s.format, s.packet);
      if (rc < 0) {
        // The end, or a read error in a damaged file: decode what is left.
        draining = true;
        avcodec_send_packet(s.codec, nullptr);
      } else {
        if (s.packet->stream_index == s.stream) {
          // Frames before the next one wanted that no other frame refers
          // to (most B-frames) need not be decoded at all.
          bool skippable = false;
          if (s.useTimestamps && s.packet->pts != AV_NOPTS_VALUE) {
            int64_t index =
                std::llround(static_cast<double>(s.packet->pts - s.startTime) *
                             av_q2d(stream->time_base) * s.fps);
            skippable = index < wanted[next].first;
          }
          s.codec->skip_frame =
              skippable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
          lastPacketTime =
              s.packet->dts != AV_NOPTS_VALUE ? s.packet->dts : s.packet->pts;
          rc = avcodec_send_packet(s.codec, s.packet);
          if (rc < 0 && rc != AVERROR(EAGAIN)) {
            ++decodeErrors;
            decodeError = ffmpegError(rc);
          }
        }
        av_packet_unref(s.packet);
      }
    }
    bool gotFrame = false;
    for (;;) {
      int rc = avcodec_receive_frame(s.codec, s.frame);
      if (rc == AVERROR(EAGAIN))
        break;
      if (rc == AVERROR_EOF) {
        gotFrame = false;
        break;
      }
      if (rc < 0) {
        ++decodeErrors;
        decodeError = ffmpegError(rc);
        break;
      }
      gotFrame = true;
      int64_t index = counted++;
      int64_t pts = s.frame->best_effort_timestamp;
      if (s.useTimestamps && pts != AV_NOPTS_VALUE)
        index = std::llround(static_cast<double>(pts - s.startTime) *
                             av_q2d(stream->time_base) * s.fps);
      else if (s.useTimestamps)
        index = lastIndex + 1;
      if (!checkedSeek) {
        checkedSeek = true;
        if (index > first) {
          // The seek landed past the frame: decode from the start instead.
          av_frame_unref(s.frame);
          std::string error = seekTo(0);
          if (!error.empty())
            return error;
          counted = 0;
          lastIndex = -1;
          draining = false;
          break;
        }
      }
      lastIndex = std::max(lastIndex, index);
      size_t end = next;
      while (end < wanted.size() && wanted[end].first <= index)
        ++end;
      if (end > next) {
        std::string error = emit(s.frame, next, end);
        if (!error.empty())
          return error;
        next = end;
      }
      av_frame_unref(s.last);
      av_frame_move_ref(s.last, s.frame);
      haveLast = true;
      if (next == wanted.size())
        break;
      // The next frame wanted lies behind a key frame still ahead: seek
      // there instead of decoding everything in between (segment sampling).
      if (s.useTimestamps && !draining && index < wanted[next].first) {
        int entry = av_index_search_timestamp(
            stream, timestampOf(wanted[next].first), AVSEEK_FLAG_BACKWARD);
        const AVIndexEntry *key =
            entry >= 0 ? avformat_index_get_entry(stream, entry) : nullptr;
        // Each key frame is sought at most once: index timestamps are
        // decoding times, which may differ from the frames' own.
        // Worth it only when the key frame is well past what was read:
        // a seek discards the frames the decoder holds for reordering.
        if (key && entry > soughtEntry && lastPacketTime != AV_NOPTS_VALUE &&
            key->timestamp - lastPacketTime >
                timestampOf(kSeekAheadFrames) - s.startTime &&
            seekTo(wanted[next].first).empty()) {
          soughtEntry = entry;
          first = wanted[next].first;
          checkedSeek = false;
          lastPacketTime = AV_NOPTS_VALUE;
          break;
        }
      }
    }
    if (draining && !gotFrame)
      break;
  }
  if (next == wanted.size())
    return "";
  if (!haveLast)
    return s.path + ": no frame decodes" +
           (decodeErrors ? " (" + decodeError + ")" : "");
  // Frames past the end of the stream.
  int64_t available = lastIndex + 1;
  if (wanted.back().first >= available + kFrameCountSlack &&
      wanted.back().first < info.frames)
    return s.path + ": truncated or damaged: frame " +
           std::to_string(wanted.back().first) + " is missing, " +
           std::to_string(available) + " of the " +
           std::to_string(info.frames) + " frames its header gives decode" +
           (decodeErrors ? " (" + decodeError + ")" : "");
  if (wanted.back().first >= available + kFrameCountSlack)
    return s.path + ": frame " + std::to_string(wanted.back().first) +
           " is past the end (" + std::to_string(available) + " frames)";
  return emit(s.last, next, wanted.size());
}

} // namespace var::data
