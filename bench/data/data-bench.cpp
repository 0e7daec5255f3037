// data-bench: decode + augment throughput of the video data pipeline, in
// output frames per second per core, through the same DataSource varrun
// trains from (worker threads, prefetch queue, staging buffers), for 1 to N
// decoding threads and each output size.
#include "runtime/data/Augment.h"
#include "runtime/data/ClipSampler.h"
#include "runtime/data/DataSource.h"
#include "runtime/data/FrameReader.h"
#include "runtime/data/VideoWriter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

const char *kUsage =
    "usage: data-bench --video=FILE [options]\n"
    "       data-bench --write-video=FILE [--seconds=S]\n"
    "\n"
    "Measures decode + augment throughput of varrun's data pipeline on one\n"
    "video (linked 64 times into a 2-class dataset): batches of 8 clips from\n"
    "DataSource with N worker threads, in clip frames per second, in total\n"
    "and per thread. --write-video writes the test video instead: 320x240\n"
    "H.264 MP4 at 25 fps (UCF101's frame size), a textured background\n"
    "panning under moving shapes, with grain.\n"
    "\n"
    "  --threads=N,N,...  worker thread counts (default 1, 2, 4, ... up to\n"
    "                     the cores, and the cores)\n"
    "  --sizes=S,S        output sizes, square (default 112,224)\n"
    "  --frames=T         frames per clip (default 16)\n"
    "  --sampling=dense|segments  (default dense)\n"
    "  --frame-stride=S   dense stride (default 2)\n"
    "  --seconds=S        measuring time per point (default 3); with\n"
    "                     --write-video the video's length (default 10)\n";

std::vector<int64_t> parseList(const std::string &text) {
  std::vector<int64_t> values;
  for (size_t begin = 0; begin < text.size();) {
    size_t comma = std::min(text.find(',', begin), text.size());
    values.push_back(std::atoll(text.substr(begin, comma - begin).c_str()));
    begin = comma + 1;
  }
  return values;
}

int writeVideo(const std::string &path, int seconds) {
  const int w = 320, h = 240, fps = 25;
  var::data::VideoWriterOptions options;
  options.width = w;
  options.height = h;
  options.fps = fps;
  options.format = "mp4";
  std::string error;
  auto writer = var::data::VideoWriter::create(path, options, error);
  if (!writer) {
    std::cerr << "data-bench: error: " << error << "\n";
    return 1;
  }
  std::vector<uint8_t> rgb(w * h * 3);
  uint32_t noise = 12345;
  for (int t = 0; t < seconds * fps; ++t) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double u = x + 0.7 * t, v = y + 0.3 * t;
        double texture = 90 + 40 * std::sin(u * 0.11) * std::cos(v * 0.07) +
                         25 * std::sin((u + v) * 0.31);
        bool shape = std::abs(std::fmod(x - 3.0 * t + 4 * w, w) - 60) < 25 &&
                     std::abs(y - 120 - 40 * std::sin(t * 0.05)) < 30;
        for (int c = 0; c < 3; ++c) {
          noise = noise * 1664525u + 1013904223u;
          double grain = static_cast<double>(noise >> 28) - 7.5;
          double value = shape ? 200 + 20 * c : texture + 15 * c;
          rgb[(y * w + x) * 3 + c] =
              static_cast<uint8_t>(std::clamp(value + grain, 0.0, 255.0));
        }
      }
    error = writer->writeFrame(rgb.data());
    if (!error.empty()) {
      std::cerr << "data-bench: error: " << error << "\n";
      return 1;
    }
  }
  error = writer->finish();
  if (!error.empty()) {
    std::cerr << "data-bench: error: " << error << "\n";
    return 1;
  }
  std::cout << "data-bench: wrote " << path << "\n";
  return 0;
}

double threadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/// CPU seconds of the whole process (all threads) so far.
double processSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

/// One thread, no queue: CPU time of opening, decoding and augmenting.
void breakdown(const std::string &video,
               const var::data::SamplingOptions &sampling, int64_t size) {
  var::data::AugmentOptions augment;
  augment.height = augment.width = size;
  double open = 0, decode = 0, render = 0;
  const int clips = 40;
  std::vector<float> out(sampling.frames * 3 * size * size);
  for (int i = 0; i < clips; ++i) {
    double t0 = threadSeconds();
    std::string error;
    auto reader = var::data::openFrameReader(video, error);
    if (!reader)
      return;
    double t1 = threadSeconds();
    const var::data::VideoInfo &info = reader->info();
    std::vector<int64_t> indices = var::data::trainClipIndices(
        sampling, info.frames, static_cast<uint64_t>(i));
    std::vector<uint8_t> rgb;
    if (!reader->readFrames(indices, rgb).empty())
      return;
    double t2 = threadSeconds();
    var::data::CropBox box = var::data::trainCropBox(
        augment, info.width, info.height, static_cast<uint64_t>(i));
    var::data::renderClip(augment, rgb.data(), info.width, info.height,
                          sampling.frames, box, out.data());
    double t3 = threadSeconds();
    open += t1 - t0;
    decode += t2 - t1;
    render += t3 - t2;
  }
  const double frames = static_cast<double>(clips) * sampling.frames;
  std::printf("%6lld  one thread, CPU ms per clip: open %.2f, decode %.2f, "
              "augment %.2f; %.0f clip frames per CPU second\n",
              static_cast<long long>(size), 1000 * open / clips,
              1000 * decode / clips, 1000 * render / clips,
              frames / (open + decode + render));
}

} // namespace

