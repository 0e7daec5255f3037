// FFmpeg 5.1 encoding, following the muxing pitfalls in PLATFORM.md: packet
// durations set (MP4 drops the last frame otherwise) and timestamps rescaled
// to the time base the muxer chose in avformat_write_header.
#include "runtime/data/VideoWriter.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace var::data {
namespace {

std::string ffmpegError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof text);
  return text;
}

const char *encoderFor(const std::string &format) {
  if (format == "avi")
    return "mpeg4";
  if (format == "mp4" || format == "mkv")
    return "libx264";
  if (format == "webm")
    return "libvpx";
  return nullptr;
}

} // namespace

std::string validateVideoFormat(const std::string &format) {
  if (encoderFor(format))
    return "";
  return "unknown video format '" + format + "' (avi, mp4, mkv or webm)";
}

struct VideoWriter::State {
  std::string path;
  AVFormatContext *format = nullptr;
  AVCodecContext *codec = nullptr;
  AVStream *stream = nullptr;
  SwsContext *sws = nullptr;
  AVFrame *frame = nullptr;
  AVPacket *packet = nullptr;
  int64_t nextPts = 0;
  bool headerWritten = false, finished = false;

  ~State() {
    if (headerWritten && !finished)
      av_write_trailer(format);
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    if (format && format->pb)
      avio_closep(&format->pb);
    avformat_free_context(format);
  }

  /// Sends `input` (null: flush) and writes every packet that comes out.
  std::string encode(AVFrame *input) {
    int rc = avcodec_send_frame(codec, input);
    if (rc < 0)
      return path + ": encoding: " + ffmpegError(rc);
    for (;;) {
      rc = avcodec_receive_packet(codec, packet);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
        return "";
      if (rc < 0)
        return path + ": encoding: " + ffmpegError(rc);
      packet->duration = 1;
      av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
      packet->stream_index = stream->index;
      rc = av_interleaved_write_frame(format, packet);
      if (rc < 0)
        return path + ": writing: " + ffmpegError(rc);
    }
  }
};

VideoWriter::VideoWriter(std::unique_ptr<State> state)
    : state(std::move(state)) {}
VideoWriter::~VideoWriter() = default;

std::unique_ptr<VideoWriter>
VideoWriter::create(const std::string &path, const VideoWriterOptions &options,
                    std::string &error) {
  auto fail = [&](const std::string &what, int code) {
    error = path + ": " + what + (code ? ": " + ffmpegError(code) : "");
    return nullptr;
  };
  // The encoders' banners and statistics are noise here; failures come
  // back as errors.
  av_log_set_level(AV_LOG_FATAL);
  const char *encoderName = encoderFor(options.format);
  if (!encoderName)
    return fail(validateVideoFormat(options.format), 0);
  if (options.width < 2 || options.height < 2 || options.width % 2 ||
      options.height % 2)
    return fail("frame size " + std::to_string(options.width) + "x" +
                    std::to_string(options.height) +
                    " must be even and at least 2x2",
                0);
  if (options.fps < 1 || options.gop < 1)
    return fail("fps and gop must be positive", 0);
  const AVCodec *encoder = avcodec_find_encoder_by_name(encoderName);
  if (!encoder)
    return fail(std::string("this FFmpeg has no ") + encoderName + " encoder",
                0);

  auto s = std::make_unique<State>();
  s->path = path;
  const char *muxer =
      options.format == "mkv" ? "matroska" : options.format.c_str();
  int rc =
      avformat_alloc_output_context2(&s->format, nullptr, muxer, path.c_str());
  if (rc < 0)
    return fail("no muxer", rc);
  s->stream = avformat_new_stream(s->format, nullptr);
  s->codec = avcodec_alloc_context3(encoder);
  s->frame = av_frame_alloc();
  s->packet = av_packet_alloc();
  if (!s->stream || !s->codec || !s->frame || !s->packet)
    return fail("out of memory", 0);
  AVCodecContext *c = s->codec;
  c->width = options.width;
  c->height = options.height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = AVRational{1, options.fps};
  c->framerate = AVRational{options.fps, 1};
  c->gop_size = options.gop;
  c->thread_count = 1;
  if (options.format == "avi") {
    // XviD-style, as UCF101 ships: fixed quantizer, B-frames.
    c->codec_tag = MKTAG('X', 'V', 'I', 'D');
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * 3;
    c->max_b_frames = 2;
  } else if (options.format == "webm") {
    c->bit_rate = 2000000;
    av_opt_set(c->priv_data, "deadline", "realtime", 0);
    av_opt_set(c->priv_data, "cpu-used", "8", 0);
    av_opt_set(c->priv_data, "crf", "8", 0);
  } else {
    av_opt_set(c->priv_data, "preset", "veryfast", 0);
    av_opt_set(c->priv_data, "crf", "16", 0);
  }
  if (s->format->oformat->flags & AVFMT_GLOBALHEADER)
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  rc = avcodec_open2(c, encoder, nullptr);
  if (rc < 0)
    return fail(std::string("cannot open the ") + encoderName + " encoder", rc);
  rc = avcodec_parameters_from_context(s->stream->codecpar, c);
  if (rc < 0)
    return fail("codec parameters", rc);
  s->stream->time_base = c->time_base;
  s->stream->avg_frame_rate = c->framerate;
  rc = avio_open(&s->format->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (rc < 0)
    return fail("cannot create the file", rc);
  rc = avformat_write_header(s->format, nullptr);
  if (rc < 0)
    return fail("cannot write the header", rc);
  s->headerWritten = true;

  s->frame->format = c->pix_fmt;
  s->frame->width = c->width;
  s->frame->height = c->height;
  rc = av_frame_get_buffer(s->frame, 0);
  if (rc < 0)
    return fail("frame buffer", rc);
  s->sws =
      sws_getContext(c->width, c->height, AV_PIX_FMT_RGB24, c->width, c->height,
                     c->pix_fmt, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!s->sws)
    return fail("no RGB to YUV conversion", 0);
  return std::unique_ptr<VideoWriter>(new VideoWriter(std::move(s)));
}

std::string VideoWriter::writeFrame(const uint8_t *rgb) {
  State &s = *state;
  int rc = av_frame_make_writable(s.frame);
  if (rc < 0)
    return s.path + ": frame buffer: " + ffmpegError(rc);
  const uint8_t *planes[4] = {rgb, nullptr, nullptr, nullptr};
  int strides[4] = {3 * s.codec->width, 0, 0, 0};
  sws_scale(s.sws, planes, strides, 0, s.codec->height, s.frame->data,
            s.frame->linesize);
  s.frame->pts = s.nextPts++;
  return s.encode(s.frame);
}

std::string VideoWriter::finish() {
  State &s = *state;
  std::string error = s.encode(nullptr);
  if (!error.empty())
    return error;
  s.finished = true;
  int rc = av_write_trailer(s.format);
  if (rc < 0)
    return s.path + ": writing the trailer: " + ffmpegError(rc);
  return "";
}

} // namespace var::data