int main(int argc, char **argv) {
  std::string video, writePath, samplingName = "dense";
  std::vector<int64_t> threads, sizes = {112, 224};
  int64_t frames = 16, stride = 2;
  double seconds = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--video")
      video = value;
    else if (name == "--write-video")
      writePath = value;
    else if (name == "--threads")
      threads = parseList(value);
    else if (name == "--sizes")
      sizes = parseList(value);
    else if (name == "--frames")
      frames = std::atoll(value.c_str());
    else if (name == "--frame-stride")
      stride = std::atoll(value.c_str());
    else if (name == "--sampling")
      samplingName = value;
    else if (name == "--seconds")
      seconds = std::atof(value.c_str());
    else {
      if (name == "--help") {
        std::cout << kUsage;
        return 0;
      }
      std::cerr << "data-bench: error: unknown option '" << arg << "'\n\n"
                << kUsage;
      return 2;
    }
  }
  if (!writePath.empty())
    return writeVideo(writePath, seconds > 0 ? static_cast<int>(seconds) : 10);
  if (video.empty()) {
    std::cerr << "data-bench: error: no --video given\n\n" << kUsage;
    return 2;
  }
  if (seconds <= 0)
    seconds = 3;
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads.empty()) {
    for (int64_t n = 1; n < cores; n *= 2)
      threads.push_back(n);
    threads.push_back(cores);
  }

  std::string error;
  auto reader = var::data::openFrameReader(video, error);
  if (!reader) {
    std::cerr << "data-bench: error: " << error << "\n";
    return 1;
  }
  const var::data::VideoInfo &info = reader->info();
  struct stat st;
  stat(video.c_str(), &st);
  std::printf("video: %s, %dx%d %s in %s, %lld frames at %.2f fps, %.0f "
              "kbit/s\n",
              video.c_str(), info.width, info.height, info.codec.c_str(),
              info.container.c_str(), static_cast<long long>(info.frames),
              info.fps, st.st_size * 8.0 / 1000.0 / (info.frames / info.fps));

  // The dataset: 64 links to the video in two class folders.
  char pattern[] = "/tmp/data-bench-XXXXXX";
  std::string dir = mkdtemp(pattern);
  char absolute[4096];
  if (!realpath(video.c_str(), absolute)) {
    std::cerr << "data-bench: error: " << video << ": no such file\n";
    return 1;
  }
  for (int c = 0; c < 2; ++c) {
    std::string classDir = dir + "/class" + std::to_string(c);
    mkdir(classDir.c_str(), 0755);
    for (int v = 0; v < 32; ++v)
      if (symlink(absolute,
                  (classDir + "/v" + std::to_string(v) + ".mp4").c_str()) !=
          0) {
        std::cerr << "data-bench: error: cannot link into " << classDir << "\n";
        return 1;
      }
  }

  std::printf("clips: %lld frames, %s sampling%s, scale jitter + flip, "
              "batches of 8; %lld cores\n",
              static_cast<long long>(frames), samplingName.c_str(),
              samplingName == "dense"
                  ? (" (stride " + std::to_string(stride) + ")").c_str()
                  : "",
              static_cast<long long>(cores));
  var::data::SamplingOptions sampling{var::data::Sampling::Dense, frames,
                                      stride};
  if (!var::data::parseSampling(samplingName, sampling.mode) || frames < 1 ||
      stride < 1) {
    std::cerr << "data-bench: error: bad --sampling, --frames or "
                 "--frame-stride\n";
    return 2;
  }
  for (int64_t size : sizes)
    breakdown(video, sampling, size);
  // frames/s: wall clock; per CPU s: clip frames per second of CPU time the
  // process used (all threads, the training thread's waiting included),
  // which is what a core delivers when the machine is shared.
  std::printf("%6s %8s %12s %12s %14s %10s\n", "size", "threads", "frames/s",
              "per thread", "per CPU s", "clips/s");
  for (int64_t size : sizes)
    for (int64_t n : threads) {
      var::data::DataOptions options;
      options.data = dir;
      options.workers = n;
      options.prefetch = 2 * n;
      options.sampling = sampling;
      var::data::ClipShape shape{8, frames, 3, size, size};
      auto source = var::data::DataSource::create(
          options, shape, 2, {0, 1, 1}, var::data::hostStagingAllocator(),
          error);
      if (!source) {
        std::cerr << "data-bench: error: " << error << "\n";
        return 1;
      }
      var::data::DataSource::Batch batch;
      int64_t step = 0;
      error = source->trainBatch(step++, 0, batch); // warm up the workers
      auto begin = std::chrono::steady_clock::now();
      const double cpuBegin = processSeconds();
      double elapsed = 0;
      int64_t batches = 0;
      while (error.empty() && elapsed < seconds) {
        error = source->trainBatch(step++, 0, batch);
        ++batches;
        elapsed = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - begin)
                      .count();
      }
      if (!error.empty()) {
        std::cerr << "data-bench: error: " << error << "\n";
        return 1;
      }
      const double cpu = processSeconds() - cpuBegin;
      double framesPerSecond = batches * 8.0 * frames / elapsed;
      std::printf("%6lld %8lld %12.0f %12.0f %14.0f %10.1f\n",
                  static_cast<long long>(size), static_cast<long long>(n),
                  framesPerSecond, framesPerSecond / n,
                  batches * 8.0 * frames / cpu, batches * 8.0 / elapsed);
      std::fflush(stdout);
    }
  for (int c = 0; c < 2; ++c) {
    std::string classDir = dir + "/class" + std::to_string(c);
    for (int v = 0; v < 32; ++v)
      unlink((classDir + "/v" + std::to_string(v) + ".mp4").c_str());
    rmdir(classDir.c_str());
  }
  rmdir(dir.c_str());
  return 0;
}
